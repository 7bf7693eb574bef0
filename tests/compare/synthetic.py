"""Synthetic attention stores in the contract format (README, "Contracts"), for tests and for
trying the comparison stages before real attention maps exist."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from lib.store import write_dataset


def attention_dataset(
    maps: np.ndarray,
    map_types: list[str],
    image_ids: list[str],
    model_id: str = "synthetic-R",
    methods: list[str] | None = None,
) -> xr.Dataset:
    """An attention store Dataset: maps (method, image, y, x) float32 with `map_type` on method."""
    methods = methods or [t.split("-")[-2] if t.count("-") >= 2 else t for t in map_types]
    return xr.Dataset(
        {"maps": (("method", "image", "y", "x"), np.asarray(maps, dtype=np.float32))},
        coords={
            "method": methods,
            "map_type": ("method", list(map_types)),
            "image": list(image_ids),
        },
        attrs={
            "model_id": model_id,
            "arch": model_id.split("-")[0],
            "weights": "R",
            "settings": {"synthetic": True},
        },
    )


def write_attention_store(path: Path, *args, **kwargs) -> Path:
    write_dataset(attention_dataset(*args, **kwargs), path)
    return path


def centre_gaussian(size: int, sigma: float) -> np.ndarray:
    """An isotropic Gaussian bump at the centre of a size x size map."""
    c = (size - 1) / 2
    y, x = np.mgrid[:size, :size]
    return np.exp(-((y - c) ** 2 + (x - c) ** 2) / (2 * sigma**2))
