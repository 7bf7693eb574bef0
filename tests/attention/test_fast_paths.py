"""The extraction's speed-ups leave the default run's maps and scores where they were.

On real networks (EfficientNet-Lite0 with its ImageNet weights, random-weight AlexNet) and study
images, each method runs as extraction runs it (params.yaml's CPU settings: batch norm folded,
inference mode, Score-CAM's autocast setting) and as a reference without any of it (the network
as loaded, float32). Stated tolerance (docs/performance.md): per-image map r >= 0.999 and the
peak r over the smoothing grid against the study's own Human PC maps, the fit's score, moved by
less than 0.002.
"""

import numpy as np
import pytest
import torch

import lib.attention.cam as cam_module
import lib.attention.gbp as gbp_module
from lib.attention.extract import ExtractOptions, autocast_dtype
from lib.attention.fold import folded
from lib.attention.gbp import gbp, sgbp
from lib.attention.models import MissingWeightsError, load_model, preprocess
from lib.compare.blur import sigma_grid
from lib.compare.fit import correlation_table
from lib.human_maps import load_mat_map, map_file
from lib.images import image_file, read_images
from lib.maps import resize_maps
from lib.params import load_params
from lib.paths import RAW_HUMAN_MAPS

pytestmark = [pytest.mark.data, pytest.mark.weights]

IMAGES = ["img18", "img76"]
GRID = 100  # the analysis grid of the published Human PC maps
MAP_R = 0.999
PEAK_R_TOLERANCE = 0.002


@pytest.fixture(scope="module", params=["effnetlite0-I", "alexnet-R"])
def network(request):
    if not all(image_file(i).is_file() for i in IMAGES):
        pytest.skip("study images absent: run `dvc pull`")
    try:
        loaded = load_model(request.param)
    except MissingWeightsError as err:
        pytest.skip(str(err))
    model = loaded.model.eval().to(memory_format=torch.channels_last)
    x = preprocess(read_images(IMAGES), loaded).contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        targets = model(x).argmax(1)
    human_pc = np.stack(
        [load_mat_map(map_file(RAW_HUMAN_MAPS, i, "humanPC")).values for i in IMAGES]
    )
    return loaded, model, x, targets, human_pc


def _without_speedups(monkeypatch) -> None:
    for module in (gbp_module, cam_module):
        monkeypatch.setattr(module, "folded", lambda model, probe: model)


def _peak_r(maps: np.ndarray, human_pc: np.ndarray) -> float:
    r, _ = correlation_table(resize_maps(maps, GRID)[None], human_pc[None, : len(maps)],
                             sigma_grid(30))  # fmt: skip
    return float(r[0, 0].mean(-1).max())


def _assert_within_tolerance(fast: torch.Tensor, reference: torch.Tensor, human_pc) -> None:
    fast, reference = fast.numpy().astype(np.float64), reference.numpy().astype(np.float64)
    for f, ref in zip(fast, reference, strict=True):
        assert np.corrcoef(f.ravel(), ref.ravel())[0, 1] >= MAP_R
    assert abs(_peak_r(fast, human_pc) - _peak_r(reference, human_pc)) < PEAK_R_TOLERANCE


def test_batch_norm_folds_in_efficientnet_and_nothing_folds_in_alexnet(network):
    loaded, model, x, _, _ = network
    assert (folded(model, x[:1]) is not model) == loaded.arch.startswith("effnet")


def test_gbp_and_sgbp_within_tolerance(network, monkeypatch):
    loaded, model, x, targets, human_pc = network
    o = ExtractOptions.from_params(load_params(), "cpu", loaded.arch)
    # Fewer SGBP samples than extraction's 30: the fold's rounding does not depend on them.
    fast = [gbp(model, x, targets, batch_size=o.batch_size),
            sgbp(model, x, targets, n_samples=4, batch_size=o.batch_size, seed=[1, 2])]
    _without_speedups(monkeypatch)
    reference = [gbp(model, x, targets, batch_size=o.batch_size),
                 sgbp(model, x, targets, n_samples=4, batch_size=o.batch_size, seed=[1, 2])]
    for f, ref in zip(fast, reference, strict=True):
        _assert_within_tolerance(f, ref, human_pc)


def test_score_cam_weights_within_tolerance(network, monkeypatch):
    # The costly part of Score-CAM, its channel weights (one forward pass per channel), for the
    # first 32 channels of one image: the map is their weighted sum of the same activations, so
    # weights agreeing to 1e-4 keep map r and peak r far inside the tolerance (docs/performance.md
    # gives the whole-map measurement).
    loaded, model, x, targets, _ = network
    o = ExtractOptions.from_params(load_params(), "cpu", loaded.arch)
    one = x[:1]
    acts = cam_module._layer_output(model, model.get_submodule(loaded.target_layer), one)[:, :32]
    with torch.no_grad():
        fast = cam_module._score_cam_weights(model, one, targets[:1], acts,
                                             o.score_cam_batch_size,
                                             autocast_dtype(o.score_cam_autocast))  # fmt: skip
        _without_speedups(monkeypatch)
        reference = cam_module._score_cam_weights(model, one, targets[:1], acts,
                                                  o.score_cam_batch_size)  # fmt: skip
    assert reference.max() > 0
    assert torch.allclose(fast, reference, rtol=1e-4, atol=1e-4 * float(reference.max()))
