"""Stage participant_bootstrap: the study's error bars, resampling participants where human maps
come from raw trials (lib.compare.participants). With only published maps (no raw trials) it
writes a status saying so and no numbers.

Writes data/compare/participant_bootstrap.csv (map_type, human_map, r, sd, lo, hi) and
metrics/participant_bootstrap.json.
"""

import pandas as pd

from lib import paths
from lib.atomic import write_json, write_text
from lib.compare import load_map_types, store_paths
from lib.compare.participants import participant_bootstrap, resampled_measures
from lib.human_pc import HumanPCFit, load_human_targets
from lib.params import get, load_params
from lib.store import read_dataset
from lib.trials import TrialSettings
from stages._run import run

COLUMNS = ["map_type", "human_map", "r", "sd", "lo", "hi"]


def main() -> None:
    params = load_params()
    sources = get(params, "estimate_human.sources", dict)
    measures = get(params, "data.measures", list)
    out_json = paths.METRICS / "participant_bootstrap.json"
    if all(sources[m] == "published" for m in measures):
        status = ("not available: every measure comes from the study's published maps (estimate_human.sources); "
                  "the raw trials behind them are not public, so participants cannot be resampled")
        write_text(paths.PARTICIPANT_BOOTSTRAP, pd.DataFrame(columns=COLUMNS).to_csv(index=False))
        write_json(out_json, {"status": status})
        print(status)
        return
    pc_id = get(params, "data.human_pc", str)
    human = load_human_targets(paths.HUMAN_MAPS, paths.HUMAN_PC, pc_id=pc_id)
    images = [str(i) for i in human["image"].values]
    pc_store = read_dataset(paths.HUMAN_PC)
    pc_fit = HumanPCFit(measures=tuple(str(m) for m in pc_store["measure"].values), mean=pc_store["mean"].values,
                        std=pc_store["std"].values, explained_variance=pc_store["explained_variance"].values,
                        loadings=pc_store["loadings"].values, weights=pc_store["weights"].values)
    curves = read_dataset(paths.COMPARE_CURVES)
    maps, _ = load_map_types(store_paths(get(params, "extract_attention.models", list)), images,
                             grid=human.sizes["y"])
    maps = maps.sel(map_type=curves["map_type"].values)
    resampled = resampled_measures(
        sources, measures, images, get(params, "bootstrap.participants.n", int),
        get(params, "bootstrap.participants.seed", int), human.sizes["y"],
        TrialSettings.from_params(get(params, "estimate_human.trials", dict)), paths.ROOT)
    ds = participant_bootstrap(maps, human, pc_fit, pc_id, resampled, curves["peak_sigma"])
    table = ds[["sd", "lo", "hi"]].to_dataframe().reset_index()
    table = table.merge(curves["peak_r"].rename("r").to_dataframe().reset_index()[["map_type", "human_map", "r"]],
                        on=["map_type", "human_map"])[COLUMNS]
    write_text(paths.PARTICIPANT_BOOTSTRAP, table.round(10).to_csv(index=False))
    pc_rows = table[table["human_map"] == pc_id]
    metrics = {"status": "ok", "n": int(ds.attrs["n"]), "resampled": ds.attrs["resampled"],
               "sd_pc": {r["map_type"]: round(float(r["sd"]), 6) for _, r in pc_rows.iterrows()}}
    write_json(out_json, metrics)
    print(f"participant bootstrap: {ds.attrs['n']} resamples of {', '.join(ds.attrs['resampled'])}")


if __name__ == "__main__":
    run(main)
