"""ABN, the Attention Branch Network (Fukui, Hirakawa, Yamashita & Fujiyoshi, CVPR 2019), in the
three configurations the study used: ResNet-110 and DenseNet-BC (L=100, k=12) for CIFAR-100 and
ResNet-101 for ImageNet, laid out as in the authors' published code so their checkpoints load.

A baseline network is split before its last stage. The feature extractor is everything before it.
The attention branch is a copy of that last stage run at stride 1, then BN, a 1x1 conv to one map
per class, BN and ReLU; from those K maps it derives class scores (1x1 conv, global average) and
the attention map M = sigmoid(BN(3x3 conv to one channel)), at the extractor's resolution. The
perception branch, the baseline's last stage and classifier, sees g' = g * M + g (the paper's
residual attention mechanism, g (1 + M)). The prediction is the perception branch's; the map is M.

Fixed average pools of the authors' code (16, 8, 14 and 7 px) are global averages here: identical
at the native input sizes and parameter-free, so checkpoints are unaffected, and smaller inputs
work (the tests run ResNet-101 at 64 px).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import nn

from lib.attention.active.base import (
    ActiveAttentionModel,
    ActiveOutput,
    AttentionOverride,
    apply_override,
    rename_keys,
)

# ---------------------------------------------------------------------------------------------
# building blocks (the authors' parameter names; ReLUs are separate, non-inplace modules so that
# passive methods that hook rectifiers see every one of them)


class Bottleneck(nn.Module):
    """ResNet bottleneck, stride on the 3x3 conv: 1x1 -> 3x3 -> 1x1 (x4), projection shortcut
    (`downsample`) when the shape changes. Input (N, inplanes, h, w) -> (N, 4 planes, h', w')."""

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1):
        super().__init__()
        out = planes * self.expansion
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu2 = nn.ReLU()
        self.conv3 = nn.Conv2d(planes, out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out)
        self.relu3 = nn.ReLU()
        self.downsample: nn.Module | None = None
        if stride != 1 or inplanes != out:
            self.downsample = nn.Sequential(
                nn.Conv2d(inplanes, out, 1, stride=stride, bias=False), nn.BatchNorm2d(out)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.relu1(self.bn1(self.conv1(x)))
        y = self.relu2(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.relu3(y + shortcut)


def resnet_stage(inplanes: int, planes: int, blocks: int, stride: int) -> tuple[nn.Sequential, int]:
    """`blocks` bottlenecks, the first with `stride`; returns the stage and its output channels."""
    layers = [Bottleneck(inplanes, planes, stride)]
    out = planes * Bottleneck.expansion
    layers += [Bottleneck(out, planes) for _ in range(blocks - 1)]
    return nn.Sequential(*layers), out


class DenseBottleneck(nn.Module):
    """DenseNet-BC layer: BN-ReLU-1x1 conv (4k) - BN-ReLU-3x3 conv (k), output concatenated to
    the input. (N, c, h, w) -> (N, c + k, h, w)."""

    def __init__(self, inplanes: int, growth_rate: int):
        super().__init__()
        planes = 4 * growth_rate
        self.bn1 = nn.BatchNorm2d(inplanes)
        self.relu1 = nn.ReLU()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu2 = nn.ReLU()
        self.conv2 = nn.Conv2d(planes, growth_rate, 3, padding=1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv1(self.relu1(self.bn1(x)))
        y = self.conv2(self.relu2(self.bn2(y)))
        return torch.cat((x, y), dim=1)


class Transition(nn.Module):
    """DenseNet transition: BN-ReLU-1x1 conv to `outplanes`, then 2x2 average pooling."""

    def __init__(self, inplanes: int, outplanes: int):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(inplanes)
        self.relu = nn.ReLU()
        self.conv1 = nn.Conv2d(inplanes, outplanes, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(self.conv1(self.relu(self.bn1(x))), 2)


def dense_stage(inplanes: int, layers: int, growth_rate: int) -> tuple[nn.Sequential, int]:
    """`layers` DenseNet-BC layers; returns the stage and its output channels."""
    blocks = [DenseBottleneck(inplanes + i * growth_rate, growth_rate) for i in range(layers)]
    return nn.Sequential(*blocks), inplanes + layers * growth_rate


# ---------------------------------------------------------------------------------------------
# the attention branch and the three networks


class AttentionBranch(nn.Module):
    """ABN's attention branch on top of a copy of the baseline's last stage (`blocks`, stride 1).

    Input the extractor's features (N, C, h, w); output the branch's class scores (N, K) and the
    attention map M (N, 1, h', w') in (0, 1), h' x w' the resolution `blocks` keeps.
    """

    def __init__(self, blocks: nn.Sequential, channels: int, num_classes: int):
        super().__init__()
        self.blocks = blocks
        self.bn = nn.BatchNorm2d(channels)
        self.to_classes = nn.Conv2d(channels, num_classes, 1, bias=False)
        self.bn_classes = nn.BatchNorm2d(num_classes)
        self.relu = nn.ReLU()
        self.class_scores = nn.Conv2d(num_classes, num_classes, 1, bias=False)
        self.to_map = nn.Conv2d(num_classes, 1, 3, padding=1, bias=False)
        self.bn_map = nn.BatchNorm2d(1)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        maps = self.relu(self.bn_classes(self.to_classes(self.bn(self.blocks(x)))))
        attention = self.sigmoid(self.bn_map(self.to_map(maps)))
        scores = self.class_scores(maps).mean(dim=(2, 3))
        return scores, attention


class _ABN(ActiveAttentionModel):
    """Shared forward: extractor -> attention branch -> g * M + g -> perception branch."""

    attention_branch: AttentionBranch

    def _extract(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _perceive(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward_with_attention(
        self, x: torch.Tensor, attention_override: AttentionOverride | None = None
    ) -> ActiveOutput:
        """Perception-branch logits, the attention map M (N, 1, h, w) it was given (an override
        replaces M there), and the attention branch's own class scores."""
        features = self._extract(x)
        branch_logits, att = self.attention_branch(features)
        att = apply_override(att, attention_override)
        logits = self._perceive(features * att + features)
        return ActiveOutput(logits=logits, attention=att, branch_logits=branch_logits)

    def _init_weights(self) -> None:
        # the authors' initialisation (He normal over fan-out, BN 1/0); matters for R runs only
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)


