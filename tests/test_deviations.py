"""The deviations table follows the params it describes."""

from lib.deviations import COLUMNS, deviations
from lib.params import load_params


def _row(rows, aspect):
    return next(r for r in rows if r["aspect"] == aspect)


def test_rows_follow_params_and_measured_effects():
    params = load_params()
    rows = deviations(params, {"effnetlite0-I": {"top1_changed_by_study_normalisation": 10}})
    assert all(set(r) == set(COLUMNS) for r in rows)
    aspects = {r["aspect"] for r in rows}
    assert {"networks", "input normalisation", "SmoothGrad noise", "bootstrap", "CAMERAS input resampling",
            "recognition ANOVA degrees of freedom", "masks (human recognition)"} <= aspects
    assert "10 of 25 images" in _row(rows, "input normalisation")["effect"]
    assert "effnetlite1-I" in _row(rows, "networks")["run"] and "alexnet-R" in _row(rows, "networks")["run"]
    study = {**params, "extract_attention": {**params["extract_attention"], "normalisation": "study",
                                             "sgbp": {"noise_rule": "study-code", "noise_frac": 0.1}}}
    rows = deviations(study)
    assert "study" in _row(rows, "input normalisation")["run"]
    assert "study-code" in _row(rows, "SmoothGrad noise")["run"]
    assert _row(rows, "input normalisation")["effect"] == "not recorded in this run's stores"


def test_human_mask_row_follows_mask_style():
    params = load_params()
    assert "graded, as the study" in _row(deviations(params), "masks (human recognition)")["run"]
    binary = {**params, "recognition_human": {**params["recognition_human"], "mask_style": "binary"}}
    row = _row(deviations(binary), "masks (human recognition)")
    assert "binary" in row["run"] and "binary masks set in params.yaml" in row["why"]
