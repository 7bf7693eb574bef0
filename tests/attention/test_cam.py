"""Tests for lib.attention.cam: Grad-CAM, Score-CAM and CAMERAS on toy networks whose answers are
worked out by hand, against a plain one-at-a-time Score-CAM loop, and on torchvision networks."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from lib.attention.cam import _cameras, _score_cam_weights, cameras, grad_cam, score_cam


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


class GapNet(nn.Module):
    """x -> conv (the target layer) -> global average pool -> linear: CAM's own network."""

    def __init__(self, conv: nn.Conv2d, n_classes: int):
        super().__init__()
        self.conv = conv
        self.fc = nn.Linear(conv.out_channels, n_classes)

    def forward(self, x):
        return self.fc(self.conv(x).mean(dim=(2, 3)))


def _identity_gapnet(fc_weight, fc_bias) -> GapNet:
    """A 1x1 conv that copies input channels 0 and 1 (channel 2 ignored), then GAP and linear."""
    net = GapNet(nn.Conv2d(3, 2, 1), n_classes=len(fc_weight))
    with torch.no_grad():
        net.conv.weight.zero_()
        net.conv.weight[0, 0] = 1.0
        net.conv.weight[1, 1] = 1.0
        net.conv.bias.zero_()
        net.fc.weight.copy_(torch.tensor(fc_weight))
        net.fc.bias.copy_(torch.tensor(fc_bias))
    return net.eval()


def _small_cnn() -> nn.Sequential:
    """Conv-BN-ReLU twice (the second conv with stride 2 is the target, index 3), then a head."""
    net = nn.Sequential(
        nn.Conv2d(3, 6, 3, padding=1), nn.BatchNorm2d(6), nn.ReLU(inplace=True),
        nn.Conv2d(6, 5, 3, stride=2, padding=1), nn.ReLU(inplace=True),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(5, 4),
    )
    with torch.no_grad():  # non-trivial batch-norm statistics, so a train/eval slip would show
        net[1].running_mean.uniform_(-0.5, 0.5)
        net[1].running_var.uniform_(0.5, 2.0)
    return net.eval()


def _hooks(model: nn.Module) -> int:
    names = ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks")
    local = sum(len(getattr(m, n)) for m in model.modules() for n in names)
    glob = nn.modules.module
    return local + len(glob._global_forward_hooks) + len(glob._global_forward_pre_hooks) + len(
        glob._global_backward_hooks
    )


def _methods(layer, resolutions=(16, 24)):
    return [
        lambda m, x, t: grad_cam(m, x, t, layer=layer),
        lambda m, x, t: score_cam(m, x, t, layer=layer, batch_size=3),
        lambda m, x, t: cameras(m, x, t, layer=layer, resolutions=resolutions),
    ]


# --- Grad-CAM ----------------------------------------------------------------------------------


def test_grad_cam_by_hand_on_gap_net():
    # Activations are input channels 0 and 1; the gradient of logit c at every position is
    # W[c, k] / (H * W); so Grad-CAM = ReLU(W[c,0] x0 + W[c,1] x1) / (H * W), the class's CAM.
    net = _identity_gapnet([[1.0, -2.0], [0.5, 3.0]], [0.0, 0.0])
    x = torch.randn(2, 3, 8, 8)
    maps = grad_cam(net, x, torch.tensor([0, 1]), layer=net.conv)
    expected = torch.stack([
        torch.relu(x[0, 0] - 2.0 * x[0, 1]) / 64,
        torch.relu(0.5 * x[1, 0] + 3.0 * x[1, 1]) / 64,
    ])
    assert maps.shape == (2, 8, 8)
    torch.testing.assert_close(maps, expected, rtol=1e-5, atol=1e-7)
    assert (maps == 0).any() and (maps > 0).any()  # the ReLU did cut something here


