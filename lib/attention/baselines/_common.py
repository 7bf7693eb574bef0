"""What the reference-map methods share: checking the input image, output sizes, resizing
(bicubic as MATLAB's `imresize`, area as OpenCV's INTER_AREA), min-max scaling and options."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from lib.errors import InputError


def _check_image(
    image: np.ndarray, where: str, min_size: int = 1, allow_constant: bool = False
) -> np.ndarray:
    """The image as float64 in [0, 1], or InputError: wrong shape/dtype, too small, or constant
    (a uniform image has no salient location; GBVS and BMS are undefined on it)."""
    arr = np.asarray(image)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise InputError(f"{where}: expected an RGB image (H, W, 3), got shape {arr.shape}")
    if arr.dtype != np.uint8:
        raise InputError(f"{where}: expected uint8 pixels, got dtype {arr.dtype}")
    if min(arr.shape[:2]) < min_size:
        raise InputError(f"{where}: image {arr.shape[:2]} is smaller than {min_size} px")
    if not allow_constant and arr.min() == arr.max():
        raise InputError(f"{where}: image is constant; saliency is undefined")
    return arr.astype(np.float64) / 255.0


def _out_size(image: np.ndarray, out_size: tuple[int, int] | int | None) -> tuple[int, int]:
    if out_size is None:
        return int(image.shape[0]), int(image.shape[1])
    if isinstance(out_size, int):
        return out_size, out_size
    return int(out_size[0]), int(out_size[1])


def _resize(maps: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bicubic resize of (..., H, W) to (..., h, w), antialiased when shrinking.

    torch's antialiased bicubic uses the a = -0.5 kernel with a widened support on shrinking,
    which is what MATLAB's `imresize(..., 'bicubic')` does (the GBVS release's resizer)."""
    arr = np.asarray(maps, dtype=np.float64)
    if arr.shape[-2:] == tuple(size):
        return arr.copy()
    lead = arr.shape[:-2]
    flat = torch.from_numpy(np.ascontiguousarray(arr.reshape(-1, 1, *arr.shape[-2:])))
    out = F.interpolate(flat, size=tuple(size), mode="bicubic", align_corners=False, antialias=True)
    return out.numpy().reshape(*lead, *size)


def _area_matrix(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) weights of area (box) resampling: each output pixel averages the input
    pixels its footprint covers, weighted by overlap (OpenCV's INTER_AREA, used by BMS)."""
    edges = np.arange(n_out + 1) * (n_in / n_out)
    lo = np.maximum(edges[:-1, None], np.arange(n_in)[None, :])
    hi = np.minimum(edges[1:, None], np.arange(1, n_in + 1)[None, :])
    weights = np.clip(hi - lo, 0.0, None)
    return weights / weights.sum(axis=1, keepdims=True)


def _area_resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Area resize of (H, W, C) to (h, w, C)."""
    rows = _area_matrix(image.shape[0], size[0])
    cols = _area_matrix(image.shape[1], size[1])
    tall = np.tensordot(rows, image, axes=1)  # (h, W, C)
    return np.moveaxis(np.moveaxis(tall, 1, 2) @ cols.T, 2, 1)


def _minmax(values: np.ndarray) -> np.ndarray:
    """Scaled to [0, 1] (zeros if constant)."""
    lo, hi = values.min(), values.max()
    if hi <= lo:
        return np.zeros_like(values)
    return (values - lo) / (hi - lo)


def _options(defaults: dict[str, Any], options: dict[str, Any], name: str) -> dict[str, Any]:
    unknown = set(options) - set(defaults)
    if unknown:
        raise InputError(f"{name}: unknown options {sorted(unknown)} (known: {sorted(defaults)})")
    return {**defaults, **options}
