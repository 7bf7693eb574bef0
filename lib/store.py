"""Labelled arrays on disk: xarray Datasets as Zarr stores, written atomically and reproducibly.

Stores use Zarr format 2, whose string arrays and consolidated metadata are settled parts of the
spec that every Zarr reader understands (format 3 still flags both as unstable); xarray records
dimension names in it. A store is written to a sibling `.partial` folder and renamed into place
only when complete, so a failing stage never leaves a half-written store behind. Encoding is fixed
(one chunk per variable, zstd at a fixed level, no timestamps), so the same data gives the same
bytes.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numcodecs
import xarray as xr

from lib.errors import InputError


def _encoding(ds: xr.Dataset) -> dict[str, dict]:
    compressor = numcodecs.Zstd(level=3)
    return {
        name: {"chunks": tuple(var.shape), "compressors": (compressor,)}
        for name, var in ds.variables.items()
        if var.ndim
    }


def write_dataset(ds: xr.Dataset, path: Path) -> None:
    """Write `ds` to the Zarr store at `path`, replacing any previous store only on success."""
    path = Path(path)
    partial = path.with_name(path.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.parent.mkdir(parents=True, exist_ok=True)
    try:
        ds.to_zarr(partial, mode="w", encoding=_encoding(ds), consolidated=True, zarr_format=2)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    shutil.rmtree(path, ignore_errors=True)
    partial.rename(path)


def read_dataset(path: Path) -> xr.Dataset:
    """The Dataset stored at `path`, fully loaded into memory."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: store not found (has the stage that writes it run?)")
    try:
        with xr.open_zarr(path, consolidated=True) as ds:
            return ds.load()
    except Exception as err:  # zarr raises many types for a damaged store
        raise InputError(f"{path}: cannot read Zarr store ({err})") from err
