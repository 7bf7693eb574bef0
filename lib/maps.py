"""Operations on 2D maps shared by every stage: validation, resizing to the analysis grid, and the
per-image Pearson correlation (pysaliency's CC) that every comparison in the study uses."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from lib.errors import InputError


def check_map(values: np.ndarray, where: str, shape: tuple[int, int] | None = None) -> np.ndarray:
    """`values` as a float64 2D map, or an InputError naming `where` if it is not a usable map:
    wrong rank or shape, NaN/inf, or no variance (a constant map correlates with nothing)."""
    arr = np.asarray(values)
    if arr.ndim != 2:
        raise InputError(f"{where}: expected a 2D map, got shape {arr.shape}")
    if shape is not None and arr.shape != tuple(shape):
        raise InputError(f"{where}: expected shape {tuple(shape)}, got {arr.shape}")
    if not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.bool_):
        raise InputError(f"{where}: expected numbers, got dtype {arr.dtype}")
    if np.iscomplexobj(arr):
        # Casting would drop the imaginary part without a word.
        raise InputError(f"{where}: expected a real map, got complex values (dtype {arr.dtype})")
    arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        raise InputError(f"{where}: map contains {int((~np.isfinite(arr)).sum())} NaN/inf values")
    if np.ptp(arr) == 0:
        raise InputError(f"{where}: map is constant (no variance)")
    return arr


def resize_maps(maps: np.ndarray, size: int, antialias: bool = False) -> np.ndarray:
    """Bicubic resize of maps (..., H, W) to (..., size, size), float64.

    Half-pixel-centre bicubic with a = -0.75, as OpenCV's INTER_CUBIC that the study's Python code
    used; without antialiasing by default, which is how that call downsamples.
    """
    arr = np.asarray(maps, dtype=np.float64)
    lead = arr.shape[:-2]
    flat = torch.from_numpy(np.ascontiguousarray(arr.reshape(-1, 1, *arr.shape[-2:])))
    out = F.interpolate(flat, size=(size, size), mode="bicubic", align_corners=False,
                        antialias=antialias)
    return out.numpy().reshape(*lead, size, size)


def pearson_per_image(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson r between maps a and b over their last two axes (broadcasting the rest).

    Returns NaN where either map is constant; callers that average must check for it.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    a = a - a.mean(axis=(-2, -1), keepdims=True)
    b = b - b.mean(axis=(-2, -1), keepdims=True)
    num = (a * b).sum(axis=(-2, -1))
    den = np.sqrt((a * a).sum(axis=(-2, -1)) * (b * b).sum(axis=(-2, -1)))
    with np.errstate(invalid="ignore", divide="ignore"):
        return num / den
