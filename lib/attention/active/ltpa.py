"""LTPA, "Learn to Pay Attention" (Jetley, Lord, Lee & Torr, ICLR 2018), as the study used it.

The (VGG-att3)-concat-pc variant for 32x32 CIFAR-100 inputs, attention placed before max-pooling
(the layout of the checkpoint the study used, trained by S. Yan's public PyTorch implementation):

    conv_block1  2 x [conv3x3-BN-ReLU]  64   32x32
    conv_block2  2 x ...               128   32x32
    conv_block3  3 x ...               256   32x32  = l1 -> max-pool
    conv_block4  3 x ...               512   16x16  = l2 -> max-pool
    conv_block5  3 x ...               512    8x8   = l3 -> max-pool
    conv_block6  2 x [... + max-pool]  512    1x1
    dense        conv (input/32 square kernel) -> global feature g, 512 x 1 x 1

Three attention estimators, one per local feature map l_s (l1 first projected to 512 channels by a
bias-free 1x1 conv). Each scores every location with the parametrised compatibility ("pc")
c_i = <u_s, l_s,i + g>, normalises the scores with a softmax over locations (the paper's choice
and the `--normalize_attn` training the study's checkpoint used) into a_s, and pools
g_s = sum_i a_s,i l_s,i. The classifier is linear on the concatenation [g_1, g_2, g_3] ("concat").
The study's LTPA map is a_2, the middle estimator's softmax, 16x16.
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


class ConvBlock(nn.Sequential):
    """`n` x [3x3 conv (with bias) -> BN -> ReLU], each followed by 2x2 max-pooling if `pool`.

    Children are numbered as in the authors' block (conv at 0, BN at 1, ...), so their weights
    map over by prefix alone.
    """

    def __init__(self, in_channels: int, out_channels: int, n: int, pool: bool = False):
        layers: list[nn.Module] = []
        for i in range(n):
            layers += [
                nn.Conv2d(in_channels if i == 0 else out_channels, out_channels, 3, padding=1),
                nn.BatchNorm2d(out_channels),
                nn.ReLU(),
            ]
            if pool:
                layers.append(nn.MaxPool2d(2, 2))
        super().__init__(*layers)


class AttentionEstimator(nn.Module):
    """LTPA's linear attention estimator with parametrised compatibility and softmax normalisation.

    Input local features l (N, C, h, w) and global feature g (N, C, 1, 1); output the attention
    a (N, 1, h, w), summing to 1 over locations, and the attention-pooled feature (N, C).
    """

    def __init__(self, channels: int):
        super().__init__()
        self.compatibility = nn.Conv2d(channels, 1, kernel_size=1, bias=False)

    def forward(
        self,
        local: torch.Tensor,
        global_: torch.Tensor,
        attention_override: AttentionOverride | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        n, _, h, w = local.shape
        scores = self.compatibility(local + global_)  # g broadcast over locations
        att = F.softmax(scores.view(n, 1, h * w), dim=2).view(n, 1, h, w)
        att = apply_override(att, attention_override)
        pooled = (att * local).sum(dim=(2, 3))
        return att, pooled


class LTPAVGG(ActiveAttentionModel):
    """(VGG-att3)-concat-pc, attention before pooling. Input (N, 3, S, S) with S a multiple of 32
    (the study: 32, CIFAR-100); `forward` gives (N, num_classes) logits."""

    def __init__(self, num_classes: int = 100, input_size: int = 32):
        super().__init__()
        if input_size < 32 or input_size % 32:
            raise ValueError(f"LTPA-VGG needs an input size that is a multiple of 32, got "
                             f"{input_size}")
        self.conv_block1 = ConvBlock(3, 64, 2)
        self.conv_block2 = ConvBlock(64, 128, 2)
        self.conv_block3 = ConvBlock(128, 256, 3)
        self.conv_block4 = ConvBlock(256, 512, 3)
        self.conv_block5 = ConvBlock(512, 512, 3)
        self.conv_block6 = ConvBlock(512, 512, 2, pool=True)
        # a square kernel covering what is left of the image after five halvings: g is 1x1
        self.dense = nn.Conv2d(512, 512, kernel_size=input_size // 32)
        self.projector = nn.Conv2d(256, 512, kernel_size=1, bias=False)
        self.estimator1 = AttentionEstimator(512)
        self.estimator2 = AttentionEstimator(512)
        self.estimator3 = AttentionEstimator(512)
        self.classifier = nn.Linear(3 * 512, num_classes)
        self._init_weights()

    def _init_weights(self) -> None:
        # the authors' default ("xavierUniform"): only random-weight runs depend on it
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.xavier_uniform_(m.weight, gain=2**0.5)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.uniform_(m.weight, 0.0, 1.0)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)

    def forward_with_attention(
        self, x: torch.Tensor, attention_override: AttentionOverride | None = None
    ) -> ActiveOutput:
        """Logits and the middle estimator's attention a_2 (N, 1, S/2, S/2); an override
        replaces a_2 in the pooling that feeds the classifier."""
        x = self.conv_block2(self.conv_block1(x))
        l1 = self.conv_block3(x)
        l2 = self.conv_block4(F.max_pool2d(l1, 2, 2))
        l3 = self.conv_block5(F.max_pool2d(l2, 2, 2))
        g = self.dense(self.conv_block6(F.max_pool2d(l3, 2, 2)))
        _, g1 = self.estimator1(self.projector(l1), g)
        a2, g2 = self.estimator2(l2, g, attention_override)
        _, g3 = self.estimator3(l3, g)
        logits = self.classifier(torch.cat((g1, g2, g3), dim=1))
        return ActiveOutput(logits=logits, attention=a2)


# authors' names (S. Yan's AttnVGG_before) -> ours; `module.` (DataParallel) is dropped too
LTPA_RENAMES: tuple[tuple[str, str], ...] = (
    *((f"conv_block{k}.op", f"conv_block{k}") for k in range(1, 7)),
    ("projector.op", "projector"),
    *((f"attn{k}.op", f"estimator{k}.compatibility") for k in range(1, 4)),
    ("classify", "classifier"),
)


def ltpa_key_map(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The authors' LTPA checkpoint (`net.pth`, a DataParallel state dict) in `LTPAVGG`'s keys."""
    return rename_keys(state_dict, LTPA_RENAMES)
