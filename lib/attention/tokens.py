"""CAM methods on token networks (ViT): the target layer's tokens seen as a feature map.

METHOD.md: for ViT the target layer is `blocks[-1].norm1`, with the class token dropped and the
other tokens reshaped to the patch grid (14x14 for ViT-S/16 at 224 px). The CAM functions take a
layer with an (N, K, h, w) output, so `TokenGrid` wraps the network: while it runs, the target
layer's output (N, prefix + h*w, K) is split, its patch tokens are reshaped to (N, K, h, w), passed
through the identity module `grid` (the layer the CAM methods hook), and put back as tokens. The
network computes exactly what it computed before; the hook on the target layer lives only inside
each forward call, so nothing is left on the wrapped network.
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["TokenGrid"]


class TokenGrid(nn.Module):
    """`model` whose `layer` output tokens are exposed as the feature map of module `grid`."""

    def __init__(self, model: nn.Module, layer: str, prefix: int) -> None:
        super().__init__()
        self.model = model
        self.layer = layer
        self.prefix = int(prefix)
        self.grid = nn.Identity()
        self.train(model.training)

    def _as_grid(self, module: nn.Module, inputs: tuple, out: torch.Tensor) -> torch.Tensor:
        if out.dim() != 3:
            shape = tuple(out.shape)
            raise ValueError(f"token layer {self.layer} gave shape {shape}, not (N, T, K)")
        head, patches = out[:, : self.prefix], out[:, self.prefix :]
        side = math.isqrt(patches.shape[1])
        if side * side != patches.shape[1]:
            raise ValueError(f"{patches.shape[1]} patch tokens do not form a square grid")
        fmap = patches.transpose(1, 2).reshape(out.shape[0], out.shape[2], side, side)
        tokens = self.grid(fmap).flatten(2).transpose(1, 2)
        return torch.cat([head, tokens], dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        handle = self.model.get_submodule(self.layer).register_forward_hook(self._as_grid)
        try:
            return self.model(x)
        finally:
            handle.remove()
