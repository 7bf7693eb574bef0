"""Labelled arrays on disk: xarray Datasets as Zarr (format 3) stores, chunked by image, written
atomically and reproducibly.

Every variable with an `image` dimension is stored one image per chunk, so that tasks on several
workers write disjoint regions of one store (`write_region`, lib.executor) and a reader loads only
the images it asks for (`read_dataset(path, images=...)`); other variables are one chunk each.
Metadata is not consolidated: Zarr 3 does not specify consolidation yet, and a store's few
zarr.json files are read in milliseconds. Stores written before the change (Zarr 2, consolidated)
are still read.

A store is written to a temporary sibling folder and renamed into place only when complete
(lib.atomic: with the stage's other outputs), so a failing stage never leaves a half-written store
behind. Encoding is fixed (zstd at a fixed level, no timestamps; every chunk written, even one
that holds only the fill value, so that a missing chunk always means a damaged store), so the
same data gives the same bytes, whether written at once (`write_dataset`) or region by region (`create_store`,
`write_region`, `finish_store`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import xarray as xr
from zarr.codecs import ZstdCodec

from lib.atomic import writing
from lib.errors import InputError

ZARR_FORMAT = 3
CHUNKED_DIM = "image"


def _encoding(ds: xr.Dataset) -> dict[str, dict]:
    return {
        name: {
            "chunks": tuple(1 if dim == CHUNKED_DIM else size for dim, size in zip(var.dims, var.shape, strict=True)),
            "compressors": (ZstdCodec(level=3),),
        }
        for name, var in ds.variables.items()
        if var.ndim
    }


def _variable_length_strings(ds: xr.Dataset) -> xr.Dataset:
    # Zarr 3 specifies variable-length UTF-8 strings (data type `string`); numpy's fixed-width
    # unicode would be stored as an unspecified data type other Zarr readers may not read.
    fixed = {name: var.astype(object) for name, var in ds.variables.items() if var.dtype.kind == "U"}
    return ds.assign_coords({n: v for n, v in fixed.items() if n in ds.coords}).assign(
        {n: v for n, v in fixed.items() if n not in ds.coords})


def write_dataset(ds: xr.Dataset, path: Path) -> None:
    """Write `ds` to the Zarr store at `path`, replacing any previous store only on success."""
    ds = _variable_length_strings(ds)
    with writing(Path(path)) as partial:
        ds.to_zarr(partial, mode="w", encoding=_encoding(ds), consolidated=False, zarr_format=ZARR_FORMAT,
                   write_empty_chunks=True)


def create_store(template: xr.Dataset, path: Path) -> None:
    """Lay out the store at `path` (a scratch folder, not a stage output) for `template`: every
    variable's metadata and the coordinates; the data variables' regions are filled by
    `write_region` (their values in `template` may be lazy dask arrays: nothing is computed), the
    attributes by `finish_store`."""
    template = _variable_length_strings(template)
    template.drop_attrs(deep=False).to_zarr(
        path, mode="w", encoding=_encoding(template), consolidated=False, zarr_format=ZARR_FORMAT,
        compute=False, write_empty_chunks=True,
    )


def write_region(part: xr.Dataset, path: Path, start: int) -> None:
    """Write `part`, the images start .. start + len(part.image) of a store laid out by
    `create_store`: only the variables (and coordinates) with an image dimension."""
    part = _variable_length_strings(part)
    region = part[[n for n, v in part.data_vars.items() if CHUNKED_DIM in v.dims]]
    region = region.drop_vars([n for n, v in region.coords.items() if CHUNKED_DIM not in v.dims])
    region.drop_attrs(deep=False).to_zarr(
        path, region={CHUNKED_DIM: slice(start, start + part.sizes[CHUNKED_DIM])}, zarr_format=ZARR_FORMAT,
        consolidated=False, write_empty_chunks=True,
    )


def finish_store(path: Path, attrs: dict) -> None:
    """Give the store at `path` its dataset attributes (the last step of a region-by-region write)."""
    import zarr

    zarr.open_group(str(path), mode="r+", zarr_format=ZARR_FORMAT).attrs.put(attrs)


def read_dataset(path: Path, images: Sequence[str] | None = None) -> xr.Dataset:
    """The Dataset stored at `path` (only `images`, in that order, when given), loaded into memory;
    InputError naming the store and the stage to rerun when it is absent, unreadable or missing a
    chunk (which Zarr would otherwise read as fill values: NaN maps that look like a method's
    failure, not a damaged file)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: store not found (rerun {writer_stage(path)})")
    try:
        _check_complete(path)
        with open_store(path) as ds:
            if images is not None:
                missing = sorted(set(map(str, images)) - set(map(str, ds[CHUNKED_DIM].values)))
                if missing:
                    raise InputError(f"{path}: no images {missing[:5]} in the store; rerun {writer_stage(path)}")
                ds = ds.sel({CHUNKED_DIM: list(images)})
            return ds.load()
    except InputError:
        raise
    except Exception as err:  # zarr raises many types for a damaged store
        raise InputError(f"{path}: cannot read Zarr store ({err}); rerun {writer_stage(path)}") from err


def open_store(path: Path) -> xr.Dataset:
    """The store at `path`, lazily (a context manager): Zarr 3, or Zarr 2 with consolidated
    metadata as this project wrote before its stores were chunked by image."""
    path = Path(path)
    if (path / "zarr.json").exists():
        return xr.open_zarr(path, consolidated=False, zarr_format=3)
    if (path / ".zmetadata").exists():
        return xr.open_zarr(path, consolidated=True, zarr_format=2)
    raise InputError(f"{path}: not a Zarr store (no zarr.json); rerun {writer_stage(path)}")


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
