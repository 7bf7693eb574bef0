"""Fixation maps (FREE, SALIENCY, OBJECT): a Gaussian kernel density estimate of the fixation
coordinates, diagonal covariance, normalised to sum 1 (METHOD.md, estimate_human)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from lib.trials._grid import kde_builder


def fixation_builder(
    frame: pd.DataFrame, size: int, sigma_x_px: float, sigma_y_px: float, where: str = "fixations"
) -> Callable[[np.ndarray | None], np.ndarray]:
    """A function weights -> the (size, size) fixation density of one image and task from its rows
    (`x`, `y` in image px), row i counted weights[i] times (None: once)."""
    x, y = frame["x"].to_numpy(), frame["y"].to_numpy()
    return kde_builder(x, y, size, sigma_x_px, sigma_y_px, where)


def fixation_map(
    frame: pd.DataFrame,
    size: int,
    sigma_x_px: float,
    sigma_y_px: float,
    weights: np.ndarray | None = None,
    where: str = "fixations",
) -> np.ndarray:
    """The (size, size) fixation density of one image and task (see `fixation_builder`)."""
    return fixation_builder(frame, size, sigma_x_px, sigma_y_px, where)(weights)
