"""The study's four active-attention models as data: how to build each, which checkpoint it needs
and where its authors publish it, how to feed it, how to read the authors' checkpoint into it, and
which layer passive CAM methods use on it. Plus the checkpoint loader.

These are for the model registry (`lib.attention.models`) to register; nothing here downloads.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import torch

from lib.attention.active.abn import (
    ABNDenseNetCifar,
    ABNResNetCifar,
    ABNResNetImageNet,
    abn_densenet_cifar_key_map,
    abn_resnet_cifar_key_map,
    abn_resnet_imagenet_key_map,
)
from lib.attention.active.base import ActiveAttentionModel
from lib.attention.active.ltpa import LTPAVGG, ltpa_key_map
from lib.attention.checkpoints import unreadable_weights
from lib.errors import InputError

# Each network is fed with the statistics it was trained with.
# LTPA (S. Yan's train.py): CIFAR-100's own.
CIFAR100_MEAN = (0.5071, 0.4867, 0.4408)
CIFAR100_STD = (0.2675, 0.2565, 0.2761)
# ABN's cifar.py (inherited from pytorch-classification) normalises CIFAR-100 with the CIFAR-10
# statistics; the study's ABN scripts did the same.
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2023, 0.1994, 0.2010)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

ACTIVE_METHOD = "active"

# Where the study (Langlois et al. 2021, github.com/czhao39/neurips-attention, README "Pre-trained
# Models") says it got each checkpoint; the ABN links are also the ABN authors' own README's.
_LTPA_URL = "https://drive.google.com/drive/folders/1cp2Rp0FU6feaH74JFO_V9yVlijDJEFrZ"
_ABN_R110_URL = "https://drive.google.com/open?id=1Wp7_tIXjq24KSI2VaL9V2N8NRlASLETD"
_ABN_DENSE_URL = "https://drive.google.com/open?id=17ILqWvDJzFFZ603CpeoGaYrt6mhUF-B5"
_ABN_R101_URL = "https://drive.google.com/open?id=1B5jBHTfskKAgNpsFm9iADn1lskn2UWyk"

KeyMap = Callable[[Mapping[str, torch.Tensor]], dict[str, torch.Tensor]]


@dataclass(frozen=True)
class ActiveSpec:
    """One active-attention model of the study.

    model_id: registry id, `<arch>-<weights>`, e.g. "abn-resnet110-C".
    arch: "ltpa-vgg", "abn-resnet110", "abn-densenet", "abn-resnet101".
    weights: "C" (CIFAR-100) or "I" (ImageNet).
    map_type: the study's name for its active map, `<arch>-active-<weights>`.
    factory: builds the network with random weights (eval mode is the loader's business).
    checkpoint: file name expected in the weights folder.
    source_file: the authors' name for that file in their download folder.
    source: where the authors publish it.
    input_size, mean, std: square input side and normalisation the network was trained with.
    dataset: "cifar100" or "imagenet", whose class names label the logits.
    key_map: the authors' checkpoint state dict -> this project's module names.
    target_layer: dotted module path of the layer passive CAM methods use on this network.
    """

    model_id: str
    arch: str
    weights: str
    factory: Callable[[], ActiveAttentionModel]
    checkpoint: str
    source_file: str
    source: str
    input_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    dataset: str
    key_map: KeyMap
    target_layer: str

    @property
    def map_type(self) -> str:
        return f"{self.arch}-{ACTIVE_METHOD}-{self.weights}"


ACTIVE_MODELS: dict[str, ActiveSpec] = {
    spec.model_id: spec
    for spec in (
        ActiveSpec(
            model_id="ltpa-vgg-C",
            arch="ltpa-vgg",
            weights="C",
            factory=lambda: LTPAVGG(num_classes=100, input_size=32),
            checkpoint="ltpa-vgg-cifar100-before.pth",
            source_file="pretrained-before/net.pth",
            source=f"Learn To Pay Attention (S. Yan's PyTorch implementation, as used by the "
            f"study): {_LTPA_URL}",
            input_size=32,
            mean=CIFAR100_MEAN,
            std=CIFAR100_STD,
            dataset="cifar100",
            key_map=ltpa_key_map,
            # the last feature map with spatial extent (8x8, the third estimator's input);
            # conv_block6's output is 1x1 at 32 px, useless for CAM
            target_layer="conv_block5",
        ),
        ActiveSpec(
            model_id="abn-resnet110-C",
            arch="abn-resnet110",
            weights="C",
            factory=lambda: ABNResNetCifar(depth=110, num_classes=100),
            checkpoint="abn-resnet110-cifar100.pth.tar",
            source_file="model_best.pth.tar",
            source=f"Attention Branch Network authors, CIFAR-100 ResNet-110: {_ABN_R110_URL}",
            input_size=32,
            mean=CIFAR10_MEAN,
            std=CIFAR10_STD,
            dataset="cifar100",
            key_map=abn_resnet_cifar_key_map,
            target_layer="layer3",  # the perception branch's last stage (8x8)
        ),
        ActiveSpec(
            model_id="abn-densenet-C",
            arch="abn-densenet",
            weights="C",
            factory=lambda: ABNDenseNetCifar(depth=100, growth_rate=12, num_classes=100),
            checkpoint="abn-densenet-bc-100-12-cifar100.pth.tar",
            source_file="model_best.pth.tar",
            source=f"Attention Branch Network authors, CIFAR-100 DenseNet-BC (L=100, k=12): "
            f"{_ABN_DENSE_URL}",
            input_size=32,
            mean=CIFAR10_MEAN,
            std=CIFAR10_STD,
            dataset="cifar100",
            key_map=abn_densenet_cifar_key_map,
            target_layer="dense3",  # the perception branch's last dense block (8x8)
        ),
        ActiveSpec(
            model_id="abn-resnet101-I",
            arch="abn-resnet101",
            weights="I",
            factory=lambda: ABNResNetImageNet(layers=(3, 4, 23, 3), num_classes=1000),
            checkpoint="abn-resnet101-imagenet.pth.tar",
            source_file="model_best.pth.tar",
            source=f"Attention Branch Network authors, ImageNet ResNet-101: {_ABN_R101_URL}",
            input_size=224,
            mean=IMAGENET_MEAN,
            std=IMAGENET_STD,
            dataset="imagenet",
            key_map=abn_resnet_imagenet_key_map,
            target_layer="layer4",  # as for the study's ResNets: the perception branch's layer4
        ),
    )
}


def read_checkpoint(spec: ActiveSpec, path: Path) -> dict[str, torch.Tensor]:
    """The state dict in `path` (the authors' file), in `spec`'s module names.

    Reads with `weights_only=True` onto the CPU. Accepts a bare state dict (LTPA's `net.pth`) or
    a training checkpoint holding one under `state_dict` (ABN's `model_best.pth.tar`). Raises
    InputError naming the file, where to get it and where to put it if it is absent, and naming
    the file and the problem if it is unreadable.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(
            f"{spec.model_id}: checkpoint {path} not found. Download {spec.source_file} from "
            f"{spec.source} and save it as {path}"
        )
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, ValueError) as err:
        raise unreadable_weights(path, err, spec.source) from None
    if isinstance(obj, Mapping) and "state_dict" in obj:
        obj = obj["state_dict"]
    if not isinstance(obj, Mapping) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise InputError(f"{spec.model_id}: {path} holds no state dict (tensors by name)")
    return spec.key_map(obj)


def load_active_checkpoint(
    spec: ActiveSpec, path: Path, device: str | torch.device = "cpu"
) -> ActiveAttentionModel:
    """`spec`'s network with the authors' weights from `path`, in eval mode on `device`.

    The mapped state dict must match the network exactly (strict loading), except for BatchNorm
    batch counters, which the authors' PyTorch 0.4.0 checkpoints predate and which inference does
    not use. Errors as `read_checkpoint`, plus InputError listing mismatched keys.
    """
    state = read_checkpoint(spec, path)
    model = spec.factory()
    own = model.state_dict()
    for key, value in own.items():
        if key.endswith(".num_batches_tracked") and key not in state:
            state[key] = value
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as err:
        missing = sorted(set(own) - set(state))
        unexpected = sorted(set(state) - set(own))
        raise InputError(
            f"{spec.model_id}: checkpoint {path} does not fit the network: "
            f"missing {missing[:5]}{' ...' if len(missing) > 5 else ''}, "
            f"unexpected {unexpected[:5]}{' ...' if len(unexpected) > 5 else ''}"
            + ("" if missing or unexpected else f" ({str(err).splitlines()[-1].strip()})")
        ) from err
    return model.to(device).eval()
