"""The registry: string ids to networks with their preprocessing, classes and CAM layer.

`register_model` files a factory under `<arch>-<W>` (the registrations are in `zoo`);
`load_model` resolves an id, finds its weights (`weights`) and builds the network; `tv.<name>` and
`timm.<name>[.<tag>]` ids resolve without a registration.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from lib.attention.models.weights import (
    MissingWeightsError,
    _read_state_dict,
    _Source,
    _timm_source,
    _tv_source,
)
from lib.errors import InputError

_CLASSES = Path(__file__).parents[1] / "classes"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# The statistics pytorch-classification normalised CIFAR-100 with when training its checkpoints.
CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2023, 0.1994, 0.2010)
NORMALISATIONS = ("study", "weights")


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
        if not cfg.num_classes:  # self-supervised or feature-only weights: no top-1 class to explain
            raise InputError(
                f"{model_id}: timm's {name!r} weights have no classification head, so there is no "
                "top-1 class to attribute; choose classifier weights (e.g. timm.convnext_tiny.fb_in1k-I)"
            )
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
            f"lib/attention/models/zoo.py with register_model({arch!r}, ..., blocks=((top modules), ..., "
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
