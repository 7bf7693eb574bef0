"""Cascading randomisation: known answers by construction."""

import numpy as np
import pytest
import torch
import xarray as xr
from torch import nn

from lib.attention.extract import ExtractOptions, extract
from lib.attention.models import LoadedModel, model_blocks
from lib.attention.randomisation import (
    cascade,
    cascade_cuts,
    headline,
    randomise_top,
    similarity_per_image,
    ssim_per_image,
)
from lib.errors import InputError

IDS = ["a", "b", "c", "d"]
OPTS = ExtractOptions(methods=("GBP", "GBPxIM"), batch_size=4, extra={"normalisation": "study"})


class FixedTemplate(nn.Module):
    """logits = w * sum(x * template) + b: the image gradient is w_c * template, so after the
    absolute value and the channel sum every map is the template up to scale, whatever w is."""

    def __init__(self, n_classes=3):
        super().__init__()
        self.register_buffer("template", torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(1)))
        self.head = nn.Linear(1, n_classes)
        self.feat = nn.Identity()

    def forward(self, x):
        return self.head((self.feat(x) * self.template).sum(dim=(1, 2, 3))[:, None])


def _relu_net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 3))


def _loaded(model, model_id="toy-I", layer="feat"):
    return LoadedModel(id=model_id, arch="toy", weights="I", model=model.eval().requires_grad_(False),
                       input_size=16, mean=(0.5,) * 3, std=(0.25,) * 3, class_names=["x", "y", "z"],
                       target_layer=layer)


def _run(loaded, blocks):
    images = np.random.default_rng(2).integers(0, 256, size=(4, 16, 16, 3), dtype=np.uint8)
    trained = extract(loaded, images, IDS, OPTS, progress=False)
    rng = np.random.default_rng(3)
    human = xr.DataArray(rng.random((2, 4, 8, 8)), dims=("human_map", "image", "y", "x"),
                         coords={"human_map": ["patch", "pc"], "image": IDS})
    sigmas = {t: {"patch": 1.0, "pc": 2.0} for t in trained["map_type"].values}
    return cascade(loaded, trained, images, IDS, human, sigmas, ["GBP", "GBPxIM"], OPTS, steps=3, seed=0,
                   grid=8, sample_images=2, blocks=blocks)


def test_a_map_that_ignores_the_weights_stays_identical_along_the_cascade():
    ds = _run(_loaded(FixedTemplate()), blocks=[("head",)])
    gbp = ds["spearman"].sel({"method": "GBP"})
    np.testing.assert_allclose(gbp.values, 1.0, atol=1e-12)
    np.testing.assert_allclose(ds["ssim"].sel({"method": "GBP"}).values, 1.0, atol=1e-9)
    # Same maps, same alignment: the gap is kept in full, and the method fails the check.
    summary = headline(ds, "pc", pass_below=0.5)["GBP"]
    assert summary["gap_kept"] == pytest.approx(1.0) and not summary["passes"]


def test_guided_backprop_on_a_relu_network_changes_under_randomisation():
    net = _relu_net()
    ds = _run(_loaded(net, layer="2"), blocks=[("6",), ("2",), ("0",)])
    assert list(ds["step"].values) == [0, 1, 2, 3]
    sim = ds["spearman"].sel({"method": "GBP"}).mean("image").values
    assert sim[0] == pytest.approx(1.0)
    assert sim[-1] < 0.99
    assert ds["sample_maps"].shape == (2, 4, 2, 8, 8)
    # The trained network itself is not modified by the cascade.
    torch.testing.assert_close(net[0].weight, _relu_net()[0].weight)


def test_randomise_top_touches_only_the_top_blocks_and_is_seeded():
    net = _relu_net()
    out = randomise_top(net, [("6",), ("2",), ("0",)], 1, seed=0)
    assert not torch.equal(out[6].weight, net[6].weight)
    assert torch.equal(out[2].weight, net[2].weight) and torch.equal(out[0].weight, net[0].weight)
    again = randomise_top(net, [("6",), ("2",), ("0",)], 2, seed=0)
    assert torch.equal(again[6].weight, out[6].weight)  # same block, same random weights


def test_cuts_and_similarities():
    assert cascade_cuts(10, 3) == [1, 6, 10] and cascade_cuts(2, 5) == [1, 2]
    a = np.random.default_rng(0).random((3, 8, 8))
    np.testing.assert_allclose(similarity_per_image(a, 3 * a + 1), 1.0)
    np.testing.assert_allclose(ssim_per_image(a, 3 * a + 1), 1.0)
    with pytest.raises(InputError):
        cascade_cuts(5, 0)


def test_missing_blocks_and_methods_are_clear_errors():
    assert model_blocks("effnetlite0-I")[0] == ("classifier",)
    with pytest.raises(InputError, match="blocks="):
        model_blocks("resnet50-I")
    loaded = _loaded(FixedTemplate())
    images = np.zeros((4, 16, 16, 3), dtype=np.uint8)
    trained = extract(loaded, images, IDS, OPTS, progress=False)
    with pytest.raises(InputError, match="randomisation.methods"):
        cascade(loaded, trained, images, IDS, None, {}, ["GradCAM"], OPTS, 3, 0, 8, blocks=[("head",)])
