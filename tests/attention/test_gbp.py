"""Guided backpropagation family: hand-worked answers, the guided rules, SGBP's noise, no traces."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from captum.attr import GuidedBackprop
from torch import nn

from lib.attention import gbp as G


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


class TwoLayer(nn.Module):
    """logit = w2 . act(W1 x): small enough to work out guided gradients by hand."""

    def __init__(self, w1: list[list[float]], w2: list[list[float]], act: nn.Module) -> None:
        super().__init__()
        self.fc1 = nn.Linear(len(w1[0]), len(w1), bias=False)
        self.fc2 = nn.Linear(len(w1), len(w2), bias=False)
        with torch.no_grad():
            self.fc1.weight.copy_(torch.tensor(w1))
            self.fc2.weight.copy_(torch.tensor(w2))
        self.act = act

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x.flatten(1))))


def _hand_net(act: nn.Module | None = None) -> nn.Module:
    # Two hidden units; the logit is relu(x1 - x2) - relu(2 x1 + x2).
    return TwoLayer([[1.0, -1.0], [2.0, 1.0]], [[1.0, -1.0]], act or nn.ReLU()).eval()


def _plain_grad(model: nn.Module, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    x = x.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(model(x).gather(1, t[:, None]).sum(), x)
    return g


def test_gbp_by_hand_both_units_active():
    # x = (2, 1) as two channels of a 1x1 image: z = (1, 5), both active; dlogit/dh = (1, -1).
    # Plain gradient: W1^T (1, -1) = (-1, -2). Guided: the negative -1 is blocked, so
    # W1^T (1, 0) = (1, -1); the map is |1| + |-1| = 2 and GBPxIM |1 * 2| + |-1 * 1| = 3.
    model = _hand_net()
    x = torch.tensor([2.0, 1.0]).view(1, 2, 1, 1)
    t = torch.tensor([0])
    grad = G.guided_gradients(model, x, t)
    assert grad.flatten().tolist() == [1.0, -1.0]
    assert _plain_grad(model, x, t).flatten().tolist() == [-1.0, -2.0]
    assert G.gbp(model, x, t).tolist() == [[[2.0]]]
    assert G.gbp_x_input(model, x, t).tolist() == [[[3.0]]]


def test_gbp_by_hand_inactive_unit_passes_nothing():
    # x = (1, 2): z = (-1, 4). The first unit is off (its +1 cannot pass); the second gets -1,
    # blocked as negative: the guided gradient is zero, the plain one W1^T (0, -1) = (-2, -1).
    model = _hand_net()
    x = torch.tensor([1.0, 2.0]).view(1, 2, 1, 1)
    t = torch.tensor([0])
    assert G.guided_gradients(model, x, t).flatten().tolist() == [0.0, 0.0]
    assert _plain_grad(model, x, t).flatten().tolist() == [-2.0, -1.0]


def _conv_net(inplace: bool, functional: bool = False) -> nn.Module:
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.c1 = nn.Conv2d(3, 6, 3, padding=1)
            self.c2 = nn.Conv2d(6, 8, 3, padding=1, stride=2)
            self.r1 = nn.ReLU(inplace=inplace)
            self.r2 = nn.ReLU(inplace=inplace)
            self.fc = nn.Linear(8, 5)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if functional:
                x = F.relu(self.c1(x), inplace=inplace)
                x = self.c2(x).relu_() if inplace else torch.relu(self.c2(x))
            else:
                x = self.r2(self.c2(self.r1(self.c1(x))))
            return self.fc(x.mean(dim=(2, 3)))

    torch.manual_seed(1)
    return Net().eval()


def test_gbp_matches_captum_on_a_relu_network():
    model = _conv_net(inplace=False)
    x, t = torch.randn(3, 3, 12, 12), torch.tensor([0, 2, 4])
    ours = G.guided_gradients(model, x, t)
    theirs = GuidedBackprop(model).attribute(x.clone().requires_grad_(), target=t).detach()
    torch.testing.assert_close(ours, theirs, rtol=0, atol=0)
    assert not torch.equal(ours, _plain_grad(model, x, t))


@pytest.mark.parametrize("functional", [False, True])
def test_gbp_identical_with_inplace_and_out_of_place_relu(functional):
    x, t = torch.randn(2, 3, 12, 12), torch.tensor([1, 3])
    a = G.gbp(_conv_net(inplace=False, functional=functional), x, t)
    b = G.gbp(_conv_net(inplace=True, functional=functional), x, t)
    assert torch.equal(a, b)
    assert a.abs().sum() > 0


def test_functional_relu_is_guided_too():
    # captum guides nn.ReLU modules only; F.relu / Tensor.relu_ calls must be guided as well.
    x, t = torch.randn(2, 3, 12, 12), torch.tensor([1, 3])
    modules = G.guided_gradients(_conv_net(inplace=False), x, t)
    functional = G.guided_gradients(_conv_net(inplace=True, functional=True), x, t)
    assert torch.equal(modules, functional)


def test_two_calls_identical_and_no_trace_left():
    model = _conv_net(inplace=True)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    modules_before = [type(m) for m in model.modules()]
    x, t = torch.randn(2, 3, 12, 12), torch.tensor([0, 1])
    first = G.gbp(model, x, t)
    second = G.gbp(model, x, t)
    G.sgbp(model, x, t, n_samples=3)
    assert torch.equal(first, second)
    for m in model.modules():
        assert not m._forward_hooks and not m._forward_pre_hooks
        assert not m._backward_hooks and not getattr(m, "_backward_pre_hooks", {})
    assert [type(m) for m in model.modules()] == modules_before
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert all(p.grad is None for p in model.parameters())
    assert not model.training
    # The guided mode is gone: a plain gradient afterwards is the plain gradient.
    assert not torch.equal(_plain_grad(model, x, t), G.guided_gradients(model, x, t))
    assert not torch.overrides._get_current_function_mode_stack()


def _deriv(act: str, z: torch.Tensor) -> torch.Tensor:
    """f'(z) written out by hand."""
    if act == "relu6":
        return ((z > 0) & (z < 6)).float()
    if act == "silu":
        s = torch.sigmoid(z)
        return s * (1 + z * (1 - s))
    # exact GELU: Phi(z) + z phi(z)
    return 0.5 * (1 + torch.erf(z / math.sqrt(2))) + z * torch.exp(-0.5 * z * z) / math.sqrt(
        2 * math.pi
    )


