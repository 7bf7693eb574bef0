"""GBVS, BMS and the centre-bias map: pop-out, invariances, contracts, and the study data."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from lib.attention import baselines as bl
from lib.attention.baselines import _common, boolean_map
from lib.errors import InputError
from lib.images import read_image
from lib.maps import pearson_per_image, resize_maps
from lib.paths import HUMAN_MAPS, HUMAN_PC, attention_store, image_file

FAST_BMS = {"max_dim": 160}  # the 160 px test scenes at their own size (default 400 upsizes them)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


def scene(size: int = 160, centre=(52, 104), radius: int = 12, seed: int = 0):
    """A red disk (the odd one out) on a grey textured background, and the disk's mask."""
    rng = np.random.default_rng(seed)
    grey = 128 + 30 * ndimage.gaussian_filter(rng.standard_normal((size, size)), 1.0)
    img = np.repeat(grey[..., None], 3, axis=2)
    yy, xx = np.mgrid[:size, :size]
    disk = (yy - centre[0]) ** 2 + (xx - centre[1]) ** 2 <= radius**2
    img[disk] = (200, 30, 30)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8), disk


@pytest.fixture(scope="module")
def odd_one_out():
    img, disk = scene()
    return img, disk, {"gbvs": bl.gbvs(img), "bms": bl.bms(img, **FAST_BMS)}


@pytest.mark.parametrize("method", ["gbvs", "bms"])
def test_salient_disk_is_found(odd_one_out, method):
    img, disk, maps = odd_one_out
    sal = maps[method]
    peak = np.unravel_index(sal.argmax(), sal.shape)
    assert disk[peak], f"{method} peak {peak} outside the disk"
    assert sal[disk].mean() > 5 * sal[~disk].mean()


@pytest.mark.parametrize("method", ["gbvs", "bms"])
def test_maps_valid(odd_one_out, method):
    _, _, maps = odd_one_out
    sal = maps[method]
    assert sal.shape == (160, 160)
    assert np.isfinite(sal).all() and sal.min() >= 0 and sal.max() == pytest.approx(1.0)


def test_bms_default_settings_find_disk():
    img, disk = scene()
    sal = bl.bms(img)  # 400 px working size, the release's fixation settings
    assert disk[np.unravel_index(sal.argmax(), sal.shape)]
    assert sal[disk].mean() > 5 * sal[~disk].mean()


@pytest.mark.parametrize("method", ["gbvs", "bms"])
def test_horizontal_flip_equivariance(odd_one_out, method):
    # every step is mirror-symmetric (the Gabor angles 45 and 135 swap under a flip)
    img, _, maps = odd_one_out
    options = FAST_BMS if method == "bms" else {}
    flipped = bl.METHODS[method](np.ascontiguousarray(img[:, ::-1]), **options)
    np.testing.assert_allclose(flipped[:, ::-1], maps[method], atol=1e-9)


@pytest.mark.parametrize("method", ["gbvs", "bms"])
def test_deterministic(odd_one_out, method):
    img, _, maps = odd_one_out
    options = FAST_BMS if method == "bms" else {}
    again = bl.METHODS[method](img, **options)
    assert again.tobytes() == maps[method].tobytes()


@pytest.mark.parametrize("method", ["gbvs", "bms", "center-bias"])
def test_out_size_and_non_square(method):
    img, _ = scene(size=170)
    img = np.ascontiguousarray(img[:130])
    options = FAST_BMS if method == "bms" else {}
    assert bl.METHODS[method](img, **options).shape == (130, 170)
    sal = bl.METHODS[method](img, out_size=(40, 56), **options)
    assert sal.shape == (40, 56) and np.isfinite(sal).all() and sal.min() >= 0
    assert bl.METHODS[method](img, out_size=32, **options).shape == (32, 32)


@pytest.mark.parametrize("method", ["gbvs", "bms"])
def test_constant_image_is_an_error(method):
    # A uniform image has no salient location: a clear error, not an arbitrary map.
    with pytest.raises(InputError, match="constant"):
        bl.METHODS[method](np.full((160, 160, 3), 90, np.uint8), where="flat.png")


