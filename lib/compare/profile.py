"""The image-agnostic profile control (a sanity check tied to alignment).

A map type can score well against human maps through a fixed spatial profile alone (a centre
weighting, or the bottom-right skew TF "same" padding gives EfficientNet-Lite maps) without
reading the image. Its profile is the mean over images of its maps, each first normalised to mean
1. Two scores bound what the map type's own score shows:
- `profile_r`: the profile used as the prediction for every image, fitted over sigma like any map
  type. A map type that scores no more than its profile reads nothing image-specific.
- `removed_r`: the maps divided by the profile (the profile's part taken out), fitted over sigma.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from lib.compare.fit import correlation_table, peak_index

__all__ = ["profile_maps", "profile_control"]


def profile_maps(maps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(profile, removed) for maps (T, N, H, W): the profile (T, N, H, W), the same map for every
    image, and the maps divided by it (where the profile is 0 the quotient is 0: no image put
    weight there). Each image's map is first scaled to mean 1 so that every image counts alike."""
    maps = np.asarray(maps, dtype=np.float64)
    means = maps.mean(axis=(-2, -1), keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        normalised = np.where(means != 0, maps / means, 0.0)
    profile = normalised.mean(axis=1, keepdims=True)  # (T, 1, H, W)
    with np.errstate(invalid="ignore", divide="ignore"):
        removed = np.where(profile != 0, normalised / profile, 0.0)
    # A map equal to its profile leaves a constant up to rounding; make it exactly constant so
    # it has no correlation rather than one computed from float noise.
    spread = np.ptp(removed, axis=(-2, -1), keepdims=True)
    scale = np.abs(removed).max(axis=(-2, -1), keepdims=True)
    removed = np.where(spread <= 1e-9 * scale, 1.0, removed)
    return np.broadcast_to(profile, maps.shape).copy(), removed


def _peaks(maps: np.ndarray, targets: np.ndarray, sigmas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Peak mean r over sigma and its sigma (T, K); an image whose map is constant (a removed map
    equal to its profile) has no r and is left out of that mean; all-constant gives NaN."""
    r, _ = correlation_table(maps, targets, sigmas, desc="smoothing profile")  # (T, K, S, N)
    # A constant map has no correlation; blurring leaves float noise that would give it one.
    constant = np.ptp(maps, axis=(-2, -1)) == 0  # (T, N)
    r = np.where(constant[:, None, None, :], np.nan, r)
    with np.errstate(invalid="ignore"):
        finite = np.isfinite(r)
        counts = finite.sum(axis=-1)
        curve = np.where(counts > 0, np.where(finite, r, 0).sum(axis=-1) / np.maximum(counts, 1), np.nan)
    safe = np.where(np.isfinite(curve), curve, -np.inf)
    idx = peak_index(safe, axis=-1)
    peak = np.take_along_axis(curve, idx[..., None], axis=-1)[..., 0]
    return peak, np.asarray(sigmas, dtype=np.float64)[idx]


def profile_control(maps: xr.DataArray, targets: xr.DataArray, sigmas: np.ndarray) -> xr.Dataset:
    """profile_r, profile_sigma and removed_r (map_type, human_map) for maps (map_type, image, y,
    x) against targets (human_map, image, y, x) on the same grid and images."""
    maps = maps.transpose("map_type", "image", "y", "x")
    targets = targets.transpose("human_map", "image", "y", "x")
    profile, removed = profile_maps(maps.values)
    profile_r, profile_sigma = _peaks(profile, targets.values, sigmas)
    removed_r, _ = _peaks(removed, targets.values, sigmas)
    dims = ("map_type", "human_map")
    coords = {"map_type": maps["map_type"].values, "human_map": targets["human_map"].values}
    return xr.Dataset({"profile_r": (dims, profile_r), "profile_sigma": (dims, profile_sigma),
                       "removed_r": (dims, removed_r)}, coords=coords)
