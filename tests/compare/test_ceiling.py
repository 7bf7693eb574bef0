import numpy as np
import pytest

from lib.compare.ceiling import composite_reliability, noise_ceilings, reliabilities
from lib.errors import InputError

MEASURES = ["a", "b"]


def orthogonal_maps(n_images=3, size=8):
    """Two measures whose maps are uncorrelated with unit variance in every image: +-1 bands
    varying along x only and along y only (each zero-mean, so their covariance is zero)."""
    y, x = np.mgrid[:size, :size]
    a = np.sign(np.cos(2 * np.pi * (x + 0.5) / size))
    b = np.sign(np.cos(2 * np.pi * (y + 0.5) / size))
    maps = np.stack(
        [np.broadcast_to(a, (n_images, size, size)), np.broadcast_to(b, (n_images, size, size))]
    ).astype(float)
    assert abs(np.corrcoef(maps[0, 0].ravel(), maps[1, 0].ravel())[0, 1]) < 1e-12
    return maps


def test_single_measure_composite_has_its_reliability():
    maps = orthogonal_maps()[:1]
    rel = composite_reliability(maps, np.array([0.7]), np.array([2.0]), np.array([0.8]))
    np.testing.assert_allclose(rel, 0.8)


def test_uncorrelated_equal_weights_average_the_reliabilities():
    # var(PC) = 2, error variance (1 - r1) + (1 - r2): rel = (r1 + r2) / 2.
    rel = composite_reliability(orthogonal_maps(), np.ones(2), np.ones(2), np.array([0.9, 0.5]))
    np.testing.assert_allclose(rel, 0.7)


def test_correlated_measures_raise_the_composite_reliability():
    maps = orthogonal_maps()
    maps = np.stack([maps[0], maps[0]])  # perfectly correlated: var(PC) = 4
    rel = composite_reliability(maps, np.ones(2), np.ones(2), np.array([0.9, 0.5]))
    np.testing.assert_allclose(rel, 1 - (0.1 + 0.5) / 4)


def test_measure_ceiling_is_sqrt_reliability_and_pc_in_range():
    maps = orthogonal_maps()
    rel, ceiling = noise_ceilings(
        ["a", "b", "pc", "other"],
        MEASURES,
        np.array([0.81, 0.64]),
        measure_maps=maps,
        pc_id="pc",
        pc_weights=np.ones(2),
        pc_std=np.ones(2),
    )
    np.testing.assert_allclose(ceiling[:2], [0.9, 0.8])
    assert rel[2] == pytest.approx((0.81 + 0.64) / 2)
    assert ceiling[2] == pytest.approx(np.sqrt(rel[2]))
    assert np.isnan(ceiling[3])  # no reliability known: unavailable, not invented


def test_reliability_params():
    np.testing.assert_allclose(reliabilities({"a": 0.5, "b": 1}, MEASURES), [0.5, 1.0])
    np.testing.assert_allclose(
        reliabilities({"a": 0.5, "b": 0.6}, MEASURES, spearman_brown=True),
        [2 * 0.5 / 1.5, 2 * 0.6 / 1.6],
    )
    with pytest.raises(InputError, match="lacks"):
        reliabilities({"a": 0.5}, MEASURES)
    with pytest.raises(InputError, match="smoothing.reliability.b"):
        reliabilities({"a": 0.5, "b": 1.2}, MEASURES)