def test_grey_image_works_without_colour_channels():
    img, disk = scene()
    grey = np.repeat(img.mean(axis=2, keepdims=True).astype(np.uint8), 3, axis=2)
    # BMS keeps only lightness: a and b are constant up to rounding noise, not stretched to 0-255
    for whitening in (True, False):
        assert len(boolean_map._bms_feature_maps(grey / 255.0, whitening, 3)) == 1
    for method, options in (("gbvs", {}), ("bms", FAST_BMS)):
        sal = bl.METHODS[method](grey, **options)
        assert np.isfinite(sal).all() and sal.max() == pytest.approx(1.0)


@pytest.mark.parametrize(
    "image, message",
    [
        (np.zeros((160, 160), np.uint8), "RGB"),
        (np.zeros((160, 160, 4), np.uint8), "RGB"),
        (np.zeros((160, 160, 3), np.float32), "uint8"),
    ],
)
def test_bad_images(image, message):
    for fn in bl.METHODS.values():
        with pytest.raises(InputError, match=message):
            fn(image, where="bad.png")


def test_gbvs_needs_128_px():
    img, _ = scene(size=100)
    with pytest.raises(InputError, match="smaller than 128"):
        bl.gbvs(img)


def test_unknown_option():
    img, _ = scene()
    with pytest.raises(InputError, match="unknown options"):
        bl.bms(img, max_dimension=100)


