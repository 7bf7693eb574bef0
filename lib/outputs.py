"""Reading stage outputs that may not exist yet: one loader per output, each returning the output
as a tidy table (or dict) or None when the file is absent, so the stats stage and the report can
say plainly what a run did not produce instead of failing.

Contracts (a present file that breaks one is an InputError naming the file):

| loader | file (lib.paths) | shape |
|---|---|---|
| `fit_smoothing` | FIT_SMOOTHING | JSON {map_type: {human_map: {"r", "sigma"}}} -> map_type, human_map, r, sigma |
| `per_image` | COMPARE_PER_IMAGE | map_type, human_map, image, r (r at the fitted sigma) |
| `curves` | SMOOTHING_CURVES | map_type, human_map, sigma, r (mean r over images at that sigma) |
| `bootstrap` | BOOTSTRAP | map_type, human_map, peak_r_sd, peak_r_lo, peak_r_hi -> ..., sd, lo, hi |
| `crossval` | CROSSVAL | JSON {map_type: {human_map: {"train_r", "test_r", "test_sd"}}} -> train, test, test_sd |
| `controls` | CONTROLS | map_type, human_map, r, shuffled_r (+ gap) -> ..., r_shuffled, gap |
| `noise_ceiling` | FIT_CONTROLS | JSON {"noise_ceiling": {human_map: {"ceiling", ...}}} -> human_map, ceiling |
| `recognition_ann` | RECOGNITION_ANN_TABLE | model, mask_source, mask_type, image, mask_image, inverse_rank |
| `recognition_ann_means` | RECOGNITION_ANN_METRICS | JSON {mask_type: {"correct", "incorrect"}} |
| `dprime` | DPRIME_TABLES[unit] (per image or per participant) | <unit>, mask_type, masking, dprime |
| `stats_table` | STATS/<name>.csv | the stats stage's tables (lib.stats column lists) |

Tables are CSV; a Parquet file of the same stem is read when the CSV is absent. Map-type tables
come back with arch, method, training and family (lib.map_types.annotate).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from lib import paths
from lib.errors import InputError
from lib.map_types import annotate, check_columns
from lib.tabular import read_table_file


def not_available(path: Path, what: str = "") -> str:
    """The sentence pages and stats.json use for an absent output."""
    rel = Path(path).relative_to(paths.ROOT) if Path(path).is_relative_to(paths.ROOT) else Path(path)
    return f"not available: {what} ({rel} was not produced in this run)" if what else \
        f"not available ({rel} was not produced in this run)"


def exists(path: Path) -> bool:
    """Whether the output at `path` (or, for a table, its same-stem Parquet twin) exists."""
    path = Path(path)
    return path.exists() or (path.suffix == ".csv" and path.with_suffix(".parquet").is_file())


def read_json(path: Path) -> dict | None:
    path = Path(path)
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise InputError(f"{path}: not valid JSON ({err})") from err


def read_table(path: Path, required: Sequence[str] = ()) -> pd.DataFrame | None:
    """The CSV (or same-stem Parquet) table at `path` with `required` columns, or None if absent."""
    path = Path(path)
    candidates = [path, path.with_suffix(".parquet"), path.with_suffix(".csv")]
    found = next((p for p in candidates if p.is_file()), None)
    if found is None:
        return None
    table = read_table_file(found)
    check_columns(table, required, str(found))
    return table


def _nested(data: dict, path: Path, fields: Sequence[str]) -> pd.DataFrame:
    """{map_type: {human_map: {field: value}}} -> rows map_type, human_map, *fields."""
    rows = []
    for map_type, per_map in data.items():
        if not isinstance(per_map, dict):
            raise InputError(f"{path}: entry {map_type!r} is not a mapping of human maps")
        for human_map, entry in per_map.items():
            if not isinstance(entry, dict) or any(f not in entry for f in fields):
                raise InputError(f"{path}: {map_type}/{human_map} needs keys {list(fields)}")
            rows.append({"map_type": map_type, "human_map": human_map} | {f: float(entry[f]) for f in fields})
    return annotate(pd.DataFrame(rows, columns=["map_type", "human_map", *fields]))


def fit_smoothing(path: Path = paths.FIT_SMOOTHING) -> pd.DataFrame | None:
    data = read_json(path)
    return None if data is None else _nested(data, path, ("r", "sigma"))


def crossval(path: Path = paths.CROSSVAL) -> pd.DataFrame | None:
    data = read_json(path)
    if data is None:
        return None
    # Summary keys beside the map types (e.g. "n_splits") are not map types.
    table = _nested({k: v for k, v in data.items() if isinstance(v, dict) and not k.startswith("_")}, path,
                    ("train_r", "test_r", "test_sd"))
    return table.rename(columns={"train_r": "train", "test_r": "test"})


def _map_type_table(path: Path, required: Sequence[str]) -> pd.DataFrame | None:
    table = read_table(path, required)
    return None if table is None else annotate(table)


def per_image(path: Path = paths.COMPARE_PER_IMAGE) -> pd.DataFrame | None:
    return _map_type_table(path, ("map_type", "human_map", "image", "r"))


def curves(path: Path = paths.SMOOTHING_CURVES) -> pd.DataFrame | None:
    return _map_type_table(path, ("map_type", "human_map", "sigma", "r"))


ERROR_BARS = {
    # The study's error bar: SD of the resampled mean r at the full-sample fitted sigma.
    "fixed_sigma": ("fixed_r_sd", "SD of the resampled mean r at the full-sample fitted sigma"),
    # Wider: the sigma is refitted in every resample, so the fit's own uncertainty is included.
    "refitted_sigma": ("peak_r_sd", "SD of the resampled peak mean r with sigma refitted in every resample"),
}


def bootstrap(path: Path = paths.BOOTSTRAP, error_bar: str = "fixed_sigma") -> pd.DataFrame | None:
    """Image-bootstrap spread per map type and human map: `sd` (the `error_bar` kind, see
    ERROR_BARS) and `lo`, `hi` (percentile interval of the peak r, sigma refitted)."""
    if error_bar not in ERROR_BARS:
        raise InputError(f"params.yaml: bootstrap.error_bar must be one of {sorted(ERROR_BARS)}, got {error_bar!r}")
    column = ERROR_BARS[error_bar][0]
    table = _map_type_table(path, ("map_type", "human_map", column, "peak_r_lo", "peak_r_hi"))
    return None if table is None else table.rename(
        columns={column: "sd", "peak_r_lo": "lo", "peak_r_hi": "hi"})


def controls(path: Path = paths.CONTROLS) -> pd.DataFrame | None:
    table = _map_type_table(path, ("map_type", "human_map", "r", "shuffled_r"))
    if table is None:
        return None
    table = table.rename(columns={"shuffled_r": "r_shuffled"})
    if "gap" not in table.columns:
        table["gap"] = table["r"] - table["r_shuffled"]
    return table


def noise_ceiling(path: Path = paths.FIT_CONTROLS) -> pd.DataFrame | None:
    data = read_json(path)
    if data is None:
        return None
    entries = data.get("noise_ceiling")
    if not isinstance(entries, dict):
        raise InputError(f"{path}: no `noise_ceiling` mapping")
    rows = [{"human_map": h, "ceiling": e.get("ceiling")} for h, e in entries.items()]
    return pd.DataFrame(rows, columns=["human_map", "ceiling"]).dropna()


def recognition_ann(path: Path = paths.RECOGNITION_ANN_TABLE) -> pd.DataFrame | None:
    return read_table(path, ("model", "mask_source", "mask_type", "image", "mask_image", "inverse_rank"))


def recognition_ann_means(path: Path = paths.RECOGNITION_ANN_METRICS) -> pd.DataFrame | None:
    """Mean inverse rank per mask type and masking: columns mask_type, masking, inverse_rank."""
    data = read_json(path)
    if data is None:
        return None
    rows = []
    for mask_type, entry in data.items():
        if not isinstance(entry, dict) or not {"correct", "incorrect"} <= set(entry):
            raise InputError(f"{path}: {mask_type!r} needs keys 'correct' and 'incorrect'")
        rows += [{"mask_type": mask_type, "masking": m, "inverse_rank": float(entry[m])}
                 for m in ("correct", "incorrect")]
    return pd.DataFrame(rows, columns=["mask_type", "masking", "inverse_rank"])


# recognition_human writes d' at both units; stats.dprime_unit picks the one its tests pair over.
DPRIME_TABLES = {"image": paths.RECOGNITION_DPRIME, "participant": paths.RECOGNITION_DPRIME_PARTICIPANT}


def dprime(path: Path | None = None, unit: str = "participant") -> pd.DataFrame | None:
    """Human d' per `unit` (image or participant), mask type and masking; `path` defaults to
    that unit's table of recognition_human."""
    if unit not in DPRIME_TABLES:
        raise InputError(f"params.yaml: stats.dprime_unit must be one of {sorted(DPRIME_TABLES)}, got {unit!r}")
    return read_table(path or DPRIME_TABLES[unit], (unit, "mask_type", "masking", "dprime"))


