"""Batch norm folded into the convolution before it: the same network function with fewer passes.

In eval mode a BatchNorm2d is a per-channel affine map, so a Conv2d whose output feeds only that
batch norm can absorb it (w' = w * g / sqrt(v + eps), b' = (b - m) * g / sqrt(v + eps) + beta).
The folded network computes the same logits up to float rounding, and the same input gradients:
the guided rules act on the activations, which folding leaves in place. It saves one elementwise
pass over every convolution's output forward, and another backward.

`folded(model, probe)` returns a folded deep copy (the caller's model is never changed), or the
model itself when nothing folds or the copy's logits on `probe` differ from the original's: the
pairs are found from one traced forward pass, so a network whose conv output also goes elsewhere
(which tracing by hooks cannot see) is caught by the check instead of giving wrong maps.
torch.nn.utils.fusion does the arithmetic; the pairing is written here because torch's own
fuser (torch.fx) inlines the blocks whose names the CAM methods hook.
"""

from __future__ import annotations

import copy
import weakref

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

__all__ = ["folded", "conv_bn_pairs"]

# Folded logits must agree with the original's to this fraction of their largest magnitude.
_RTOL = 1e-4

# Per network, the pairs found to fold and checked, keyed by its modules' identities: which pairs
# fold depends on the structure and forward code, not on the weights, so a later call (the next
# image, the next randomisation step) folds the current weights without tracing again.
_CHECKED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def conv_bn_pairs(model: nn.Module, probe: torch.Tensor) -> list[tuple[str, str]]:
    """(conv name, batch-norm name) pairs where the batch norm's input is the conv's output
    tensor itself, from one forward pass of `probe` (call in eval mode)."""
    return _trace(model, probe)[0]


def _trace(model: nn.Module, probe: torch.Tensor) -> tuple[list[tuple[str, str]], torch.Tensor]:
    """conv_bn_pairs and the model's output for `probe`."""
    names = {m: n for n, m in model.named_modules()}
    # Outputs are held (not just their ids) so that no id is reused by a later tensor.
    produced: dict[int, tuple[str, torch.Tensor]] = {}
    pairs: list[tuple[str, str]] = []
    handles = []

    def conv_hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        produced[id(output)] = (names[module], output)

    def bn_hook(module: nn.Module, inputs: tuple) -> None:
        conv = produced.get(id(inputs[0]))
        if conv is not None:
            pairs.append((conv[0], names[module]))

    for module in model.modules():
        # Subclasses too (timm's Conv2dSame pads, then convolves with weight and bias).
        if isinstance(module, nn.Conv2d) and module.padding_mode == "zeros":
            handles.append(module.register_forward_hook(conv_hook))
        elif isinstance(module, nn.BatchNorm2d) and module.track_running_stats:
            handles.append(module.register_forward_pre_hook(bn_hook))
    try:
        with torch.no_grad():
            outputs = model(probe)
    finally:
        for h in handles:
            h.remove()
    convs = [c for c, _ in pairs]
    bns = [b for _, b in pairs]
    # A conv or batch norm that runs more than once (shared modules) is left alone.
    unique = [(c, b) for c, b in pairs if convs.count(c) == 1 and bns.count(b) == 1]
    return unique, outputs


def _without_norm(bn: nn.BatchNorm2d) -> nn.Module:
    """What remains of a batch norm once its affine map is in the conv: nothing, or the
    activation (and dropout) of a fused norm-activation layer such as timm's BatchNormAct2d."""
    if type(bn) is nn.BatchNorm2d:
        return nn.Identity()
    act, drop = getattr(bn, "act", None), getattr(bn, "drop", None)
    if isinstance(act, nn.Module) and isinstance(drop, nn.Module):
        return nn.Sequential(drop, act)
    raise TypeError(type(bn).__name__)


def _set(model: nn.Module, name: str, module: nn.Module) -> None:
    parent, _, child = name.rpartition(".")
    setattr(model.get_submodule(parent) if parent else model, child, module)


def folded(model: nn.Module, probe: torch.Tensor) -> nn.Module:
    """A copy of `model` (eval mode) with every conv -> batch-norm pair folded, checked on
    `probe` (a batch of real inputs) the first time a network is seen; `model` itself when no
    pair folds or the check fails."""
    if model.training:
        raise ValueError("model must be in eval mode (call model.eval())")
    structure = tuple(id(m) for m in model.modules())
    known = _CHECKED.get(model)
    if known is not None and known[0] == structure:
        return _fold(model, known[1]) if known[1] else model
    pairs, want = _trace(model, probe)
    if not pairs or not isinstance(want, torch.Tensor):
        _CHECKED[model] = (structure, [])
        return model
    copied = _fold(model, pairs)
    with torch.no_grad():
        want, got = want.float(), copied(probe).float()
    ok = want.shape == got.shape and bool((got - want).abs().max() <= _RTOL * want.abs().max())
    _CHECKED[model] = (structure, pairs if ok else [])
    return copied if ok else model


def _fold(model: nn.Module, pairs: list[tuple[str, str]]) -> nn.Module:
    """A deep copy of `model` with the given conv -> batch-norm pairs folded."""
    copied = copy.deepcopy(model)
    for conv_name, bn_name in pairs:
        bn = copied.get_submodule(bn_name)
        try:
            rest = _without_norm(bn)
        except TypeError:
            continue  # a batch-norm subclass whose forward is not known here
        conv = copied.get_submodule(conv_name)
        _set(copied, conv_name, fuse_conv_bn_eval(conv, bn))
        _set(copied, bn_name, rest)
    first = next(iter(dict(pairs)), None)
    if first is not None and model.get_submodule(first).weight.is_contiguous(
        memory_format=torch.channels_last
    ):
        copied.to(memory_format=torch.channels_last)  # keep the caller's layout
    for p in copied.parameters():
        p.requires_grad_(False)  # only input gradients are ever taken through the copy
    return copied
