"""Masks: area resizing, the recognition_ann mask, the half mask, the fitted blur."""


import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lib.errors import InputError
from lib.recognition.masks import (
    ann_mask,
    area_resize,
    graded_half_mask,
    grayscale,
    half_mask,
    human_mask,
)


def test_area_resize_integer_factor_is_block_mean(rng):
    a = rng.random((2, 10, 10))
    expected = a.reshape(2, 5, 2, 5, 2).mean(axis=(2, 4))
    np.testing.assert_allclose(area_resize(a, 5), expected)


def test_area_resize_405_to_250_keeps_mean_and_constants(rng):
    img = rng.integers(0, 256, (405, 405, 3)).astype(np.uint8)
    out = area_resize(img, 250, channels_last=True)
    assert out.shape == (250, 250, 3)
    # Every input pixel's area is spread over the output exactly once: the mean is kept.
    np.testing.assert_allclose(out.mean(axis=(0, 1)), img.mean(axis=(0, 1)), rtol=1e-12)
    np.testing.assert_allclose(area_resize(np.full((405, 405), 7.0), 250), 7.0)
    assert out.min() >= img.min() and out.max() <= img.max()


def test_area_resize_enlarging_100_to_250_replicates_blocks():
    a = np.arange(4.0).reshape(2, 2)
    out = area_resize(a, 5)  # each input pixel covers 2.5 output pixels
    np.testing.assert_allclose(out[0], [0, 0, 0.5, 1, 1])


def test_ann_mask_follows_method_wording():
    m = np.arange(16.0).reshape(4, 4)  # median 7.5
    mask = ann_mask(m)
    expected = (np.maximum(m, 7.5) - 7.5) / (15 - 7.5)
    np.testing.assert_allclose(mask, expected)
    assert mask.max() == 1 and (mask == 0).sum() == 8


def test_ann_mask_without_values_above_median_is_an_error():
    m = np.zeros((4, 4))
    m[:3] = 1.0  # 12 of 16 pixels at the maximum: the median is the maximum
    with pytest.raises(InputError, match=r"toy masks: map\(s\) \['img7'\] have no values above"):
        ann_mask(np.stack([np.eye(4), m]), where="toy masks", names=["img3", "img7"])


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from([4, 10, 26]), st.integers(0, 4))
def test_half_mask_reveals_exactly_half(seed, size, levels):
    gen = np.random.default_rng(seed)
    m = gen.random((3, size, size))
    if levels:  # coarse values: many ties at the median
        m = np.floor(m * levels)
    mask = half_mask(m)
    assert set(np.unique(mask)) <= {0.0, 1.0}
    np.testing.assert_array_equal(mask.sum(axis=(1, 2)), size * size // 2)
    # Every revealed pixel's value is at least every hidden pixel's value.
    for a, k in zip(m, mask, strict=True):
        assert a[k == 1].min() >= a[k == 0].max()


def test_half_mask_breaks_ties_towards_the_centre():
    mask = half_mask(np.zeros((10, 10)))
    assert mask.sum() == 50 and mask[4:6, 4:6].all() and not mask[0, 0]


def test_half_mask_odd_pixel_count_is_an_error():
    with pytest.raises(InputError, match="exact halves"):
        half_mask(np.zeros((3, 3)))


def test_grayscale_matches_pil_luma(rng):
    from PIL import Image

    img = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    pil = np.asarray(Image.fromarray(img).convert("L")).astype(float)
    np.testing.assert_allclose(grayscale(img), pil, atol=0.51)


def test_graded_mask_keeps_the_values_above_the_median_scaled_by_the_maximum():
    # 4x4 ramp 1..16: the top eight values (9..16) stay, divided by 16; the rest are 0.
    ramp = np.arange(1.0, 17.0).reshape(4, 4)
    expected = np.where(ramp > 8, ramp / 16, 0.0)
    np.testing.assert_array_equal(graded_half_mask(ramp), expected)
    np.testing.assert_array_equal(human_mask(ramp, "graded"), expected)
    np.testing.assert_array_equal(human_mask(ramp, "binary"), (ramp > 8).astype(float))


def test_graded_mask_is_scale_invariant_and_shares_the_binary_support(rng):
    maps = rng.random((3, 10, 10))
    graded = graded_half_mask(maps)
    np.testing.assert_allclose(graded_half_mask(7.5 * maps), graded, rtol=1e-12)
    np.testing.assert_array_equal(graded > 0, half_mask(maps) > 0)
    assert graded.max(axis=(1, 2)).tolist() == [1.0, 1.0, 1.0]


def test_graded_mask_clips_overshoot_and_rejects_maps_without_positive_values():
    flat = np.zeros((4, 4))
    flat[0, 0] = 2.0
    flat[3, 3] = -0.5  # bicubic overshoot: revealed or not, it shows as 0
    assert graded_half_mask(flat)[0, 0] == 1.0 and graded_half_mask(flat).min() == 0.0
    with pytest.raises(InputError, match=r"map\(s\) \[1\] have no positive values"):
        graded_half_mask(np.stack([flat, -np.ones((4, 4))]))


def test_unknown_mask_style_names_the_key():
    with pytest.raises(InputError, match="recognition_human.mask_style must be one of "
                                         r"\['graded', 'binary'\], got 'soft'"):
        human_mask(np.ones((2, 2)), "soft")


def test_native_human_maps_come_from_the_store_in_image_order(rng):
    import xarray as xr

    from lib.recognition.masks import ann_mask
    from lib.recognition.sources import native_human_maps

    patch, free = rng.random((3, 250, 250)), rng.random((3, 251, 251))
    store = xr.Dataset({"maps": (("measure", "image", "y", "x"), rng.random((2, 3, 10, 10))),
                        "native_patch": (("image", "y_patch", "x_patch"), patch),
                        "native_free": (("image", "y_free", "x_free"), free)},
                       coords={"measure": ["patch", "free"], "image": ["a", "b", "c"]})
    got = native_human_maps(store, ["c", "a"])
    np.testing.assert_array_equal(got["patch"], patch[[2, 0]])
    np.testing.assert_array_equal(got["free"], free[[2, 0]])
    # 251 px maps reach the 250 grid by area resizing, as the study's cv2.INTER_AREA did.
    assert ann_mask(area_resize(got["free"], 250)).shape == (2, 250, 250)
    with pytest.raises(InputError, match=r"no maps for images \['d'\]"):
        native_human_maps(store, ["d"])
    with pytest.raises(InputError, match=r"no native maps for \['free'\]"):
        native_human_maps(store.drop_vars("native_free"), ["a"])


def test_human_mask_maps_use_native_measures_and_the_grid_pc(rng):
    import xarray as xr

    from lib.recognition.sources import human_mask_maps

    grid = xr.DataArray(rng.random((2, 3, 10, 10)), dims=("human_map", "image", "y", "x"),
                        coords={"human_map": ["free", "pc"], "image": ["a", "b", "c"]})
    free = rng.random((2, 251, 251))
    maps = human_mask_maps(grid, {"free": free}, ["c", "a"])
    assert list(maps) == [("human", "free"), ("human", "pc")]
    np.testing.assert_array_equal(maps[("human", "free")], free)
    np.testing.assert_array_equal(maps[("human", "pc")], grid.values[1][[2, 0]])
    with pytest.raises(InputError, match="2 native free maps for 1 images"):
        human_mask_maps(grid, {"free": free}, ["a"])
