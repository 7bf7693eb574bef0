"""Shared geometry: where a map's pixels lie on the image, and the separable Gaussian kernel density
estimate that spatial memory and fixations share."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from lib.errors import InputError
from lib.trials.schemas import IMAGE_SIZE


def pixel_centres(size: int, image_size: float = IMAGE_SIZE) -> np.ndarray:
    """Image coordinates (px of the 405x405 image) of the centres of a `size`-pixel map's pixels:
    map pixel j covers [j, j+1) * image_size / size, as the published maps cover the whole image."""
    return (np.arange(size) + 0.5) * (image_size / size)


def gaussian_columns(points: np.ndarray, centres: np.ndarray, sigma: float) -> np.ndarray:
    """exp(-(centres_i - points_j)^2 / (2 sigma^2)) as a (len(centres), len(points)) matrix: one
    axis of a separable 2D Gaussian."""
    d = centres[:, None] - np.asarray(points, dtype=np.float64)[None, :]
    return np.exp(-0.5 * (d / sigma) ** 2)


def kde_builder(
    x: np.ndarray, y: np.ndarray, size: int, sigma_x: float, sigma_y: float, where: str = "kde"
) -> Callable[[np.ndarray | None], np.ndarray]:
    """A function weights -> the sum of Gaussians with diagonal covariance (sigma_x^2, sigma_y^2)
    centred on the points (x, y), evaluated at a size x size map's pixel centres and normalised to
    sum 1; point i counts weights[i] times (None: once). The kernel is separable, so the map is
    Ky @ diag(w) @ Kx^T with Ky, Kx computed once."""
    grid = pixel_centres(size)
    ky = gaussian_columns(y, grid, sigma_y)
    kx = gaussian_columns(x, grid, sigma_x)

    def build(weights: np.ndarray | None = None) -> np.ndarray:
        density = (ky if weights is None else ky * np.asarray(weights, dtype=np.float64)) @ kx.T
        total = density.sum()
        if not total > 0:
            raise InputError(f"{where}: no points with positive weight to estimate a density from")
        return density / total

    return build


def kde_map(
    x: np.ndarray,
    y: np.ndarray,
    size: int,
    sigma_x: float,
    sigma_y: float,
    weights: np.ndarray | None = None,
    where: str = "kde",
) -> np.ndarray:
    """The normalised Gaussian kernel density of the points (x, y) at a size x size map's pixel
    centres (see `kde_builder`)."""
    return kde_builder(x, y, size, sigma_x, sigma_y, where)(weights)
