"""Stage benchmark: every map type against every human map with the saliency field's standard
metrics at its fitted sigma; the tidy scores table, the versioned benchmark record and the
leaderboard rows (lib.benchmark)."""

from lib import benchmark, outputs, paths
from lib.compare import load_map_types, store_paths, tables
from lib.human_pc import load_human_targets
from lib.params import get, load_params
from lib.store import read_dataset
from stages._run import run


def main() -> None:
    params = load_params()
    settings = benchmark.check_settings(get(params, "benchmark", dict))
    fixation = get(params, "human_pc.fixation_measures", list)
    pc_id = get(params, "data.human_pc", str)
    targets = load_human_targets(paths.HUMAN_MAPS, paths.HUMAN_PC, pc_id=pc_id)
    images = [str(i) for i in targets["image"].values]
    curves = read_dataset(paths.COMPARE_CURVES)
    stores = store_paths(get(params, "extract_attention.models", list))
    maps, _ = load_map_types(stores, images, grid=targets.sizes["y"])
    maps = maps.sel(map_type=curves["map_type"].values)  # fit_smoothing's usable map types
    fixations = benchmark.fixation_histograms(get(params, "estimate_human.sources", dict), fixation, images,
                                              targets.sizes["y"])
    per_image = benchmark.per_image_scores(maps, targets, curves["peak_sigma"], fixation, settings, fixations)
    scores, excluded = benchmark.summarise(per_image, fixation, get(params, "bootstrap.n", int),
                                           get(params, "bootstrap.seed", int), settings["interval"])
    board = benchmark.leaderboard(
        scores, outputs.read_table(paths.COMPARE_SUMMARY), pc_id, fixation,
        bootstrap=outputs.read_table(paths.BOOTSTRAP_TABLE), crossval=outputs.read_table(paths.CROSSVAL_TABLE),
        randomisation=outputs.read_json(paths.RANDOMISATION_METRICS))
    models = get(params, "extract_attention.models", list)
    weights = {name: attrs.get("settings", {}).get("weights_sha256", "")
               for name, attrs in outputs.store_attrs().items() if name in models}
    tables.write_outputs(
        {paths.BENCHMARK_SCORES: scores, paths.BENCHMARK_LEADERBOARD: board},
        {paths.BENCHMARK_RECORD: benchmark.record(params, targets, weights, excluded, board, fixations)},
    )
    print(f"benchmark v{benchmark.VERSION}: {maps.sizes['map_type']} map types x {targets.sizes['human_map']} "
          f"human maps, {len(scores)} scores; excluded {len(excluded)}")


if __name__ == "__main__":
    run(main)
