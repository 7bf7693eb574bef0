"""Roles of map types and model ids: one definition (lib.map_types) every stage asks."""

import pandas as pd
import pytest

from lib import map_types as mt
from lib.errors import InputError


@pytest.mark.parametrize("name, expected", [
    ("effnetlite0-SGBP-I", "model"), ("alexnet-GradCAM-C", "model"), ("resnet50-GBP-P", "model"),
    ("alexnet-GBP-R", "random"), ("effnetlite0-ScoreCAM-R", "random"),
    ("gbvs", "reference"), ("bms", "reference"), ("center-bias", "reference"),
    ("abn-resnet110-active-C", "model"),
])
def test_role_of_map_types(name, expected):
    assert mt.role(name) == expected


@pytest.mark.parametrize("model_id, expected", [
    ("effnetlite0-I", "model"), ("alexnet-R", "random"), ("tv.resnet18-I", "model"),
    ("timm.vit_small_patch16_224.augreg_in21k-R", "random"), ("baselines", "reference"),
])
def test_role_of_model_ids(model_id, expected):
    assert mt.model_role(model_id) == expected


@pytest.mark.parametrize("model_id", ["effnetlite0", "effnetlite0-X", "noversion"])
def test_unknown_role_is_a_clear_error(model_id):
    with pytest.raises(InputError, match="role"):
        mt.model_role(model_id)
    with pytest.raises(InputError, match=r"extract_attention\.models.*role"):
        mt.models_of_role(["effnetlite0-I", model_id], "model")


def test_require_models_names_the_key_and_the_control():
    assert mt.require_models(["effnetlite0-SGBP-I"], "k") == ["effnetlite0-SGBP-I"]
    with pytest.raises(InputError, match=r"recognition_human\.map_types.*alexnet-GBP-R.*random-weight"):
        mt.require_models(["effnetlite0-SGBP-I", "alexnet-GBP-R"], "recognition_human.map_types")


def test_selection_and_counterparts():
    names = ["effnetlite0-GBP-I", "alexnet-GBP-R", "gbvs", "effnetlite1-GradCAM-I"]
    assert mt.of_role(names, "model") == ["effnetlite0-GBP-I", "effnetlite1-GradCAM-I"]
    assert mt.of_role(names, "reference") == ["gbvs"]
    assert mt.models_of_role(["effnetlite0-I", "alexnet-R", "baselines"], "random") == ["alexnet-R"]
    assert mt.random_counterpart("effnetlite0-GBP-I") == "effnetlite0-GBP-R"
    assert mt.random_counterpart("alexnet-GBP-R") is None
    assert mt.random_counterpart("gbvs") is None
    table = mt.annotate(pd.DataFrame({"map_type": names}))
    assert list(table["role"]) == ["model", "random", "reference", "model"]
