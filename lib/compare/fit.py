"""fit_smoothing (METHOD.md): for each map type and human map, the mean over images of the
per-image Pearson r between the blurred map and its own image's human map, at every sigma on a
grid; the peak over sigma is the score and its sigma the fitted smoothing.

Beside the matched score it computes the shuffled-image control: each blurred map against the
human maps of every other image (mean over the N-1 non-matching images), so matched - shuffled at
the fitted sigma is the image-specific part of the score.

Every map is blurred once per sigma; the correlations with all human maps (matched and
shuffled) are then dot products of unit-normalised maps, evaluated as matrix products.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

from lib.compare.blur import blur_maps
from lib.compare.screen import screen_map_types
from lib.errors import InputError
from lib.executor import LOCAL, Executor, run_tasks

# Maps blurred together in one block: bounds memory (block * pixels * 8 bytes, a few copies).
_BLOCK_MAPS = 512


def unit_maps(maps: np.ndarray) -> np.ndarray:
    """Maps (..., H, W) flattened to (..., H*W), centred and scaled to unit norm, so the dot
    product of two of them is their Pearson r. A constant map gives NaN."""
    flat = np.asarray(maps, dtype=np.float64).reshape(*np.shape(maps)[:-2], -1)
    flat = flat - flat.mean(axis=-1, keepdims=True)
    norm = np.sqrt((flat * flat).sum(axis=-1, keepdims=True))
    with np.errstate(invalid="ignore", divide="ignore"):
        return flat / norm


def correlation_table(
    maps: np.ndarray, targets: np.ndarray, sigmas: np.ndarray, executor: Executor = LOCAL,
    names: Sequence[str] | None = None, desc: str = "correlations",
) -> tuple[np.ndarray, np.ndarray]:
    """Per-image correlations of blurred maps with human maps, at every sigma.

    maps (T, N, H, W): T map types' maps of N images on the analysis grid; targets (K, N, H, W):
    K human maps of the same images, same grid. Returns (r, r_shuffled), each (T, K, S, N):
    r[t, k, s, n] is Pearson r of map t of image n blurred with sigmas[s] against target k of
    image n; r_shuffled[t, k, s, n] is the mean r of that blurred map against target k of each of
    the other N-1 images (NaN when N == 1).

    Map types are scored in blocks (bounded memory); under `executor.kind: dask` each block is a
    task (`names`, the map types' names, label them), computed exactly as in this process.
    `desc` names the caller in the progress bar and in errors.
    """
    maps = np.asarray(maps, dtype=np.float64)
    targets = np.asarray(targets, dtype=np.float64)
    if maps.ndim != 4 or targets.ndim != 4 or maps.shape[1:] != targets.shape[1:]:
        raise InputError(
            f"{desc}: maps (T, N, H, W) and targets (K, N, H, W) must share N, H, W; "
            f"got {maps.shape} and {targets.shape}"
        )
    n_types, n_images = maps.shape[:2]
    sigmas = np.asarray(sigmas, dtype=np.float64)
    target_unit = unit_maps(targets)  # (K, N, P)
    target_sum = target_unit.sum(axis=1)  # (K, P): sum over images, for the shuffled mean
    per_image = np.ascontiguousarray(target_unit.transpose(1, 2, 0))  # (N, P, K)
    types_per_block = max(1, _BLOCK_MAPS // n_images)
    starts = range(0, n_types, types_per_block)
    names = list(names) if names is not None else [str(t) for t in range(n_types)]
    blocks = run_tasks(
        correlation_block,
        [(maps[start : start + types_per_block],) for start in starts],
        [f"map types {names[start]}..{names[min(start + types_per_block, n_types) - 1]}" for start in starts],
        executor,
        desc=desc,
        shared=(per_image, target_sum, sigmas),
    )
    r = np.concatenate([b[0] for b in blocks]) if blocks else np.empty((0, len(targets), len(sigmas), n_images))
    r_shuffled = np.concatenate([b[1] for b in blocks]) if blocks else np.empty_like(r)
    return r, r_shuffled


def correlation_block(
    per_image: np.ndarray, target_sum: np.ndarray, sigmas: np.ndarray, block: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(r, r_shuffled) (t, K, S, N) of a block of map types (t, N, H, W) against the unit-normalised
    targets per image (N, P, K) and their sum over images (K, P)."""
    n_images = block.shape[1]
    r = np.empty((len(block), target_sum.shape[0], len(sigmas), n_images))
    r_shuffled = np.empty_like(r)
    for s, sigma in enumerate(sigmas):
        blurred = unit_maps(blur_maps(block, sigma))  # (t, N, P)
        # matched: for each image n, (t, P) @ (P, K)
        matched = np.matmul(blurred.transpose(1, 0, 2), per_image)  # (N, t, K)
        matched = matched.transpose(1, 2, 0)  # (t, K, N)
        # the sum of r over all images' targets is one dot product with their sum
        total = blurred.reshape(-1, blurred.shape[-1]) @ target_sum.T
        total = total.reshape(len(block), n_images, -1).transpose(0, 2, 1)  # (t, K, N)
        r[:, :, s, :] = matched
        with np.errstate(invalid="ignore", divide="ignore"):
            r_shuffled[:, :, s, :] = (total - matched) / (n_images - 1)
    return r, r_shuffled


def peak_index(curves: np.ndarray, axis: int = -1) -> np.ndarray:
    """Index of the peak along `axis` (the first one on ties, i.e. the smallest sigma)."""
    return np.argmax(curves, axis=axis)


def fit_smoothing(maps: xr.DataArray, targets: xr.DataArray, sigmas: np.ndarray,
                  executor: Executor = LOCAL) -> xr.Dataset:
    """The full fit for maps (map_type, image, y, x) against targets (human_map, image, y, x).

    Map types with NaN/inf or constant maps are excluded with a warning and listed in the
    result's `excluded` attribute ({map_type: reason}); no NaN reaches a mean.

    Returns a Dataset with
      r, r_shuffled (map_type, human_map, sigma, image)   the per-image table
      curve, curve_shuffled (map_type, human_map, sigma)  means over images
      peak_r, peak_sigma (map_type, human_map)            the score and its fitted sigma
      shuffled_r, gap (map_type, human_map)               shuffled control at the fitted sigma
                                                          and the image-specific part peak - it
    """
    maps = maps.transpose("map_type", "image", "y", "x")
    targets = targets.transpose("human_map", "image", "y", "x")
    images = [str(i) for i in targets["image"].values]
    if [str(i) for i in maps["image"].values] != images:
        raise InputError("fit_smoothing: maps and human maps must list the same images in order")
    if len(images) < 2:
        raise InputError("fit_smoothing: need at least two images")
    _check_targets(targets, images)
    names = [str(m) for m in maps["map_type"].values]
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise InputError(f"fit_smoothing: map types listed more than once: {dup}")
    excluded = screen_map_types(maps.values, names, images)
    keep = [n for n in names if n not in excluded]
    if not keep:
        raise InputError("fit_smoothing: no usable map type (all were excluded)")
    maps = maps.sel(map_type=keep)
    r, r_shuffled = correlation_table(maps.values, targets.values, sigmas, executor, keep, desc="fit_smoothing")
    # Blurring cannot make a usable map constant, but guard the promise anyway.
    bad = ~np.isfinite(r).all(axis=(1, 2, 3))
    if bad.any():
        raise InputError(
            f"fit_smoothing: NaN correlations for {[keep[i] for i in np.flatnonzero(bad)]}"
        )
    dims = ("map_type", "human_map", "sigma", "image")
    coords = {
        "map_type": keep,
        "human_map": [str(h) for h in targets["human_map"].values],
        "sigma": np.asarray(sigmas, dtype=np.float64),
        "image": images,
    }
    for name in maps.coords:
        if name != "map_type" and maps.coords[name].dims == ("map_type",):
            coords[name] = ("map_type", maps.coords[name].values)
    ds = xr.Dataset({"r": (dims, r), "r_shuffled": (dims, r_shuffled)}, coords=coords)
    ds = summarise_table(ds)
    ds.attrs["excluded"] = excluded
    return ds


def summarise_table(ds: xr.Dataset) -> xr.Dataset:
    """Add the curves, peaks and shuffled control to a Dataset holding the per-image table
    `r` and `r_shuffled` (map_type, human_map, sigma, image)."""
    ds = ds.copy()
    ds["curve"] = ds["r"].mean("image")
    ds["curve_shuffled"] = ds["r_shuffled"].mean("image")
    idx = peak_index(ds["curve"].values, axis=-1)
    take = _take_sigma(idx)
    ds["peak_index"] = (("map_type", "human_map"), idx)
    ds["peak_r"] = (("map_type", "human_map"), take(ds["curve"].values))
    ds["peak_sigma"] = (("map_type", "human_map"), ds["sigma"].values[idx])
    ds["shuffled_r"] = (("map_type", "human_map"), take(ds["curve_shuffled"].values))
    ds["gap"] = ds["peak_r"] - ds["shuffled_r"]
    ds["r_at_peak"] = (("map_type", "human_map", "image"), take(ds["r"].values))
    ds["r_shuffled_at_peak"] = (("map_type", "human_map", "image"), take(ds["r_shuffled"].values))
    return ds


def _take_sigma(idx: np.ndarray):
    """A function picking, from an array (T, K, S, ...), the entries at sigma index idx (T, K)."""

    def take(values: np.ndarray) -> np.ndarray:
        index = idx.reshape(*idx.shape, 1, *([1] * (values.ndim - 3)))
        return np.take_along_axis(values, index, axis=2)[:, :, 0]

    return take


def _check_targets(targets: xr.DataArray, images: list[str]) -> None:
    values = targets.values
    finite = np.isfinite(values).all(axis=(-2, -1))
    spread = np.ptp(np.where(np.isfinite(values), values, 0), axis=(-2, -1))
    for k, h in enumerate(targets["human_map"].values):
        for n, image in enumerate(images):
            if not finite[k, n]:
                raise InputError(f"human map {h}, image {image}: NaN/inf values")
            if spread[k, n] == 0:
                raise InputError(f"human map {h}, image {image}: constant map (no variance)")
