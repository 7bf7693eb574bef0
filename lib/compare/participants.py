"""The study's error bars: resampling participants (METHOD.md, bootstrap).

Where a measure's maps come from raw trials, each resample draws that measure's participants
(chains, for spatial memory) with replacement within every image (lib.trials.bootstrap_maps),
rebuilds its maps, rebuilds the Human PC from the resampled measures with the full sample's fixed
loadings and normalisation, and rescores every map type at its full-sample fitted sigma. The SD of
those scores is the study's error bar. Measures from published maps have no participants to
resample and stay fixed (each output says which were resampled).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import xarray as xr
from tqdm import tqdm

from lib.compare.blur import blur_maps
from lib.compare.fit import unit_maps
from lib.human_pc import HumanPCFit
from lib.maps import resize_maps
from lib.trials import PROCEDURE_OF_MEASURE, TrialSettings, load_trials
from lib.trials.resample import bootstrap_maps

__all__ = ["resampled_measures", "participant_bootstrap"]


def resampled_measures(
    sources: Mapping[str, str], measures: Sequence[str], images: Sequence[str], n: int, seed: int,
    grid: int, settings: TrialSettings, root,
) -> dict[str, np.ndarray]:
    """{measure: (n, image, grid, grid)} participant-bootstrap rebuilds of every measure whose
    source is a trial file (paths relative to `root`); published measures are absent."""
    from pathlib import Path

    out = {}
    for k, measure in enumerate(measures):
        source = sources[measure]
        if source == "published":
            continue
        trials = load_trials(Path(root) / source, PROCEDURE_OF_MEASURE[measure], list(images))
        native = bootstrap_maps(trials, n, seed + k, measure=measure, images=list(images), settings=settings)
        out[measure] = resize_maps(native, grid)
    return out


def participant_bootstrap(
    maps: xr.DataArray,
    human: xr.DataArray,
    pc_fit: HumanPCFit,
    pc_id: str,
    resampled: Mapping[str, np.ndarray],
    fitted_sigma: xr.DataArray,
    level: float = 0.95,
) -> xr.Dataset:
    """Scores of maps (map_type, image, y, x) against participant-resampled human maps.

    human: the full-sample measures (human_map, image, y, x), the Human PC under `pc_id` included;
    resampled: {measure: (B, image, y, x)}; fitted_sigma (map_type, human_map): each map type's
    full-sample sigma. Returns r_fixed (map_type, human_map, resample) at that sigma and its
    `sd`, `lo`, `hi` (percentile interval at `level`), with attrs `resampled` (the measures)."""
    measures = list(pc_fit.measures)
    n = next(iter(resampled.values())).shape[0]
    base = human.sel(human_map=measures).transpose("human_map", "image", "y", "x").values
    names = [str(h) for h in human["human_map"].values]
    types = [str(t) for t in maps["map_type"].values]
    values = maps.transpose("map_type", "image", "y", "x").values
    # Each map type is blurred once per human map, at its fitted sigma; a resample then costs one
    # dot product per map (Pearson r of unit-normalised maps).
    blurred = np.stack([
        np.stack([unit_maps(blur_maps(values[t], float(fitted_sigma.sel(map_type=name, human_map=h))))
                  for h in names]) for t, name in enumerate(types)])  # (T, K, N, P)
    r = np.empty((len(types), len(names), n))
    for b in tqdm(range(n), desc="participant bootstrap", unit="resample"):
        stack = base.copy()
        for k, measure in enumerate(measures):
            if measure in resampled:
                stack[k] = resampled[measure][b]
        replicate = {m: stack[k] for k, m in enumerate(measures)} | {pc_id: pc_fit.project(stack)}
        targets = unit_maps(np.stack([replicate[h] for h in names]))  # (K, N, P)
        r[:, :, b] = np.einsum("tknp,knp->tkn", blurred, targets, optimize=True).mean(axis=-1)
    tail = 100 * (1 - level) / 2
    dims = ("map_type", "human_map")
    return xr.Dataset(
        {"r_fixed": (("map_type", "human_map", "resample"), r),
         "sd": (dims, r.std(axis=-1, ddof=1) if n > 1 else np.full(r.shape[:2], np.nan)),
         "lo": (dims, np.percentile(r, tail, axis=-1)), "hi": (dims, np.percentile(r, 100 - tail, axis=-1))},
        coords={"map_type": types, "human_map": names, "resample": np.arange(n)},
        attrs={"resampled": sorted(resampled), "n": n, "level": level},
    )
