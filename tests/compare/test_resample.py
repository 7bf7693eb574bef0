import numpy as np
import pytest
import xarray as xr

from lib.compare.blur import sigma_grid
from lib.compare.fit import fit_smoothing
from lib.compare.resample import (
    bootstrap_dataset,
    bootstrap_indices,
    image_bootstrap,
    replicate_target_peaks,
    summarise_replicates,
)
from lib.errors import InputError
from tests.compare.conftest import smooth_noise


def test_indices_are_reproducible_and_in_range():
    a = bootstrap_indices(25, 50, seed=7)
    assert a.shape == (50, 25) and a.min() >= 0 and a.max() < 25
    np.testing.assert_array_equal(a, bootstrap_indices(25, 50, seed=7))
    assert not np.array_equal(a, bootstrap_indices(25, 50, seed=8))


@pytest.mark.parametrize("n,seed", [(1, 0), (10, -1), (2.5, 0), (True, 0)])
def test_bad_bootstrap_params(n, seed):
    with pytest.raises(InputError, match="bootstrap"):
        bootstrap_indices(25, n, seed)


def test_image_bootstrap_matches_direct_resampling(rng):
    r = rng.normal(0.3, 0.2, (2, 3, 6, 10))
    r_sh = rng.normal(0.1, 0.1, r.shape)
    sigmas = np.arange(6) * 1.0
    idx = bootstrap_indices(10, 20, seed=1)
    out = image_bootstrap(r, r_sh, sigmas, idx)
    full = np.argmax(r.mean(-1), axis=-1)
    for b in (0, 7, 19):
        curves = r[..., idx[b]].mean(-1)
        best = np.argmax(curves, axis=-1)
        np.testing.assert_allclose(out["peak_r"][..., b], curves.max(-1))
        np.testing.assert_array_equal(out["sigma"][..., b], sigmas[best])
        shuffled = np.take_along_axis(r_sh[..., idx[b]].mean(-1), best[..., None], -1)[..., 0]
        np.testing.assert_allclose(out["gap"][..., b], curves.max(-1) - shuffled)
        fixed = np.take_along_axis(curves, full[..., None], -1)[..., 0]
        np.testing.assert_allclose(out["fixed_r"][..., b], fixed)


def test_identical_images_give_zero_spread(rng):
    r = np.repeat(rng.normal(0.3, 0.2, (1, 2, 4, 1)), 8, axis=-1)
    out = image_bootstrap(r, r, np.arange(4.0), bootstrap_indices(8, 30, seed=0))
    summary = summarise_replicates(out)
    np.testing.assert_allclose(summary["peak_r_sd"], 0, atol=1e-15)
    np.testing.assert_allclose(summary["peak_r_lo"], summary["peak_r_hi"])


def test_summary_of_known_values():
    values = {"x": np.arange(101.0)[None]}
    s = summarise_replicates(values)
    assert s["x_lo"][0] == pytest.approx(2.5) and s["x_hi"][0] == pytest.approx(97.5)
    assert s["x_sd"][0] == pytest.approx(np.arange(101.0).std(ddof=1))


def test_replicate_targets_hook(rng):
    # Replicates that all equal the data reproduce fit_smoothing's peaks with no spread;
    # noisier replicates spread out around them.
    maps = smooth_noise(rng, (2, 4, 16, 16), 1.0)
    targets = smooth_noise(rng, (3, 4, 16, 16), 2.0)
    sigmas = sigma_grid(5)
    ds = fit_smoothing(
        xr.DataArray(maps, dims=("map_type", "image", "y", "x"), coords={"map_type": ["a", "b"]}),
        xr.DataArray(targets, dims=("human_map", "image", "y", "x")),
        sigmas,
    )
    same = replicate_target_peaks(
        maps, np.stack([targets] * 3), sigmas, fitted_index=ds["peak_index"].values
    )
    np.testing.assert_allclose(same["peak_r"], np.repeat(ds["peak_r"].values[..., None], 3, -1))
    np.testing.assert_allclose(same["fixed_r"], same["peak_r"])
    noisy = targets + rng.normal(0, 0.05, (10, *targets.shape))
    spread = summarise_replicates(replicate_target_peaks(maps, noisy, sigmas))
    assert np.all(spread["peak_r_sd"] > 0)


def test_bootstrap_dataset_shape(rng):
    maps = smooth_noise(rng, (2, 6, 12, 12), 1.0)
    targets = smooth_noise(rng, (2, 6, 12, 12), 2.0)
    curves = fit_smoothing(
        xr.DataArray(maps, dims=("map_type", "image", "y", "x"), coords={"map_type": ["a", "b"]}),
        xr.DataArray(targets, dims=("human_map", "image", "y", "x")),
        sigma_grid(4),
    )
    ds = bootstrap_dataset(curves, n=40, seed=0)
    assert ds["peak_r_replicates"].shape == (2, 2, 40)
    assert (ds["peak_r_lo"] <= ds["peak_r_hi"]).all()
    assert ds.attrs["sigma"] == "refitted in every resample"
