"""The fitted Gaussian blur applied to ANN maps before they become masks.

fit_smoothing fits each ANN map type's sigma with MATLAB `imgaussfilt` semantics (METHOD.md): a
kernel of 2*ceil(2*sigma)+1 taps, normalised over those taps, with replicate padding. The masks
must use the very same blur, so this adapter calls the project's implementation
`lib.compare.blur.imgaussfilt` when it is present and otherwise an identical local one (the
recognition branch was written before lib.compare was merged; a test checks that both agree).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

from lib.errors import InputError


def _local_imgaussfilt(maps: np.ndarray, sigma: float) -> np.ndarray:
    """MATLAB imgaussfilt over the last two axes: radius ceil(2*sigma), replicate padding."""
    arr = np.asarray(maps, dtype=np.float64)
    if sigma == 0:
        return arr.copy()
    radius = math.ceil(2 * sigma)
    sigmas = (0.0,) * (arr.ndim - 2) + (float(sigma), float(sigma))
    radii = (0,) * (arr.ndim - 2) + (radius, radius)
    return ndimage.gaussian_filter(arr, sigma=sigmas, mode="nearest", radius=radii)


def imgaussfilt(maps: np.ndarray, sigma: float) -> np.ndarray:
    """Maps (..., H, W) blurred with MATLAB imgaussfilt semantics at `sigma` (0 = unchanged)."""
    if not (isinstance(sigma, int | float) and math.isfinite(sigma) and sigma >= 0):
        raise InputError(f"blur: sigma must be a finite number >= 0, got {sigma!r}")
    try:
        from lib.compare.blur import imgaussfilt as project_imgaussfilt
    except ImportError:
        return _local_imgaussfilt(maps, sigma)
    return np.asarray(project_imgaussfilt(np.asarray(maps, dtype=np.float64), sigma))
