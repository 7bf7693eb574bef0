"""What every network with built-in (active) attention offers: its logits, and the spatial map its
forward pass multiplies into its features, with one documented place to substitute that map."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from lib.errors import InputError

# Called with the map a network computed, (N, 1, h, w); returns the map the forward pass uses in
# its place (same shape). The one hook point for tests and ablations: no module hooks involved.
AttentionOverride = Callable[[torch.Tensor], torch.Tensor]


class ActiveOutput(NamedTuple):
    """One forward pass of an active-attention network.

    logits: (N, K) the network's class scores (ABN: the perception branch; LTPA: the classifier).
    attention: (N, 1, h, w) the exposed attention map exactly as the forward pass applied it
        (after any override), at the resolution of the features it weights; non-negative.
    branch_logits: (N, K) ABN's attention-branch class scores (trained jointly, not the
        prediction); None for LTPA.
    """

    logits: torch.Tensor
    attention: torch.Tensor
    branch_logits: torch.Tensor | None = None


class ActiveAttentionModel(nn.Module):
    """A classifier whose forward pass computes and applies its own spatial attention map.

    `forward(x)` returns the logits only, so passive attribution methods and the registry treat
    these networks like any other classifier; `forward_with_attention` also returns the map.
    """

    def forward_with_attention(
        self, x: torch.Tensor, attention_override: AttentionOverride | None = None
    ) -> ActiveOutput:
        """Images (N, 3, H, W), normalised -> ActiveOutput. If `attention_override` is given, the
        network uses `attention_override(map)` wherever it would have used its own map."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_with_attention(x).logits


def apply_override(att: torch.Tensor, override: AttentionOverride | None) -> torch.Tensor:
    """`override(att)`, checked to keep the map's shape; `att` itself when there is no override."""
    if override is None:
        return att
    new = override(att)
    if new.shape != att.shape:
        raise ValueError(f"attention override changed the map's shape {tuple(att.shape)} "
                         f"to {tuple(new.shape)}")
    return new


def active_attention(
    model: nn.Module,
    images: torch.Tensor,
    targets: torch.Tensor | None = None,
    *,
    layer: str | None = None,
) -> torch.Tensor:
    """The attention map an active-attention network applies in its own forward pass.

    model: an `ActiveAttentionModel` (eval mode is the caller's business, as for passive methods).
    images: (N, 3, H, W) normalised input. targets, layer: accepted so this function honours the
    passive methods' signature; ignored, because LTPA's and ABN's maps do not depend on a class.
    Returns (N, H, W) float, non-negative: the exposed map (LTPA's middle estimator, ABN's
    attention branch) upsampled bilinearly (half-pixel centres, as the study's code did) to H x W.
    Nothing is registered on or changed in the model.
    """
    del targets, layer
    if not isinstance(model, ActiveAttentionModel):
        raise InputError(
            f"active attention: {type(model).__name__} has no built-in attention module "
            "(only the LTPA and ABN networks of lib.attention.active do)"
        )
    with torch.no_grad():
        att = model.forward_with_attention(images).attention
        maps = F.interpolate(att, size=tuple(images.shape[-2:]), mode="bilinear",
                             align_corners=False)
    # bilinear interpolation of a non-negative map stays non-negative; the clamp only guards
    # against an override that breaks the contract
    return maps[:, 0].clamp_min(0.0)


def rename_keys(
    state_dict: Mapping[str, torch.Tensor], renames: Iterable[tuple[str, str]]
) -> dict[str, torch.Tensor]:
    """State dict keys with DataParallel's `module.` prefix dropped and dotted prefixes renamed.

    renames: (old prefix, new prefix) pairs matched on whole dotted components (`att_conv` does
    not match `att_conv2.weight`), the longest match winning. Unmatched keys pass unchanged, so a
    strict `load_state_dict` still reports anything that does not belong.
    """
    table = sorted(renames, key=lambda pair: -len(pair[0]))
    out: dict[str, torch.Tensor] = {}
    for key, value in state_dict.items():
        name = key.removeprefix("module.")
        for old, new in table:
            if name == old or name.startswith(old + "."):
                name = new + name[len(old):]
                break
        out[name] = value
    return out
