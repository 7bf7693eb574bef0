"""Cross-validated smoothing (METHOD.md, crossval): random splits of the images into a training
and a test set; sigma is fitted on the training images' mean curve, and the score reported is the
test images' mean correlation at that sigma, beside the training peak. Works on the per-image
table from fit_smoothing (no re-blurring)."""

from __future__ import annotations

import numpy as np

from lib.compare.fit import peak_index
from lib.errors import InputError


def random_splits(
    n_images: int, n_splits: int, n_train: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """(train (n_splits, n_train), test (n_splits, n_images - n_train)) image indices, each row a
    random partition of range(n_images), reproducibly from `seed`."""
    for key, value, low in (("n_splits", n_splits, 1), ("seed", seed, 0), ("n_train", n_train, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise InputError(
                f"params.yaml: `crossval.{key}` must be an integer >= {low}, got {value!r}"
            )
    if n_train >= n_images:
        raise InputError(
            f"params.yaml: `crossval.n_train` ({n_train}) must leave test images out of {n_images}"
        )
    rng = np.random.default_rng(seed)
    order = np.stack([rng.permutation(n_images) for _ in range(n_splits)])
    return np.sort(order[:, :n_train], axis=1), np.sort(order[:, n_train:], axis=1)


def crossvalidate(
    r: np.ndarray, sigmas: np.ndarray, train: np.ndarray, test: np.ndarray
) -> dict[str, np.ndarray]:
    """Train/test scores from the per-image table r (T, K, S, N) over the splits `train` (P, a)
    and `test` (P, b). Returns arrays (T, K, P): `train_r` (training peak), `sigma` (training
    sigma) and `test_r` (test mean r at the training sigma)."""
    n_images = r.shape[-1]
    # Means over each split's images as one matrix product with (P, N) averaging weights.
    train_curves = r @ _weights(train, n_images).T  # (T, K, S, P)
    test_curves = r @ _weights(test, n_images).T
    idx = peak_index(train_curves, axis=2)[:, :, None, :]  # (T, K, 1, P)
    return {
        "train_r": np.take_along_axis(train_curves, idx, axis=2)[:, :, 0],
        "sigma": np.asarray(sigmas)[idx[:, :, 0]],
        "test_r": np.take_along_axis(test_curves, idx, axis=2)[:, :, 0],
    }


def _weights(rows: np.ndarray, n_images: int) -> np.ndarray:
    weights = np.zeros((len(rows), n_images))
    np.put_along_axis(weights, np.asarray(rows), 1.0, axis=1)
    return weights / weights.sum(axis=1, keepdims=True)


def crossval_dataset(curves, n_splits: int, n_train: int, seed: int):
    """Cross-validation of a fit_smoothing Dataset `curves` (with `r`): per-split `train_r`,
    `sigma`, `test_r` (map_type, human_map, split) and their means and sds over splits."""
    import xarray as xr

    train, test = random_splits(curves.sizes["image"], n_splits, n_train, seed)
    dims = ("map_type", "human_map", "sigma", "image")
    res = crossvalidate(curves["r"].transpose(*dims).values, curves["sigma"].values, train, test)
    pair = ("map_type", "human_map")
    ds = xr.Dataset(
        {f"{k}_splits": (pair + ("split",), v) for k, v in res.items()}
        | {f"{k}_mean": (pair, v.mean(axis=-1)) for k, v in res.items()}
        | {
            f"{k}_sd": (
                pair,
                v.std(axis=-1, ddof=1) if n_splits > 1 else np.full(v.shape[:2], np.nan),
            )
            for k, v in res.items()
        },
        coords={
            "map_type": curves["map_type"],
            "human_map": curves["human_map"],
            "split": np.arange(n_splits),
        },
    )
    ds["train"] = (("split", "train_image"), train)
    ds["test"] = (("split", "test_image"), test)
    ds.attrs.update(n_splits=n_splits, n_train=n_train, seed=seed)
    return ds
