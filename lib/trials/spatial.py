"""Spatial memory maps (SPATIAL): serial-reproduction chains, the positions of their final
iteration, a Gaussian kernel density estimate with diagonal covariance, normalised to sum 1
(METHOD.md, estimate_human)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from lib.errors import InputError
from lib.trials._grid import kde_builder


def final_positions(frame: pd.DataFrame, iteration: int, where: str = "spatial") -> pd.DataFrame:
    """The rows of one image's chains at `iteration`, one per chain; every chain must reach it (a
    chain that stops short would otherwise silently drop out of the map)."""
    last = frame.groupby("chain", sort=True, observed=True)["iteration"].max()
    short = last[last < iteration]
    if len(short):
        raise InputError(
            f"{where}: chain {short.index[0]!r} ends at iteration {int(short.iloc[0])}, before "
            f"estimate_human.trials.spatial.iteration = {iteration} ({len(short)} chains short)"
        )
    return frame[(frame["iteration"] == iteration).to_numpy()].reset_index(drop=True)


def spatial_builder(
    final: pd.DataFrame, size: int, sigma_x_px: float, sigma_y_px: float, where: str = "spatial"
) -> Callable[[np.ndarray | None], np.ndarray]:
    """A function weights -> the (size, size) spatial-memory density from the chains' final
    positions `final` (one row per chain, from `final_positions`), chain i counted weights[i]
    times (None: once)."""
    x, y = final["x"].to_numpy(), final["y"].to_numpy()
    return kde_builder(x, y, size, sigma_x_px, sigma_y_px, where)


def spatial_map(
    frame: pd.DataFrame,
    size: int,
    iteration: int,
    sigma_x_px: float,
    sigma_y_px: float,
    where: str = "spatial",
) -> np.ndarray:
    """The (size, size) spatial-memory density of one image from all its chain rows."""
    final = final_positions(frame, iteration, where)
    return spatial_builder(final, size, sigma_x_px, sigma_y_px, where)(None)
