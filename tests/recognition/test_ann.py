"""recognition_ann: inverse rank, masked-image inference with toy models, mask sources."""

import numpy as np
import pandas as pd
import pytest
import torch
import xarray as xr

from lib.compare.blur import blur_maps
from lib.errors import InputError
from lib.maps import resize_maps
from lib.recognition.ann import (
    inverse_rank,
    mask_sources,
    recognise,
    select_ann_mask_types,
    summarise,
    trained_models,
)
from lib.recognition.masks import ann_mask, area_resize


def test_inverse_rank_is_one_for_the_top_class_and_falls_with_rank():
    logits = torch.tensor([[5.0, 4.0, 3.0, 2.0, 1.0]] * 5)
    rank, inv = inverse_rank(logits, [0, 1, 2, 3, 4])
    np.testing.assert_array_equal(rank, [0, 1, 2, 3, 4])
    np.testing.assert_allclose(inv, 5 / (np.arange(5) + 5))
    assert inv[0] == 1 and np.all(np.diff(inv) < 0)


def test_inverse_rank_ties_count_for_the_reference():
    _, inv = inverse_rank(np.array([[1.0, 1.0, 0.0]]), [1])
    assert inv[0] == 1


def test_inverse_rank_shape_mismatch_is_an_error():
    with pytest.raises(InputError, match="do not match"):
        inverse_rank(np.zeros((2, 3)), [0])


def test_trained_models_drop_random_weights():
    assert trained_models(["effnetlite0-I", "effnetlite0-R", "alexnet-R", "alexnet-P"]) == [
        "effnetlite0-I", "alexnet-P"]
    with pytest.raises(InputError, match="role"):
        trained_models(["effnetlite0"])


def _toy_model(n_classes=10, seed=0):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(4), torch.nn.Flatten(),
                                torch.nn.Linear(48, n_classes)).eval()
    prep = lambda x: torch.from_numpy(x).permute(0, 3, 1, 2).float() / 255  # noqa: E731
    return model, prep


def test_recognise_unchanged_images_score_one_and_masks_change_ranks(rng):
    model, prep = _toy_model()
    ids = [f"i{k}" for k in range(4)]
    images = rng.integers(0, 256, (4, 16, 16, 3), dtype=np.uint8)
    ones = np.ones((4, 16, 16))
    half = np.zeros((4, 16, 16))
    half[:, :8] = 1.0
    half[2, :] = np.linspace(0, 1, 16)[:, None]  # image 2's mask differs from the others
    table = recognise(model, prep, images, {("human", "ones"): ones, ("human", "half"): half},
                      ids, batch_size=5)
    assert len(table) == 2 * 16
    assert (table.loc[table["mask_type"] == "ones", "inverse_rank"] == 1).all()
    # Recompute one incorrect cell by hand: image 1 under image 2's mask.
    row = table[(table["mask_type"] == "half") & (table["image"] == "i1")
                & (table["mask_image"] == "i2")].iloc[0]
    with torch.no_grad():
        ref = model(prep(images[1:2])).argmax(1)
        masked = np.clip(np.rint(half[2][..., None] * images[1]), 0, 255).astype(np.uint8)
        logits = model(prep(masked[None]))
    rank = int((logits[0] > logits[0, ref]).sum())
    assert row["rank"] == rank and row["inverse_rank"] == pytest.approx(10 / (rank + 10))
    assert row["condition"] == "incorrect"
    assert set(table.loc[table["image"] == table["mask_image"], "condition"]) == {"correct"}


def test_recognise_black_images_lose_the_prediction(rng):
    model, prep = _toy_model()
    ids = [f"i{k}" for k in range(6)]
    images = rng.integers(0, 256, (6, 8, 8, 3), dtype=np.uint8)
    table = recognise(model, prep, images, {("human", "black"): np.zeros((6, 8, 8))}, ids)
    with torch.no_grad():
        black = model(prep(np.zeros((1, 8, 8, 3), np.uint8)))[0]
        ref = model(prep(images)).argmax(1)
    expected = [(black > black[r]).sum().item() for r in ref]
    got = table.groupby("image", sort=False)["rank"].first().to_numpy()
    np.testing.assert_array_equal(got, expected)


def test_recognise_is_independent_of_batch_size(rng):
    model, prep = _toy_model()
    ids = [f"i{k}" for k in range(5)]
    images = rng.integers(0, 256, (5, 8, 8, 3), dtype=np.uint8)
    masks = {("human", "m"): ann_mask(rng.random((5, 8, 8)))}
    a = recognise(model, prep, images, masks, ids, batch_size=3)
    b = recognise(model, prep, images, masks, ids, batch_size=25)
    pd.testing.assert_frame_equal(a, b)


