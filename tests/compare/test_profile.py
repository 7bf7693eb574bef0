"""The image-agnostic profile control."""

import numpy as np
import xarray as xr

from lib.compare import fit_smoothing
from lib.compare.profile import profile_control, profile_maps


def _arrays(maps, targets):
    n = maps.shape[1]
    images = [f"i{k}" for k in range(n)]
    m = xr.DataArray(maps, dims=("map_type", "image", "y", "x"),
                     coords={"map_type": [f"t{k}" for k in range(len(maps))], "image": images})
    t = xr.DataArray(targets, dims=("human_map", "image", "y", "x"), coords={"human_map": ["pc"], "image": images})
    return m, t


def test_profile_is_the_mean_of_mean_one_maps_and_removal_divides_it_out(rng):
    maps = rng.random((2, 5, 8, 8)) + 0.1
    profile, removed = profile_maps(maps)
    normalised = maps / maps.mean(axis=(-2, -1), keepdims=True)
    np.testing.assert_allclose(profile[:, 3], normalised.mean(axis=1))
    np.testing.assert_allclose(removed * profile, normalised)
    # Scaling one image's map does not change the profile: every image counts alike.
    scaled = maps.copy()
    scaled[0, 2] *= 50
    np.testing.assert_allclose(profile_maps(scaled)[0], profile)


def test_maps_identical_across_images_score_their_own_profile(rng):
    one = rng.random((8, 8))
    maps = np.stack([np.stack([one] * 6), rng.random((6, 8, 8))])
    targets = rng.random((1, 6, 8, 8)) + maps[0][None] * 0.5
    m, t = _arrays(maps, targets)
    sigmas = np.arange(0, 4.0)
    ds = fit_smoothing(m, t, sigmas)
    control = profile_control(m, t, sigmas)
    # A map type that gives every image the same map is its own profile.
    np.testing.assert_allclose(control["profile_r"].values[0, 0], ds["peak_r"].values[0, 0], rtol=0, atol=1e-12)
    assert control["profile_sigma"].values[0, 0] == ds["peak_sigma"].values[0, 0]
    # Removing its profile leaves constant maps: nothing left to correlate.
    assert np.isnan(control["removed_r"].values[0, 0])


def test_an_image_specific_map_beats_its_profile(rng):
    targets = rng.random((1, 10, 12, 12))
    maps = targets.copy() + 0.05 * rng.random((1, 10, 12, 12))
    m, t = _arrays(maps, targets)
    control = profile_control(m, t, np.arange(0, 3.0))
    ds = fit_smoothing(m, t, np.arange(0, 3.0))
    assert ds["peak_r"].values[0, 0] > 0.95
    assert control["profile_r"].values[0, 0] < 0.5
    assert control["removed_r"].values[0, 0] > 0.8
