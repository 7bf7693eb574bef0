"""CAM-family passive attention: Grad-CAM, Score-CAM and CAMERAS, as METHOD.md words them.

Every method takes a batch of normalised images (N, C, H, W), the target classes (N,) and the
target layer (a module of `model`, or its dotted path), and returns one non-negative float map per
image (N, H, W) at the input's height and width. Nothing stays on the model: hooks are removed in a
`finally`, gradients are taken with `torch.autograd.grad` (parameters' `.grad` and `requires_grad`
are never touched), and the model must already be in eval mode (in train mode batch norm would use
batch statistics, so the batched passes of Score-CAM would mix images, and it would update its
running statistics, a trace left on the model).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from captum.attr import LayerAttribution, LayerGradCam
from torch import nn

from lib.attention.fold import folded

__all__ = ["grad_cam", "score_cam", "cameras", "CAMERAS_RESOLUTIONS"]

# The study's code used 224 to 924 px in steps of 100 (the paper's text names 100, 224 and 1000).
CAMERAS_RESOLUTIONS: tuple[int, ...] = (224, 324, 424, 524, 624, 724, 824, 924)


def grad_cam(
    model: nn.Module, images: torch.Tensor, targets: torch.Tensor, *, layer: nn.Module | str
) -> torch.Tensor:
    """Grad-CAM maps (N, H, W) for `images` (N, C, H, W) and `targets` (N,) at `layer`.

    Channel weights are the spatial mean of the target logit's gradient at the layer's output; the
    map is the ReLU of the weighted sum of the layer's activation maps, upsampled (bilinear) to the
    input's height and width.
    """
    layer = _resolve_layer(model, layer)
    targets = _check_inputs(model, images, targets)
    # captum's LayerGradCam computes exactly this: mean of the layer gradient over the spatial
    # dims, weighted sum over channels, ReLU with relu_attributions=True; it removes its hooks in a
    # `finally` and hands the rest of the network a clone of the layer output (safe with in-place
    # ReLUs downstream). `interpolate` is F.interpolate (align_corners=False, as ours below).
    with torch.enable_grad():
        cam = LayerGradCam(model, layer).attribute(
            images.detach(), target=targets, relu_attributions=True
        )
    if cam.dim() != 4:
        raise ValueError(f"Grad-CAM needs a layer with (N, K, h, w) output; got {tuple(cam.shape)}")
    up = LayerAttribution.interpolate(cam, tuple(images.shape[-2:]), interpolate_mode="bilinear")
    return up[:, 0].detach().contiguous()


def score_cam(
    model: nn.Module,
    images: torch.Tensor,
    targets: torch.Tensor,
    *,
    layer: nn.Module | str,
    batch_size: int = 64,
    autocast: torch.dtype | None = None,
) -> torch.Tensor:
    """Score-CAM maps (N, H, W) for `images` (N, C, H, W) and `targets` (N,) at `layer`.

    Each activation map of the layer (for the unmasked image) is upsampled (bilinear) to the input,
    min-max normalised to [0, 1] and multiplied into the input; its weight is the softmax
    probability of the target class for that masked input; the map is the ReLU of the weighted sum
    of the upsampled (not normalised) activation maps. A constant channel has no min-max
    normalisation: it gets weight 0. The masked inputs of all images and channels go through the
    model `batch_size` at a time, with batch norm folded into the convolutions
    (lib.attention.fold) and, with `autocast` (e.g. torch.bfloat16), under torch.autocast in that
    dtype: the weights are forward-only probabilities, the part of Score-CAM that costs.

    Written here rather than taken from torchcam or pytorch-grad-cam: those weight each channel by a
    softmax over channels of the target's logits, a different map from the original Score-CAM
    definition that the study used.
    """
    layer = _resolve_layer(model, layer)
    targets = _check_inputs(model, images, targets)
    if int(batch_size) < 1:
        raise ValueError(f"score_cam: batch_size must be >= 1, got {batch_size}")
    images = images.detach()
    size = tuple(images.shape[-2:])
    with torch.no_grad():
        acts = _layer_output(model, layer, images)
        weights = _score_cam_weights(model, images, targets, acts, int(batch_size), autocast)
        # Upsampled once more per image rather than kept from the masked passes: K x H x W floats
        # per image is cheap to recompute and would be large to hold for a whole batch.
        maps = [
            torch.relu(torch.einsum("k,khw->hw", weights[n], _upsample(acts[n : n + 1], size)[0]))
            for n in range(images.shape[0])
        ]
    return torch.stack(maps).contiguous()


def cameras(
    model: nn.Module,
    images: torch.Tensor,
    targets: torch.Tensor,
    *,
    layer: nn.Module | str,
    resolutions: Sequence[int] = CAMERAS_RESOLUTIONS,
) -> torch.Tensor:
    """CAMERAS maps (N, H, W) for `images` (N, C, H, W) and `targets` (N,) at `layer`.

    The input is resampled (bilinear) to each square resolution in turn; there the layer's
    activations and the target logit's gradient at them are upsampled (bilinear) to the input's
    grid. Per image, scales whose top-1 class differs from that at the first resolution are dropped;
    activations and gradients are averaged over the kept scales, and the map is the ReLU of the sum
    over channels of averaged activation times averaged gradient (elementwise, not Grad-CAM's pooled
    weights).

    Written from METHOD.md's description only (the published implementation is GPL-3.0).
    """
    maps, _ = _cameras(model, images, targets, layer=layer, resolutions=resolutions)
    return maps


def _cameras(
    model: nn.Module,
    images: torch.Tensor,
    targets: torch.Tensor,
    *,
    layer: nn.Module | str,
    resolutions: Sequence[int],
) -> tuple[torch.Tensor, torch.Tensor]:
    """CAMERAS maps (N, H, W) and the scales each image kept, bool (N, len(resolutions))."""
    layer = _resolve_layer(model, layer)
    targets = _check_inputs(model, images, targets)
    sizes = [int(r) for r in resolutions]
    if not sizes or any(r < 1 for r in sizes):
        raise ValueError(f"cameras: resolutions must be positive sizes, got {list(resolutions)}")
    images = images.detach()
    size = tuple(images.shape[-2:])
    act_sum = grad_sum = first_top1 = None
    kept = []
    for r in sizes:
        x = images if (r, r) == size else _resample_input(images, (r, r))
        with torch.enable_grad():
            acts, logits = _layer_output(model, layer, x, grad=True, return_logits=True)
            score = logits.gather(1, targets[:, None]).sum()
            (grads,) = torch.autograd.grad(score, acts)
        top1 = logits.detach().argmax(1)
        if first_top1 is None:
            first_top1 = top1
        keep = top1 == first_top1
        kept.append(keep)
        w = keep.to(acts.dtype)[:, None, None, None]
        up_a = _upsample(acts.detach(), size) * w
        up_g = _upsample(grads, size) * w
        act_sum = up_a if act_sum is None else act_sum + up_a
        grad_sum = up_g if grad_sum is None else grad_sum + up_g
        del acts, logits, grads, up_a, up_g
    kept_t = torch.stack(kept, dim=1)
    # The first scale is always kept, so every count is at least 1.
    count = kept_t.sum(1).to(act_sum.dtype)[:, None, None, None]
    maps = torch.relu(((act_sum / count) * (grad_sum / count)).sum(1))
    return maps.contiguous(), kept_t


# ----------------------------------------------------------------------------------------------


def _score_cam_weights(
    model: nn.Module,
    images: torch.Tensor,
    targets: torch.Tensor,
    acts: torch.Tensor,
    batch_size: int,
    autocast: torch.dtype | None = None,
) -> torch.Tensor:
    """Score-CAM channel weights (N, K): softmax probability of each image's target class for the
    input masked by each min-max normalised, upsampled activation map; 0 for constant channels.

    Call under torch.no_grad(). The (image, channel) pairs are flattened and sent through the model
    `batch_size` masked inputs at a time, so one batch may hold several images' channels.
    """
    n_img, n_ch = acts.shape[:2]
    size = tuple(images.shape[-2:])
    weights = torch.zeros(n_img, n_ch, dtype=torch.float32, device=acts.device)
    # Constancy is judged on the raw activations: bilinear upsampling of a constant plane can differ
    # from it in the last bit, and min-max normalising that rounding noise would give a junk mask.
    flat = acts.flatten(2)
    varies = flat.amax(-1) > flat.amin(-1)
    pairs = varies.nonzero()
    fmt = _memory_format(images)
    # Logits only from here on (no hooks), so a folded copy of the network serves.
    runner = folded(model, images[:1]) if pairs.shape[0] else model
    for start in range(0, pairs.shape[0], batch_size):
        n_idx, k_idx = pairs[start : start + batch_size].unbind(1)
        up = _upsample(acts[n_idx, k_idx][:, None], size)
        lo = up.amin(dim=(2, 3), keepdim=True)
        rng = up.amax(dim=(2, 3), keepdim=True) - lo
        ok = rng > 0  # a downsampled map can still come out flat
        mask = (up - lo) / torch.where(ok, rng, torch.ones_like(rng))
        masked = (images[n_idx] * mask).contiguous(memory_format=fmt)
        with torch.inference_mode(), _autocast(masked.device, autocast):
            logits = runner(masked)
        probs = torch.softmax(logits.float(), dim=1)
        p = probs.gather(1, targets[n_idx][:, None])[:, 0]
        weights[n_idx, k_idx] = torch.where(ok.flatten(), p, torch.zeros_like(p))
    return weights


def _autocast(device: torch.device, dtype: torch.dtype | None) -> torch.autocast:
    """torch.autocast in `dtype` on the device's kind; a disabled one for None."""
    return torch.autocast(device.type, dtype=dtype, enabled=dtype is not None)