def test_select_ann_mask_types_best_and_worst():
    fit = {"a-GBP-I": {"pc": {"r": 0.3, "sigma": 2}}, "a-GradCAM-I": {"pc": {"r": 0.5, "sigma": 1}},
           "a-GBP-R": {"pc": {"r": -0.1, "sigma": 9}}}
    assert select_ann_mask_types(fit, list(fit), "pc") == {"ann-best": "a-GradCAM-I",
                                                           "ann-worst": "a-GBP-R"}
    assert select_ann_mask_types(fit, ["a-GBP-I"], "pc") == {"ann-best": "a-GBP-I"}
    with pytest.raises(InputError, match="no peak r for map type 'b-GBP-I'"):
        select_ann_mask_types(fit, ["b-GBP-I"], "pc")


def test_mask_sources_human_and_ann_baselines(rng):
    ids = ["x1", "x2", "x3"]
    human = xr.DataArray(rng.random((2, 3, 10, 10)), dims=("human_map", "image", "y", "x"),
                         coords={"human_map": ["patch", "pc"], "image": ["x3", "x2", "x1"]})
    def store(map_types):
        return xr.Dataset({"maps": (("method", "image", "y", "x"),
                                    rng.random((len(map_types), 3, 16, 16)))},
                          coords={"map_type": ("method", map_types), "image": ids})
    stores = {"m-I": store(["m-GBP-I", "m-GradCAM-I"]), "m-R": store(["m-GBP-R"])}
    fit = {"m-GBP-I": {"pc": {"r": 0.4, "sigma": 1.0}},
           "m-GradCAM-I": {"pc": {"r": 0.2, "sigma": 2.0}},
           "m-GBP-R": {"pc": {"r": 0.6, "sigma": 3.0}},
           "gbvs": {"pc": {"r": 0.9, "sigma": 1.0}}}  # a baseline: not in any ANN store
    masks = mask_sources(human, stores, fit, ids, grid=10, size=20, target="pc")
    # The random-weight m-GBP-R fits best but is a control: ann-best is the best trained type.
    assert list(masks) == [("human", "patch"), ("human", "pc"), ("ann-best", "m-GBP-I"),
                           ("ann-worst", "m-GradCAM-I")]
    # Human masks follow the requested image order, not the store's.
    np.testing.assert_allclose(
        masks[("human", "pc")][0], ann_mask(area_resize(human.sel(human_map="pc", image="x1"),
                                                        20)))
    raw = stores["m-I"]["maps"].values[1]
    expected = ann_mask(area_resize(blur_maps(resize_maps(raw, 10), 2.0), 20))
    np.testing.assert_allclose(masks[("ann-worst", "m-GradCAM-I")], expected)
    for m in masks.values():
        assert m.shape == (3, 20, 20) and m.min() == 0 and np.allclose(m.max(axis=(1, 2)), 1)


def test_summarise_means_per_mask_type_and_condition():
    table = pd.DataFrame({
        "mask_type": ["pc"] * 4 + ["patch"] * 4,
        "condition": ["correct", "incorrect", "incorrect", "correct"] * 2,
        "inverse_rank": [1.0, 0.5, 0.7, 0.8, 0.9, 0.6, 0.6, 0.9],
    })
    assert summarise(table) == {"pc": {"correct": 0.9, "incorrect": 0.6},
                                "patch": {"correct": 0.9, "incorrect": 0.6}}


def test_recognise_fast_paths_give_the_reference_paths_ranks(rng):
    """Folding batch norms (and compiling) changes logits by float noise only: on a conv/BN
    network the ranks match the eager path's exactly."""
    torch.manual_seed(3)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 6, 3, padding=1), torch.nn.BatchNorm2d(6), torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(2), torch.nn.Flatten(), torch.nn.Linear(24, 50)).eval()
    bn = model[1]
    bn.running_mean.uniform_(-1, 1)
    bn.running_var.uniform_(0.5, 2)
    prep = lambda x: torch.from_numpy(x).permute(0, 3, 1, 2).float() / 255  # noqa: E731
    ids = [f"i{k}" for k in range(5)]
    images = rng.integers(0, 256, (5, 12, 12, 3), dtype=np.uint8)
    masks = {("human", "m"): ann_mask(rng.random((5, 12, 12)))}
    eager = recognise(model, prep, images, masks, ids, batch_size=4, forward="eager")
    for mode in ("folded", "compiled"):
        fast = recognise(model, prep, images, masks, ids, batch_size=4, forward=mode)
        pd.testing.assert_frame_equal(fast, eager)
    with pytest.raises(InputError, match="recognition_ann.forward"):
        recognise(model, prep, images, masks, ids, forward="fast")
