"""extract_attention's Dataset (the attention store contract) and the randomisation check."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import xarray as xr
from torch import nn

from lib.attention.extract import ExtractOptions, extract, resolve_device
from lib.attention.models import LoadedModel
from lib.attention.randomisation import similarity_per_image
from lib.errors import InputError
from lib.images import read_images
from lib.store import read_dataset, write_dataset


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def _tiny(seed: int = 0, excluded: tuple[str, ...] = ()) -> LoadedModel:
    torch.manual_seed(seed)
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU6(inplace=True),
        nn.Conv2d(8, 6, 3, padding=1, stride=2), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, 4),
    ).eval()  # fmt: skip
    return LoadedModel(
        id="tiny-R", arch="tiny", weights="R", model=model, input_size=16,
        mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25), class_names=["a", "b", "c", "d"],
        target_layer="3", excluded_methods=excluded,
    )  # fmt: skip


def _images(n: int = 3) -> np.ndarray:
    return np.random.default_rng(1).integers(0, 256, size=(n, 20, 20, 3), dtype=np.uint8)


_OPTS = ExtractOptions(sgbp_samples=3, batch_size=4, cameras_resolutions=(16, 24),
                       score_cam_batch_size=5, extra={"normalisation": "study"})  # fmt: skip
_IDS = ["img1", "img2", "img3"]


def test_extract_writes_the_attention_store_contract():
    loaded = _tiny()
    ds = extract(loaded, _images(), _IDS, _OPTS, progress=False)
    assert ds["maps"].dims == ("method", "image", "y", "x")
    assert ds["maps"].shape == (6, 3, 16, 16) and ds["maps"].dtype == np.float32
    assert (ds["maps"].values >= 0).all()
    assert list(ds["method"].values) == ["GBP", "GBPxIM", "SGBP", "GradCAM", "ScoreCAM", "CAMERAS"]
    assert ds["map_type"].values[0] == "tiny-GBP-R"
    assert ds["map_type"].values[-1] == "tiny-CAMERAS-R"
    assert list(ds["image"].values) == _IDS
    from lib.attention.models import preprocess

    with torch.no_grad():
        probs = loaded.model(preprocess(_images(), loaded)).softmax(1)
    assert ds["top1"].values.tolist() == probs.argmax(1).tolist()
    np.testing.assert_allclose(ds["top1_prob"].values, probs.max(1).values.numpy(), rtol=1e-6)
    assert ds["top1_label"].values.tolist() == [loaded.class_names[i] for i in ds["top1"].values]
    assert ds.attrs["model_id"] == "tiny-R" and ds.attrs["arch"] == "tiny"
    assert ds.attrs["weights"] == "R"
    settings = ds.attrs["settings"]
    assert settings["smooth_rule"] == "clean" and settings["sgbp_samples"] == 3
    assert settings["normalisation"] == "study" and settings["target_layer"] == "3"
    # Each map differs from method to method (they are not copies of one another).
    flat = ds["maps"].values.reshape(6, -1)
    assert len({tuple(np.round(f, 6)) for f in flat}) == 6


def test_extract_is_deterministic_to_the_byte(tmp_path):
    a = extract(_tiny(), _images(), _IDS, _OPTS, progress=False)
    b = extract(_tiny(), _images(), _IDS, _OPTS, progress=False)
    write_dataset(a, tmp_path / "a.zarr")
    write_dataset(b, tmp_path / "b.zarr")
    root_a, root_b = tmp_path / "a.zarr", tmp_path / "b.zarr"
    files = sorted(p.relative_to(root_a) for p in root_a.rglob("*") if p.is_file())
    assert files
    for rel in files:
        assert (root_a / rel).read_bytes() == (root_b / rel).read_bytes(), rel
    back = read_dataset(tmp_path / "a.zarr")
    xr.testing.assert_identical(back["maps"], a["maps"])
    assert back.attrs["settings"]["cameras_resolutions"] == [16, 24]


def test_layout_and_batch_size_do_not_change_the_maps():
    a = extract(_tiny(), _images(), _IDS, _OPTS, progress=False)
    other = ExtractOptions(**{**_OPTS.__dict__, "batch_size": 1, "channels_last": False})
    b = extract(_tiny(), _images(), _IDS, other, progress=False)
    np.testing.assert_allclose(a["maps"].values, b["maps"].values, rtol=1e-4, atol=1e-6)


def test_excluded_and_unknown_methods():
    ds = extract(_tiny(excluded=("CAMERAS",)), _images(), _IDS, _OPTS, progress=False)
    assert "CAMERAS" not in ds["method"].values and len(ds["method"]) == 5
    bad = ExtractOptions(methods=("GBP", "LRP"))
    with pytest.raises(InputError, match="LRP"):
        extract(_tiny(), _images(), _IDS, bad, progress=False)


def test_device_resolution():
    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(InputError, match="CUDA"):
            resolve_device("cuda")


def test_missing_image_is_named():
    with pytest.raises(InputError, match="img999999"):
        read_images(["img999999"])


def test_similarity_measures():
    rng = np.random.default_rng(0)
    a = rng.random((4, 10, 10))
    np.testing.assert_allclose(similarity_per_image(a, a), 1.0)
    # Spearman ignores monotone transforms; Pearson does not.
    np.testing.assert_allclose(similarity_per_image(a, a**4, "spearman"), 1.0)
    assert (similarity_per_image(a, a**4, "pearson") < 0.99).all()
    np.testing.assert_allclose(similarity_per_image(a, -a), -1.0)
    b = rng.random((4, 10, 10))
    assert abs(similarity_per_image(a, b).mean()) < 0.2
    with pytest.raises(InputError):
        similarity_per_image(a, b, "kendall")


def test_study_code_noise_rule_follows_the_architecture():
    from lib.attention.extract import sgbp_noise_rule

    assert sgbp_noise_rule("paper", "alexnet") == "paper"
    assert sgbp_noise_rule("study-code", "alexnet") == "inverse-squared"
    assert sgbp_noise_rule("study-code", "vgg16bn") == "inverse-squared"
    assert sgbp_noise_rule("study-code", "effnetlite0") == "squared"
    with pytest.raises(InputError, match="noise_rule"):
        sgbp_noise_rule("bogus", "alexnet")


def test_provenance_counts_top1_changes_and_hashes_weights(tmp_path):
    import hashlib

    from lib.attention.extract import top1
    from lib.attention.models import preprocess
    from lib.attention.provenance import sha256, top1_changes

    loaded, images = _tiny(), _images(12)
    own, _ = top1(loaded.model, preprocess(images, loaded), 4)
    assert top1_changes(loaded, images, own, loaded.mean, loaded.std) == 0
    # Shifting the input by a large constant changes the prediction of some images but not all.
    mean, std = (0.0, 0.0, 0.0), (0.05, 0.05, 0.05)
    shifted = LoadedModel(**{**loaded.__dict__, "mean": mean, "std": std})
    other, _ = top1(loaded.model, preprocess(images, shifted), 4)
    assert top1_changes(loaded, images, own, mean, std) == int((other != own).sum())
    path = tmp_path / "w.pt"
    path.write_bytes(b"weights")
    assert sha256(path) == hashlib.sha256(b"weights").hexdigest() and sha256(None) == ""