def stats_summary(path: Path = paths.STATS_METRICS) -> dict | None:
    return read_json(path)


def stats_table(name: str, folder: Path = paths.STATS) -> pd.DataFrame | None:
    """One of the stats stage's tables; None when absent or written empty (section skipped)."""
    table = read_table(Path(folder) / f"{name}.csv")
    return None if table is None or table.empty else table


# ---------------------------------------------------------------------------------------------
# Attention stores


def attention_stores(folder: Path = paths.ATTENTION) -> dict[str, Path]:
    """{map_type: store path} over every Zarr store in the attention folder (reads coordinates
    only, not the maps)."""
    from lib.store import open_store

    found: dict[str, Path] = {}
    for store in sorted(Path(folder).glob("*.zarr")):
        try:
            with open_store(store) as ds:
                names = ds["map_type"].values if "map_type" in ds.coords else ds["method"].values
        except Exception as err:  # zarr raises many types for a damaged store
            raise InputError(f"{store}: cannot read Zarr store ({err})") from err
        for name in names:
            found[str(name)] = store
    return found


def store_attrs(folder: Path = paths.ATTENTION) -> dict[str, dict]:
    """{store name: its attrs (model_id, arch, weights, settings)} for every attention store."""
    from lib.store import open_store

    out = {}
    for store in sorted(Path(folder).glob("*.zarr")):
        with open_store(store) as ds:
            out[store.stem] = dict(ds.attrs)
    return out


