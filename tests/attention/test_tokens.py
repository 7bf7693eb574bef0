"""CAM methods on a token network through TokenGrid: class token dropped, patches as a grid."""

from __future__ import annotations

import pytest
import timm
import torch
import torch.nn.functional as F

from lib.attention.cam import grad_cam, score_cam
from lib.attention.tokens import TokenGrid


@pytest.fixture
def vit():
    torch.manual_seed(0)
    # A two-block ViT at 64 px: a 4x4 patch grid plus the class token.
    model = timm.create_model("vit_tiny_patch16_224", img_size=64, depth=2, num_classes=5)
    return model.eval().requires_grad_(False)


def test_wrapper_computes_what_the_network_computes_and_leaves_no_hook(vit):
    x = torch.randn(2, 3, 64, 64)
    wrapped = TokenGrid(vit, "blocks.1.norm1", vit.num_prefix_tokens)
    assert torch.equal(wrapped(x), vit(x))
    assert not any(m._forward_hooks for m in vit.modules())
    assert not wrapped.training


def test_grad_cam_through_the_grid_is_grad_cam_on_the_patch_tokens(vit):
    x, t = torch.randn(2, 3, 64, 64), torch.tensor([1, 3])
    got = grad_cam(TokenGrid(vit, "blocks.1.norm1", 1), x, t, layer="grid")
    # By hand: the layer's tokens, their gradient, class token dropped, reshaped to 4x4.
    seen = []
    handle = vit.blocks[1].norm1.register_forward_hook(
        lambda m, i, o: seen.append(o.requires_grad_(True)) or o
    )
    try:
        logits = vit(x)
    finally:
        handle.remove()
    (grad,) = torch.autograd.grad(logits.gather(1, t[:, None]).sum(), seen[0])
    acts = seen[0].detach()[:, 1:].transpose(1, 2).reshape(2, -1, 4, 4)
    grads = grad[:, 1:].transpose(1, 2).reshape(2, -1, 4, 4)
    cam = torch.relu((grads.mean(dim=(2, 3), keepdim=True) * acts).sum(1, keepdim=True))
    expected = F.interpolate(cam, size=(64, 64), mode="bilinear", align_corners=False)[:, 0]
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-6)
    assert got.shape == (2, 64, 64) and got.sum() > 0


def test_score_cam_runs_through_the_grid(vit):
    x, t = torch.randn(1, 3, 64, 64), torch.tensor([2])
    maps = score_cam(TokenGrid(vit, "blocks.1.norm1", 1), x, t, layer="grid", batch_size=64)
    assert maps.shape == (1, 64, 64) and (maps >= 0).all() and torch.isfinite(maps).all()


def test_a_non_square_token_count_is_refused(vit):
    with pytest.raises(ValueError, match="square"):
        TokenGrid(vit, "blocks.1.norm1", 2)(torch.randn(1, 3, 64, 64))
