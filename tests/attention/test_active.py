"""Active attention networks (LTPA, ABN) on random weights: shapes, that the exposed map is the one
the forward pass applies, the checkpoint key mapping against the authors' names, and sizes."""

from __future__ import annotations

import re

import pytest
import torch
import torch.nn.functional as F
import torchvision

from lib.attention.active import (
    ACTIVE_MODELS,
    ABNDenseNetCifar,
    ABNResNetCifar,
    ActiveAttentionModel,
    active_attention,
    load_active_checkpoint,
)
from lib.errors import InputError

IDS = list(ACTIVE_MODELS)
# ResNet-101 runs at 64 px (any multiple of 32 works) to keep the tests fast
SIZE = {"ltpa-vgg-C": 32, "abn-resnet110-C": 32, "abn-densenet-C": 32, "abn-resnet101-I": 64}
ATT_SIDE = {"ltpa-vgg-C": 16, "abn-resnet110-C": 16, "abn-densenet-C": 8, "abn-resnet101-I": 4}
CLASSES = {"C": 100, "I": 1000}


def _build(model_id: str, seed: int) -> ActiveAttentionModel:
    """A randomly initialised network in eval mode whose BatchNorm statistics come from one batch
    of noise images (as training would set them), so activations keep a sane scale through 100+
    layers and the checkpoint test also checks that BN buffers travel."""
    torch.manual_seed(seed)
    model = ACTIVE_MODELS[model_id].factory()
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.momentum = None  # cumulative average: after one batch, that batch's statistics
    with torch.no_grad():
        model.train()(torch.randn(4, 3, SIZE[model_id], SIZE[model_id]))
    model.eval().requires_grad_(False)  # the tests differentiate w.r.t. maps, not weights
    return model


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """These networks are many small ops; on a shared 2-core machine OpenMP threads spin-wait
    for each other and one thread is ~10x faster. Restored afterwards (not set globally)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def models(_one_thread) -> dict[str, ActiveAttentionModel]:
    return {model_id: _build(model_id, 0) for model_id in IDS}


def _images(model_id: str, n: int = 2) -> torch.Tensor:
    gen = torch.Generator().manual_seed(1)
    return torch.randn(n, 3, SIZE[model_id], SIZE[model_id], generator=gen)


def test_registry_names():
    assert set(ACTIVE_MODELS) == {"ltpa-vgg-C", "abn-resnet110-C", "abn-densenet-C",
                                  "abn-resnet101-I"}
    assert {s.map_type for s in ACTIVE_MODELS.values()} == {
        "ltpa-vgg-active-C", "abn-resnet110-active-C", "abn-densenet-active-C",
        "abn-resnet101-active-I"}
    for spec in ACTIVE_MODELS.values():
        assert spec.model_id == f"{spec.arch}-{spec.weights}"
        assert spec.input_size == (32 if spec.weights == "C" else 224)


@pytest.mark.parametrize("model_id", IDS)
def test_shapes_and_map(models, model_id):
    model, x = models[model_id], _images(model_id)
    spec = ACTIVE_MODELS[model_id]
    with torch.no_grad():
        out = model.forward_with_attention(x)
        logits = model(x)
    k, side = CLASSES[spec.weights], ATT_SIDE[model_id]
    assert out.logits.shape == (2, k)
    assert torch.equal(logits, out.logits)  # plain forward = the prediction
    assert out.attention.shape == (2, 1, side, side)
    if model_id.startswith("ltpa"):
        # softmax over locations
        torch.testing.assert_close(out.attention.sum(dim=(1, 2, 3)), torch.ones(2))
        assert out.branch_logits is None
    else:
        assert out.attention.min() > 0 and out.attention.max() < 1  # sigmoid
        assert out.branch_logits.shape == (2, k)

    maps = active_attention(model, x, torch.zeros(2, dtype=torch.long))
    assert maps.shape == (2, SIZE[model_id], SIZE[model_id]) and maps.dtype == torch.float32
    assert torch.isfinite(maps).all() and maps.min() >= 0
    expected = F.interpolate(out.attention, size=x.shape[-2:], mode="bilinear",
                             align_corners=False)[:, 0]
    torch.testing.assert_close(maps, expected)
    # the map depends on the image
    assert (maps[0] - maps[1]).abs().max() > 1e-6


@pytest.mark.parametrize("model_id", IDS)
def test_exposed_attention_is_the_one_the_forward_pass_uses(models, model_id):
    model, x = models[model_id], _images(model_id)
    with torch.no_grad():
        plain = model.forward_with_attention(x)

    # handing back the exposed map as a fresh leaf gives the same logits, and the logits depend
    # on that very tensor: the prediction consumes exactly the exposed map
    leaf = plain.attention.detach().clone().requires_grad_(True)
    seen = []

    def swap(att: torch.Tensor) -> torch.Tensor:
        seen.append(att.detach())
        return leaf

    out = model.forward_with_attention(x, attention_override=swap)
    torch.testing.assert_close(seen[0], plain.attention)
    torch.testing.assert_close(out.logits, plain.logits, rtol=0, atol=0)
    out.logits.sum().backward()
    assert leaf.grad is not None and leaf.grad.abs().sum() > 0
    model.zero_grad(set_to_none=True)

    # a flat map of the same mean, or a small perturbation, changes the logits
    with torch.no_grad():
        flat = model.forward_with_attention(
            x, attention_override=lambda a: torch.full_like(a, a.mean().item()))
        bumped = model.forward_with_attention(x, attention_override=lambda a: a * 1.1)
    scale = plain.logits.abs().max()
    assert (flat.logits - plain.logits).abs().max() > 1e-3 * scale
    assert (bumped.logits - plain.logits).abs().max() > 1e-4 * scale
    torch.testing.assert_close(flat.attention, torch.full_like(plain.attention,
                                                               plain.attention.mean().item()))


def test_active_attention_leaves_model_untouched(models):
    model = models["abn-resnet110-C"]
    before = {k: v.clone() for k, v in model.state_dict().items()}
    active_attention(model, _images("abn-resnet110-C"))
    assert not model.training
    for m in model.modules():
        assert not m._forward_hooks and not m._forward_pre_hooks and not m._backward_hooks
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_active_attention_rejects_passive_models():
    with pytest.raises(InputError, match="no built-in attention"):
        active_attention(torch.nn.Conv2d(3, 1, 1), torch.zeros(1, 3, 8, 8))


# -------------------------------------------------------------------------------------------
# checkpoints: the authors' key names, written here independently of the library's tables


_ABN_BRANCH_STAGE = {"abn-resnet110-C": "att_layer3", "abn-densenet-C": "att_dense3",
                     "abn-resnet101-I": "att_layer4"}


def _authors_key(model_id: str, key: str) -> str:
    """Our module name -> the name in the authors' DataParallel checkpoint."""
    if model_id == "ltpa-vgg-C":
        key = re.sub(r"^conv_block(\d)\.", r"conv_block\1.op.", key)
        key = re.sub(r"^projector\.", "projector.op.", key)
        key = re.sub(r"^estimator(\d)\.compatibility\.", r"attn\1.op.", key)
        key = re.sub(r"^classifier\.", "classify.", key)
    else:
        branch = {"blocks": _ABN_BRANCH_STAGE[model_id], "bn": "bn_att", "to_classes": "att_conv",
                  "bn_classes": "bn_att2", "class_scores": "att_conv2", "to_map": "att_conv3",
                  "bn_map": "bn_att3"}
        key = re.sub(r"^attention_branch\.([a-z_]+)\.", lambda m: branch[m.group(1)] + ".", key)
    return "module." + key


