"""Stage fit_smoothing: for every map type and human map, the correlation over a grid of blur
sigmas, the peak and its sigma, with the shuffled-image and noise-ceiling controls."""

from lib import paths
from lib.compare import (
    fit_smoothing,
    human_ceilings,
    load_map_types,
    sigma_grid,
    store_paths,
    tables,
)
from lib.compare.profile import profile_control
from lib.executor import Executor
from lib.human_pc import load_human_targets
from lib.params import get, load_params
from lib.store import read_dataset, write_dataset
from stages._run import run


def main() -> None:
    params = load_params()
    sigmas = sigma_grid(get(params, "smoothing.max_sigma"), get(params, "smoothing.sigma_step"))
    pc_id = get(params, "data.human_pc", str)
    targets = load_human_targets(paths.HUMAN_MAPS, paths.HUMAN_PC, pc_id=pc_id)
    images = [str(i) for i in targets["image"].values]
    stores = store_paths(get(params, "extract_attention.models", list))
    maps, excluded = load_map_types(stores, images, grid=targets.sizes["y"])
    ds = fit_smoothing(maps, targets, sigmas, Executor.from_params(params))
    excluded |= ds.attrs.pop("excluded")
    # Image-agnostic profile control: what each map type's mean map alone scores (a sanity check).
    ds = ds.merge(profile_control(maps.sel(map_type=ds["map_type"].values), targets, sigmas))
    rel, ceiling = human_ceilings(
        targets, read_dataset(paths.HUMAN_PC), get(params, "smoothing.reliability", dict),
        get(params, "smoothing.spearman_brown", bool), pc_id,
    )
    ds = tables.add_ceilings(ds, rel, ceiling)
    ds.attrs.update(excluded=dict(sorted(excluded.items())), stores=[p.name for p in stores])
    write_dataset(ds, paths.COMPARE_CURVES)
    tables.write_outputs(
        {
            paths.COMPARE_SUMMARY: tables.summary_table(ds),
            paths.COMPARE_PEAKS: tables.peaks_table(ds),
            paths.COMPARE_PLOT: tables.curves_table(ds),
            paths.COMPARE_EXCLUDED: tables.excluded_table(excluded),
        },
        {
            paths.METRICS / "fit_smoothing.json": tables.fit_metrics(ds),
            paths.METRICS / "fit_smoothing_controls.json": tables.controls_metrics(ds, excluded),
        },
    )
    print(f"fit_smoothing: {ds.sizes['map_type']} map types x {ds.sizes['human_map']} human maps "
          f"x {len(sigmas)} sigmas; excluded: {sorted(excluded) or 'none'}")


if __name__ == "__main__":
    run(main)