def raw_maps(map_type: str, images: Sequence[str], folder: Path = paths.ATTENTION) -> np.ndarray | None:
    """The raw maps (len(images), y, x) of `map_type` from its store, or None if no store has it."""
    from lib.store import read_dataset

    store = attention_stores(folder).get(map_type)
    if store is None:
        return None
    ds = read_dataset(store)
    dim = "method"
    index = [str(v) for v in (ds["map_type"].values if "map_type" in ds.coords else ds[dim].values)]
    maps = ds["maps"].isel({dim: index.index(map_type)})
    return maps.sel(image=list(images)).values


def cascade(path: Path = paths.CASCADE):
    """The cascading-randomisation Dataset (network, method, step, ...) or None when absent or
    written without networks (a run with no trained network)."""
    from lib.store import read_dataset

    if not Path(path).exists():
        return None
    ds = read_dataset(path)
    return ds if "network" in ds.dims else None


def profile_control(path: Path = paths.CONTROLS) -> pd.DataFrame | None:
    """map_type, human_map, r, profile_r, removed_r from fit_smoothing's summary, where the
    profile control ran."""
    table = read_table(path)
    if table is None or "profile_r" not in table.columns:
        return None
    return table[["map_type", "human_map", "r", "shuffled_r", "profile_r", "removed_r"]]