# shapes read off the authors' code (S. Yan's AttnVGG_before; ABN's models/cifar/resnet.py,
# models/cifar/densenet.py, models/imagenet/resnet.py)
AUTHORS_SHAPES = {
    "ltpa-vgg-C": {
        "module.conv_block1.op.0.weight": (64, 3, 3, 3),
        "module.conv_block3.op.7.running_var": (256,),
        "module.conv_block6.op.4.weight": (512, 512, 3, 3),
        "module.dense.weight": (512, 512, 1, 1),
        "module.projector.op.weight": (512, 256, 1, 1),
        "module.attn2.op.weight": (1, 512, 1, 1),
        "module.classify.weight": (100, 1536),
    },
    "abn-resnet110-C": {
        "module.layer1.17.bn3.running_var": (64,),
        "module.att_layer3.0.downsample.0.weight": (256, 128, 1, 1),
        "module.att_layer3.17.conv3.weight": (256, 64, 1, 1),
        "module.layer3.0.conv2.weight": (64, 64, 3, 3),
        "module.layer3.0.downsample.0.weight": (256, 128, 1, 1),
        "module.att_conv.weight": (100, 256, 1, 1),
        "module.att_conv3.weight": (1, 100, 3, 3),
        "module.bn_att3.running_mean": (1,),
        "module.fc.weight": (100, 256),
    },
    "abn-densenet-C": {
        "module.conv1.weight": (24, 3, 3, 3),
        "module.dense1.15.conv2.weight": (12, 48, 3, 3),
        "module.trans1.conv1.weight": (108, 216, 1, 1),
        "module.trans2.conv1.weight": (150, 300, 1, 1),
        "module.att_dense3.0.bn1.weight": (150,),
        "module.dense3.15.conv1.weight": (48, 330, 1, 1),
        "module.bn_att.weight": (342,),
        "module.att_conv2.weight": (100, 100, 1, 1),
        "module.bn.weight": (342,),
        "module.fc.weight": (100, 342),
    },
    "abn-resnet101-I": {
        "module.conv1.weight": (64, 3, 7, 7),
        "module.layer3.22.conv3.weight": (1024, 256, 1, 1),
        "module.att_layer4.0.downsample.0.weight": (2048, 1024, 1, 1),
        "module.att_layer4.2.bn3.weight": (2048,),
        "module.layer4.0.conv2.weight": (512, 512, 3, 3),
        "module.att_conv.weight": (1000, 2048, 1, 1),
        "module.bn_att2.bias": (1000,),
        "module.fc.weight": (1000, 2048),
    },
}


