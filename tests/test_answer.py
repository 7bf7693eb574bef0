"""lib.answer: the best trained map type and the controls that bound it."""

import pandas as pd
import pytest

from lib.answer import answer


def _fit(scores: dict[str, float], human_map="pc") -> pd.DataFrame:
    return pd.DataFrame([{"map_type": m, "human_map": human_map, "r": r, "sigma": 3.0} for m, r in scores.items()])


def test_best_is_trained_and_its_controls_are_named():
    fit = _fit({"effnetlite0-GBP-I": 0.5, "effnetlite1-GBP-I": 0.6, "effnetlite1-GradCAM-I": 0.4,
                "effnetlite0-GBP-R": 0.55, "alexnet-GBP-R": 0.7, "gbvs": 0.65, "center-bias": 0.3})
    boot = pd.DataFrame([{"map_type": "effnetlite1-GBP-I", "human_map": "pc", "sd": 0.02, "lo": 0.55, "hi": 0.64}])
    controls = pd.DataFrame([{"map_type": "effnetlite1-GBP-I", "human_map": "pc", "r_shuffled": 0.45, "gap": 0.15}])
    out = answer(fit, "pc", boot, controls)
    assert out["best"] == "effnetlite1-GBP-I" and out["r"] == 0.6 and out["n_models"] == 3
    assert (out["lo"], out["hi"], out["gap"]) == (0.55, 0.64, 0.15)
    # No effnetlite1-R in the run: the same method on another random network, flagged as such.
    assert out["random"] == {"map_type": "alexnet-GBP-R", "r": 0.7, "own_arch": False}
    assert out["references"] == {"gbvs": 0.65, "center-bias": 0.3}
    assert out["controls_at_least_best"] == ["alexnet-GBP-R", "gbvs"]


def test_own_architecture_counterpart_is_preferred():
    fit = _fit({"effnetlite0-SGBP-I": 0.5, "effnetlite0-SGBP-R": 0.2, "alexnet-SGBP-R": 0.1})
    out = answer(fit, "pc")
    assert out["random"] == {"map_type": "effnetlite0-SGBP-R", "r": 0.2, "own_arch": True}
    assert out["controls_at_least_best"] == [] and "lo" not in out


@pytest.mark.parametrize("scores, status", [
    ({"alexnet-GBP-R": 0.7, "gbvs": 0.6}, "no trained network"),
    ({}, "no scores"),
])
def test_without_a_trained_network_nothing_is_ranked(scores, status):
    fit = _fit(scores) if scores else None
    assert answer(fit, "pc") == {"status": status}
