"""The comparison stages' outputs as tidy tables and metrics dicts (what goes in CSV and JSON),
built from the Datasets of lib.compare.fit / resample / crossval. Floats are rounded to 6
decimals so reruns give the same bytes and diffs stay readable."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

DECIMALS = 6


def _round(value) -> float | None:
    value = float(value)
    return None if np.isnan(value) else round(value, DECIMALS) + 0.0  # + 0.0: no "-0.0"


def add_ceilings(ds: xr.Dataset, reliability: np.ndarray, ceiling: np.ndarray) -> xr.Dataset:
    """`ds` with `reliability`, `ceiling` (human_map) and `share_of_ceiling` = peak_r / ceiling
    (map_type, human_map; NaN where the ceiling is unavailable)."""
    ds = ds.copy()
    ds["reliability"] = ("human_map", np.asarray(reliability, dtype=np.float64))
    ds["ceiling"] = ("human_map", np.asarray(ceiling, dtype=np.float64))
    ds["share_of_ceiling"] = ds["peak_r"] / ds["ceiling"]
    return ds


def fit_metrics(ds: xr.Dataset) -> dict:
    """{map_type: {human_map: {"r", "sigma", "shuffled_r", "gap", "share_of_ceiling"}}}: the
    contract's r (peak mean r) and sigma (fitted), then the controls at that sigma."""
    out: dict = {}
    for t in ds["map_type"].values:
        out[str(t)] = {}
        for h in ds["human_map"].values:
            cell = ds.sel(map_type=t, human_map=h)
            out[str(t)][str(h)] = {
                "r": _round(cell["peak_r"]),
                "sigma": _round(cell["peak_sigma"]),
                "shuffled_r": _round(cell["shuffled_r"]),
                "gap": _round(cell["gap"]),
                "share_of_ceiling": _round(cell["share_of_ceiling"]),
            }
    return out


def controls_metrics(ds: xr.Dataset, excluded: dict[str, str]) -> dict:
    """The noise ceiling per human map, the excluded map types with their reasons and, where the
    Dataset has it, the image-agnostic profile control {map_type: {human_map: {r, profile_r,
    removed_r}}} (lib.compare.profile)."""
    out = {
        "noise_ceiling": {
            str(h): {
                "reliability": _round(ds["reliability"].sel(human_map=h)),
                "ceiling": _round(ds["ceiling"].sel(human_map=h)),
            }
            for h in ds["human_map"].values
        },
        "excluded": dict(sorted(excluded.items())),
    }
    if "profile_r" in ds:
        out["profile"] = {
            str(t): {str(h): {"r": _round(ds["peak_r"].sel(map_type=t, human_map=h)),
                              "profile_r": _round(ds["profile_r"].sel(map_type=t, human_map=h)),
                              "removed_r": _round(ds["removed_r"].sel(map_type=t, human_map=h))}
                     for h in ds["human_map"].values}
            for t in ds["map_type"].values}
    return out


def _frame(ds: xr.Dataset, names: list[str], dims: tuple[str, ...]) -> pd.DataFrame:
    frame = ds[names].transpose(*dims).to_dataframe().reset_index()
    for name in names:
        frame[name] = frame[name].round(DECIMALS) + 0.0
    return frame


def summary_table(ds: xr.Dataset) -> pd.DataFrame:
    """One row per (map_type, human_map): store, sigma, r, shuffled_r, gap, ceiling, share."""
    names = ["peak_sigma", "peak_r", "shuffled_r", "gap", "share_of_ceiling"]
    names += [n for n in ("profile_r", "removed_r") if n in ds]
    frame = _frame(ds, names, ("map_type", "human_map"))
    frame = frame.rename(columns={"peak_sigma": "sigma", "peak_r": "r"})
    frame["ceiling"] = frame["human_map"].map(
        {
            str(h): _round(c)
            for h, c in zip(ds["human_map"].values, ds["ceiling"].values, strict=True)
        }
    )
    return (
        frame[
            [
                "map_type",
                "store",
                "human_map",
                "sigma",
                "r",
                "shuffled_r",
                "gap",
                "ceiling",
                "share_of_ceiling",
                *[n for n in ("profile_r", "removed_r") if n in frame],
            ]
        ]
        if "store" in frame
        else frame
    )


def peaks_table(ds: xr.Dataset) -> pd.DataFrame:
    """One row per (map_type, human_map, image): the per-image r at the fitted sigma, and the
    shuffled control's mean r for that image's map at the same sigma."""
    frame = _frame(ds, ["r_at_peak", "r_shuffled_at_peak"], ("map_type", "human_map", "image"))
    sigma = ds["peak_sigma"].to_dataframe().reset_index()[["map_type", "human_map", "peak_sigma"]]
    frame = frame.merge(sigma, on=["map_type", "human_map"], sort=False)
    frame = frame.rename(
        columns={"r_at_peak": "r", "r_shuffled_at_peak": "r_shuffled", "peak_sigma": "sigma"}
    )
    columns = ["map_type", "store", "human_map", "sigma", "image", "r", "r_shuffled"]
    return frame[[c for c in columns if c in frame]]


def curves_table(ds: xr.Dataset) -> pd.DataFrame:
    """Plot data for `dvc plots`: one row per (human_map, map_type, sigma) with the mean r of
    matched and shuffled images."""
    frame = _frame(ds, ["curve", "curve_shuffled"], ("human_map", "map_type", "sigma"))
    frame = frame.rename(columns={"curve": "r", "curve_shuffled": "r_shuffled"})
    return frame[["human_map", "map_type", "sigma", "r", "r_shuffled"]]


def excluded_table(excluded: dict[str, str]) -> pd.DataFrame:
    """The excluded map types and why, one row each (header only when none)."""
    return pd.DataFrame(sorted(excluded.items()), columns=["map_type", "reason"])


def replicate_frame(ds: xr.Dataset, keys: list[str]) -> pd.DataFrame:
    """Tidy (map_type, human_map) rows of the named variables of a summary Dataset, with the
    map type's store beside it when the Dataset has one."""
    frame = _frame(ds, keys, ("map_type", "human_map"))
    lead = ["map_type", "store", "human_map"] if "store" in frame else ["map_type", "human_map"]
    return frame[lead + keys]


def nested_metrics(ds: xr.Dataset, keys: dict[str, str]) -> dict:
    """{map_type: {human_map: {label: value}}} for `keys` = {label: variable name}."""
    return {
        str(t): {
            str(h): {
                label: _round(ds[var].sel(map_type=t, human_map=h)) for label, var in keys.items()
            }
            for h in ds["human_map"].values
        }
        for t in ds["map_type"].values
    }


def write_outputs(tables: dict, jsons: dict) -> None:
    """Write every {path: DataFrame} as CSV and every {path: dict} as JSON (lib.atomic: moved
    into place with the stage's other outputs; a NaN in a JSON is an error)."""
    from lib.atomic import write_json, write_text

    for path, frame in tables.items():
        write_text(path, frame.to_csv(index=False, lineterminator="\n"))
    for path, obj in jsons.items():
        write_json(path, obj)
