"""Guided backpropagation family: GBP, GBPxIM and SGBP, as METHOD.md words them.

Every method takes a batch of normalised images (N, C, H, W) and target classes (N,) and returns
one non-negative map per image (N, H, W): the sum over channels of the absolute value of a
(guided) input gradient of the target logit.

Guided rule. During the forward pass every rectifier and smooth activation is swapped, at the
function level, for an autograd function with a guided backward:
- ReLU (`relu`, `relu_`, `Tensor.relu`) and ReLU6 (`relu6`, `hardtanh(min_val=0)`): the gradient
  passes only where it is positive and only where the forward input was inside the active range
  (0 < z for ReLU, 0 < z < 6 for ReLU6): max(0, g) * 1[active].
- SiLU and GELU have no standard guided rule (METHOD.md). `smooth_rule="clean"` (the default)
  passes max(0, f'(z) g); `smooth_rule="study"` passes f'(z) max(0, f'(z) g), the derivative
  applied twice as in the study's code. For ReLU and ReLU6 the two rules coincide.

Why not captum's GuidedBackprop: it guides `nn.ReLU` modules only, so it silently returns the plain
gradient through ReLU6, SiLU and GELU (EfficientNet, ViT) and through functional `F.relu` calls
(torchvision's DenseNet). The swap here is a `TorchFunctionMode` active only inside the forward pass
of each call: it catches module and functional activations alike, registers no hooks and changes
no module. On plain `nn.ReLU` networks it computes exactly what captum's GuidedBackprop computes
(tested against it). Parameters' `.grad` are never touched (`torch.autograd.grad` on the input).

The guided passes run through a copy of the network with batch norm folded into the convolutions
(lib.attention.fold): the same function and input gradients up to float rounding, with fewer
elementwise passes forward and backward.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode

from lib.attention.fold import folded

__all__ = [
    "SMOOTH_RULES",
    "gbp",
    "gbp_x_input",
    "guided_gradients",
    "noise_sd",
    "sgbp",
]

SMOOTH_RULES = ("clean", "study")


class _GuidedRectifier(torch.autograd.Function):
    """clamp(z, 0, hi) forward; max(0, g) where 0 < z < hi backward (ReLU: hi = inf)."""

    @staticmethod
    def forward(ctx: Any, z: torch.Tensor, hi: float, inplace: bool) -> torch.Tensor:
        if math.isinf(hi):
            y = torch.relu_(z) if inplace else torch.relu(z)
        else:
            y = F.hardtanh(z, 0.0, hi, inplace=inplace)
        if inplace:
            # In place like the original (no copy): autograd moves z's history onto this node.
            ctx.mark_dirty(z)
        # The output is saved, as native ReLU does: 0 < y < hi exactly where 0 < z < hi.
        ctx.save_for_backward(y)
        ctx.hi = hi
        return y

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, None, None]:
        (y,) = ctx.saved_tensors
        passed = grad.clamp(min=0)
        # The native backward kernels apply the forward mask in one pass.
        if math.isinf(ctx.hi):
            return torch.ops.aten.threshold_backward(passed, y, 0.0), None, None
        return torch.ops.aten.hardtanh_backward(passed, y, 0.0, ctx.hi), None, None


class _GuidedSmooth(torch.autograd.Function):
    """f(z) forward; max(0, f'(z) g) ("clean") or f'(z) max(0, f'(z) g) ("study") backward."""

    @staticmethod
    def forward(
        ctx: Any,
        z: torch.Tensor,
        fn: Callable[[torch.Tensor], torch.Tensor],
        rule: str,
        inplace: bool,
    ) -> torch.Tensor:
        # f'(z) by autograd on a detached copy: exact for any elementwise activation (both GELU
        # approximations included) without writing each derivative out by hand.
        with torch.enable_grad():
            zz = z.detach().requires_grad_(True)
            y = fn(zz)
            (deriv,) = torch.autograd.grad(y, zz, torch.ones_like(y))
        ctx.save_for_backward(deriv)
        ctx.rule = rule
        if inplace:
            ctx.mark_dirty(z)
            return z.copy_(y.detach())
        return y.detach()

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, None, None, None]:
        (deriv,) = ctx.saved_tensors
        passed = (deriv * grad).clamp(min=0)
        return (passed if ctx.rule == "clean" else deriv * passed), None, None, None


def _arg(args: tuple, kwargs: dict, index: int, name: str, default: Any) -> Any:
    if len(args) > index:
        return args[index]
    return kwargs.get(name, default)


def _relu(rule: str, func: Callable, args: tuple, kwargs: dict) -> torch.Tensor:
    inplace = func in _INPLACE_RELU or bool(_arg(args, kwargs, 1, "inplace", False))
    return _GuidedRectifier.apply(args[0], math.inf, inplace)


def _relu6(rule: str, func: Callable, args: tuple, kwargs: dict) -> torch.Tensor:
    return _GuidedRectifier.apply(args[0], 6.0, bool(_arg(args, kwargs, 1, "inplace", False)))


def _hardtanh(rule: str, func: Callable, args: tuple, kwargs: dict) -> torch.Tensor:
    lo = float(_arg(args, kwargs, 1, "min_val", -1.0))
    hi = float(_arg(args, kwargs, 2, "max_val", 1.0))
    inplace = bool(_arg(args, kwargs, 3, "inplace", False))
    if lo != 0.0:  # a hardtanh that is not a rectifier (e.g. -1..1) keeps its plain gradient
        return func(*args, **kwargs)
    return _GuidedRectifier.apply(args[0], hi, inplace)


def _silu(rule: str, func: Callable, args: tuple, kwargs: dict) -> torch.Tensor:
    inplace = bool(_arg(args, kwargs, 1, "inplace", False))
    return _GuidedSmooth.apply(args[0], F.silu, rule, inplace)


def _gelu(rule: str, func: Callable, args: tuple, kwargs: dict) -> torch.Tensor:
    approximate = str(_arg(args, kwargs, 1, "approximate", "none"))
    return _GuidedSmooth.apply(args[0], lambda t: F.gelu(t, approximate=approximate), rule, False)


_INPLACE_RELU = {torch.relu_, F.relu_, torch.Tensor.relu_}
_HANDLERS: dict[Callable, Callable] = {
    F.relu: _relu,
    F.relu_: _relu,
    torch.relu: _relu,
    torch.relu_: _relu,
    torch.Tensor.relu: _relu,
    torch.Tensor.relu_: _relu,
    F.relu6: _relu6,
    F.hardtanh: _hardtanh,
    F.silu: _silu,
    F.gelu: _gelu,
}


class _Guided(TorchFunctionMode):
    """While active, activation calls run their guided versions (see the module docstring)."""

    def __init__(self, rule: str) -> None:
        super().__init__()
        self.rule = rule

    def __torch_function__(self, func, types, args=(), kwargs=None):  # noqa: ANN001
        kwargs = kwargs or {}
        handler = _HANDLERS.get(func)
        if handler is None:
            return func(*args, **kwargs)
        return handler(self.rule, func, args, kwargs)


def _check(model: nn.Module, images: torch.Tensor, targets: torch.Tensor, rule: str) -> None:
    if rule not in SMOOTH_RULES:
        raise ValueError(f"smooth_rule must be one of {SMOOTH_RULES}, got {rule!r}")
    if images.dim() != 4:
        raise ValueError(f"images must be (N, C, H, W), got shape {tuple(images.shape)}")
    if targets.shape != (images.shape[0],):
        raise ValueError(f"targets must be ({images.shape[0]},), got {tuple(targets.shape)}")
    if model.training:
        # Batch norm in train mode mixes the images of a batch and updates running statistics.
        raise ValueError("model must be in eval mode (call model.eval())")


def _guided_grad_batch(
    model: nn.Module, x: torch.Tensor, targets: torch.Tensor, rule: str
) -> torch.Tensor:
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        with _Guided(rule):
            logits = model(x)
        # In eval mode each image's logit depends on that image only, so the gradient of the sum
        # is every image's own gradient.
        score = logits.gather(1, targets.view(-1, 1).to(logits.device)).sum()
        (grad,) = torch.autograd.grad(score, x)
    return grad.detach()


def guided_gradients(
    model: nn.Module,
    images: torch.Tensor,
    targets: torch.Tensor,
    *,
    smooth_rule: str = "clean",
    batch_size: int | None = None,
) -> torch.Tensor:
    """Guided input gradients (N, C, H, W) of each image's target logit, `batch_size` at a time."""
    _check(model, images, targets, smooth_rule)
    model = folded(model, images[:1].detach())
    step = images.shape[0] if not batch_size else int(batch_size)
    parts = [
        _guided_grad_batch(model, images[i : i + step], targets[i : i + step], smooth_rule)
        for i in range(0, images.shape[0], step)
    ]
    return torch.cat(parts)


def _reduce(grad: torch.Tensor) -> torch.Tensor:
    """METHOD.md's 2D map: the sum over channels of the absolute value."""
    return grad.abs().sum(dim=1).float().contiguous()


def gbp(
    model: nn.Module,
    images: torch.Tensor,
    targets: torch.Tensor,
    *,
    layer: str | None = None,
    smooth_rule: str = "clean",
    batch_size: int | None = None,
) -> torch.Tensor:
    """GBP maps (N, H, W): sum over channels of |guided input gradient|. `layer` is unused."""
    return _reduce(
        guided_gradients(model, images, targets, smooth_rule=smooth_rule, batch_size=batch_size)
    )


def gbp_x_input(
    model: nn.Module,
    images: torch.Tensor,
    targets: torch.Tensor,
    *,
    layer: str | None = None,
    smooth_rule: str = "clean",
    batch_size: int | None = None,
) -> torch.Tensor:
    """GBPxIM maps (N, H, W): guided gradient times the normalised input, then channel-reduced."""
    grad = guided_gradients(model, images, targets, smooth_rule=smooth_rule, batch_size=batch_size)
    return _reduce(grad * images.detach())


NOISE_RULES = ("paper", "squared", "inverse-squared")


def noise_sd(images: torch.Tensor, frac: float = 0.10, rule: str = "paper") -> torch.Tensor:
    """SGBP's noise standard deviation per image (N,) from the range (max - min) of each
    normalised image.

    `paper`: frac x range (the study's text, SmoothGrad's 10 %). The study's released code used
    two SmoothGrad copies: a patched one passing (frac x range)^2 as the sd (`squared`, about
    0.23 instead of 0.46 for ImageNet-normalised inputs), and for AlexNet and VGG the upstream
    one, whose sd is (frac / range)^2 (`inverse-squared`, almost no noise).
    """
    if rule not in NOISE_RULES:
        raise ValueError(f"noise rule must be one of {NOISE_RULES}, got {rule!r}")
    flat = images.detach().flatten(1)
    span = flat.amax(dim=1) - flat.amin(dim=1)
    if rule == "inverse-squared":
        return (frac / span) ** 2
    sd = frac * span
    return sd * sd if rule == "squared" else sd


def _layout(x: torch.Tensor) -> torch.memory_format:
    channels_last = x.is_contiguous(memory_format=torch.channels_last)
    if x.dim() == 4 and not x.is_contiguous() and channels_last:
        return torch.channels_last
    return torch.contiguous_format


def _noisy_batches(
    images: torch.Tensor, sd: torch.Tensor, n_samples: int, batch_size: int, seeds: Sequence[int]
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """(image index (B,), noisy inputs (B, C, H, W)) batches over all images' noisy copies.

    Each image's noise is drawn on the CPU from its own generator seeded with `seeds[i]`, so the
    maps depend neither on the device, nor on `batch_size`, nor on the other images in the call.
    """
    fmt = _layout(images)
    buf_idx: list[torch.Tensor] = []
    buf_x: list[torch.Tensor] = []
    count = 0
    for i in range(images.shape[0]):
        generator = torch.Generator().manual_seed(int(seeds[i]))
        noise = torch.randn((n_samples, *images.shape[1:]), generator=generator)
        noisy = images[i : i + 1].detach() + noise.to(images.device, images.dtype) * sd[i]
        start = 0
        while start < n_samples:
            take = min(batch_size - count, n_samples - start)
            buf_x.append(noisy[start : start + take])
            buf_idx.append(torch.full((take,), i, dtype=torch.long))
            count += take
            start += take
            if count == batch_size:
                yield torch.cat(buf_idx), torch.cat(buf_x).contiguous(memory_format=fmt)
                buf_idx, buf_x, count = [], [], 0
    if count:
        yield torch.cat(buf_idx), torch.cat(buf_x).contiguous(memory_format=fmt)


def sgbp(
    model: nn.Module,
    images: torch.Tensor,
    targets: torch.Tensor,
    *,
    layer: str | None = None,
    smooth_rule: str = "clean",
    n_samples: int = 30,
    noise_frac: float = 0.10,
    noise_rule: str = "paper",
    batch_size: int = 8,
    seed: int | Sequence[int] = 0,
) -> torch.Tensor:
    """SGBP maps (N, H, W): SmoothGrad over GBP, then channel-reduced.

    The mean guided gradient over `n_samples` noisy copies of each image, Gaussian noise with
    standard deviation `noise_sd(images, noise_frac, noise_rule)` per image; the noisy copies
    of all images go through the model `batch_size` at a time. `seed`: one seed per image, or
    an int s giving image i the seed s + i.
    """
    _check(model, images, targets, smooth_rule)
    if n_samples < 1 or batch_size < 1:
        raise ValueError(f"n_samples and batch_size must be >= 1, got {n_samples}, {batch_size}")
    sd = noise_sd(images, noise_frac, noise_rule).cpu()
    seeds = [int(seed) + i for i in range(len(images))] if isinstance(seed, int) else list(seed)
    if len(seeds) != len(images):
        raise ValueError(f"need one seed per image ({len(images)}), got {len(seeds)}")
    model = folded(model, images[:1].detach())
    total = torch.zeros_like(images, dtype=torch.float32, memory_format=torch.contiguous_format)
    for idx, noisy in _noisy_batches(images, sd, n_samples, batch_size, seeds):
        grad = _guided_grad_batch(model, noisy, targets.cpu()[idx], smooth_rule)
        total.index_add_(0, idx.to(total.device), grad.float())
    return _reduce(total / n_samples)
