"""Stage stats: METHOD.md's statistics over the comparison and recognition outputs.

Writes every table in lib.stats's tidy form to data/stats/*.csv (header only when its input is
absent) and a compact summary to metrics/stats.json, where a skipped section says why.
"""

import json

import pandas as pd

from lib import outputs, stats
from lib.answer import answer
from lib.atomic import write_json, write_text
from lib.map_types import annotate
from lib.params import get, load_params
from lib.paths import COMPARE_PER_IMAGE, RECOGNITION_ANN_TABLE, STATS, STATS_METRICS
from stages._run import run

NO_MODEL = ("no trained network: extract_attention.models lists only random-weight controls, so no "
            "map type is ranked (controls are reported beside models, never as the answer)")


def main() -> None:
    params = load_params()
    alpha = get(params, "stats.alpha", float)
    unit = get(params, "stats.dprime_unit", str)
    dprime = outputs.dprime(unit=unit)  # read first: an unknown unit stops before any work
    tables = {name: pd.DataFrame(columns=columns) for name, columns in (
        ("best_vs_others", stats.TEST_COLUMNS), ("family_tests", stats.TEST_COLUMNS),
        ("family_means", ["human_map", "image", "family", "r", "n_map_types"]),
        ("map_type_scores", ["map_type", "score", "arch", "method", "training", "family"]),
        ("variance_shares", stats.VARIANCE_COLUMNS), ("recognition_anova", stats.ANOVA_COLUMNS),
        ("dprime_tests", stats.TEST_COLUMNS))}
    summary: dict = {"alpha": alpha}
    # The answer and its controls, as the results page's first paragraph states it (lib.answer).
    pc = get(params, "data.human_pc", str)
    summary["answer"] = answer(outputs.fit_smoothing(), pc,
                               outputs.bootstrap(error_bar=get(params, "bootstrap.error_bar", str)),
                               outputs.controls()) | {"human_map": pc}

    per_image = outputs.per_image()
    if per_image is not None and not (annotate(per_image)["role"] == "model").any():
        # Controls bound the models' scores; with no trained network there is nothing to rank.
        for key in ("best_vs_others", "family_tests", "variance_shares"):
            summary[key] = {"status": NO_MODEL}
    elif per_image is None:
        for key in ("best_vs_others", "family_tests", "variance_shares"):
            summary[key] = {"status": outputs.not_available(COMPARE_PER_IMAGE)}
    else:
        compare_controls = get(params, "stats.compare_controls", bool)
        tables["best_vs_others"] = stats.best_vs_others(per_image, alpha, compare_controls=compare_controls)
        tables["family_means"] = stats.family_means(per_image)
        tables["family_tests"] = stats.family_tests(per_image, alpha)
        tables["map_type_scores"] = stats.map_type_scores(per_image, get(params, "data.measures", list))
        tables["variance_shares"] = stats.variance_shares(tables["map_type_scores"])
        summary["best_vs_others"] = stats.summarise_best(tables["best_vs_others"])
        summary["family_tests"] = stats.summarise_tests(tables["family_tests"])
        summary["variance_shares"] = stats.summarise_variance(tables["variance_shares"])

    recognition = outputs.recognition_ann()
    if recognition is None or recognition.empty:
        summary["recognition_anova"] = {"status": NO_MODEL if recognition is not None
                                        else outputs.not_available(RECOGNITION_ANN_TABLE)}
    else:
        source = get(params, "stats.recognition_mask_source", str)
        models = sorted(recognition["model"].unique())
        analyses = [("all models", None)] + ([(m, m) for m in models] if len(models) > 1 else [])
        tables["recognition_anova"] = pd.concat(
            [stats.recognition_anova(stats.recognition_cells(recognition, source, model), name)
             for name, model in analyses], ignore_index=True)
        summary["recognition_anova"] = stats.summarise_anova(tables["recognition_anova"])

    if dprime is None:
        summary["dprime_tests"] = {"status": outputs.not_available(outputs.DPRIME_TABLES[unit], "human responses")}
    else:
        tables["dprime_tests"] = stats.dprime_tests(dprime, unit=unit, alpha=alpha)
        summary["dprime_tests"] = stats.summarise_tests(tables["dprime_tests"])

    for name, table in tables.items():
        write_text(STATS / f"{name}.csv", table.to_csv(index=False, float_format="%.10g"))
    write_json(STATS_METRICS, summary)
    print(json.dumps({k: v.get("status", "ok") for k, v in summary.items() if isinstance(v, dict)}))


if __name__ == "__main__":
    run(main)