_ACTS = {"relu6": nn.ReLU6, "silu": nn.SiLU, "gelu": nn.GELU}
_Z = torch.tensor([-3.0, -0.5, 0.5, 1.5, 7.0])
_W2 = [[-2.0, 1.0, 1.0, -1.0, 3.0]]


@pytest.mark.parametrize("act", ["relu6", "silu", "gelu"])
@pytest.mark.parametrize("rule", ["clean", "study"])
def test_smooth_and_capped_activations_follow_the_chosen_rule(act, rule):
    # Hidden pre-activations z = W1 x with W1 = I: z = x itself, covering z < 0 (SiLU's and
    # GELU's negative derivative), 0 < z < 6 and z > 6 (ReLU6's cap). w2 has both signs.
    z, w2 = _Z, torch.tensor(_W2)
    model = TwoLayer(torch.eye(5).tolist(), w2.tolist(), _ACTS[act]()).eval()
    x, t = z.view(1, 5, 1, 1), torch.tensor([0])
    d = _deriv(act, z)
    passed = (d * w2[0]).clamp(min=0)
    expected = passed if rule == "clean" else d * passed
    got = G.guided_gradients(model, x, t, smooth_rule=rule).flatten()
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)
    plain = _plain_grad(model, x, t).flatten()
    torch.testing.assert_close(plain, d * w2[0], rtol=1e-5, atol=1e-6)
    assert not torch.allclose(got, plain)


@pytest.mark.parametrize("act", ["silu", "gelu"])
def test_the_two_smooth_rules_differ_and_captum_does_not_guide_them(act):
    model = TwoLayer(torch.eye(5).tolist(), _W2, _ACTS[act]()).eval()
    x, t = _Z.view(1, 5, 1, 1), torch.tensor([0])
    clean = G.guided_gradients(model, x, t, smooth_rule="clean")
    study = G.guided_gradients(model, x, t, smooth_rule="study")
    assert not torch.allclose(clean, study)
    # The trap METHOD.md warns about: captum returns the plain gradient for these networks.
    captum = GuidedBackprop(model).attribute(x.clone().requires_grad_(), target=t).detach()
    torch.testing.assert_close(captum, _plain_grad(model, x, t))


def test_relu6_rules_coincide():
    model = TwoLayer(torch.eye(5).tolist(), _W2, nn.ReLU6()).eval()
    x, t = _Z.view(1, 5, 1, 1), torch.tensor([0])
    assert torch.equal(
        G.guided_gradients(model, x, t, smooth_rule="clean"),
        G.guided_gradients(model, x, t, smooth_rule="study"),
    )


def test_non_rectifying_hardtanh_keeps_its_plain_gradient():
    model = TwoLayer(torch.eye(3).tolist(), [[1.0, -1.0, 1.0]], nn.Hardtanh(-1.0, 1.0)).eval()
    x, t = torch.tensor([-0.5, 0.2, 3.0]).view(1, 3, 1, 1), torch.tensor([0])
    torch.testing.assert_close(G.guided_gradients(model, x, t), _plain_grad(model, x, t))


def test_batching_does_not_change_gbp():
    model = _conv_net(inplace=True)
    x, t = torch.randn(5, 3, 12, 12), torch.tensor([0, 1, 2, 3, 4])
    torch.testing.assert_close(G.gbp(model, x, t, batch_size=2), G.gbp(model, x, t))


def test_sgbp_with_zero_noise_equals_gbp():
    model = _conv_net(inplace=True)
    x, t = torch.randn(3, 3, 12, 12), torch.tensor([0, 1, 2])
    smooth = G.sgbp(model, x, t, noise_frac=0.0, n_samples=4, batch_size=5)
    torch.testing.assert_close(smooth, G.gbp(model, x, t), rtol=1e-5, atol=1e-7)