def test_grad_cam_upsamples_the_relu_map_bilinearly():
    # Stride 2: the 4x4 class-weighted CAM, ReLU'd, then bilinear to 8x8.
    conv = nn.Conv2d(3, 2, 1, stride=2)
    net = GapNet(conv, 2).eval()
    x = torch.randn(1, 3, 8, 8)
    with torch.no_grad():
        a = conv(x)
        cam = torch.relu(torch.einsum("k,nkhw->nhw", net.fc.weight[1] / 16, a))
    expected = F.interpolate(cam[:, None], size=(8, 8), mode="bilinear", align_corners=False)[:, 0]
    torch.testing.assert_close(grad_cam(net, x, torch.tensor([1]), layer="conv"), expected)


# --- Score-CAM ---------------------------------------------------------------------------------


def _score_cam_reference(model, image, target, layer):
    """One image, one masked input at a time, as the original Score-CAM code loops."""
    acts = []
    h = layer.register_forward_hook(lambda m, i, o: acts.append(o.detach().clone()))
    with torch.no_grad():
        model(image[None])
    h.remove()
    a = acts[0][0]
    total = torch.zeros(image.shape[-2:])
    with torch.no_grad():
        for k in range(a.shape[0]):
            if a[k].max() == a[k].min():
                continue
            up = F.interpolate(a[k][None, None], size=image.shape[-2:], mode="bilinear",
                               align_corners=False)[0, 0]
            mask = (up - up.min()) / (up.max() - up.min())
            p = torch.softmax(model((image * mask)[None]), dim=1)[0, target]
            total += p * up
    return torch.relu(total)


def test_score_cam_matches_one_at_a_time_loop():
    net = _small_cnn()
    x = torch.randn(3, 3, 12, 12)
    t = torch.tensor([0, 3, 2])
    expected = torch.stack([_score_cam_reference(net, x[n], t[n], net[3]) for n in range(3)])
    assert expected.abs().max() > 0
    for bs in (1, 4, 64):  # 64 > the 15 masked inputs: one pass for all images
        got = score_cam(net, x, t, layer=net[3], batch_size=bs)
        torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-6)


def test_score_cam_constant_channels_get_weight_zero_without_nan():
    # Channel 0 is constant 1 (zero weights, bias 1), channel 1 is all zeros, channel 2 varies.
    net = GapNet(nn.Conv2d(3, 3, 1), 3)
    with torch.no_grad():
        net.conv.weight[:2] = 0.0
        net.conv.bias[0], net.conv.bias[1] = 1.0, 0.0
    net.eval()
    x = torch.randn(2, 3, 6, 6)
    t = torch.tensor([2, 0])
    maps = score_cam(net, x, t, layer=net.conv)
    assert torch.isfinite(maps).all()
    with torch.no_grad():
        acts = net.conv(x)
        w = _score_cam_weights(net, x, t, acts, batch_size=64)
    assert (w[:, :2] == 0).all() and (w[:, 2] > 0).all()
    # The map then comes from channel 2 alone.
    torch.testing.assert_close(maps, torch.relu(w[:, 2, None, None] * acts[:, 2]))
    torch.testing.assert_close(maps, torch.stack(
        [_score_cam_reference(net, x[n], t[n], net.conv) for n in range(2)]))


def test_score_cam_constant_channel_stays_out_despite_upsampling_rounding():
    # Bilinear 3 -> 13 px of a constant 0.3 plane varies in the last bit; min-max normalising that
    # noise would make a junk mask, so constancy is judged before upsampling.
    net = GapNet(nn.Conv2d(3, 2, 1, stride=5), 2)
    with torch.no_grad():
        net.conv.weight[0] = 0.0
        net.conv.bias[0] = 0.3
    net.eval()
    x = torch.randn(1, 3, 13, 13)
    with torch.no_grad():
        acts = net.conv(x)
        up = F.interpolate(acts[:, :1], size=(13, 13), mode="bilinear", align_corners=False)
    assert acts.shape[-1] == 3 and up.max() > up.min()  # the rounding this test is about
    w = _score_cam_weights(net, x, torch.tensor([1]), acts, batch_size=64)
    assert w[0, 0] == 0 and w[0, 1] > 0


