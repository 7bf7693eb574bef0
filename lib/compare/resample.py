"""Bootstrap error bars for the peak scores (METHOD.md, bootstrap).

Image resampling works on the per-image table from fit_smoothing (no re-blurring): a resample's
curve is a weighted mean of the per-image correlations, with weights = how often each image was
drawn. The sigma is refitted in every resample (the peak of the resampled curve), so the interval
includes the uncertainty of the fit itself; the study's variant, the resampled score at the sigma
fitted on all images, is reported beside it (`fixed_r`).

Participant resampling (the study's own error bars) needs raw trials: given replicate human maps
rebuilt from resampled participants (the Human PC from the replicate measures with the fixed
loadings, `HumanPCFit.project`), `replicate_target_peaks` scores every replicate, blurring each
ANN map once per sigma for all replicates, and `summarise_replicates` turns either kind of
replicate into the same summary.
"""

from __future__ import annotations

import numpy as np

from lib.compare.fit import correlation_table, peak_index
from lib.errors import InputError


def bootstrap_indices(n_images: int, n: int, seed: int) -> np.ndarray:
    """(n, n_images) image indices drawn with replacement, reproducibly from `seed`."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        raise InputError(f"params.yaml: `bootstrap.n` must be an integer >= 2, got {n!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InputError(
            f"params.yaml: `bootstrap.seed` must be a non-negative integer, got {seed!r}"
        )
    return np.random.default_rng(seed).integers(0, n_images, size=(n, n_images))


def image_bootstrap(
    r: np.ndarray, r_shuffled: np.ndarray, sigmas: np.ndarray, indices: np.ndarray
) -> dict[str, np.ndarray]:
    """Resampled peaks from the per-image table r, r_shuffled (T, K, S, N) and resamples
    `indices` (B, N). Returns arrays (T, K, B): `peak_r` (refitted sigma), `sigma`, `gap`
    (peak minus the shuffled control at that sigma) and `fixed_r` (at the full-sample sigma)."""
    n_images = r.shape[-1]
    counts = np.stack([np.bincount(row, minlength=n_images) for row in indices]) / n_images
    full_idx = peak_index(r.mean(axis=-1), axis=-1)  # (T, K)
    out = {
        key: np.empty((*r.shape[:2], len(indices))) for key in ("peak_r", "sigma", "gap", "fixed_r")
    }
    for t in range(r.shape[0]):  # one map type at a time keeps the (K, S, B) curves small
        curves = r[t] @ counts.T  # (K, S, B)
        shuffled = r_shuffled[t] @ counts.T
        idx = peak_index(curves, axis=1)  # (K, B)
        peak = np.take_along_axis(curves, idx[:, None, :], axis=1)[:, 0]
        out["peak_r"][t] = peak
        out["sigma"][t] = np.asarray(sigmas)[idx]
        out["gap"][t] = peak - np.take_along_axis(shuffled, idx[:, None, :], axis=1)[:, 0]
        out["fixed_r"][t] = np.take_along_axis(curves, full_idx[t][:, None, None], axis=1)[:, 0]
    return out


def replicate_target_peaks(
    maps: np.ndarray,
    replicate_targets: np.ndarray,
    sigmas: np.ndarray,
    fitted_index: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Peak scores of maps (T, N, H, W) against replicate human maps (B, K, N, H, W), e.g. maps
    rebuilt from participants resampled with replacement (lib.trials' bootstrap maps).

    Returns arrays (T, K, B): `peak_r` and `sigma` with sigma refitted per replicate, and, when
    `fitted_index` (T, K) gives the sigma index fitted on the full data, `fixed_r` at that sigma
    (the study's error bar). Each map is blurred once per sigma for all replicates.
    """
    replicate_targets = np.asarray(replicate_targets, dtype=np.float64)
    if replicate_targets.ndim != 5:
        raise InputError(
            f"replicate human maps must be (B, K, N, H, W), got {replicate_targets.shape}"
        )
    n_rep, n_human = replicate_targets.shape[:2]
    flat = replicate_targets.reshape(n_rep * n_human, *replicate_targets.shape[2:])
    r, _ = correlation_table(maps, flat, sigmas, desc="participant bootstrap")  # (T, B*K, S, N)
    curves = r.mean(axis=-1).reshape(r.shape[0], n_rep, n_human, -1).transpose(0, 2, 3, 1)
    idx = peak_index(curves, axis=2)  # (T, K, B)
    out = {
        "peak_r": np.take_along_axis(curves, idx[:, :, None, :], axis=2)[:, :, 0],
        "sigma": np.asarray(sigmas)[idx],
    }
    if fitted_index is not None:
        out["fixed_r"] = np.take_along_axis(
            curves, np.asarray(fitted_index)[:, :, None, None], axis=2
        )[:, :, 0]
    return out


def summarise_replicates(
    replicates: dict[str, np.ndarray], level: float = 0.95
) -> dict[str, np.ndarray]:
    """Spread over the last axis (replicates) of each array in `replicates`: `<key>_sd` (ddof=1)
    and the percentile interval `<key>_lo`, `<key>_hi` at `level` (0.95: 2.5th and 97.5th)."""
    tail = 100 * (1 - level) / 2
    out = {}
    for key, values in replicates.items():
        out[f"{key}_sd"] = values.std(axis=-1, ddof=1)
        out[f"{key}_lo"] = np.percentile(values, tail, axis=-1)
        out[f"{key}_hi"] = np.percentile(values, 100 - tail, axis=-1)
    return out


def bootstrap_dataset(curves, n: int, seed: int, level: float = 0.95):
    """Image bootstrap of a fit_smoothing Dataset `curves` (with `r`, `r_shuffled`, `peak_r`,
    `peak_sigma`): per-resample `peak_r`, `sigma`, `gap`, `fixed_r` (map_type, human_map,
    resample) and their `_sd`, `_lo`, `_hi` summaries (map_type, human_map), beside the
    full-sample `r` and `sigma`."""
    import xarray as xr

    indices = bootstrap_indices(curves.sizes["image"], n, seed)
    dims = ("map_type", "human_map", "sigma", "image")
    reps = image_bootstrap(
        curves["r"].transpose(*dims).values,
        curves["r_shuffled"].transpose(*dims).values,
        curves["sigma"].values,
        indices,
    )
    pair = ("map_type", "human_map")
    ds = xr.Dataset(
        {"r": curves["peak_r"], "sigma": curves["peak_sigma"]}
        | {f"{k}_replicates": (pair + ("resample",), v) for k, v in reps.items()}
        | {k: (pair, v) for k, v in summarise_replicates(reps, level).items()},
        coords={
            "map_type": curves["map_type"],
            "human_map": curves["human_map"],
            "resample": np.arange(n),
        },
    )
    ds["indices"] = (("resample", "image"), indices)
    ds = ds.assign_coords(image=curves["image"].values)
    ds.attrs.update(n=n, seed=seed, level=level, sigma="refitted in every resample")
    return ds