def test_noise_sd_is_a_tenth_of_each_images_range():
    x = torch.zeros(2, 3, 4, 4)
    x[0, 0, 0, 0], x[0, 1, 1, 1] = 3.0, -1.0  # range 4
    x[1, 2, 3, 3] = 0.5  # range 0.5
    torch.testing.assert_close(G.noise_sd(x), torch.tensor([0.4, 0.05]))
    torch.testing.assert_close(G.noise_sd(x, rule="squared"), torch.tensor([0.16, 0.0025]))
    # The upstream SmoothGrad's (frac / range)^2: ranges 4 and 0.5 give (0.025)^2 and (0.2)^2.
    torch.testing.assert_close(G.noise_sd(x, rule="inverse-squared"), torch.tensor([0.025**2, 0.2**2]))


def test_noise_sd_on_imagenet_inputs_is_the_one_method_md_quotes():
    # An image spanning black to white, ImageNet-normalised: range (1 - .406)/.225 + .485/.229.
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    img = torch.zeros(1, 3, 2, 2)
    img[..., 0, 0] = 1.0
    x = (img - mean) / std
    assert G.noise_sd(x).item() == pytest.approx(0.476, abs=0.002)  # "about 0.46"
    assert G.noise_sd(x, rule="squared").item() == pytest.approx(0.226, abs=0.002)  # "about 0.23"
    assert G.noise_sd(x, rule="inverse-squared").item() < 1e-3  # almost no noise


def test_sgbp_noise_has_the_stated_sd_and_per_image_seeds():
    x = torch.zeros(2, 3, 16, 16)
    sd = torch.tensor([0.5, 2.0])
    batches = list(G._noisy_batches(x, sd, n_samples=40, batch_size=7, seeds=[11, 12]))
    idx = torch.cat([i for i, _ in batches])
    noise = torch.cat([b for _, b in batches])
    assert [len(i) for i, _ in batches][:-1] == [7] * (len(batches) - 1)
    assert idx.tolist() == [0] * 40 + [1] * 40
    assert noise[:40].std().item() == pytest.approx(0.5, rel=0.03)
    assert noise[40:].std().item() == pytest.approx(2.0, rel=0.03)
    # Image 1's noise depends only on its own seed, not on image 0 or on the batch size.
    alone = torch.cat([b for _, b in G._noisy_batches(x[1:], sd[1:], 40, 3, seeds=[12])])
    torch.testing.assert_close(alone, noise[40:], rtol=0, atol=0)


def test_sgbp_is_seeded_and_independent_of_batch_size():
    model = _conv_net(inplace=True)
    x, t = torch.randn(3, 3, 12, 12), torch.tensor([0, 1, 2])
    a = G.sgbp(model, x, t, n_samples=5, batch_size=4, seed=[1, 2, 3])
    b = G.sgbp(model, x, t, n_samples=5, batch_size=15, seed=[1, 2, 3])
    c = G.sgbp(model, x[2:], t[2:], n_samples=5, batch_size=2, seed=[3])
    torch.testing.assert_close(a, b)
    torch.testing.assert_close(a[2:], c)
    d = G.sgbp(model, x, t, n_samples=5, batch_size=4, seed=[1, 2, 4])
    assert torch.equal(a[:2], d[:2]) and not torch.allclose(a[2], d[2])
    assert not torch.allclose(a, G.gbp(model, x, t))


def test_channels_last_inputs_give_the_same_maps():
    model = _conv_net(inplace=True)
    x, t = torch.randn(2, 3, 12, 12), torch.tensor([0, 1])
    cl = x.contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(G.gbp(model, cl, t), G.gbp(model, x, t))
    torch.testing.assert_close(G.sgbp(model, cl, t, n_samples=3), G.sgbp(model, x, t, n_samples=3))


def test_bad_arguments_are_refused():
    model = _conv_net(inplace=True)
    x, t = torch.randn(2, 3, 12, 12), torch.tensor([0, 1])
    with pytest.raises(ValueError, match="smooth_rule"):
        G.gbp(model, x, t, smooth_rule="softplus")
    with pytest.raises(ValueError, match="targets"):
        G.gbp(model, x, t[:1])
    with pytest.raises(ValueError, match="eval mode"):
        G.gbp(model.train(), x, t)


@pytest.mark.parametrize("rule", ["clean", "study"])
def test_inplace_silu_is_guided_like_out_of_place(rule):
    x, t = _Z.view(1, 5, 1, 1), torch.tensor([0])
    a = TwoLayer(torch.eye(5).tolist(), _W2, nn.SiLU(inplace=True)).eval()
    b = TwoLayer(torch.eye(5).tolist(), _W2, nn.SiLU()).eval()
    assert torch.equal(
        G.guided_gradients(a, x, t, smooth_rule=rule), G.guided_gradients(b, x, t, smooth_rule=rule)
    )
