"""The estimators' params: params.yaml and the code's defaults agree, and bad values are named."""

from __future__ import annotations

import copy

import pytest

from lib.errors import InputError
from lib.params import get, load_params
from lib.trials import TrialSettings


def test_params_yaml_holds_the_documented_defaults():
    section = get(load_params(), "estimate_human.trials", dict)
    assert TrialSettings.from_params(section) == TrialSettings()
    assert TrialSettings().as_params() == section


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda s: s["dprime"].update(correction="probit"), "dprime.correction = 'probit'"),
        (lambda s: s["patch"].update(sigma_px=0), "patch_sigma_px must be a positive number"),
        (
            lambda s: s["spatial"].update(iteration=0),
            "spatial.iteration must be a positive integer",
        ),
        (
            lambda s: s["fixations"].update(sigma_px=3),
            r"trials.fixations has unknown keys \['sigma_px'\]",
        ),
        (
            lambda s: s["spatial"].pop("sigma_y_px"),
            "missing key `estimate_human.trials.spatial.sigma_y_px`",
        ),
        (lambda s: s.pop("patch"), "missing mapping `estimate_human.trials.patch`"),
        (lambda s: s["patch"].update(sigma_px=True), "trials.patch.sigma_px` must be a number"),
    ],
)
def test_bad_settings_are_named(change, message):
    section = copy.deepcopy(TrialSettings().as_params())
    change(section)
    with pytest.raises(InputError, match=message):
        TrialSettings.from_params(section)
