import numpy as np
import pytest
import xarray as xr

from lib.errors import InputError
from lib.store import read_dataset, write_dataset


def _dataset(rng):
    return xr.Dataset(
        {"maps": (("image", "y", "x"), rng.random((2, 3, 3))), "label": (("image",), ["a", "bb"])},
        coords={"image": ["img1", "img2"]},
        attrs={"provenance": {"f.mat": "abc"}},
    )


def test_roundtrip_keeps_values_labels_and_attrs(tmp_path, rng):
    ds = _dataset(rng)
    write_dataset(ds, tmp_path / "s.zarr")
    back = read_dataset(tmp_path / "s.zarr")
    xr.testing.assert_identical(back, ds)


def test_same_data_gives_the_same_bytes(tmp_path, rng):
    ds = _dataset(rng)
    write_dataset(ds, tmp_path / "a.zarr")
    write_dataset(ds, tmp_path / "b.zarr")
    files_a = sorted(p.relative_to(tmp_path / "a.zarr") for p in (tmp_path / "a.zarr").rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(tmp_path / "b.zarr") for p in (tmp_path / "b.zarr").rglob("*") if p.is_file())
    assert files_a == files_b
    for rel in files_a:
        assert (tmp_path / "a.zarr" / rel).read_bytes() == (tmp_path / "b.zarr" / rel).read_bytes()


def test_a_failed_write_leaves_the_previous_store_and_no_partial(tmp_path, rng):
    path = tmp_path / "s.zarr"
    write_dataset(_dataset(rng), path)
    bad = xr.Dataset({"maps": (("i",), np.array([object(), object()], dtype=object))})
    with pytest.raises(Exception):  # noqa: B017  (zarr's own error type for unencodable data)
        write_dataset(bad, path)
    assert read_dataset(path)["maps"].shape == (2, 3, 3)
    assert [p.name for p in tmp_path.iterdir()] == ["s.zarr"]


def test_missing_store_is_a_clear_error(tmp_path):
    with pytest.raises(InputError, match="store not found"):
        read_dataset(tmp_path / "nope.zarr")


def test_stores_are_zarr_3_chunked_by_image(tmp_path, rng):
    import json

    write_dataset(_dataset(rng), tmp_path / "s.zarr")
    meta = json.loads((tmp_path / "s.zarr" / "maps" / "zarr.json").read_text())
    assert meta["zarr_format"] == 3
    assert meta["chunk_grid"]["configuration"]["chunk_shape"] == [1, 3, 3]
    assert json.loads((tmp_path / "s.zarr" / "label" / "zarr.json").read_text())["data_type"] == "string"


def test_a_store_written_region_by_region_has_the_bytes_of_one_written_at_once(tmp_path, rng):
    import dask.array as da

    from lib.store import create_store, finish_store, write_region

    ds = _dataset(rng)
    write_dataset(ds, tmp_path / "once.zarr")
    template = ds.copy()
    template["maps"] = (("image", "y", "x"), da.zeros((2, 3, 3), chunks=(1, 3, 3)))
    template["label"] = (("image",), np.array(["", ""], dtype=object))
    create_store(template, tmp_path / "parts.zarr")
    write_region(ds.isel(image=[1]), tmp_path / "parts.zarr", 1)
    write_region(ds.isel(image=[0]), tmp_path / "parts.zarr", 0)
    finish_store(tmp_path / "parts.zarr", ds.attrs)
    files = {p.relative_to(tmp_path / "once.zarr"): p.read_bytes() for p in (tmp_path / "once.zarr").rglob("*")
             if p.is_file()}
    assert {p.relative_to(tmp_path / "parts.zarr"): p.read_bytes() for p in (tmp_path / "parts.zarr").rglob("*")
            if p.is_file()} == files


def test_a_reader_loads_only_the_images_it_asks_for(tmp_path, rng):
    ds = _dataset(rng)
    write_dataset(ds, tmp_path / "s.zarr")
    back = read_dataset(tmp_path / "s.zarr", images=["img2"])
    np.testing.assert_array_equal(back["maps"].values, ds["maps"].values[[1]])
    with pytest.raises(InputError, match=r"no images \['img7'\] in the store"):
        read_dataset(tmp_path / "s.zarr", images=["img1", "img7"])


def test_stores_written_before_the_change_are_still_read(tmp_path, rng):
    ds = _dataset(rng)
    ds.to_zarr(tmp_path / "old.zarr", mode="w", consolidated=True, zarr_format=2)
    xr.testing.assert_identical(read_dataset(tmp_path / "old.zarr"), ds)


def test_a_folder_that_is_no_store_names_the_stage_to_rerun(tmp_path):
    (tmp_path / "empty.zarr").mkdir()
    with pytest.raises(InputError, match="cannot read Zarr store .*; rerun"):
        read_dataset(tmp_path / "empty.zarr")


def test_an_image_whose_values_are_all_zero_is_stored_not_dropped(tmp_path):
    # Zarr skips chunks equal to the fill value unless told otherwise; with a chunk per image a
    # class-0 top-1 or an all-zero map would then read as a damaged store.
    ds = xr.Dataset({"maps": (("image", "y"), np.array([[0.0, 0.0], [1.0, 2.0]])), "top1": (("image",), [0, 3])},
                    coords={"image": ["img1", "img2"]})
    write_dataset(ds, tmp_path / "s.zarr")
    xr.testing.assert_identical(read_dataset(tmp_path / "s.zarr"), ds)
