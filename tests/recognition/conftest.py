"""Fixtures for the recognition tests: synthetic images, maps and a small experiment built from
them (never the model registry or real attention stores)."""

from __future__ import annotations

import numpy as np
import pytest

from lib.recognition.design import DesignSpec
from lib.recognition.human import build_experiment

IMAGES = [f"img{k}" for k in range(25)]
MAP_TYPES = ("toy-SGBP-I", "toy-GradCAM-I")


def blob_maps(n: int, size: int, rng: np.random.Generator, width: float = 0.12) -> np.ndarray:
    """n maps (n, size, size), each one Gaussian blob away from the centre, so another image's map
    under some rotation rarely matches it."""
    yy, xx = np.mgrid[0:size, 0:size] / size
    angle = rng.uniform(0, 2 * np.pi, n)
    radius = rng.uniform(0.22, 0.32, n)
    cy, cx = 0.5 + radius * np.sin(angle), 0.5 + radius * np.cos(angle)
    return np.exp(-((yy - cy[:, None, None]) ** 2 + (xx - cx[:, None, None]) ** 2)
                  / (2 * width ** 2))


def toy_images(n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """uint8 RGB images (n, size, size, 3), never black (so a masked pixel is 0 only if hidden)."""
    return rng.integers(20, 256, (n, size, size, 3), dtype=np.uint8)


def toy_labels(image_ids) -> dict[str, str]:
    """Distinct label sets, except that images 0-1 and 1-2 share a term (a conflict path)."""
    labels = {i: f"thing{k}, place{k}" for k, i in enumerate(image_ids)}
    labels[image_ids[0]] = "thing0, shared-a"
    labels[image_ids[1]] = "shared-a, shared-b"
    labels[image_ids[2]] = "thing2, shared-b"
    return labels


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


def _experiment(mask_style: str):
    gen = np.random.default_rng(1)
    raw = {m: blob_maps(len(IMAGES), 48, gen) for m in MAP_TYPES}
    spec = DesignSpec(map_types=MAP_TYPES, n_sets=5, set_size=10, seed=3)
    return build_experiment(IMAGES, toy_images(len(IMAGES), 80, gen), raw,
                            dict.fromkeys(MAP_TYPES, 1.0), toy_labels(IMAGES), spec, grid=20,
                            size=64, mask_style=mask_style)


def binary_experiment():
    """`small_experiment` with binary masks."""
    return _experiment("binary")


@pytest.fixture(scope="session")
def small_experiment():
    """A 25-image, 2-map-type experiment with 5 sets of 10 trials on a 64 px stimulus grid,
    graded masks (the default)."""
    return _experiment("graded")
