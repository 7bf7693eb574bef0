"""Where masks come from: the attention stores, fit_smoothing's fitted sigmas, the study images."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import xarray as xr

from lib.errors import InputError


def load_fit(path: Path) -> dict:
    """fit_smoothing.json: {map_type: {human_map: {"r", "sigma"}}}."""
    if not Path(path).is_file():
        raise InputError(f"{path}: not found (has the fit_smoothing stage run?)")
    try:
        fit = json.loads(Path(path).read_text())
    except json.JSONDecodeError as err:
        raise InputError(f"{path}: not valid JSON ({err})") from err
    if not isinstance(fit, dict):
        raise InputError(f"{path}: expected an object of map types")
    return fit


def fitted_sigma(fit: Mapping[str, Mapping], map_type: str, target: str) -> float:
    """The sigma fitted to human map `target` for `map_type` (grid pixels)."""
    try:
        sigma = float(fit[map_type][target]["sigma"])
    except (KeyError, TypeError, ValueError) as err:
        raise InputError(f"fit_smoothing.json: no fitted sigma for map type {map_type!r} and "
                         f"human map {target!r}") from err
    if not np.isfinite(sigma) or sigma < 0:
        raise InputError(f"fit_smoothing.json: sigma for {map_type!r}/{target!r} is {sigma}")
    return sigma


def ann_map_types(stores: Mapping[str, xr.Dataset]) -> dict[str, str]:
    """{map_type: model id} over the given ANN attention stores (their `map_type` coordinate)."""
    found: dict[str, str] = {}
    for model_id, ds in stores.items():
        if "map_type" not in ds.coords or "maps" not in ds:
            raise InputError(f"attention store {model_id}: no `maps` with a `map_type` coordinate")
        for map_type in (str(m) for m in ds["map_type"].values):
            if map_type in found:
                raise InputError(f"attention stores {found[map_type]} and {model_id} both hold "
                                 f"map type {map_type}")
            found[map_type] = model_id
    return found


def raw_ann_maps(stores: Mapping[str, xr.Dataset], map_type: str, image_ids: Sequence[str]
                 ) -> np.ndarray:
    """The raw maps (n, H, W) of `map_type` for `image_ids`, in that order."""
    owner = ann_map_types(stores).get(map_type)
    if owner is None:
        raise InputError(f"attention stores: no map type {map_type!r} (have "
                         f"{sorted(ann_map_types(stores))})")
    maps = stores[owner]["maps"]
    index = [str(m) for m in maps["map_type"].values].index(map_type)
    images = [str(i) for i in maps["image"].values]
    missing = [i for i in image_ids if i not in images]
    if missing:
        raise InputError(f"attention store {owner}: map type {map_type} lacks images {missing}")
    values = maps.isel(method=index).values
    return np.stack([values[images.index(i)] for i in image_ids]).astype(np.float64)


def native_human_maps(human_maps: xr.Dataset, image_ids: Sequence[str]) -> dict[str, np.ndarray]:
    """{measure: (n, H, W)} the estimate_human store's native maps (`native_<measure>`, 250 or
    251 px) of `image_ids`, in that order: what the study resized (area) to 250 for its
    recognition_ann masks. The Human PC has no native size (the study's own is 100 x 100), so it
    stays on the analysis grid."""
    measures = [str(m) for m in human_maps["measure"].values]
    images = [str(i) for i in human_maps["image"].values]
    missing = [i for i in image_ids if i not in images]
    if missing:
        raise InputError(f"human maps: no maps for images {missing}")
    absent = [m for m in measures if f"native_{m}" not in human_maps]
    if absent:
        raise InputError(f"human maps: no native maps for {absent} (rerun estimate_human)")
    order = [images.index(i) for i in image_ids]
    return {m: human_maps[f"native_{m}"].values[order].astype(np.float64) for m in measures}


def human_mask_maps(human: xr.DataArray, native: Mapping[str, np.ndarray],
                    image_ids: Sequence[str]) -> dict[tuple[str, str], np.ndarray]:
    """recognition_ann's human-map sources as the study made them, {("human", map): (n, H, W)}:
    each measure's native maps (`native`, in `image_ids` order, as `native_human_maps` gives
    them) and, for the Human PC (or any map without native ones), the analysis grid's. `human`
    is (human_map, image, y, x), as lib.human_pc.load_human_targets returns; the masks follow by
    area resizing to 250 and `ann_mask`, whatever H and W are."""
    images = set(map(str, human["image"].values))
    missing = [i for i in image_ids if i not in images]
    if missing:
        raise InputError(f"human maps: no maps for images {missing}")
    out = {}
    for h in map(str, human["human_map"].values):
        maps = native.get(h)
        if maps is None:
            maps = human.sel(human_map=h, image=list(image_ids)).values
        elif len(maps) != len(image_ids):
            raise InputError(f"human maps: {len(maps)} native {h} maps for {len(image_ids)} images")
        out[("human", h)] = np.asarray(maps, dtype=np.float64)
    return out