def test_score_cam_weights_are_target_class_probabilities():
    # Activations = input channels 0 and 1 at full size; the weight of channel k for target c is
    # softmax(W @ mean(x * m_k) + b)[c], m_k = min-max normalised x_k; worked out here directly.
    wt, b = [[1.0, -2.0], [0.5, 3.0]], [0.2, -0.1]
    net = _identity_gapnet(wt, b)
    x = torch.randn(1, 3, 5, 5)
    expected = torch.zeros(2, 2)
    for k in range(2):
        m = (x[0, k] - x[0, k].min()) / (x[0, k].max() - x[0, k].min())
        pooled = (x[0, :2] * m).mean(dim=(1, 2))
        z = torch.tensor(wt) @ pooled + torch.tensor(b)
        expected[:, k] = torch.exp(z) / torch.exp(z).sum()  # rows: target class
    with torch.no_grad():
        acts = net.conv(x)
        w = torch.cat([_score_cam_weights(net, x, torch.tensor([c]), acts, 64) for c in (0, 1)])
    torch.testing.assert_close(w, expected)
    torch.testing.assert_close(w.sum(0), torch.ones(2))  # two classes: the probabilities add to 1
    maps = score_cam(net, x, torch.tensor([1]), layer=net.conv)
    by_hand = torch.relu(expected[1, 0] * x[0, 0] + expected[1, 1] * x[0, 1])
    torch.testing.assert_close(maps[0], by_hand)


# --- CAMERAS -----------------------------------------------------------------------------------


class SizeFlipNet(nn.Module):
    """GapNet whose class 1 wins by a wide margin at inputs of 48 px or more, for images whose
    channel 2 (unused by the conv) is positive; below 48 px, or for other images, class 0 wins."""

    def __init__(self):
        super().__init__()
        self.net = _identity_gapnet([[1.0, -2.0], [0.5, 3.0]], [0.0, 0.0])

    def forward(self, x):
        flag = (x[:, 2].mean(dim=(1, 2)) > 0).float() * float(x.shape[-1] >= 48)
        return self.net(x) + 100.0 * torch.stack([1.0 - 2.0 * flag, 2.0 * flag - 1.0], dim=1)


def test_cameras_drops_scales_whose_class_flips():
    net = SizeFlipNet().eval()
    x = torch.randn(2, 3, 20, 20)
    x[0, 2], x[1, 2] = 1.0, -1.0  # image 0 flips to class 1 at 48 px, image 1 never does
    resolutions = (16, 32, 48)
    t = torch.tensor([1, 1])
    maps, kept = _cameras(net, x, t, layer=net.net.conv, resolutions=resolutions)
    assert kept.tolist() == [[True, True, False], [True, True, True]]

    # By hand: activations at r px are x resampled to r; the gradient of logit t there is the
    # constant W[t, k] / r^2 (the flip bias does not depend on the activations).
    w = torch.tensor([0.5, 3.0])

    def expected(n, sizes):
        up = [F.interpolate(F.interpolate(x[n : n + 1, :2], size=(r, r), mode="bilinear",
                                          align_corners=False),
                            size=(20, 20), mode="bilinear", align_corners=False)[0]
              for r in sizes]
        a = torch.stack(up).mean(0)
        g = w[:, None, None] * torch.tensor([1.0 / r**2 for r in sizes]).mean()
        return torch.relu((a * g).sum(0))

    torch.testing.assert_close(maps[0], expected(0, (16, 32)))
    torch.testing.assert_close(maps[1], expected(1, (16, 32, 48)))
    # The dropped scale would have changed image 0's map.
    assert not torch.allclose(expected(0, (16, 32)), expected(0, (16, 32, 48)), rtol=1e-3)
    # Per-image dropping: the batch gives the same maps as each image alone.
    for n in range(2):
        one = slice(n, n + 1)
        alone = cameras(net, x[one], t[one], layer=net.net.conv, resolutions=resolutions)
        torch.testing.assert_close(alone[0], maps[n])


