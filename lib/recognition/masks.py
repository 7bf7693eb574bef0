"""Masks for the two masking experiments (METHOD.md, recognition_ann and recognition_human).

Both experiments work on a 250x250 grid: images and maps are resized there with area
interpolation. recognition_ann uses a graded mask (median-floored, shifted, scaled to [0, 1]) on
the RGB image; recognition_human a mask revealing exactly half the pixels of the grayscale image,
graded as the study made it (the map's own values above the median, scaled by its maximum, zero
elsewhere) or binary (`recognition_human.mask_style`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lib.compare.blur import blur_maps
from lib.errors import InputError
from lib.maps import resize_maps


def _area_matrix(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) weights of pixel-area resampling: output pixel j covers the input interval
    [j*s, (j+1)*s) with s = n_in / n_out, and each input pixel counts by its overlap with it."""
    scale = n_in / n_out
    lo = np.arange(n_out)[:, None] * scale
    hi = lo + scale
    left = np.arange(n_in)[None, :]
    overlap = np.clip(np.minimum(hi, left + 1) - np.maximum(lo, left), 0, None)
    return overlap / scale


def area_resize(arr: np.ndarray, size: int, channels_last: bool = False) -> np.ndarray:
    """Area-interpolation resize to size x size (float64): each output pixel is the area-weighted
    mean of the input pixels it covers (OpenCV's INTER_AREA when shrinking; the same overlap rule
    when enlarging). `arr` is (..., H, W), or (..., H, W, C) with `channels_last`."""
    a = np.asarray(arr, dtype=np.float64)
    if channels_last:
        a = np.moveaxis(a, -1, -3)
    if a.ndim < 2 or min(a.shape[-2:]) < 1:
        raise InputError(f"area_resize: expected (..., H, W), got shape {np.shape(arr)}")
    my = _area_matrix(a.shape[-2], size)
    mx = _area_matrix(a.shape[-1], size)
    out = np.einsum("yi,...ij,xj->...yx", my, a, mx, optimize=True)
    return np.moveaxis(out, -3, -1) if channels_last else out


def ann_mask(maps: np.ndarray, where: str = "mask", names: Sequence[str] | None = None
             ) -> np.ndarray:
    """recognition_ann masks from maps (..., H, W) already on the 250 grid: values below each map's
    median are raised to the median, the median is subtracted and the result divided by its
    maximum, giving [0, 1] with about half the pixels at 0. A map whose upper half is flat
    (maximum equal to the median) has no usable mask: InputError naming `where` and the map
    (`names` along the first axis, else its flat index)."""
    a = np.asarray(maps, dtype=np.float64)
    med = np.median(a, axis=(-2, -1), keepdims=True)
    shifted = np.maximum(a, med) - med
    top = shifted.max(axis=(-2, -1), keepdims=True)
    if not np.all(top > 0):
        bad = np.argwhere(top.reshape(-1) <= 0)[:, 0].tolist()
        which = [names[k] for k in bad] if names is not None else bad
        raise InputError(f"{where}: map(s) {which} have no values above their median")
    return shifted / top


def half_mask(maps: np.ndarray) -> np.ndarray:
    """recognition_human masks (..., H, W) of 0/1 revealing exactly half the pixels of each map:
    the pixels above its median. Ties at the median (flat regions, e.g. zeros of a Grad-CAM map
    far from any activation) go to the pixels nearest the image centre, so the revealed area is
    always exactly half and grows as one smooth region rather than as random speckle; H*W must be
    even."""
    a = np.asarray(maps, dtype=np.float64)
    h, w = a.shape[-2:]
    if (h * w) % 2:
        raise InputError(f"half_mask: {h}x{w} pixels cannot be split in exact halves")
    yy, xx = np.mgrid[0:h, 0:w]
    closeness = -np.hypot(yy - (h - 1) / 2, xx - (w - 1) / 2).reshape(-1)
    flat = a.reshape(-1, h * w)
    out = np.zeros_like(flat)
    for k, row in enumerate(flat):
        # lexsort sorts by its last key first: value, then closeness to the centre.
        order = np.lexsort((closeness, row))
        out[k, order[row.size // 2:]] = 1.0
    return out.reshape(a.shape)


MASK_STYLES = ("graded", "binary")


def graded_half_mask(maps: np.ndarray) -> np.ndarray:
    """recognition_human's graded masks (..., H, W) in [0, 1]: each map's values on the half of
    the pixels `half_mask` reveals, divided by the map's maximum, and 0 on the other half. Values
    below 0 (bicubic overshoot beside flat zeros) count as 0. A map without a positive value
    reveals nothing: InputError."""
    a = np.clip(np.asarray(maps, dtype=np.float64), 0, None)
    top = a.max(axis=(-2, -1), keepdims=True)
    if not np.all(top > 0):
        bad = np.argwhere(top.reshape(-1) <= 0)[:, 0].tolist()
        raise InputError(f"graded_half_mask: map(s) {bad} have no positive values")
    return half_mask(maps) * a / top


def human_mask(maps: np.ndarray, style: str) -> np.ndarray:
    """recognition_human's masks of `style` (MASK_STYLES) from maps (..., H, W) on the stimulus
    grid."""
    if style == "graded":
        return graded_half_mask(maps)
    if style == "binary":
        return half_mask(maps)
    raise InputError(f"params.yaml: recognition_human.mask_style must be one of {list(MASK_STYLES)}, "
                     f"got {style!r}")


def to_grid_maps(raw: np.ndarray, grid: int, sigma: float) -> np.ndarray:
    """Raw ANN maps (..., H, W) as fit_smoothing sees them: bicubic resize to the analysis grid,
    then the fitted blur at `sigma` (grid pixels)."""
    return blur_maps(resize_maps(raw, grid), sigma)


def grayscale(images: np.ndarray) -> np.ndarray:
    """ITU-R 601 luma (what PIL's "L" mode uses) of RGB images (..., H, W, 3), float64 0..255."""
    rgb = np.asarray(images, dtype=np.float64)
    return rgb @ np.array([0.299, 0.587, 0.114])


def to_uint8(values: np.ndarray) -> np.ndarray:
    """Round and clip to uint8 (what saving a masked image would do)."""
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)
