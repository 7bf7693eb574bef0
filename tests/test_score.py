"""lib.score (`make score MODEL=...`): bad ids and absent weights stop before any work; the
experiment command adds the model for this run only and is named after it."""

from __future__ import annotations

import subprocess

import pandas as pd
import pytest
import yaml

from lib import score
from lib.attention.models import MissingWeightsError
from lib.errors import InputError


@pytest.fixture
def no_caches(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    return tmp_path / "weights"


@pytest.mark.parametrize(("model_id", "words"), [
    ("nosuchnet-I", "unknown architecture"),
    ("alexnet-X", "must read <arch>-<I|C|P|R>"),
    ("timm.nosuchmodel_xyz-I", "timm has no model"),
    ("timm.vit_base_patch16_224.mae-I", "no classification head"),
])
def test_bad_ids_are_refused_before_any_work(model_id, words, no_caches):
    with pytest.raises(InputError, match=words):
        score.check_model(model_id, no_caches)


def test_missing_weights_are_refused_with_the_weights_message(no_caches):
    with pytest.raises(MissingWeightsError, match="weights"):
        score.check_model("timm.convnext_tiny.fb_in1k-I", no_caches)


def test_random_weights_need_nothing(no_caches):
    score.check_model("effnetlite1-R", no_caches)


def test_experiment_adds_the_model_once_and_is_named_after_it():
    command = score.exp_run_command("timm.convnext_tiny.fb_in1k-I", ["alexnet-R"])
    assert command[1:5] == ["-m", "dvc", "exp", "run"] and command[-1] == score.TARGET
    name = command[command.index("-n") + 1]
    assert name == "score-timm-convnext_tiny-fb_in1k-I"
    key, _, value = command[command.index("-S") + 1].partition("=")
    assert key == "extract_attention.models"
    assert yaml.safe_load(value) == ["alexnet-R", "timm.convnext_tiny.fb_in1k-I"]
    again = score.exp_run_command("alexnet-R", ["alexnet-R"])
    assert yaml.safe_load(again[again.index("-S") + 1].partition("=")[2]) == ["alexnet-R"]


def test_a_failed_experiment_is_an_error_and_nothing_is_read(monkeypatch):
    params = {"extract_attention": {"weights_dir": "weights", "models": ["alexnet-R"]}}
    failed = lambda command, cwd, env: subprocess.CompletedProcess(command, 1)  # noqa: E731
    with pytest.raises(InputError, match="failed"):
        score.score_model("effnetlite1-R", params, run=failed)


def test_model_rows_are_its_methods_in_leaderboard_order():
    board = pd.DataFrame({"map_type": ["a-GBP-I", "b-GBP-I", "a-GradCAM-I"], "role": ["model"] * 3,
                          "r": [0.5, 0.4, 0.3]})
    assert list(score.model_rows(board, ["a-GradCAM-I", "a-GBP-I"])["map_type"]) == ["a-GBP-I", "a-GradCAM-I"]
    with pytest.raises(InputError, match="no rows"):
        score.model_rows(board, ["c-GBP-I"])
