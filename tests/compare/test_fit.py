import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from lib.compare.blur import blur_maps, sigma_grid
from lib.compare.fit import correlation_table, fit_smoothing
from lib.compare.screen import ExcludedMapTypeWarning
from lib.errors import InputError
from tests.compare.conftest import smooth_noise

IMAGES = ["img1", "img2", "img3", "img4", "img5"]


def as_maps(values, names):
    return xr.DataArray(
        values,
        dims=("map_type", "image", "y", "x"),
        coords={"map_type": names, "image": IMAGES[: values.shape[1]]},
    )


def as_targets(values, names=None):
    names = names or [f"h{k}" for k in range(len(values))]
    return xr.DataArray(
        values,
        dims=("human_map", "image", "y", "x"),
        coords={"human_map": names, "image": IMAGES[: values.shape[1]]},
    )


def test_correlation_table_matches_a_direct_loop(rng):
    maps, targets = rng.random((2, 4, 10, 12)), rng.random((3, 4, 10, 12))
    sigmas = np.array([0.0, 1.0, 2.5])
    r, r_shuffled = correlation_table(maps, targets, sigmas)
    for t in range(2):
        for s, sigma in enumerate(sigmas):
            blurred = blur_maps(maps[t], sigma)
            for k in range(3):
                full = [
                    [np.corrcoef(blurred[n].ravel(), targets[k, m].ravel())[0, 1] for m in range(4)]
                    for n in range(4)
                ]
                full = np.array(full)
                np.testing.assert_allclose(r[t, k, s], np.diag(full), atol=1e-12)
                off = (full.sum(axis=1) - np.diag(full)) / 3
                np.testing.assert_allclose(r_shuffled[t, k, s], off, atol=1e-12)


@pytest.mark.parametrize("true_sigma", [0, 3, 5])
def test_blurred_source_is_fitted_back_to_its_sigma(rng, true_sigma):
    # The human map is the source blurred with a known sigma: blurring the source by exactly
    # that sigma reproduces it (r = 1), any other sigma does worse.
    source = rng.random((1, 5, 30, 30))
    target = blur_maps(source[0], true_sigma)[None]
    ds = fit_smoothing(as_maps(source, ["src"]), as_targets(target), sigma_grid(8))
    assert float(ds["peak_sigma"].item()) == true_sigma
    assert float(ds["peak_r"].item()) == pytest.approx(1.0, abs=1e-12)
    curve = ds["curve"].sel(map_type="src", human_map="h0").values
    assert np.all(np.delete(curve, true_sigma) < 1 - 1e-6)


def test_outputs_are_consistent(rng):
    maps = smooth_noise(rng, (3, 5, 20, 20), 1.0)
    targets = smooth_noise(rng, (2, 5, 20, 20), 3.0)
    ds = fit_smoothing(as_maps(maps, ["a", "b", "c"]), as_targets(targets), sigma_grid(6))
    np.testing.assert_allclose(ds["curve"], ds["r"].mean("image"))
    np.testing.assert_allclose(ds["peak_r"], ds["curve"].max("sigma"))
    np.testing.assert_allclose(ds["r_at_peak"].mean("image"), ds["peak_r"])
    np.testing.assert_allclose(ds["gap"], ds["peak_r"] - ds["shuffled_r"])
    for t in "abc":
        for h in ("h0", "h1"):
            sigma = ds["peak_sigma"].sel(map_type=t, human_map=h)
            expected = ds["curve_shuffled"].sel(map_type=t, human_map=h, sigma=sigma)
            assert float(ds["shuffled_r"].sel(map_type=t, human_map=h)) == float(expected)


def test_shuffled_control_is_zero_gap_for_an_image_independent_map(rng):
    # The same map for every image (a centre bias) explains nothing image-specific.
    one = smooth_noise(rng, (1, 1, 16, 16))
    maps = np.repeat(one, 4, axis=1)
    targets = smooth_noise(rng, (1, 4, 16, 16))
    ds = fit_smoothing(as_maps(maps, ["centre"]), as_targets(targets), sigma_grid(4))
    np.testing.assert_allclose(ds["r"].mean("image"), ds["r_shuffled"].mean("image"), atol=1e-12)
    assert abs(float(ds["gap"].item())) < 1e-12


@settings(max_examples=30, deadline=None)
@given(
    a=st.floats(1e-3, 1e3),
    b=st.floats(-1e3, 1e3),
    c=st.floats(1e-3, 1e3),
    d=st.floats(-1e3, 1e3),
    seed=st.integers(0, 2**16),
)
def test_pearson_invariant_to_affine_rescaling(a, b, c, d, seed):
    rng = np.random.default_rng(seed)
    maps, targets = rng.random((1, 3, 8, 8)), rng.random((1, 3, 8, 8))
    sigmas = np.array([0.0, 1.5])
    r, r_sh = correlation_table(maps, targets, sigmas)
    r2, r_sh2 = correlation_table(a * maps + b, c * targets + d, sigmas)
    np.testing.assert_allclose(r2, r, atol=1e-9)
    np.testing.assert_allclose(r_sh2, r_sh, atol=1e-9)
    r3, _ = correlation_table(-a * maps + b, targets, sigmas)  # a negative scale flips the sign
    np.testing.assert_allclose(r3, -r, atol=1e-9)


def test_constant_and_nan_map_types_are_excluded_with_a_warning(rng):
    good = smooth_noise(rng, (1, 4, 12, 12))
    constant = np.ones((1, 4, 12, 12))
    nan = smooth_noise(rng, (1, 4, 12, 12))
    nan[0, 2, 3, 3] = np.nan
    one_flat = smooth_noise(rng, (1, 4, 12, 12))
    one_flat[0, 1] = 0.0  # e.g. a Grad-CAM map that is all zero for one image
    targets = as_targets(smooth_noise(rng, (2, 4, 12, 12)))
    maps = as_maps(
        np.concatenate([good, constant, nan, one_flat]), ["good", "const", "nan", "flat"]
    )
    with pytest.warns(ExcludedMapTypeWarning) as record:
        ds = fit_smoothing(maps, targets, sigma_grid(3))
    warned = " ".join(str(w.message) for w in record)
    for name in ("const", "nan", "flat"):
        assert name in warned
    assert list(ds["map_type"].values) == ["good"]
    assert set(ds.attrs["excluded"]) == {"const", "nan", "flat"}
    assert "NaN" in ds.attrs["excluded"]["nan"] and "img3" in ds.attrs["excluded"]["nan"]
    assert "img2" in ds.attrs["excluded"]["flat"]
    assert np.isfinite(ds["r"]).all()
    alone = fit_smoothing(maps.sel(map_type=["good"]), targets, sigma_grid(3))
    np.testing.assert_array_equal(ds["peak_r"], alone["peak_r"])


def test_all_excluded_is_an_error():
    maps = as_maps(np.zeros((1, 3, 6, 6)), ["zero"])
    targets = as_targets(np.random.default_rng(0).random((1, 3, 6, 6)))
    with pytest.warns(ExcludedMapTypeWarning), pytest.raises(InputError, match="no usable"):
        fit_smoothing(maps, targets, sigma_grid(2))


def test_bad_human_map_is_an_error(rng):
    targets = smooth_noise(rng, (1, 3, 6, 6))
    targets[0, 1] = 7.0
    with pytest.raises(InputError, match="human map h0, image img2: constant"):
        fit_smoothing(as_maps(rng.random((1, 3, 6, 6)), ["m"]), as_targets(targets), sigma_grid(2))
