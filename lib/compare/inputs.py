"""The attention maps fit_smoothing compares: every map type of every listed store, on the
analysis grid. Stores follow the attention contract (README, "Contracts"): a Dataset with `maps`
(method, image, y, x) and the study's map type names in the coordinate `map_type`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from lib.compare.screen import screen_map_types
from lib.errors import InputError
from lib.maps import resize_maps
from lib.paths import attention_store
from lib.store import read_dataset

BASELINES_ID = "baselines"


def store_paths(models: list[str], include_baselines: bool = True) -> list[Path]:
    """The stores to compare: one per model id in `models` (each must exist: a missing one is an
    InputError naming it, never skipped silently), then the baselines store when present."""
    if not isinstance(models, list) or not all(isinstance(m, str) for m in models):
        raise InputError(
            f"params.yaml: `extract_attention.models` must be a list of ids, got {models!r}"
        )
    paths = []
    for model_id in models:
        path = attention_store(model_id)
        if not path.exists():
            raise InputError(
                f"{path}: attention store for model `{model_id}` (listed in params.yaml "
                f"`extract_attention.models`) not found; run "
                f"`dvc repro extract_attention@{model_id}` or remove it from the list"
            )
        paths.append(path)
    baselines = attention_store(BASELINES_ID)
    if include_baselines and baselines.exists() and BASELINES_ID not in models:
        paths.append(baselines)
    return paths


def load_map_types(
    paths: list[Path], image_ids: list[str], grid: int
) -> tuple[xr.DataArray, dict[str, str]]:
    """Every usable map type from the stores at `paths`, resized to grid x grid (bicubic), as a
    DataArray (map_type, image, y, x) with coordinate `store` (the store's name) on map_type,
    images in `image_ids` order; and {map_type: reason} for those excluded (NaN/inf or constant
    maps, each reported with a warning). Raw maps are screened before resizing, because resizing
    turns a constant map into one that differs from constant by rounding only."""
    stacks, names, stores = [], [], []
    excluded: dict[str, str] = {}
    for path in paths:
        ds = read_dataset(path)
        maps = _store_maps(ds, path, image_ids)
        types = [str(t) for t in maps["map_type"].values]
        clash = sorted(set(types) & set(names + list(excluded)))
        if clash or len(set(types)) != len(types):
            raise InputError(
                f"{path}: map types {clash or types} appear in more than one store/method"
            )
        bad = screen_map_types(maps.values, types, image_ids, where=path.name)
        excluded.update(bad)
        keep = [i for i, t in enumerate(types) if t not in bad]
        if keep:
            stacks.append(resize_maps(maps.values[keep], grid))
            names += [types[i] for i in keep]
            stores += [path.name.removesuffix(".zarr")] * len(keep)
    if not names:
        raise InputError(f"no usable map types in {[str(p) for p in paths]}")
    out = xr.DataArray(
        np.concatenate(stacks),
        dims=("map_type", "image", "y", "x"),
        coords={"map_type": names, "store": ("map_type", stores), "image": list(image_ids)},
    )
    return out, excluded


def _store_maps(ds: xr.Dataset, path: Path, image_ids: list[str]) -> xr.DataArray:
    if "maps" not in ds:
        raise InputError(f"{path}: no `maps` variable (expected maps (method, image, y, x))")
    maps = ds["maps"]
    if set(maps.dims) != {"method", "image", "y", "x"}:
        raise InputError(f"{path}: `maps` has dims {maps.dims}, expected (method, image, y, x)")
    if "map_type" not in maps.coords or maps.coords["map_type"].dims != ("method",):
        raise InputError(f"{path}: no `map_type` coordinate on dim `method`")
    have = {str(i) for i in maps["image"].values}
    missing = [i for i in image_ids if i not in have]
    if missing:
        raise InputError(f"{path}: no maps for images {missing}")
    maps = maps.sel(image=list(image_ids)).transpose("method", "image", "y", "x")
    return maps.swap_dims(method="map_type")
