import json

import numpy as np
import pandas as pd
import pytest

from lib import outputs
from lib.errors import InputError


def test_absent_outputs_are_none_and_say_so(tmp_path):
    assert outputs.fit_smoothing(tmp_path / "fit.json") is None
    assert outputs.per_image(tmp_path / "per_image.csv") is None
    assert outputs.stats_table("best_vs_others", tmp_path) is None
    assert not outputs.exists(tmp_path / "per_image.csv")
    assert "not available" in outputs.not_available(tmp_path / "x.csv", "controls")


def test_fit_smoothing_json_becomes_an_annotated_table(tmp_path):
    path = tmp_path / "fit.json"
    path.write_text(json.dumps({"alexnet-SGBP-I": {"pc": {"r": 0.4, "sigma": 7}},
                                "center-bias": {"pc": {"r": 0.3, "sigma": 0}}}))
    table = outputs.fit_smoothing(path).set_index("map_type")
    assert table.loc["alexnet-SGBP-I", "r"] == 0.4 and table.loc["alexnet-SGBP-I", "sigma"] == 7
    assert table.loc["alexnet-SGBP-I", "family"] == "GBP" and table.loc["center-bias", "family"] == "baseline"
    path.write_text(json.dumps({"alexnet-SGBP-I": {"pc": {"r": 0.4}}}))
    with pytest.raises(InputError, match="sigma"):
        outputs.fit_smoothing(path)


def test_tables_check_columns_and_read_parquet_twins(tmp_path):
    table = pd.DataFrame({"map_type": ["alexnet-GBP-I"], "human_map": ["pc"], "r": [0.5], "shuffled_r": [0.2]})
    table.to_parquet(tmp_path / "controls.parquet")
    read = outputs.controls(tmp_path / "controls.csv")
    assert outputs.exists(tmp_path / "controls.csv")
    assert np.isclose(read["gap"].iloc[0], 0.3) and read["method"].iloc[0] == "GBP"
    assert np.isclose(read["r_shuffled"].iloc[0], 0.2)
    table.drop(columns="shuffled_r").to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(InputError, match="shuffled_r"):
        outputs.controls(tmp_path / "bad.csv")


def test_crossval_skips_summary_keys(tmp_path):
    path = tmp_path / "cv.json"
    path.write_text(json.dumps({"n_splits": 100,
                                "alexnet-GBP-R": {"pc": {"train_r": 0.3, "test_r": 0.25, "test_sd": 0.05}}}))
    table = outputs.crossval(path)
    assert list(table["map_type"]) == ["alexnet-GBP-R"] and table["training"].iloc[0] == "R"
    assert table["train"].iloc[0] == 0.3 and table["test"].iloc[0] == 0.25


def test_recognition_means_from_metrics(tmp_path):
    path = tmp_path / "rec.json"
    path.write_text(json.dumps({"pc": {"correct": 0.9, "incorrect": 0.7}}))
    table = outputs.recognition_ann_means(path)
    assert list(table["masking"]) == ["correct", "incorrect"] and list(table["inverse_rank"]) == [0.9, 0.7]
    path.write_text(json.dumps({"pc": {"correct": 0.9}}))
    with pytest.raises(InputError, match="incorrect"):
        outputs.recognition_ann_means(path)


def test_dprime_unit_picks_the_table_and_rejects_others(tmp_path):
    table = tmp_path / "d.csv"
    pd.DataFrame({"image": ["img1"], "mask_type": ["a"], "masking": ["correct"],
                  "dprime": [1.0]}).to_csv(table, index=False)
    assert outputs.dprime(table, unit="image")["image"].tolist() == ["img1"]
    with pytest.raises(InputError, match="d.csv: missing column"):
        outputs.dprime(table, unit="participant")
    with pytest.raises(InputError, match="stats.dprime_unit must be one of"):
        outputs.dprime(unit="set")
