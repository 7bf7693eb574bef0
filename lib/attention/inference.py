"""Forward-only copies of a network for stages that only need its outputs (recognition_ann).

Batch norm in eval mode is an affine map per channel, so when it directly follows a convolution it
can be folded into that convolution's weights and bias (torch.nn.utils.fusion.fuse_conv_bn_eval).
On this project's CPUs the batch-norm passes of EfficientNet-Lite cost about a third of a forward
pass in channels_last layout; folding removes them. The copy is checked against the original on an
example batch, so an architecture where the fold would be wrong (a convolution whose output also
feeds something other than its batch norm) keeps the unfolded network.

With `compile`, the folded copy is also compiled by torch.compile (inductor, with freezing: the
weights become constants, so convolutions are prepacked for oneDNN and fused with the padding and
activations around them). On the 2-core CPU here that doubles the speed again for EfficientNet-Lite
once the compile (about a minute per network and input shape) is paid; a stage that runs thousands
of same-shaped batches pays it once. Where compiling fails (no C++ compiler), the eager folded copy
is used with a warning.

Folding changes the arithmetic (weights are rescaled before the convolution, not after), so logits
differ in the last bits (~1e-5 of their range); ranks of classes only change where two logits were
that close. Gradient-based attribution never uses these copies.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

__all__ = ["forward_only"]

# Largest |logit difference| accepted between the folded copy and the original, relative to the
# largest |logit|: float32 refactoring noise is ~1e-6 of it; a wrong fold changes logits by O(1).
_FOLD_TOLERANCE = 1e-4


def forward_only(model: nn.Module, example: torch.Tensor, *, compile: bool = False
                 ) -> Callable[[torch.Tensor], torch.Tensor]:
    """An eval-mode copy of `model` for inference (call it under torch.inference_mode): batch norms
    folded into the convolutions that feed them, parameters in channels_last layout, compiled with
    `compile`. `model` itself is untouched. `example` (a batch of real inputs) decides which batch
    norms follow a convolution and checks the copy; compiled, give it the batch shape the caller
    will use, since each new shape compiles anew."""
    # Which batch norms follow a convolution does not depend on the batch size: a few images do.
    fast = _folded(model, example[:4])
    if not compile:
        return fast
    compiled = _Compiled(fast)
    try:
        with torch.inference_mode():
            want = fast(example.contiguous(memory_format=torch.channels_last))
            got = compiled(example)
        _check_close(want, got, f"compiling {type(model).__name__}")
    except Exception as err:  # noqa: BLE001 - any compiler failure falls back to eager
        warnings.warn(f"forward_only: torch.compile failed ({type(err).__name__}: {err}); "
                      "running the network uncompiled", stacklevel=2)
        return fast
    return compiled


class _Compiled:
    """torch.compile of a forward-only module with inductor's freezing on (weights as constants:
    it folds and prepacks them), inputs in channels_last. The config patch is held for every call
    because inductor compiles lazily, at the first call of each new input shape."""

    def __init__(self, module: nn.Module) -> None:
        self._fn = torch.compile(module, dynamic=False)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        import torch._inductor.config as inductor_config

        with inductor_config.patch(freezing=True):
            return self._fn(x.contiguous(memory_format=torch.channels_last))


def _check_close(want: torch.Tensor, got: torch.Tensor, what: str) -> None:
    scale = float(want.abs().max()) or 1.0
    if float((got - want).abs().max()) > _FOLD_TOLERANCE * scale:
        raise RuntimeError(f"forward_only: {what} changed the network's outputs beyond "
                           f"{_FOLD_TOLERANCE:g} of their range")


def _folded(model: nn.Module, example: torch.Tensor) -> nn.Module:
    """The batch-norm-folded, channels_last copy, or the unfolded copy when folding would change
    the outputs."""
    if model.training:
        raise ValueError("forward_only: the model must be in eval mode")
    fast = copy.deepcopy(model)
    folded = _fold_batch_norms(fast, example)
    fast = fast.to(memory_format=torch.channels_last)
    with torch.inference_mode():
        want = model(example)
        got = fast(example.contiguous(memory_format=torch.channels_last))
    try:
        _check_close(want, got, f"folding {folded} batch norms of {type(model).__name__}")
    except RuntimeError as err:
        warnings.warn(f"{err}; using the unfolded network", stacklevel=3)
        return copy.deepcopy(model).to(memory_format=torch.channels_last)
    return fast


def _fold_batch_norms(model: nn.Module, example: torch.Tensor) -> int:
    """Fold, in place, every batch norm whose input is exactly the output of one convolution in a
    forward pass of `example`; returns how many were folded."""
    conv_of_output: dict[int, str] = {}
    bn_input: dict[str, int] = {}
    keep_alive: list[torch.Tensor] = []
    modules = dict(model.named_modules())
    handles = []

    def on_conv(name):
        def hook(module, inputs, output):
            keep_alive.append(output)
            conv_of_output[id(output)] = name
        return hook

    def on_bn(name):
        def hook(module, inputs):
            keep_alive.append(inputs[0])
            bn_input[name] = id(inputs[0])
        return hook

    for name, module in modules.items():
        if isinstance(module, nn.Conv2d) and (type(module) is nn.Conv2d or _plain_conv(module)):
            handles.append(module.register_forward_hook(on_conv(name)))
        elif isinstance(module, nn.BatchNorm2d) and _replacement(module) is not None:
            handles.append(module.register_forward_pre_hook(on_bn(name)))
    try:
        with torch.inference_mode():
            model(example)
    finally:
        for h in handles:
            h.remove()
    folded = 0
    for bn_name, tensor_id in bn_input.items():
        conv_name = conv_of_output.get(tensor_id)
        if conv_name is None:
            continue
        conv, bn = modules[conv_name], modules[bn_name]
        _set_module(model, conv_name, fuse_conv_bn_eval(conv, bn))
        _set_module(model, bn_name, _replacement(bn))
        folded += 1
    return folded


def _plain_conv(conv: nn.Conv2d) -> bool:
    """A Conv2d subclass whose forward is still a convolution with its weight and bias (timm's
    Conv2dSame pads first): folding rescales weight and bias, which such a forward honours."""
    return type(conv).__name__ in {"Conv2dSame"}


def _replacement(bn: nn.BatchNorm2d) -> nn.Module | None:
    """What is left of `bn` once its affine map is folded away: nothing for a plain BatchNorm2d,
    the dropout and activation of timm's BatchNormAct2d; None for any other subclass (its forward
    is unknown, so it is not folded)."""
    if type(bn) is nn.BatchNorm2d:
        return nn.Identity()
    if type(bn).__name__ == "BatchNormAct2d" and hasattr(bn, "act") and hasattr(bn, "drop"):
        return nn.Sequential(bn.drop, bn.act)
    return None


def _set_module(root: nn.Module, dotted: str, new: nn.Module) -> None:
    parent_name, _, child = dotted.rpartition(".")
    parent = root.get_submodule(parent_name) if parent_name else root
    setattr(parent, child, new)
