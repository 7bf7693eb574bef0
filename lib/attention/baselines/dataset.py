"""The baselines attention store: every reference method's map of every image, in the layout
extract_attention writes for a network."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from lib.attention.baselines._common import _options
from lib.attention.baselines.boolean_map import BMS_DEFAULTS, bms
from lib.attention.baselines.centre_gaussian import CENTER_BIAS_DEFAULTS, center_bias
from lib.attention.baselines.graph_based import GBVS_DEFAULTS, gbvs
from lib.errors import InputError
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