@contextmanager
def _recording(layer: nn.Module, grad: bool) -> Iterator[list[torch.Tensor]]:
    """Record `layer`'s output during the forward passes inside the block; the hook goes in a
    `finally`. With `grad`, the recorded tensor is one that gradients can be taken at even when
    nothing upstream requires grad (frozen weights, plain input)."""
    recorded: list[torch.Tensor] = []

    def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> torch.Tensor:
        if not isinstance(output, torch.Tensor):
            raise TypeError(
                f"target layer {type(module).__name__} returns {type(output).__name__}, "
                "not a tensor"
            )
        if grad and not output.requires_grad:
            output = output.detach().requires_grad_(True)
        recorded.append(output)
        # The rest of the network gets a copy, so an in-place op downstream (ReLU(inplace=True))
        # cannot overwrite the recorded activations or move them in the autograd graph.
        return output.clone()

    handle = layer.register_forward_hook(hook)
    try:
        yield recorded
    finally:
        handle.remove()


def _layer_output(
    model: nn.Module,
    layer: nn.Module,
    x: torch.Tensor,
    *,
    grad: bool = False,
    return_logits: bool = False,
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """The layer's output (N, K, h, w) for input x, and with `return_logits` the model's output."""
    with _recording(layer, grad) as recorded:
        logits = model(x)
    if len(recorded) != 1:
        raise ValueError(
            f"target layer ran {len(recorded)} times in one forward pass; CAM methods need a "
            "layer that runs exactly once"
        )
    acts = recorded[0]
    if acts.dim() != 4:
        raise ValueError(
            f"CAM methods need a target layer with (N, K, h, w) output; got {tuple(acts.shape)}"
        )
    if return_logits:
        if logits.dim() != 2:
            raise ValueError(f"model output must be (N, classes); got {tuple(logits.shape)}")
        return acts, logits
    return acts


def _resample_input(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """`_upsample` of an input image on one CPU thread: torch's bilinear kernel rounds a 224 -> 256
    px resize differently with 1 and 2 threads (by ~1e-9 of a pixel), which would make CAMERAS
    maps depend on how many threads the process has (a one-thread Dask worker against this
    process). A few milliseconds per resolution; the network's passes keep every thread."""
    if x.device.type != "cpu":
        return _upsample(x, size)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _upsample(x, size)
    finally:
        torch.set_num_threads(threads)


def _upsample(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear resize of (N, K, h, w) to (N, K, *size) with half-pixel centres."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


def _memory_format(x: torch.Tensor) -> torch.memory_format:
    """channels_last if x is laid out that way (and not also plain contiguous), else contiguous."""
    if x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous():
        return torch.channels_last
    return torch.contiguous_format


def _resolve_layer(model: nn.Module, layer: nn.Module | str) -> nn.Module:
    """The target layer as a module of `model` (a dotted path is looked up with get_submodule)."""
    if isinstance(layer, str):
        return model.get_submodule(layer)
    if not isinstance(layer, nn.Module):
        raise TypeError(f"layer must be an nn.Module or a dotted path, got {type(layer).__name__}")
    if not any(m is layer for m in model.modules()):
        raise ValueError(f"layer {type(layer).__name__} is not a module of the model")
    return layer


def _check_inputs(model: nn.Module, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Validate the contract's inputs; return the targets as a long tensor on the images' device."""
    if not isinstance(images, torch.Tensor) or images.dim() != 4 or not images.is_floating_point():
        shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise ValueError(f"images must be a float tensor (N, C, H, W), got {shape}")
    targets = torch.as_tensor(targets, device=images.device)
    if targets.shape != (images.shape[0],) or targets.is_floating_point():
        raise ValueError(
            f"targets must be integer classes of shape ({images.shape[0]},), "
            f"got {targets.dtype} {tuple(targets.shape)}"
        )
    training = [name or "<model>" for name, m in model.named_modules() if m.training]
    if training:
        raise ValueError(
            f"model must be in eval mode (call model.eval()); in train mode: {training[:3]}"
        )
    return targets.long()
