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
