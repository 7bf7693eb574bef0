"""The two stage entry points wired end to end on synthetic inputs: fake attention stores, a fake
fit_smoothing.json, synthetic human maps and images, and (for recognition_ann) a stand-in for the
model registry, so no model, weight or study file is needed."""

import importlib
import json
import sys
import types

import numpy as np
import pandas as pd
import pytest
import torch
import xarray as xr

from lib.store import read_dataset, write_dataset
from tests.recognition.conftest import blob_maps, toy_images, toy_labels
from tests.recognition.simulate import simulate

IDS = [f"img{k}" for k in range(25)]
TYPES = ["toy-SGBP-I", "toy-ScoreCAM-I", "toy-GradCAM-I"]


def _params(**human):
    return {
        "data": {"images": IDS, "grid": 20, "human_pc": "pc", "seed": 0},
        "extract_attention": {"models": ["toy-I", "toy-R"], "weights_dir": "weights", "normalisation": "weights"},
        "recognition_ann": {"size": 32, "batch_size": 100, "device": "cpu", "forward": "folded"},
        "recognition_human": {"map_types": TYPES[:2], "size": 32, "mask_style": "graded",
                              "n_sets": 5, "set_size": 10,
                              "r_max": 0.4, "rotations": [0, 90, 180, 270], "max_restarts": 20,
                              "fixation_ms": 500, "flash_ms": 200, "iti_ms": 500,
                              "responses": None, "min_accuracy": 0.15, "n_resamples": 50}
        | human,
    }


@pytest.fixture
def inputs(tmp_path, monkeypatch):
    gen = np.random.default_rng(4)
    for model, types_ in (("toy-I", TYPES), ("toy-R", ["toy-SGBP-R"])):
        maps = np.stack([blob_maps(25, 24, gen) for _ in types_])
        write_dataset(xr.Dataset({"maps": (("method", "image", "y", "x"), maps.astype(np.float32))},
                                 coords={"map_type": ("method", types_), "image": IDS}),
                      tmp_path / f"{model}.zarr")
    fit = {m: {"pc": {"r": r, "sigma": 1.0}} for m, r in
           zip([*TYPES, "toy-SGBP-R"], [0.5, 0.4, 0.3, 0.1], strict=True)}
    (tmp_path / "fit.json").write_text(json.dumps(fit))
    labels = tmp_path / "labels.csv"
    pd.DataFrame({"image": IDS, "labels": [toy_labels(IDS)[i] for i in IDS]}).to_csv(labels,
                                                                                   index=False)
    human = xr.DataArray(blob_maps(7 * 25, 20, gen).reshape(7, 25, 20, 20),
                         dims=("human_map", "image", "y", "x"),
                         coords={"human_map": ["patch", "dprime", "spatial", "free", "saliency",
                                               "object", "pc"], "image": IDS})
    return {"tmp": tmp_path, "images": toy_images(25, 40, gen), "human": human, "labels": labels}


def _patch_common(stage, inputs, monkeypatch, params):
    tmp = inputs["tmp"]
    monkeypatch.setattr(stage, "load_params", lambda: params)
    monkeypatch.setattr(stage, "attention_store", lambda m: tmp / f"{m}.zarr")
    monkeypatch.setattr(stage, "FIT_SMOOTHING", tmp / "fit.json")
    monkeypatch.setattr(stage, "METRICS", tmp / "metrics")
    monkeypatch.setattr(stage, "read_images", lambda ids: inputs["images"])


def test_recognition_human_stage_writes_the_experiment_and_analyses_responses(inputs,
                                                                              monkeypatch):
    stage = importlib.import_module("stages.recognition_human")
    tmp = inputs["tmp"]
    _patch_common(stage, inputs, monkeypatch, _params())
    monkeypatch.setattr(stage, "LABELS", inputs["labels"])
    monkeypatch.setattr(stage, "RECOGNITION_HUMAN", tmp / "human")
    monkeypatch.setattr(stage, "ROOT", tmp)
    stage.main()
    metrics = json.loads((tmp / "metrics" / "recognition_human.json").read_text())
    assert metrics["analysis"] is None and metrics["design"]["trials"] == 50
    trials = pd.read_csv(tmp / "human" / "trials.csv")
    assert set(trials["map_type"]) == set(TYPES[:2])
    assert (tmp / "human" / "experiment.html").is_file()

    # A lab's responses (simulated here: the pipeline never invents them) are analysed on rerun.
    responses = simulate(trials, {"correct": 0.8, "incorrect": 0.4}, 20, np.random.default_rng(0))
    responses.to_csv(tmp / "responses.csv", index=False)
    monkeypatch.setattr(stage, "load_params", lambda: _params(responses="responses.csv"))
    stage.main()
    metrics = json.loads((tmp / "metrics" / "recognition_human.json").read_text())
    assert metrics["analysis"]["participants"] == 100
    assert {"dprime.csv", "dprime_participant.csv", "bootstrap.csv"} <= {p.name for p in (tmp / "human").iterdir()}