def _authors_checkpoint(model_id: str, model: ActiveAttentionModel) -> object:
    state = {_authors_key(model_id, k): v.clone() for k, v in model.state_dict().items()}
    if model_id == "ltpa-vgg-C":
        return state  # S. Yan's train.py saves the bare DataParallel state dict
    # ABN's cifar.py / imagenet.py: a training checkpoint from PyTorch 0.4.0, whose BatchNorm had
    # no batch counter yet
    state = {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}
    return {"epoch": 300, "state_dict": state, "acc": torch.tensor(77.5),
            "best_acc": torch.tensor(77.5),
            "optimizer": {"state": {}, "param_groups": [{"lr": 0.001, "params": [0, 1]}]}}


@pytest.mark.parametrize("model_id", IDS)
def test_checkpoint_key_mapping_round_trips(models, model_id, tmp_path):
    spec, source = ACTIVE_MODELS[model_id], models[model_id]
    checkpoint = _authors_checkpoint(model_id, source)
    state = checkpoint if model_id == "ltpa-vgg-C" else checkpoint["state_dict"]
    for key, shape in AUTHORS_SHAPES[model_id].items():
        assert tuple(state[key].shape) == shape, key
    path = tmp_path / spec.checkpoint
    torch.save(checkpoint, path)

    loaded = load_active_checkpoint(spec, path)  # a differently seeded model, loaded strictly
    assert not loaded.training
    x = _images(model_id)
    with torch.no_grad():
        want, got = source.forward_with_attention(x), loaded.forward_with_attention(x)
    assert torch.equal(want.logits, got.logits)
    assert torch.equal(want.attention, got.attention)
    assert torch.equal(active_attention(source, x), active_attention(loaded, x))


def test_checkpoint_that_does_not_fit_is_input_error(models, tmp_path):
    spec = ACTIVE_MODELS["abn-densenet-C"]
    checkpoint = _authors_checkpoint("abn-densenet-C", models["abn-densenet-C"])
    checkpoint["state_dict"]["module.att_extra.weight"] = torch.zeros(3)
    del checkpoint["state_dict"]["module.fc.bias"]
    path = tmp_path / "bad.pth.tar"
    torch.save(checkpoint, path)
    with pytest.raises(InputError, match=r"bad\.pth\.tar.*missing \['fc\.bias'\].*att_extra"):
        load_active_checkpoint(spec, path)


def test_unreadable_checkpoint_is_input_error(tmp_path):
    path = tmp_path / "junk.pth"
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="junk.pth: weights file is damaged"):
        load_active_checkpoint(ACTIVE_MODELS["ltpa-vgg-C"], path)


@pytest.mark.parametrize("model_id", IDS)
def test_missing_checkpoint_says_what_where_and_from_where(model_id, tmp_path):
    spec = ACTIVE_MODELS[model_id]
    path = tmp_path / "weights" / spec.checkpoint
    with pytest.raises(InputError) as err:
        load_active_checkpoint(spec, path)
    message = str(err.value)
    assert model_id in message and str(path) in message
    assert spec.source_file in message and "https://drive.google.com/" in message


# -------------------------------------------------------------------------------------------
# sizes and CAM target layers


def _n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_parameter_counts_match_the_baselines():
    with torch.device("meta"):  # shapes only: nothing allocated or initialised
        _check_parameter_counts()


