"""lib.attention.fold: batch norm folded into the preceding convolution."""

import pytest
import torch
from torch import nn

import lib.attention.gbp as gbp_module
from lib.attention.fold import conv_bn_pairs, folded
from lib.attention.gbp import gbp


def _randomise_bn(model: nn.Module) -> nn.Module:
    """Give every batch norm non-trivial statistics and affine parameters (fresh ones are the
    identity map, which would fold to the same weights whatever the arithmetic)."""
    g = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=g))
            m.running_var.copy_(torch.rand(n, generator=g) + 0.5)
            m.weight.data.copy_(torch.randn(n, generator=g))
            m.bias.data.copy_(torch.randn(n, generator=g))
    return model.eval()


class _Net(nn.Module):
    def __init__(self, reuse_conv_output: bool = False) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(6)
        self.conv2 = nn.Conv2d(6, 4, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(4)
        self.head = nn.Linear(4, 5)
        self.reuse = reuse_conv_output

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.bn1(self.conv1(x)))
        y = self.conv2(x)
        x = torch.relu(self.bn2(y) + (y if self.reuse else 0))
        return self.head(x.mean((2, 3)))


@pytest.fixture
def images() -> torch.Tensor:
    return torch.randn(3, 3, 12, 12, generator=torch.Generator().manual_seed(0))


def test_folded_network_computes_the_same_logits_and_leaves_the_model_alone(images):
    torch.manual_seed(0)
    model = _randomise_bn(_Net())
    before = {k: v.clone() for k, v in model.state_dict().items()}
    assert conv_bn_pairs(model, images[:1]) == [("conv1", "bn1"), ("conv2", "bn2")]
    fast = folded(model, images[:1])
    assert fast is not model
    assert not any(isinstance(m, nn.BatchNorm2d) for m in fast.modules())
    with torch.no_grad():
        want, got = model(images), fast(images)
    assert torch.allclose(got, want, rtol=1e-5, atol=1e-5)
    assert isinstance(model.bn1, nn.BatchNorm2d)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_a_conv_output_used_twice_is_not_folded(images):
    # bn2(y) + y: hooks see conv2 -> bn2, but folding would also rescale the second use of y;
    # the probe check catches it and the model comes back unchanged.
    torch.manual_seed(0)
    model = _randomise_bn(_Net(reuse_conv_output=True))
    assert folded(model, images[:1]) is model


def test_gbp_through_the_folded_copy_equals_gbp_through_the_network(images, monkeypatch):
    torch.manual_seed(0)
    model = _randomise_bn(_Net())
    targets = torch.tensor([0, 3, 4])
    fast = gbp(model, images, targets)
    monkeypatch.setattr(gbp_module, "folded", lambda m, probe: m)
    reference = gbp(model, images, targets)
    assert reference.abs().max() > 0
    assert torch.allclose(fast, reference, rtol=1e-4, atol=1e-6 * float(reference.abs().max()))


def test_a_later_call_folds_the_current_weights(images):
    # The checked pairs are remembered per network; the weights are read at every call (the
    # randomisation cascade re-initialises layers in place between calls).
    torch.manual_seed(0)
    model = _randomise_bn(_Net())
    folded(model, images[:1])
    with torch.no_grad():
        model.bn2.running_mean.add_(3.0)
        model.conv1.weight.mul_(-2.0)
        want, got = model(images), folded(model, images[:1])(images)
    assert torch.allclose(got, want, rtol=1e-5, atol=1e-5)


def test_train_mode_is_refused(images):
    with pytest.raises(ValueError, match="eval mode"):
        folded(_Net().train(), images[:1])
