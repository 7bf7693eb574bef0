import numpy as np
import pytest

import lib.compare.inputs as inputs
from lib.compare.screen import ExcludedMapTypeWarning
from lib.errors import InputError
from tests.compare.synthetic import write_attention_store

IDS = ["img1", "img2", "img3"]


@pytest.fixture
def attention_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(inputs, "attention_store", lambda model_id: tmp_path / f"{model_id}.zarr")
    return tmp_path


def test_missing_listed_store_is_named(attention_dir):
    write_attention_store(attention_dir / "m1-R.zarr", np.ones((1, 3, 4, 4)), ["m1-GBP-R"], IDS)
    with pytest.raises(InputError, match="model `m2-I`.*not found"):
        inputs.store_paths(["m1-R", "m2-I"])


def test_baselines_are_added_when_present(attention_dir):
    write_attention_store(attention_dir / "m1-R.zarr", np.ones((1, 3, 4, 4)), ["m1-GBP-R"], IDS)
    assert [p.name for p in inputs.store_paths(["m1-R"])] == ["m1-R.zarr"]
    write_attention_store(
        attention_dir / "baselines.zarr", np.ones((1, 3, 4, 4)), ["gbvs"], IDS, methods=["gbvs"]
    )
    assert [p.name for p in inputs.store_paths(["m1-R"])] == ["m1-R.zarr", "baselines.zarr"]
    assert [p.name for p in inputs.store_paths([])] == ["baselines.zarr"]


def test_load_resizes_orders_and_screens(attention_dir, rng):
    a = write_attention_store(
        attention_dir / "m1-R.zarr",
        rng.random((2, 3, 32, 32)),
        ["m1-GBP-R", "m1-SGBP-R"],
        IDS[::-1],
    )
    zero = np.zeros((1, 3, 20, 20))
    b = write_attention_store(
        attention_dir / "baselines.zarr",
        np.concatenate([rng.random((1, 3, 20, 20)), zero]),
        ["bms", "center-bias"],
        IDS,
        methods=["bms", "center-bias"],
    )
    with pytest.warns(ExcludedMapTypeWarning, match="center-bias"):
        maps, excluded = inputs.load_map_types([a, b], IDS, grid=10)
    assert maps.dims == ("map_type", "image", "y", "x") and maps.shape == (3, 3, 10, 10)
    assert list(maps["map_type"].values) == ["m1-GBP-R", "m1-SGBP-R", "bms"]
    assert list(maps["store"].values) == ["m1-R", "m1-R", "baselines"]
    assert list(excluded) == ["center-bias"]
    # images follow the requested order, not the store's
    from lib.maps import resize_maps
    from lib.store import read_dataset

    raw = read_dataset(a)["maps"].sel(image="img1").values[0]
    np.testing.assert_allclose(maps.sel(map_type="m1-GBP-R", image="img1"), resize_maps(raw, 10))


def test_store_problems_are_named(attention_dir, rng):
    a = write_attention_store(
        attention_dir / "m1-R.zarr", rng.random((1, 2, 8, 8)), ["x-GBP-R"], IDS[:2]
    )
    with pytest.raises(InputError, match=r"m1-R.zarr: no maps for images \['img3'\]"):
        inputs.load_map_types([a], IDS, grid=4)
    b = write_attention_store(
        attention_dir / "m2-R.zarr", rng.random((1, 3, 8, 8)), ["x-GBP-R"], IDS
    )
    c = write_attention_store(
        attention_dir / "m3-R.zarr", rng.random((1, 3, 8, 8)), ["x-GBP-R"], IDS
    )
    with pytest.raises(InputError, match="more than one"):
        inputs.load_map_types([b, c], IDS, grid=4)
