import numpy as np
import pytest


@pytest.fixture
def rng():
    """A seeded generator, so every test sees the same data."""
    return np.random.default_rng(12345)


def smooth_noise(rng, shape, sigma=2.0):
    """Random maps with spatial structure (blurred white noise), float64."""
    from lib.compare.blur import blur_maps

    return blur_maps(rng.random(shape), sigma)
