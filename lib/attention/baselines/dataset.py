"""The baselines attention store: every reference method's map of every image, in the layout
extract_attention writes for a network."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np

from lib.attention.baselines._common import _options
from lib.attention.baselines.boolean_map import BMS_DEFAULTS, bms
from lib.attention.baselines.centre_gaussian import CENTER_BIAS_DEFAULTS, center_bias
from lib.attention.baselines.graph_based import GBVS_DEFAULTS, gbvs
from lib.errors import InputError
from lib.executor import LOCAL, Executor, store_by_tasks
from lib.images import read_image

METHODS = {"gbvs": gbvs, "bms": bms, "center-bias": center_bias}

MODEL_ID = "baselines"
OPTION_DEFAULTS = {"gbvs": GBVS_DEFAULTS, "bms": BMS_DEFAULTS, "center-bias": CENTER_BIAS_DEFAULTS}


def baseline_dataset(
    images: dict[str, Path],
    size: int,
    options: dict[str, dict[str, Any]] | None = None,
    progress: bool = True,
    image_size: int | None = None,
):
    """The baselines attention store (images must be image_size x image_size when it is given):
    `maps` (method, image, y, x) float32 at size x size for
    each method of METHODS and each image (id -> file), `map_type` on `method` (the plain method
    names), attrs `model_id`, `arch`, `weights` and `settings` (every option used, defaults
    filled in). `options` maps a method name to overrides of its defaults."""
    import xarray as xr
    from tqdm import tqdm

    options = options or {}
    unknown = set(options) - set(METHODS)
    if unknown:
        raise InputError(f"baselines: options for unknown methods {sorted(unknown)}")
    settings = {m: _options(OPTION_DEFAULTS[m], options.get(m, {}), m) for m in METHODS}
    maps = np.zeros((len(METHODS), len(images), size, size), dtype=np.float32)
    for j, path in enumerate(tqdm(images.values(), desc="baselines", disable=not progress)):
        image = read_image(path, image_size)
        for i, (name, fn) in enumerate(METHODS.items()):
            maps[i, j] = fn(image, out_size=size, where=f"{path}", **settings[name])
    return xr.Dataset(
        {"maps": (("method", "image", "y", "x"), maps)},
        coords={
            "method": list(METHODS),
            "map_type": ("method", list(METHODS)),
            "image": list(images),
        },
        attrs={
            "model_id": MODEL_ID,
            "arch": MODEL_ID,
            "weights": "none",
            "settings": {"size": size, **settings},
        },
    )


def baseline_store(
    image_ids: list[str],
    size: int,
    options: dict[str, dict[str, Any]],
    image_size: int | None,
    output: Path,
    executor: Executor = LOCAL,
) -> None:
    """The baselines store of the study images `image_ids`, written to `output`: in this process,
    or under `executor.kind: dask` as tasks of `executor.images_per_task` images (default 4; every
    image's maps are computed alone, so any split gives the same bytes)."""
    from lib.images import image_file
    from lib.store import write_dataset

    ids = [str(i) for i in image_ids]
    if not executor.distributed:
        write_dataset(baseline_dataset({i: image_file(i) for i in ids}, size, options, image_size=image_size), output)
        return
    step = executor.images_per_task or 4
    store_by_tasks(
        output, lambda: _template(ids, size), functools.partial(_baseline_images, size, options, image_size), ids,
        [slice(i, min(i + step, len(ids))) for i in range(0, len(ids), step)], executor, desc="baselines",
        fingerprint={"size": size, "options": options, "image_size": image_size}, finish=lambda attrs, _: attrs,
    )


def _baseline_images(size: int, options: dict, image_size: int | None, ids: list[str]):
    from lib.images import image_file

    ds = baseline_dataset({i: image_file(i) for i in ids}, size, options, progress=False, image_size=image_size)
    return ds, None


def _template(ids: list[str], size: int):
    import dask.array as da
    import xarray as xr

    return xr.Dataset(
        {"maps": (("method", "image", "y", "x"), da.zeros((len(METHODS), len(ids), size, size), dtype=np.float32,
                                                          chunks=(len(METHODS), 1, size, size)))},
        coords={"method": list(METHODS), "map_type": ("method", list(METHODS)), "image": ids},
    )
