import json

import numpy as np
import pytest
import xarray as xr

from lib.compare.blur import sigma_grid
from lib.compare.fit import fit_smoothing
from lib.compare.tables import (
    add_ceilings,
    controls_metrics,
    fit_metrics,
    peaks_table,
    summary_table,
    write_outputs,
)
from tests.compare.conftest import smooth_noise


@pytest.fixture
def fitted(rng):
    maps = xr.DataArray(
        smooth_noise(rng, (2, 4, 12, 12), 1.0),
        dims=("map_type", "image", "y", "x"),
        coords={"map_type": ["x-GBP-R", "gbvs"], "store": ("map_type", ["x-R", "baselines"]),
                "image": ["i1", "i2", "i3", "i4"]},
    )
    targets = xr.DataArray(
        smooth_noise(rng, (2, 4, 12, 12), 2.0), dims=("human_map", "image", "y", "x"),
        coords={"human_map": ["patch", "pc"], "image": ["i1", "i2", "i3", "i4"]},
    )
    ds = fit_smoothing(maps, targets, sigma_grid(4))
    return add_ceilings(ds, np.array([0.81, np.nan]), np.array([0.9, np.nan]))


def test_fit_metrics_follow_the_contract(fitted):
    metrics = fit_metrics(fitted)
    assert list(metrics) == ["x-GBP-R", "gbvs"]
    cell = metrics["x-GBP-R"]["patch"]
    assert cell["r"] == pytest.approx(float(fitted["peak_r"][0, 0]), abs=1e-6)
    assert cell["sigma"] in {0.0, 1.0, 2.0, 3.0, 4.0}
    assert cell["share_of_ceiling"] == pytest.approx(cell["r"] / 0.9, abs=1e-5)
    assert metrics["gbvs"]["pc"]["share_of_ceiling"] is None  # ceiling unavailable, not NaN
    json.dumps(metrics, allow_nan=False)
    controls = controls_metrics(fitted, {"bad": "constant"})
    assert controls["excluded"] == {"bad": "constant"}
    assert controls["noise_ceiling"]["patch"] == {"reliability": 0.81, "ceiling": 0.9}


def test_tables_are_tidy(fitted, tmp_path):
    summary = summary_table(fitted)
    assert list(summary.columns[:3]) == ["map_type", "store", "human_map"]
    assert len(summary) == 4
    peaks = peaks_table(fitted)
    assert len(peaks) == 2 * 2 * 4
    row = peaks.iloc[0]
    assert row["r"] == pytest.approx(
        float(fitted["r_at_peak"].sel(map_type=row["map_type"], human_map=row["human_map"],
                                      image=row["image"])), abs=1e-6)
    write_outputs({tmp_path / "s.csv": summary}, {tmp_path / "m.json": fit_metrics(fitted)})
    assert (tmp_path / "s.csv").read_text().startswith("map_type,store,human_map,sigma,r,")
    assert not list(tmp_path.glob("*.partial*"))