def test_recognition_human_stage_rejects_an_unknown_mask_style_and_writes_nothing(inputs,
                                                                                   monkeypatch):
    from lib.errors import InputError

    stage = importlib.import_module("stages.recognition_human")
    tmp = inputs["tmp"]
    _patch_common(stage, inputs, monkeypatch, _params(mask_style="smooth"))
    monkeypatch.setattr(stage, "LABELS", inputs["labels"])
    monkeypatch.setattr(stage, "RECOGNITION_HUMAN", tmp / "human")
    with pytest.raises(InputError, match="recognition_human.mask_style must be one of"):
        stage.main()
    assert not (tmp / "human").exists() and not (tmp / "metrics").exists()


def test_recognition_ann_stage_on_a_toy_model(inputs, monkeypatch):
    def load_model(model_id, weights_dir=None, device="cpu", normalisation="study"):
        assert model_id == "toy-I"  # the random-weights model is skipped
        assert normalisation == "weights"  # extraction's setting reaches recognition_ann
        torch.manual_seed(0)
        net = torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(2), torch.nn.Flatten(),
                                  torch.nn.Linear(12, 7)).eval()
        return types.SimpleNamespace(id=model_id, model=net)

    def preprocess(images, loaded):
        return torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255

    registry = types.ModuleType("lib.attention.models")
    registry.load_model, registry.preprocess = load_model, preprocess
    monkeypatch.setitem(sys.modules, "lib.attention.models", registry)
    monkeypatch.delitem(sys.modules, "stages.recognition_ann", raising=False)
    stage = importlib.import_module("stages.recognition_ann")
    monkeypatch.delitem(sys.modules, "stages.recognition_ann")  # do not leak the stand-in
    tmp = inputs["tmp"]
    _patch_common(stage, inputs, monkeypatch, _params())
    monkeypatch.setattr(stage, "load_human_targets", lambda *a: inputs["human"])
    # The toy inputs have grid maps only: no native ones to read from an estimate_human store.
    monkeypatch.setattr(stage, "read_dataset", lambda path: None if path == stage.HUMAN_MAPS
                        else read_dataset(path))
    monkeypatch.setattr(stage, "native_human_maps", lambda store, ids: {})
    monkeypatch.setattr(stage, "RECOGNITION_ANN_TABLE", tmp / "ann.csv")
    stage.main()
    table = pd.read_csv(tmp / "ann.csv")
    assert list(table.columns) == ["model", "mask_source", "mask_type", "image", "mask_image",
                                   "condition", "rank", "inverse_rank"]
    assert set(table["model"]) == {"toy-I"}
    # 7 human maps + best (toy-SGBP-I, r .5) and worst trained (toy-GradCAM-I, r .3) map types;
    # toy-SGBP-R (r .1) is a random-weight control, not a contender for either.
    assert table.groupby(["mask_source", "mask_type"]).size().to_dict() == {
        **{("human", h): 625 for h in ["patch", "dprime", "spatial", "free", "saliency",
                                       "object", "pc"]},
        ("ann-best", "toy-SGBP-I"): 625, ("ann-worst", "toy-GradCAM-I"): 625}
    metrics = json.loads((tmp / "metrics" / "recognition_ann.json").read_text())
    assert set(metrics) == {"patch", "dprime", "spatial", "free", "saliency", "object", "pc",
                            "toy-SGBP-I", "toy-GradCAM-I"}
    means = table.groupby(["mask_type", "condition"])["inverse_rank"].mean()
    assert metrics["pc"]["correct"] == pytest.approx(means[("pc", "correct")], abs=1e-6)
    assert all(0.5 < v <= 1 for m in metrics.values() for v in m.values())
