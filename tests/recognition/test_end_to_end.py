"""The human path end to end in a project copy: simulated responses with a known d' per mask
type, saved as the experiment page's jsPsych data -> stage recognition_human -> stage stats (d'
per image and per participant, as stats.dprime_unit asks) -> the masking page. Inputs are
synthetic (images, attention store, fit_smoothing.json, labels), so it needs no study data,
model or weights."""

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
import yaml
from PIL import Image
from scipy.stats import binom, norm

from lib.images import STUDY_IMAGE_SIZE
from lib.paths import ROOT
from lib.recognition.design import DesignSpec
from lib.recognition.experiment import design_id
from lib.recognition.human import build_experiment
from lib.recognition.sources import raw_ann_maps
from lib.report_render import render_fallback
from lib.store import write_dataset
from tests.recognition.conftest import blob_maps, toy_images, toy_labels
from tests.recognition.simulate import as_jspsych, simulate, true_dprime

TYPES = ["toy-SGBP-I", "toy-GradCAM-I"]
# Probability of naming the shown image (10 options): SGBP masks help more than Grad-CAM masks.
P_CORRECT = {("toy-SGBP-I", "correct"): 0.85, ("toy-SGBP-I", "incorrect"): 0.45,
             ("toy-GradCAM-I", "correct"): 0.65, ("toy-GradCAM-I", "incorrect"): 0.45}
PER_SET = 10  # participants per set, each doing one set
N_SETS = 50  # 20 trials per image: enough that the per-image d' is close to unbiased


