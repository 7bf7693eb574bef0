"""Stage recognition_human: the speeded recognition experiment (stimuli, trial lists, browser page)
and, when `recognition_human.responses` names a file, the analysis of its responses."""

import json

from lib.atomic import write_json
from lib.images import read_images
from lib.map_types import models_of_role, require_models
from lib.params import get, load_params
from lib.paths import FIT_SMOOTHING, LABELS, METRICS, RECOGNITION_HUMAN, ROOT, attention_store
from lib.recognition.analysis import analyse
from lib.recognition.design import DesignSpec
from lib.recognition.human import build_experiment, design_summary, write_experiment
from lib.recognition.labels import load_labels
from lib.recognition.sources import fitted_sigma, load_fit, raw_ann_maps
from lib.store import read_dataset
from stages._run import run


def main() -> None:
    params = load_params()
    ids = get(params, "data.images", list)
    p = "recognition_human."
    models = get(params, "extract_attention.models", list)
    if not models_of_role(models, "model"):
        # The experiment shows masks from trained networks; with controls only there is none.
        status = ("extract_attention.models lists no trained network, so the human experiment has no "
                  "trained map types to build masks from")
        RECOGNITION_HUMAN.mkdir(parents=True, exist_ok=True)
        write_json(METRICS / "recognition_human.json", {"status": status})
        print(status)
        return
    spec = DesignSpec(
        map_types=tuple(require_models(get(params, p + "map_types", list), p + "map_types")),
        n_sets=get(params, p + "n_sets", int),
        set_size=get(params, p + "set_size", int), r_max=get(params, p + "r_max", float),
        rotations=tuple(get(params, p + "rotations", list)), seed=get(params, "data.seed", int),
        max_restarts=get(params, p + "max_restarts", int))
    stores = {m: read_dataset(attention_store(m)) for m in models}
    fit = load_fit(FIT_SMOOTHING)
    pc_id = get(params, "data.human_pc", str)
    exp = build_experiment(
        ids, read_images(ids), {m: raw_ann_maps(stores, m, ids) for m in spec.map_types},
        {m: fitted_sigma(fit, m, pc_id) for m in spec.map_types}, load_labels(LABELS, ids), spec,
        get(params, "data.grid", int), get(params, p + "size", int),
        get(params, p + "mask_style", str))
    metrics = {"design": design_summary(exp.trials), "analysis": None}
    extra = {}  # the analysis tables, when there are responses
    responses = get(params, p + "responses", (str, type(None)))
    if responses:
        metrics["analysis"], extra = analyse(
            ROOT / responses, exp.trials, spec.map_types, ids,
            get(params, p + "min_accuracy", float), get(params, p + "n_resamples", int),
            spec.seed)
    write_experiment(exp, RECOGNITION_HUMAN, get(params, p + "fixation_ms", int),
                     get(params, p + "flash_ms", int), get(params, p + "iti_ms", int), extra)
    write_json(METRICS / "recognition_human.json", metrics)
    print(json.dumps(metrics["design"]))


if __name__ == "__main__":
    run(main)
