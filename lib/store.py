"""Labelled arrays on disk: xarray Datasets as Zarr stores, written atomically and reproducibly.

Stores use Zarr format 2, whose string arrays and consolidated metadata are settled parts of the
spec that every Zarr reader understands (format 3 still flags both as unstable); xarray records
dimension names in it. A store is written to a temporary sibling folder and renamed into place
only when complete (lib.atomic: with the stage's other outputs), so a failing stage never leaves
a half-written store behind. Encoding is fixed
(one chunk per variable, zstd at a fixed level, no timestamps), so the same data gives the same
bytes.
"""

from __future__ import annotations

from pathlib import Path

import numcodecs
import xarray as xr

from lib.atomic import writing
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
    with writing(Path(path)) as partial:
        ds.to_zarr(partial, mode="w", encoding=_encoding(ds), consolidated=True, zarr_format=2)


def read_dataset(path: Path) -> xr.Dataset:
    """The Dataset stored at `path`, fully loaded into memory; InputError naming the store and the
    stage to rerun when it is absent, unreadable or missing a chunk (which Zarr would otherwise
    read as fill values: NaN maps that look like a method's failure, not a damaged file)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: store not found (rerun {writer_stage(path)})")
    try:
        _check_complete(path)
        with xr.open_zarr(path, consolidated=True) as ds:
            return ds.load()
    except InputError:
        raise
    except Exception as err:  # zarr raises many types for a damaged store
        raise InputError(f"{path}: cannot read Zarr store ({err}); rerun {writer_stage(path)}") from err


def _check_complete(path: Path) -> None:
    import zarr

    group = zarr.open_group(str(path), mode="r")
    for name, array in group.arrays():
        if array.nchunks_initialized < array.nchunks:
            raise InputError(
                f"{path}: damaged store: variable `{name}` has {array.nchunks - array.nchunks_initialized} "
                f"of {array.nchunks} chunks missing; rerun {writer_stage(path)}"
            )


def writer_stage(path: Path) -> str:
    """`dvc repro <stage>` for the dvc.yaml stage whose outputs hold `path`, or a plain phrase."""
    import yaml

    from lib.paths import ROOT

    try:
        rel = Path(path).resolve().relative_to(ROOT).as_posix()
        stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    except (ValueError, OSError, KeyError, TypeError, yaml.YAMLError):
        return "the stage that writes it"
    for name, stage in stages.items():
        for out in stage.get("do", stage).get("outs", []):
            out = next(iter(out)) if isinstance(out, dict) else out
            if "${item}" in out:
                head, tail = out.split("${item}", 1)
                if rel.startswith(head) and rel.endswith(tail) and len(rel) > len(head) + len(tail):
                    return f"`dvc repro {name}@{rel[len(head):len(rel) - len(tail)]}`"
            elif rel == out or rel.startswith(out.rstrip("/") + "/"):
                return f"`dvc repro {name}`"
    return "the stage that writes it"
