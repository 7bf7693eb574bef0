"""Forward-only copies of a network for stages that only need its outputs (recognition_ann).

The copy has its batch norms folded into the convolutions before them (lib.attention.fold, which
checks the fold on an example batch) and its weights in channels_last layout: on this project's
CPUs the batch-norm passes of EfficientNet-Lite cost about a third of a channels_last forward pass.

With `compile`, the folded copy is also compiled by torch.compile (inductor, with freezing: the
weights become constants, so convolutions are prepacked for oneDNN and fused with the padding and
activations around them). On the 2-core CPU here that doubles the speed again for EfficientNet-Lite
once the compile (about a minute per network and input shape) is paid; a stage that runs thousands
of same-shaped batches pays it once. Where compiling fails (no C++ compiler), the eager folded copy
is used with a warning.

Folding changes the arithmetic (weights are rescaled before the convolution, not after), so logits
differ in the last bits (~1e-5 of their range); ranks of classes only change where two logits were
that close. Attribution folds too (lib.attention.fold) but never runs compiled copies: inductor
would compile the backward pass as well, for each input shape.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable

import torch
from torch import nn

from lib.attention.fold import folded

__all__ = ["forward_only"]

# Largest |logit difference| accepted between the compiled copy and the eager one, relative to the
# largest |logit|: float32 reordering noise is ~1e-6 of it; a miscompile changes logits by O(1).
_COMPILE_TOLERANCE = 1e-4


def forward_only(model: nn.Module, example: torch.Tensor, *, compile: bool = False
                 ) -> Callable[[torch.Tensor], torch.Tensor]:
    """An eval-mode copy of `model` for inference (call it under torch.inference_mode): batch norms
    folded into the convolutions that feed them, parameters in channels_last layout, compiled with
    `compile`. `model` itself is untouched. `example` (a batch of real inputs) decides which batch
    norms follow a convolution and checks the copy; compiled, give it the batch shape the caller
    will use, since each new shape compiles anew."""
    # Which batch norms follow a convolution does not depend on the batch size: one image shows it.
    fast = _folded(model, example[:1])
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
    if float((got - want).abs().max()) > _COMPILE_TOLERANCE * scale:
        raise RuntimeError(f"forward_only: {what} changed the network's outputs beyond "
                           f"{_COMPILE_TOLERANCE:g} of their range")


def _folded(model: nn.Module, example: torch.Tensor) -> nn.Module:
    """A batch-norm-folded (lib.attention.fold), channels_last copy of `model`; never `model`
    itself, whose layout the caller keeps."""
    if model.training:
        raise ValueError("forward_only: the model must be in eval mode")
    fast = folded(model, example)
    if fast is model:  # nothing folds (AlexNet), or folding would change the outputs
        fast = copy.deepcopy(model)
    return fast.to(memory_format=torch.channels_last)
