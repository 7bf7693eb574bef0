"""The headline metrics: the values `dvc exp show` displays, picked by role from the detailed files,
and on the committed state the only DVC metrics, few enough for a terminal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lib.headline import KEYS, MEANINGS, headline
from lib.paths import HEADLINE_METRICS, ROOT

DVC = Path(sys.executable).with_name("dvc")


def _inputs(best="vgg16bn-SGBP-I", status="ok"):
    stats = {
        "answer": {"status": status, "best": best, "r": 0.61, "sigma": 7.0, "lo": 0.55, "hi": 0.66, "gap": 0.3,
                   "n_models": 4, "random": {"map_type": "vgg16bn-SGBP-R", "r": 0.2}, "human_map": "pc"},
        "family_tests": {"pc": {"GBP vs CAM": {"t": 4.5, "p": 0.001}}},
        "variance_shares": {"method": {"eta_sq": 0.8}},
        "recognition_anova": {"all models": {"masking": {"F": 12.0, "p": 0.002}}},
    }
    human_pc = {"explained_variance": [0.53, 0.2, 0.1, 0.1, 0.05, 0.02], "published_pc_r": {"mean": 0.999}}
    crossval = {best: {"pc": {"train_r": 0.62, "test_r": 0.58}}}
    fit = {
        best: {"pc": {"r": 0.61}},
        "alexnet-GradCAM-I": {"pc": {"r": 0.75}},  # trained, higher than the answer: not a control
        "vgg16bn-SGBP-R": {"pc": {"r": 0.2}},
        "gbvs": {"pc": {"r": 0.7}, "patch": {"r": 0.9}},  # only the Human PC column counts
        "center-bias": {"pc": {"r": 0.5}},
    }
    recognition = {"pc": {"correct": 0.9, "incorrect": 0.85}, "patch": {"correct": 0.99, "incorrect": 0.1}}
    randomisation = {"vgg16bn-I": {"GBP": {"passes": True}, "GradCAM": {"passes": False}},
                     "alexnet-I": {"GBP": {"passes": True}, "SGBP": {"passes": True}}}
    return stats, human_pc, crossval, fit, recognition, randomisation


def test_headline_reads_each_value_from_its_file_and_the_best_control_by_role():
    values = headline(*_inputs())
    assert values == {
        "best": "vgg16bn-SGBP-I", "r": 0.61, "sigma": 7.0, "r_lo": 0.55, "r_hi": 0.66, "test_r": 0.58, "gap": 0.3,
        "control_r": 0.7, "random_r": 0.2, "pc_var": 0.53, "pc_study": 0.999, "gbp_cam_t": 4.5, "method_eta": 0.8,
        "mask_gain": 0.05, "mask_F": 12.0, "mask_p": 0.002, "rand_pass": 0.75, "n_models": 4,
    }
    assert list(values) == [k for k in KEYS if k in values]  # the column order of `dvc exp show`


def test_without_an_answer_the_headline_says_why_and_invents_nothing():
    stats, human_pc, *_ = _inputs(status="no trained network")
    values = headline(stats, human_pc, {}, {}, {}, {"status": "nothing to randomise"})
    assert values["status"] == "no trained network"
    assert not {"best", "r", "test_r", "control_r", "random_r", "mask_gain", "rand_pass"} & set(values)
    assert values["pc_var"] == 0.53


def test_every_key_is_explained_here_and_in_the_docs():
    assert set(MEANINGS) == set(KEYS) and len(KEYS) <= 25
    table = (ROOT / "docs/statistics-report.md").read_text()
    assert all(f"| `{key}` | {MEANINGS[key]} |" in table for key in KEYS)


def _exp_show(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "200", "PATH": f"{DVC.parent}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run([str(DVC), "exp", "show", "--no-pager", *args], cwd=ROOT, env=env, check=True,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def committed():
    """`dvc exp show --json`'s row for the committed state (HEAD), whatever dvc.lock holds."""
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, check=True, capture_output=True,
                          text=True).stdout.strip()
    rows = json.loads(_exp_show("--json").stdout)
    return next(row for row in rows if row["rev"] == head)["data"]


def _leaves(value) -> int:
    return sum(_leaves(v) for v in value.values()) if isinstance(value, dict) else 1


def test_committed_state_has_only_the_headline_as_metrics(committed):
    metrics = committed["metrics"]
    assert list(metrics) == [str(HEADLINE_METRICS.relative_to(ROOT))]
    data = metrics[str(HEADLINE_METRICS.relative_to(ROOT))]["data"]
    assert 10 <= _leaves(data) <= 25, "dvc exp show would grow a column per nested value"
    assert set(data) <= set(KEYS) and all(not isinstance(v, dict | list) for v in data.values())


def test_committed_headline_matches_the_committed_detailed_files():
    from lib import paths
    from lib.outputs import read_json

    inputs = [paths.STATS_METRICS, paths.METRICS / "human_pc.json", paths.CROSSVAL, paths.FIT_SMOOTHING,
              paths.RECOGNITION_ANN_METRICS, paths.RANDOMISATION_METRICS]
    assert json.loads(HEADLINE_METRICS.read_text()) == headline(*((read_json(p) or {}) for p in inputs))


def test_headline_table_fits_200_columns():
    # The table `make exps` prints (README, "Run many experiments").
    table = _exp_show("--only-changed", "--keep", f"^({'|'.join(KEYS)})$").stdout
    lines = table.splitlines()
    assert lines and max(len(line) for line in lines) <= 200
    header = next(line for line in lines if "Experiment" in line).split()
    assert header[:6] == ["Experiment", "Created", "best", "r", "sigma", "r_lo"]