def test_cameras_at_input_size_is_elementwise_activation_times_gradient():
    net = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 3, 3, padding=1),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(3, 5),
    ).eval()
    x = torch.randn(2, 3, 10, 10)
    t = torch.tensor([4, 1])
    a = net[0](x)
    out = net[1:](a)
    (g,) = torch.autograd.grad(out.gather(1, t[:, None]).sum(), a)
    expected = torch.relu((a * g).sum(1)).detach()
    got = cameras(net, x, t, layer=net[0], resolutions=(10,))
    torch.testing.assert_close(got, expected)
    # Elementwise, not pooled: not Grad-CAM's map.
    assert not torch.allclose(got, grad_cam(net, x, t, layer=net[0]))


# --- the contract: no trace on the model, shapes, non-negativity ------------------------------


def test_no_trace_left_on_the_model():
    net = _small_cnn()
    net[0].weight.requires_grad_(False)  # a mixed state, to see it restored exactly
    before = {k: v.clone() for k, v in net.state_dict().items()}
    flags = [p.requires_grad for p in net.parameters()]
    x = torch.randn(2, 3, 12, 12)
    for method in _methods(net[3], resolutions=(12, 16)):
        method(net, x, torch.tensor([1, 2]))
        assert _hooks(net) == 0
        assert [p.requires_grad for p in net.parameters()] == flags
        assert all(p.grad is None for p in net.parameters())
        assert not any(m.training for m in net.modules())
        assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    assert not x.requires_grad


class Boom(nn.Module):
    def forward(self, x):
        raise RuntimeError("boom")


def test_no_hooks_left_after_an_exception():
    net = nn.Sequential(nn.Conv2d(3, 2, 3), Boom()).eval()
    for method in _methods(net[0]):
        with pytest.raises(RuntimeError, match="boom"):
            method(net, torch.randn(1, 3, 8, 8), torch.tensor([0]))
        assert _hooks(net) == 0


def test_bad_inputs_are_refused():
    net = _small_cnn()
    x = torch.randn(2, 3, 12, 12)
    with pytest.raises(ValueError, match="targets"):
        score_cam(net, x, torch.tensor([1]), layer=net[3])
    with pytest.raises(ValueError, match="not a module of the model"):
        grad_cam(net, x, torch.tensor([1, 2]), layer=nn.Conv2d(3, 3, 1))
    net.train()
    with pytest.raises(ValueError, match="eval mode"):
        cameras(net, x, torch.tensor([1, 2]), layer=net[3], resolutions=(12,))
    assert all(m.training for m in net.modules())  # refused without switching anything


# Score-CAM on resnet18's layer4 is 512 masked passes: seconds on an idle 2-core CPU, a minute
# when the machine is shared, so it runs only with the slow tests.
@pytest.mark.parametrize(
    ("arch", "layer", "n", "methods"),
    [
        ("alexnet", "features.11", 2, ("grad_cam", "cameras")),
        ("alexnet", "features.11", 1, ("score_cam",)),
        ("resnet18", "layer4", 1, ("grad_cam", "cameras")),
        pytest.param("resnet18", "layer4", 1, ("score_cam",), marks=pytest.mark.slow),
    ],
)
def test_torchvision_random_weights_small_input(arch, layer, n, methods):
    net = getattr(torchvision.models, arch)(weights=None).eval()
    x = torch.randn(n, 3, 64, 64)
    t = torch.randint(0, 1000, (n,))
    run = {
        "grad_cam": lambda: grad_cam(net, x, t, layer=layer),
        "score_cam": lambda: score_cam(net, x, t, layer=layer, batch_size=64),
        "cameras": lambda: cameras(net, x, t, layer=layer, resolutions=(64, 72)),
    }
    for name in methods:
        maps = run[name]()
        assert maps.shape == (n, 64, 64) and maps.dtype == torch.float32, name
        assert torch.isfinite(maps).all() and (maps >= 0).all(), name
        assert _hooks(net) == 0, name
