"""Patch-rating maps (PATCH): the mean rating of each patch, spread to every pixel as a
Gaussian-weighted average over patch centres, then squared for dynamic range (METHOD.md).

The study's patches lie on a regular 12x12 grid of centres (diameter 442/2430 of the image width),
about 9 raters each; the estimator takes whatever centres the file holds.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from lib.errors import InputError
from lib.trials._grid import gaussian_columns, pixel_centres

PATCH_GRID = 12  # centres per side in the study
PATCH_DIAMETER_FRACTION = 442 / 2430  # of the image width


def patch_centres(grid: int = PATCH_GRID, image_size: float = 405) -> np.ndarray:
    """The study layout's centre coordinates along one axis (px): a regular grid of `grid` cells."""
    return pixel_centres(grid, image_size)


def patch_builder(
    frame: pd.DataFrame, size: int, sigma_px: float, where: str = "patch"
) -> Callable[[np.ndarray | None], np.ndarray]:
    """A function weights -> the (size, size) patch map of one image from its rating rows, each row
    counted weights[i] times (None: once). At each pixel: the average of the patches' mean ratings
    weighted by exp(-d^2 / 2 sigma^2) (d = distance to the patch centre; patches left without
    ratings drop out), squared. What does not depend on the weights is computed once."""
    centres, index = np.unique(frame[["x", "y"]].to_numpy(), axis=0, return_inverse=True)
    index = index.ravel()
    ratings = frame["rating"].to_numpy(dtype=np.float64)
    grid = pixel_centres(size)
    ky = gaussian_columns(centres[:, 1], grid, sigma_px)  # (size, patches)
    kx = gaussian_columns(centres[:, 0], grid, sigma_px)
    n = len(centres)

    def build(weights: np.ndarray | None = None) -> np.ndarray:
        w = np.ones(len(ratings)) if weights is None else np.asarray(weights, dtype=np.float64)
        count = np.bincount(index, w, minlength=n)
        total = np.bincount(index, w * ratings, minlength=n)
        rated = count > 0
        mean = np.divide(total, count, out=np.zeros(n), where=rated)
        numerator = (ky * mean) @ kx.T
        denominator = (ky * rated) @ kx.T
        if not np.all(denominator > 0):
            raise InputError(
                f"{where}: estimate_human.trials.patch.sigma_px = {sigma_px} is too small for the "
                "spacing of the patch centres (pixels with no weight on any rated patch)"
            )
        return (numerator / denominator) ** 2

    return build


def patch_map(
    frame: pd.DataFrame,
    size: int,
    sigma_px: float,
    weights: np.ndarray | None = None,
    where: str = "patch",
) -> np.ndarray:
    """The (size, size) patch map of one image from its rating rows (see `patch_builder`)."""
    return patch_builder(frame, size, sigma_px, where)(weights)
