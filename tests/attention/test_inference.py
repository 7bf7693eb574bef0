"""Forward-only network copies (lib/attention/inference.py): batch norms folded, same outputs."""

import pytest
import torch
from torch import nn

from lib.attention.inference import forward_only


class _ConvBnNet(nn.Module):
    """conv -> BN -> ReLU twice, then a classifier; with `residual`, the first convolution's output
    also feeds a skip connection, so folding its batch norm into it would be wrong."""

    def __init__(self, residual: bool = False):
        super().__init__()
        self.residual = residual
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1, groups=8)
        self.bn2 = nn.BatchNorm2d(8)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 5))

    def forward(self, x):
        a = self.conv1(x)
        h = torch.relu(self.bn1(a))
        h = torch.relu(self.bn2(self.conv2(h)))
        return self.head(h + a if self.residual else h)


def _trained_looking(net: nn.Module, seed: int = 0) -> nn.Module:
    """Non-trivial batch-norm statistics and affine parameters, as trained weights have."""
    g = torch.Generator().manual_seed(seed)
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g))
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.randn(m.num_features, generator=g))
            m.bias.data.copy_(torch.randn(m.num_features, generator=g))
    return net.eval()


def test_folding_removes_every_batch_norm_and_keeps_the_outputs():
    torch.manual_seed(0)
    net = _trained_looking(_ConvBnNet())
    before = {k: v.clone() for k, v in net.state_dict().items()}
    x = torch.randn(6, 3, 20, 20)
    fast = forward_only(net, x)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in fast.modules())
    with torch.inference_mode():
        torch.testing.assert_close(fast(x), net(x), rtol=1e-5, atol=1e-5)
    # the original is untouched
    for k, v in net.state_dict().items():
        assert torch.equal(v, before[k]), k


def test_a_convolution_that_also_feeds_a_skip_is_not_folded_wrongly():
    torch.manual_seed(1)
    net = _trained_looking(_ConvBnNet(residual=True))
    x = torch.randn(4, 3, 16, 16)
    fast = forward_only(net, x)
    assert fast is not net
    with torch.inference_mode():
        torch.testing.assert_close(fast(x), net(x), rtol=1e-6, atol=1e-6)


def test_efficientnet_lite_batch_norms_fold_with_timm_activations_kept():
    from lib.attention.models import load_model

    loaded = load_model("effnetlite0-R")
    _trained_looking(loaded.model)
    x = torch.randn(2, 3, 224, 224)
    fast = forward_only(loaded.model, x)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in fast.modules())
    with torch.inference_mode():
        want = loaded.model(x)
        got = fast(x.contiguous(memory_format=torch.channels_last))
    assert float((got - want).abs().max()) <= 1e-4 * float(want.abs().max())
    assert torch.equal(got.argmax(1), want.argmax(1))


def test_compiled_copy_matches_the_network():
    torch.manual_seed(2)
    net = _trained_looking(_ConvBnNet())
    x = torch.randn(3, 3, 12, 12)
    fast = forward_only(net, x, compile=True)
    with torch.inference_mode():
        torch.testing.assert_close(fast(x), net(x), rtol=1e-5, atol=1e-5)


def test_train_mode_is_refused():
    with pytest.raises(ValueError, match="eval mode"):
        forward_only(_ConvBnNet().train(), torch.randn(1, 3, 8, 8))
