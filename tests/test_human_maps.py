import numpy as np
import pytest
import scipy.io

from lib.errors import InputError
from lib.human_maps import build_human_maps, load_mat_map, map_file
from lib.measures import MEASURE_FILES, NATIVE_SHAPES
from lib.params import load_params
from lib.paths import RAW_HUMAN_MAPS

MEASURES = list(MEASURE_FILES)


def _write_study_like_folder(folder, image_ids, rng):
    """A folder of published-style maps with random smooth content."""
    for image_id in image_ids:
        for measure, suffix in MEASURE_FILES.items():
            values = rng.random(NATIVE_SHAPES[measure])
            scipy.io.savemat(map_file(folder, image_id, suffix), {"map": values})


def _build(folder, image_ids):
    return build_human_maps(
        folder, image_ids, MEASURES, {m: "published" for m in MEASURES}, grid=20
    )


def test_build_labels_dimensions_and_keeps_native_maps(tmp_path, rng):
    _write_study_like_folder(tmp_path, ["img1", "img2"], rng)
    ds = _build(tmp_path, ["img1", "img2"])
    assert ds["maps"].dims == ("measure", "image", "y", "x")
    assert ds["maps"].shape == (6, 2, 20, 20)
    assert list(ds["measure"].values) == MEASURES
    assert ds["native_patch"].shape == (2, 250, 250)
    assert ds["native_free"].shape == (2, 251, 251)
    native = scipy.io.loadmat(map_file(tmp_path, "img2", "chainKDE"))["map"]
    assert np.array_equal(ds["native_spatial"].values[1], native)
    assert set(ds["source"].values) == {"published"}
    assert len(ds.attrs["provenance"]) == 12


def test_missing_mat_names_the_file(tmp_path, rng):
    _write_study_like_folder(tmp_path, ["img1"], rng)
    map_file(tmp_path, "img1", "discr").unlink()
    with pytest.raises(InputError, match="img1_discr.mat: file not found"):
        _build(tmp_path, ["img1"])


def test_corrupt_mat_names_the_file(tmp_path, rng):
    _write_study_like_folder(tmp_path, ["img1"], rng)
    map_file(tmp_path, "img1", "freeFIX").write_bytes(b"MATLAB 5.0 MAT-file, garbage" * 10)
    with pytest.raises(InputError, match="img1_freeFIX.mat: not a readable MATLAB"):
        _build(tmp_path, ["img1"])


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.full((251, 251), np.nan), "NaN"),
        (np.zeros((251, 251)), "constant"),
        (np.ones((200, 200)) * np.arange(200), "expected shape"),
    ],
)
def test_bad_map_contents_name_file_and_problem(tmp_path, rng, bad, message):
    _write_study_like_folder(tmp_path, ["img1"], rng)
    scipy.io.savemat(map_file(tmp_path, "img1", "objFIX"), {"map": bad})
    with pytest.raises(InputError, match=message) as err:
        _build(tmp_path, ["img1"])
    assert "img1_objFIX.mat" in str(err.value)


def test_mat_without_map_key(tmp_path):
    path = tmp_path / "x.mat"
    scipy.io.savemat(path, {"im": np.ones((3, 3))})
    with pytest.raises(InputError, match="no `map` variable"):
        load_mat_map(path)


def test_image_id_without_files_is_named(tmp_path, rng):
    _write_study_like_folder(tmp_path, ["img1"], rng)
    with pytest.raises(InputError, match=r"img999"):
        _build(tmp_path, ["img1", "img999"])


def test_sources_must_cover_the_measures(tmp_path, rng):
    _write_study_like_folder(tmp_path, ["img1"], rng)
    with pytest.raises(InputError, match="estimate_human.sources"):
        build_human_maps(tmp_path, ["img1"], MEASURES, {"patch": "published"}, grid=20)


@pytest.mark.data
def test_study_maps_load_at_native_size_and_grid():
    params = load_params()
    images = params["data"]["images"][:3]
    ds = build_human_maps(RAW_HUMAN_MAPS, images, MEASURES, params["estimate_human"]["sources"], 100)
    assert ds["maps"].shape == (6, 3, 100, 100)
    assert np.isfinite(ds["maps"].values).all()
