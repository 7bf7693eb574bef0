import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lib.errors import InputError
from lib.maps import check_map, pearson_per_image, resize_maps


def test_check_map_accepts_a_good_map(rng):
    m = rng.random((5, 7))
    out = check_map(m, "x", (5, 7))
    assert out.dtype == np.float64 and np.array_equal(out, m)


@pytest.mark.parametrize(
    "values, shape, message",
    [
        (np.ones((4, 4)), None, "constant"),
        (np.array([[1.0, np.nan], [0.0, 2.0]]), None, "NaN"),
        (np.array([[1.0, np.inf], [0.0, 2.0]]), None, "NaN/inf"),
        (np.arange(8.0), None, "2D"),
        (np.arange(16.0).reshape(4, 4), (5, 5), "expected shape"),
    ],
)
def test_check_map_rejects_bad_maps_naming_the_source(values, shape, message):
    with pytest.raises(InputError, match=message) as err:
        check_map(values, "somefile.mat", shape)
    assert "somefile.mat" in str(err.value)


def test_pearson_matches_numpy_corrcoef(rng):
    a, b = rng.random((3, 10, 10)), rng.random((3, 10, 10))
    expected = [np.corrcoef(x.ravel(), y.ravel())[0, 1] for x, y in zip(a, b, strict=True)]
    assert np.allclose(pearson_per_image(a, b), expected)


@settings(max_examples=30, deadline=None)
@given(
    scale=st.floats(0.01, 100) | st.floats(-100, -0.01),
    shift=st.floats(-1e3, 1e3),
)
def test_pearson_is_invariant_to_affine_rescaling(scale, shift):
    rng = np.random.default_rng(1)
    a, b = rng.random((8, 8)), rng.random((8, 8))
    r = pearson_per_image(a, b)
    assert np.isclose(pearson_per_image(a * scale + shift, b), np.sign(scale) * r)


def test_pearson_of_constant_map_is_nan_not_a_number():
    assert np.isnan(pearson_per_image(np.ones((4, 4)), np.arange(16.0).reshape(4, 4)))


def test_resize_to_the_same_size_is_the_identity(rng):
    m = rng.random((2, 13, 13))
    assert np.allclose(resize_maps(m, 13), m)


def test_resize_keeps_a_smooth_ramp_a_ramp():
    ramp = np.tile(np.linspace(0, 1, 251), (251, 1))
    small = resize_maps(ramp, 100)
    assert small.shape == (100, 100)
    assert np.allclose(small[0], small[-1]) and np.all(np.diff(small[0]) > 0)
