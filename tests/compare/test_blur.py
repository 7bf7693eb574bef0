import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lib.compare.blur import blur_maps, blur_matrix, gaussian_kernel, sigma_grid
from lib.errors import InputError


def imgaussfilt_direct(image: np.ndarray, sigma: float) -> np.ndarray:
    """MATLAB's imgaussfilt written out: an explicit 2D kernel of size 2*ceil(2*sigma)+1,
    exp(-(x^2+y^2)/(2 sigma^2)) normalised to sum 1, replicate padding, one pixel at a time."""
    radius = math.ceil(2 * sigma)
    offsets = np.arange(-radius, radius + 1)
    kernel = np.exp(-(offsets[:, None] ** 2 + offsets[None, :] ** 2) / (2 * sigma**2))
    kernel /= kernel.sum()
    padded = np.pad(image, radius, mode="edge")
    out = np.empty_like(image, dtype=np.float64)
    for i in range(image.shape[0]):
        for j in range(image.shape[1]):
            window = padded[i : i + 2 * radius + 1, j : j + 2 * radius + 1]
            out[i, j] = (window * kernel).sum()
    return out


@pytest.mark.parametrize("sigma", [0.5, 1.0, 2.3, 4.0, 11.0])
def test_blur_matches_direct_imgaussfilt(rng, sigma):
    # Non-square, and at sigma 11 the kernel (45 taps) is wider than the map: padding matters.
    maps = rng.random((2, 13, 17))
    got = blur_maps(maps, sigma)
    for image, blurred in zip(maps, got, strict=True):
        np.testing.assert_allclose(blurred, imgaussfilt_direct(image, sigma), rtol=0, atol=1e-12)


def test_kernel_is_matlabs():
    # fspecial('gaussian', [1 5], 1) in MATLAB, the kernel imgaussfilt(I, 1) uses.
    np.testing.assert_allclose(
        gaussian_kernel(1.0),
        [0.0544886845, 0.2442013420, 0.4026199469, 0.2442013420, 0.0544886845],
        atol=1e-10,
    )
    for sigma in (0.3, 1.5, 30):
        k = gaussian_kernel(sigma)
        assert len(k) == 2 * math.ceil(2 * sigma) + 1
        assert k.sum() == pytest.approx(1.0)


def test_sigma_zero_is_identity(rng):
    maps = rng.random((3, 4, 9, 9))
    np.testing.assert_array_equal(blur_maps(maps, 0), maps)
    np.testing.assert_array_equal(blur_matrix(5, 0), np.eye(5))


def test_blur_keeps_constant_maps_and_leading_dims(rng):
    maps = np.full((2, 3, 8, 8), 4.5)
    out = blur_maps(maps, 3.0)
    assert out.shape == maps.shape
    np.testing.assert_allclose(out, 4.5)


@settings(max_examples=25, deadline=None)
@given(sigma=st.floats(0.1, 6.0), n=st.integers(3, 12))
def test_blur_matrix_rows_sum_to_one(sigma, n):
    # Replicate padding only moves weight to the edge pixel, so every row still sums to 1.
    np.testing.assert_allclose(blur_matrix(n, sigma).sum(axis=1), 1.0)


@pytest.mark.parametrize("bad", [-1, 2.5, "30", True, None, 30.0])
def test_max_sigma_must_be_non_negative_integer(bad):
    with pytest.raises(InputError, match="smoothing.max_sigma"):
        sigma_grid(bad)


@pytest.mark.parametrize("step", [0, -1, "1", 0.7])
def test_sigma_step_must_be_positive_and_divide(step):
    with pytest.raises(InputError, match="smoothing.sigma_step"):
        sigma_grid(4, step)


def test_sigma_grid_values():
    np.testing.assert_array_equal(sigma_grid(3), [0, 1, 2, 3])
    np.testing.assert_array_equal(sigma_grid(0), [0])
    np.testing.assert_array_equal(sigma_grid(2, 0.5), [0, 0.5, 1, 1.5, 2])
    assert len(sigma_grid(40)) == 41