class ABNResNetCifar(_ABN):
    """ABN on the CIFAR ResNet of pytorch-classification (bottleneck blocks, 16/32/64 planes,
    (depth - 2) / 6 blocks per stage: 18 for ResNet-110). Input (N, 3, 32, 32); attention 16x16."""

    def __init__(self, depth: int = 110, num_classes: int = 100):
        super().__init__()
        if depth < 44 or (depth - 2) % 6:
            raise ValueError(f"ABN CIFAR ResNet (bottleneck) depth must be 6n+2 >= 44, got {depth}")
        n = (depth - 2) // 6
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU()
        self.layer1, c = resnet_stage(16, 16, n, 1)
        self.layer2, c = resnet_stage(c, 32, n, 2)
        branch, c_att = resnet_stage(c, 64, n, 1)
        self.attention_branch = AttentionBranch(branch, c_att, num_classes)
        self.layer3, c = resnet_stage(c, 64, n, 2)
        self.fc = nn.Linear(c, num_classes)
        self._init_weights()

    def _extract(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer2(self.layer1(self.relu(self.bn1(self.conv1(x)))))

    def _perceive(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.layer3(x).mean(dim=(2, 3)))


class ABNDenseNetCifar(_ABN):
    """ABN on DenseNet-BC (depth L, growth k, compression 2): (L - 4) / 6 layers per dense block,
    16 for L=100. Input (N, 3, 32, 32); attention 8x8."""

    def __init__(self, depth: int = 100, growth_rate: int = 12, num_classes: int = 100):
        super().__init__()
        if (depth - 4) % 6:
            raise ValueError(f"ABN DenseNet-BC depth must be 6n+4, got {depth}")
        n = (depth - 4) // 6
        c = 2 * growth_rate
        self.conv1 = nn.Conv2d(3, c, 3, padding=1, bias=False)
        self.dense1, c = dense_stage(c, n, growth_rate)
        self.trans1 = Transition(c, c // 2)
        self.dense2, c = dense_stage(c // 2, n, growth_rate)
        self.trans2 = Transition(c, c // 2)
        c //= 2
        branch, c_att = dense_stage(c, n, growth_rate)
        self.attention_branch = AttentionBranch(branch, c_att, num_classes)
        self.dense3, c = dense_stage(c, n, growth_rate)
        self.bn = nn.BatchNorm2d(c)
        self.relu = nn.ReLU()
        self.fc = nn.Linear(c, num_classes)
        self._init_weights()

    def _extract(self, x: torch.Tensor) -> torch.Tensor:
        return self.trans2(self.dense2(self.trans1(self.dense1(self.conv1(x)))))

    def _perceive(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.relu(self.bn(self.dense3(x))).mean(dim=(2, 3)))


class ABNResNetImageNet(_ABN):
    """ABN on the ImageNet ResNet (torchvision layout; ResNet-101: 3, 4, 23, 3 bottlenecks).
    Input (N, 3, 224, 224); attention 14x14 (any input size divisible by 32 works)."""

    def __init__(self, layers: tuple[int, int, int, int] = (3, 4, 23, 3), num_classes: int = 1000):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.layer1, c = resnet_stage(64, 64, layers[0], 1)
        self.layer2, c = resnet_stage(c, 128, layers[1], 2)
        self.layer3, c = resnet_stage(c, 256, layers[2], 2)
        branch, c_att = resnet_stage(c, 512, layers[3], 1)
        self.attention_branch = AttentionBranch(branch, c_att, num_classes)
        self.layer4, c = resnet_stage(c, 512, layers[3], 2)
        self.fc = nn.Linear(c, num_classes)
        self._init_weights()

    def _extract(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer3(self.layer2(self.layer1(x)))

    def _perceive(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.layer4(x).mean(dim=(2, 3)))


# ---------------------------------------------------------------------------------------------
# the authors' checkpoint names -> ours


def abn_renames(branch_stage: str) -> tuple[tuple[str, str], ...]:
    """Renames for an ABN checkpoint whose attention-branch stage the authors called
    `branch_stage` (`att_layer3`, `att_dense3` or `att_layer4`); all else keeps its name."""
    return (
        (branch_stage, "attention_branch.blocks"),
        ("bn_att", "attention_branch.bn"),
        ("att_conv", "attention_branch.to_classes"),
        ("bn_att2", "attention_branch.bn_classes"),
        ("att_conv2", "attention_branch.class_scores"),
        ("att_conv3", "attention_branch.to_map"),
        ("bn_att3", "attention_branch.bn_map"),
    )


def abn_resnet_cifar_key_map(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The authors' CIFAR ABN ResNet checkpoint state dict in `ABNResNetCifar`'s keys."""
    return rename_keys(state_dict, abn_renames("att_layer3"))


def abn_densenet_cifar_key_map(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The authors' CIFAR ABN DenseNet checkpoint state dict in `ABNDenseNetCifar`'s keys."""
    return rename_keys(state_dict, abn_renames("att_dense3"))


def abn_resnet_imagenet_key_map(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The authors' ImageNet ABN ResNet checkpoint state dict in `ABNResNetImageNet`'s keys."""
    return rename_keys(state_dict, abn_renames("att_layer4"))
