"""Change-sensitivity maps (D-PRIME): 2AFC same/shifted trials on a grid of probe locations; d' per
location, smoothed with a fixed Gaussian, interpolated (cubic) to full resolution, squared
(METHOD.md, estimate_human).

Per location d' = Z(hit) - Z(FA) with hit = P("shifted" | shifted), FA = P("shifted" | same) and Z
the inverse normal CDF. With about 9 responses per location and condition, rates of 0 and 1 are
common; the correction (params `estimate_human.trials.dprime.correction`) keeps them finite:
- `loglinear` (Hautus 1995, the default): every rate is (k + 0.5) / (n + 1);
- `half` (Macmillan & Kaplan 1985): k/n, with 0 -> 0.5/n and 1 -> 1 - 0.5/n.
Both give 0.5 (Z = 0) for a cell with no trials, which only happens in a bootstrap resample.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.ndimage import gaussian_filter, map_coordinates
from scipy.stats import norm

from lib.errors import InputError
from lib.trials._grid import pixel_centres

PROBE_SPACING_PX = 7.0  # the study's probe grid (METHOD.md)
SHIFT_PX = 6.0  # a "shifted" probe moves this far in a random direction


def corrected_rate(k: np.ndarray, n: np.ndarray, correction: str = "loglinear") -> np.ndarray:
    """Rate k/n kept inside (0, 1) by `correction` (see module docstring); k, n may be weighted
    (non-integer) counts, n may be 0."""
    k = np.asarray(k, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    if correction == "loglinear":
        return (k + 0.5) / (n + 1.0)
    if correction == "half":
        safe = np.where(n > 0, n, 1.0)
        rate = np.where(n > 0, k / safe, 0.5)
        lo, hi = 0.5 / safe, 1.0 - 0.5 / safe
        return np.where(n > 0, np.clip(rate, lo, hi), 0.5)
    raise InputError(f"params.yaml: unknown d' correction {correction!r} (loglinear or half)")


def dprime(hit_k, hit_n, fa_k, fa_n, correction: str = "loglinear") -> np.ndarray:
    """d' = Z(hit) - Z(FA) from counts of "shifted" answers (k) among shifted (hit_n) and same
    (fa_n) trials, with rates corrected so d' is finite for any k in [0, n]."""
    return norm.ppf(corrected_rate(hit_k, hit_n, correction)) - norm.ppf(
        corrected_rate(fa_k, fa_n, correction)
    )


@dataclass(frozen=True)
class ProbeGrid:
    """The regular grid of probe locations of one image: sorted axis coordinates (px), their
    spacing, and each row's (iy, ix) cell."""

    xs: np.ndarray
    ys: np.ndarray
    step_x: float
    step_y: float
    ix: np.ndarray
    iy: np.ndarray


def _axis(values: np.ndarray, axis: str, where: str) -> tuple[np.ndarray, float, np.ndarray]:
    coords, index = np.unique(values, return_inverse=True)
    if len(coords) < 4:
        raise InputError(
            f"{where}: only {len(coords)} probe {axis} positions; cubic interpolation "
            "needs a grid of at least 4 x 4 probe locations"
        )
    steps = np.diff(coords)
    step = float(np.median(steps))
    if np.abs(steps - step).max() > 0.05 * step:
        i = int(np.argmax(np.abs(steps - step)))
        raise InputError(
            f"{where}: probe {axis} positions are not a regular grid "
            f"(gap {steps[i]:g} px after {axis} = {coords[i]:g}, typical {step:g} px)"
        )
    return coords, step, index.ravel()


def probe_grid(frame: pd.DataFrame, where: str = "dprime") -> ProbeGrid:
    """The probe grid of one image's trials; every location of the grid must have trials of both
    conditions (a hole would be filled by nothing and read as d' = 0)."""
    xs, step_x, ix = _axis(frame["x"].to_numpy(), "x", where)
    ys, step_y, iy = _axis(frame["y"].to_numpy(), "y", where)
    shifted = (frame["condition"] == "shifted").to_numpy()
    for cond, mask in (("shifted", shifted), ("same", ~shifted)):
        seen = np.zeros((len(ys), len(xs)), dtype=bool)
        seen[iy[mask], ix[mask]] = True
        if not seen.all():
            gy, gx = np.argwhere(~seen)[0]
            raise InputError(
                f"{where}: no `{cond}` trials at probe (x={xs[gx]:g}, y={ys[gy]:g}); "
                f"{int((~seen).sum())} grid locations lack them"
            )
    return ProbeGrid(xs, ys, step_x, step_y, ix, iy)


def dprime_builder(
    frame: pd.DataFrame,
    size: int,
    sigma_px: float,
    correction: str = "loglinear",
    where: str = "dprime",
) -> Callable[[np.ndarray | None], np.ndarray]:
    """A function weights -> the (size, size) change-sensitivity map of one image, row i counted
    weights[i] times (None: once): d' per probe location, smoothed with a Gaussian of sigma_px
    (image px, converted to grid steps), cubic-spline interpolated at the map's pixel centres (edge
    values held beyond the outermost probes), squared. The probe grid is taken from all rows."""
    grid = probe_grid(frame, where)
    corrected_rate(0, 1, correction)  # an unknown correction fails now, not per resample
    shape = (len(grid.ys), len(grid.xs))
    cells = grid.iy * shape[1] + grid.ix
    n_cells = shape[0] * shape[1]
    shifted = (frame["condition"] == "shifted").to_numpy()
    said_shifted = (frame["response"] == "shifted").to_numpy()
    sigma = (sigma_px / grid.step_y, sigma_px / grid.step_x)
    centres = pixel_centres(size)
    gy = (centres - grid.ys[0]) / grid.step_y
    gx = (centres - grid.xs[0]) / grid.step_x
    coords = np.stack(np.meshgrid(gy, gx, indexing="ij"))

    def build(weights: np.ndarray | None = None) -> np.ndarray:
        w = np.ones(len(cells)) if weights is None else np.asarray(weights, dtype=np.float64)

        def count(mask):
            return np.bincount(cells[mask], w[mask], minlength=n_cells)

        d = dprime(
            count(shifted & said_shifted),
            count(shifted),
            count(~shifted & said_shifted),
            count(~shifted),
            correction,
        ).reshape(shape)
        smooth = gaussian_filter(d, sigma=sigma, mode="nearest")
        return map_coordinates(smooth, coords, order=3, mode="nearest") ** 2

    return build


def dprime_map(
    frame: pd.DataFrame,
    size: int,
    sigma_px: float,
    correction: str = "loglinear",
    weights: np.ndarray | None = None,
    where: str = "dprime",
) -> np.ndarray:
    """The (size, size) change-sensitivity map of one image from its trials (see
    `dprime_builder`)."""
    return dprime_builder(frame, size, sigma_px, correction, where)(weights)