def _stage(root: Path, name: str) -> None:
    done = subprocess.run([sys.executable, "-m", f"stages.{name}"], cwd=root, capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr[-2000:]


def _set_params(root: Path, **sections) -> None:
    params = yaml.safe_load((root / "params.yaml").read_text())
    for key, value in sections.items():
        section, name = key.split("__")
        params[section][name] = value
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A copy of the code with synthetic inputs and responses simulated on the design that
    recognition_human draws (built here in-process from the same inputs; if it differed, the
    stage would reject the responses); stats run once per d' unit."""
    root = tmp_path_factory.mktemp("project")
    for folder in ("lib", "stages", "report"):
        shutil.copytree(ROOT / folder, root / folder,
                        ignore=shutil.ignore_patterns("_site", "__pycache__", ".quarto"))
    shutil.copy(ROOT / "params.yaml", root / "params.yaml")
    (root / "node_modules").symlink_to(ROOT / "node_modules")  # jsPsych, from `npm ci`
    params = yaml.safe_load((root / "params.yaml").read_text())
    ids = params["data"]["images"]
    gen = np.random.default_rng(5)
    (root / "data/raw/images").mkdir(parents=True)
    for image_id, pixels in zip(ids, toy_images(len(ids), STUDY_IMAGE_SIZE, gen), strict=True):
        Image.fromarray(pixels).save(root / f"data/raw/images/image_r_{image_id[3:]}.jpg",
                                     quality=95)
    labels = toy_labels(ids)
    pd.DataFrame({"image": ids, "labels": [labels[i] for i in ids]}).to_csv(
        root / "data/labels.csv", index=False)
    maps = np.stack([blob_maps(len(ids), 24, gen) for _ in TYPES]).astype(np.float32)
    write_dataset(xr.Dataset({"maps": (("method", "image", "y", "x"), maps)},
                             coords={"map_type": ("method", TYPES), "image": ids}),
                  root / "data/attention/toy-I.zarr")
    (root / "metrics").mkdir()
    (root / "metrics/fit_smoothing.json").write_text(json.dumps(
        {m: {"pc": {"r": 0.5, "sigma": 1.0}} for m in TYPES}))
    _set_params(root, data__grid=20, extract_attention__models=["toy-I"],
                recognition_human__map_types=TYPES, recognition_human__size=32,
                recognition_human__n_sets=N_SETS, recognition_human__n_resamples=200,
                recognition_human__responses="data/responses/simulated.csv")
    params = yaml.safe_load((root / "params.yaml").read_text())
    spec = DesignSpec(map_types=tuple(TYPES), n_sets=N_SETS, seed=params["data"]["seed"],
                      max_restarts=params["recognition_human"]["max_restarts"])
    store = {"toy-I": xr.open_zarr(root / "data/attention/toy-I.zarr")}
    trials = build_experiment(ids, np.zeros((len(ids), 40, 40, 3), np.uint8),
                              {m: raw_ann_maps(store, m, ids) for m in TYPES},
                              dict.fromkeys(TYPES, 1.0), labels, spec, grid=20, size=32).trials
    (root / "data/responses").mkdir()
    # Saved as the experiment page's jsPsych sessions, concatenated into one file.
    responses = simulate(trials, P_CORRECT, PER_SET, np.random.default_rng(11))
    as_jspsych(responses, trials, design_id(trials)).to_csv(root / "data/responses/simulated.csv",
                                                           index=False)
    _stage(root, "recognition_human")
    written = pd.read_csv(root / "data/recognition/human/trials.csv")
    assert written.equals(pd.read_csv(io.StringIO(trials.to_csv(index=False))))
    tests = {}
    for unit in ("image", "participant"):
        _set_params(root, stats__dprime_unit=unit)
        _stage(root, "stats")
        tests[unit] = pd.read_csv(root / "data/stats/dprime_tests.csv")
    return root, tests


def _expected_participant_dprime(n_signal: int, n_noise: int, p: float) -> tuple[float, float]:
    """Mean and variance of one participant's log-linear d' in a cell of n_signal trials: hits are
    Binomial(n_signal, p) and every miss is one false alarm among the n_noise noise trials."""
    hits = np.arange(n_signal + 1)
    d = (norm.ppf((hits + 0.5) / (n_signal + 1))
         - norm.ppf((n_signal - hits + 0.5) / (n_noise + 1)))
    w = binom.pmf(hits, n_signal, p)
    mean = float(w @ d)
    return mean, float(w @ (d - mean) ** 2)


def test_per_image_dprime_recovers_the_simulated_values(project):
    root, tests = project
    metrics = json.loads((root / "metrics/recognition_human.json").read_text())["analysis"]
    assert metrics["participants"] == N_SETS * PER_SET and metrics["excluded"] == []
    for m in TYPES:
        truth = {c: true_dprime(P_CORRECT[(m, c)], 10) for c in ("correct", "incorrect")}
        truth["effect"] = truth["correct"] - truth["incorrect"]
        for cond, value in truth.items():
            lo, hi = metrics["dprime"][m][cond]["ci"]
            assert lo < value < hi, (m, cond, value, lo, hi)
    table = tests["image"].set_index("a")
    sgbp = table.loc["toy-SGBP-I correct"]
    assert sgbp["test"] == "d' masking" and sgbp["n"] == 25 and sgbp["p_bonferroni"] < 1e-6
    assert sgbp["mean_a"] - sgbp["mean_b"] == pytest.approx(
        true_dprime(0.85, 10) - true_dprime(0.45, 10), abs=0.3)
    versus = tests["image"][tests["image"]["test"] == "d' mask type"].iloc[0]
    # Sorted names: toy-GradCAM-I vs toy-SGBP-I on correct masks; SGBP's were made to help more.
    assert versus["a"] == "toy-GradCAM-I correct" and versus["mean_a"] < versus["mean_b"]
    assert versus["p_bonferroni"] < 0.01


def test_per_participant_dprime_matches_its_expected_value(project):
    root, tests = project
    table = pd.read_csv(root / "data/recognition/human/dprime_participant.csv")
    assert table.groupby("participant").size().max() == 4  # one set: at most 2 types x 2 maskings
    assert (table["hits"] + table["false_alarms"] == table["n_signal"]).all()
    assert (table["n_noise"] == 9 * table["n_signal"]).all()
    for (m, cond), cell in table.groupby(["mask_type", "masking"]):
        moments = [_expected_participant_dprime(int(r.n_signal), int(r.n_noise), P_CORRECT[(m, cond)])
                   for r in cell.itertuples()]
        expected = np.mean([mu for mu, _ in moments])
        se = np.sqrt(sum(v for _, v in moments)) / len(cell)
        assert cell["dprime"].mean() == pytest.approx(expected, abs=4 * se), (m, cond)
    tested = tests["participant"].set_index("a")
    sgbp = tested.loc["toy-SGBP-I correct"]
    assert sgbp["test"] == "d' masking" and sgbp["mean_a"] > sgbp["mean_b"]
    assert sgbp["p_bonferroni"] < 1e-6 and N_SETS * PER_SET / 2 < sgbp["n"] <= N_SETS * PER_SET


def test_masking_page_shows_the_dprime_results(project, tmp_path):
    root, _ = project  # stats last ran with dprime_unit participant
    html = render_fallback(root / "report/masking.qmd", tmp_path).read_text()
    n = N_SETS * PER_SET
    assert f"{n} participants answered {10 * n} trials" in html
    assert "paired t-tests over participants" in html
    assert "toy-SGBP-I correct" in html and "toy-GradCAM-I correct" in html