@pytest.mark.parametrize("size", [224, 100, 15])
def test_center_bias_peaks_at_centre_and_is_symmetric(size):
    cb = bl.center_bias(np.zeros((405, 405, 3), np.uint8), out_size=size)
    assert cb.shape == (size, size) and cb.min() >= 0
    peak = np.argwhere(cb == cb.max())
    # the peak sits on the central pixel (odd size) or the central 2 x 2 block (even size)
    assert set(map(tuple, peak)) == {(y, x) for y in {(size - 1) // 2, size // 2}
                                     for x in {(size - 1) // 2, size // 2}}
    np.testing.assert_allclose(cb, cb[::-1], atol=1e-15)
    np.testing.assert_allclose(cb, cb[:, ::-1], atol=1e-15)
    np.testing.assert_allclose(cb, cb.T, atol=1e-15)


def test_center_bias_blurred_is_centre_gaussian_of_fitted_width():
    # fit_smoothing's blur of sd s turns the map into a centre Gaussian of sd sqrt(s^2 + s0^2)
    size, s = 101, 10.0
    cb = bl.center_bias(np.zeros((size, size, 3), np.uint8))
    s0 = bl.CENTER_BIAS_DEFAULTS["sigma_frac"] * size
    blurred = ndimage.gaussian_filter(cb, s, mode="constant", truncate=6)
    profile = blurred[size // 2] / blurred[size // 2].max()
    x = np.arange(size) - size // 2
    np.testing.assert_allclose(profile, np.exp(-(x**2) / (2 * (s**2 + s0**2))), atol=1e-6)


def test_stationary_distribution_matches_eigenvector(rng):
    weights = rng.random((30, 30))
    transition = weights / weights.sum(axis=0, keepdims=True)
    v = bl.stationary_distribution(transition, tol=1e-14)
    eigvals, eigvecs = np.linalg.eig(transition)
    expected = np.abs(eigvecs[:, np.argmax(eigvals.real)].real)
    np.testing.assert_allclose(v, expected / expected.sum(), rtol=1e-9)
    np.testing.assert_allclose(transition @ v, v, atol=1e-12)


def test_stationary_distribution_of_a_periodic_chain():
    # power iterates of a bipartite chain oscillate for ever; the equilibrium is still unique
    flip = np.array([[0.0, 1.0], [1.0, 0.0]])
    np.testing.assert_allclose(bl.stationary_distribution(flip, max_iter=50), [0.5, 0.5])
    # a star: from each leaf always to the hub, from the hub to leaf k with probability q_k
    q = np.array([0.5, 0.3, 0.2])
    star = np.zeros((4, 4))
    star[0, 1:] = 1.0
    star[1:, 0] = q
    np.testing.assert_allclose(bl.stationary_distribution(star), [0.5, *(q / 2)], atol=1e-12)


def test_activation_gathers_mass_at_the_odd_node():
    feature = np.zeros((12, 12))
    feature[3, 8] = 1.0
    act = bl.gbvs_activation(feature, tol=1e-12)
    assert act.sum() == pytest.approx(1.0)
    assert np.unravel_index(act.argmax(), act.shape) == (3, 8)
    assert np.array_equal(bl.gbvs_activation(np.ones((12, 12))), np.zeros((12, 12)))


def test_surrounded_regions_of_a_ring():
    ring = np.zeros((9, 9), bool)
    ring[2:7, 2:7] = True
    ring[3:6, 3:6] = False
    inner = np.zeros((9, 9), bool)
    inner[3:6, 3:6] = True
    surrounded = boolean_map._surrounded(np.stack([ring, ~ring]))
    assert np.array_equal(surrounded[0], ring)  # the ring touches no border
    assert np.array_equal(surrounded[1], inner)  # of its complement, only the hole is enclosed
    edge = np.zeros((9, 9), bool)
    edge[0:4, 3:6] = True
    assert not boolean_map._surrounded(edge[None]).any()


@pytest.mark.parametrize("width", [1, 3, 5, 11])
def test_dilate_square_matches_scipy(rng, width):
    masks = rng.random((3, 40, 50)) > 0.97
    expected = ndimage.binary_dilation(masks, structure=np.ones((1, width, width), bool))
    assert np.array_equal(boolean_map._dilate_square(masks, width), expected)


def test_area_resize():
    m = _common._area_matrix(405, 400)
    np.testing.assert_allclose(m.sum(axis=1), 1.0)
    img = np.arange(4 * 6 * 3, dtype=float).reshape(4, 6, 3)
    blocks = img.reshape(2, 2, 3, 2, 3).mean(axis=(1, 3))
    np.testing.assert_allclose(_common._area_resize(img, (2, 3)), blocks)


def test_baseline_dataset_contract(tmp_path):
    paths = {}
    for k, seed in enumerate((1, 2)):
        img, _ = scene(size=128, seed=seed)
        paths[f"img{k}"] = tmp_path / f"image_r_{k}.png"
        Image.fromarray(img).save(paths[f"img{k}"])
    ds = bl.baseline_dataset(paths, size=32, options={"bms": {"max_dim": 128}}, progress=False)
    assert ds["maps"].dims == ("method", "image", "y", "x")
    assert ds["maps"].shape == (3, 2, 32, 32) and ds["maps"].dtype == np.float32
    assert list(ds["map_type"].values) == ["gbvs", "bms", "center-bias"]
    assert list(ds["image"].values) == ["img0", "img1"]
    assert ds.attrs["model_id"] == "baselines"
    assert ds.attrs["settings"]["bms"]["max_dim"] == 128
    assert ds.attrs["settings"]["gbvs"] == bl.GBVS_DEFAULTS
    assert float(ds["maps"].min()) >= 0

    with pytest.raises(InputError, match="image not found"):
        bl.baseline_dataset({"img9": tmp_path / "missing.jpg"}, size=32, progress=False)
    with pytest.raises(InputError, match="unknown methods"):
        bl.baseline_dataset(paths, size=32, options={"itti": {}}, progress=False)


@pytest.mark.data
def test_study_maps_predict_human_fixations():
    """The stored maps (stage extract_baselines) match a fresh computation and correlate
    positively with the human free-viewing and Human PC maps on average."""
    store = attention_store(bl.MODEL_ID)
    from lib.human_pc import load_human_targets
    from lib.store import read_dataset

    ds = read_dataset(store)
    image_ids = [str(i) for i in ds["image"].values]
    first = read_image(image_file(image_ids[0]))
    settings = ds.attrs["settings"]
    for method in ("gbvs", "bms"):
        fresh = bl.METHODS[method](first, out_size=settings["size"], **settings[method])
        stored = ds["maps"].sel({"method": method, "image": image_ids[0]}).values
        np.testing.assert_allclose(stored, fresh.astype(np.float32), atol=1e-6)

    human = load_human_targets(HUMAN_MAPS, HUMAN_PC).sel(image=image_ids)
    grid = human.sizes["y"]
    for method, floor in (("gbvs", 0.4), ("bms", 0.25)):
        maps = resize_maps(ds["maps"].sel({"method": method}).values, grid)
        maps = np.stack([ndimage.gaussian_filter(m, 3, mode="nearest", truncate=2) for m in maps])
        for target in ("free", "pc"):
            r = pearson_per_image(maps, human.sel({"human_map": target}).values)
            assert r.mean() > floor, f"{method} vs {target}: mean r {r.mean():.3f}"
            assert (r > 0).mean() >= 0.8, f"{method} vs {target}: r {np.round(r, 2)}"