def _check_parameter_counts() -> None:
    # ResNet-101: the perception path is exactly torchvision's ResNet-101, the branch a copy of
    # its layer4 plus the CAM head (2048x1000 + 1000x1000 + 1000x9 convs, BNs of 2048/1000/1)
    abn = ACTIVE_MODELS["abn-resnet101-I"].factory()
    tv = torchvision.models.resnet101()
    assert _n_params(abn) - _n_params(abn.attention_branch) == _n_params(tv)
    assert _n_params(abn.attention_branch.blocks) == _n_params(tv.layer4)
    assert _n_params(abn.attention_branch) - _n_params(tv.layer4) == (
        2048 * 1000 + 1000 * 1000 + 1000 * 9 + 2 * (2048 + 1000 + 1))
    # CIFAR baselines as pytorch-classification reports them (CIFAR-10 heads): ResNet-110 1.70M,
    # DenseNet-BC (L=100, k=12) 0.77M
    r110 = ABNResNetCifar(depth=110, num_classes=10)
    assert round((_n_params(r110) - _n_params(r110.attention_branch)) / 1e6, 2) == 1.70
    dense = ABNDenseNetCifar(depth=100, growth_rate=12, num_classes=10)
    assert round((_n_params(dense) - _n_params(dense.attention_branch)) / 1e6, 2) == 0.77
    # LTPA's trunk up to l3 is VGG-16's conv stack with BN
    ltpa = ACTIVE_MODELS["ltpa-vgg-C"].factory()
    trunk = sum(_n_params(getattr(ltpa, f"conv_block{k}")) for k in range(1, 6))
    assert trunk == _n_params(torchvision.models.vgg16_bn().features)


@pytest.mark.parametrize("model_id", IDS)
def test_cam_target_layer_is_spatial_and_on_the_prediction_path(models, model_id):
    model, x = models[model_id], _images(model_id, n=1).requires_grad_(True)
    layer = model.get_submodule(ACTIVE_MODELS[model_id].target_layer)
    captured = []
    handle = layer.register_forward_hook(lambda m, i, o: captured.append(o))
    try:
        logits = model(x)
    finally:
        handle.remove()
    act = captured[0]
    # spatial extent at the native input size (ResNet-101 runs at 64 px here: 2x2, 7x7 at 224)
    assert min(act.shape[-2:]) >= (2 if model_id == "abn-resnet101-I" else 8)
    (grad,) = torch.autograd.grad(logits[0].max(), act)
    assert grad.abs().sum() > 0


# -------------------------------------------------------------------------------------------
# the model registry: active networks load by id and extract their own map beside passive ones


@pytest.mark.parametrize("model_id", ["ltpa-vgg-C", "abn-resnet110-C"])
def test_registry_loads_the_authors_checkpoint_by_id(models, model_id, tmp_path):
    from lib.attention.models import load_model

    spec, source = ACTIVE_MODELS[model_id], models[model_id]
    (tmp_path / "active").mkdir()
    torch.save(_authors_checkpoint(model_id, source), tmp_path / "active" / spec.checkpoint)
    loaded = load_model(model_id, weights_dir=tmp_path)
    assert (loaded.weights, loaded.input_size, loaded.target_layer) == ("C", 32, spec.target_layer)
    assert len(loaded.class_names) == 100
    x = _images(model_id)
    with torch.no_grad():
        assert torch.equal(loaded.model(x), source(x))


def test_registry_names_the_missing_checkpoint_and_where_it_goes(tmp_path):
    from lib.attention.models import MissingWeightsError, load_model

    with pytest.raises(MissingWeightsError) as err:
        load_model("abn-densenet-C", weights_dir=tmp_path)
    message = str(err.value)
    assert "abn-densenet-bc-100-12-cifar100.pth.tar" in message
    assert str(tmp_path / "active") in message and "drive.google.com" in message


def test_extract_adds_the_active_map_to_the_passive_ones():
    import numpy as np

    from lib.attention.extract import ExtractOptions, extract
    from lib.attention.models import load_model, preprocess

    loaded = load_model("abn-resnet110-C", random_weights=True)
    images = (np.random.default_rng(0).random((2, 32, 32, 3)) * 255).astype(np.uint8)
    ds = extract(loaded, images, ["a", "b"], ExtractOptions(methods=("GradCAM",)), progress=False)
    assert list(ds["map_type"].values) == ["abn-resnet110-GradCAM-R", "abn-resnet110-active-R"]
    expected = active_attention(loaded.model, preprocess(images, loaded))
    np.testing.assert_allclose(ds["maps"].values[1], expected.numpy(), rtol=1e-6)
