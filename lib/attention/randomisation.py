"""Model-parameter randomisation check (Adebayo et al. 2018's sanity check, per method).

A method whose maps barely change when the trained weights are replaced by random ones is not
reading what the network learnt. The number per method is the mean over images of the similarity
(Spearman rank or Pearson correlation) between the trained and the randomised network's map of the
same image, both resized to the analysis grid. Near 1: the method ignores the weights; near 0:
it depends on them.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy.stats import rankdata

from lib.errors import InputError
from lib.maps import pearson_per_image, resize_maps

__all__ = ["MEASURES", "randomisation_similarity", "similarity_per_image"]

MEASURES = ("spearman", "pearson")


def similarity_per_image(a: np.ndarray, b: np.ndarray, measure: str = "spearman") -> np.ndarray:
    """Per-image similarity (N,) of maps a and b (N, H, W); Spearman ranks all pixels first."""
    if measure not in MEASURES:
        raise InputError(f"params.yaml: randomisation.measure must be one of {MEASURES}")
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if measure == "spearman":
        # Average ranks for ties (zero-gradient pixels are common), as scipy.stats.spearmanr.
        a = rankdata(a.reshape(len(a), -1), axis=1).reshape(a.shape)
        b = rankdata(b.reshape(len(b), -1), axis=1).reshape(b.shape)
    return pearson_per_image(a, b)


def randomisation_similarity(
    trained: xr.Dataset, randomised: xr.Dataset, grid: int, measure: str = "spearman"
) -> dict[str, float]:
    """{method: mean per-image similarity} between two attention stores' maps of the same images.

    Methods and images present in both stores are compared; a constant map (NaN similarity) makes
    that method's value NaN, reported as null by JSON writers.
    """
    methods = [m for m in trained["method"].values if m in set(randomised["method"].values)]
    images = [i for i in trained["image"].values if i in set(randomised["image"].values)]
    if not methods or not images:
        raise InputError(
            f"stores {trained.attrs.get('model_id')} and {randomised.attrs.get('model_id')} "
            "share no method or no image"
        )
    out: dict[str, float] = {}
    for method in methods:
        # A dict, not keywords: `method=` is .sel's own argument (the fill method).
        a = trained["maps"].sel({"method": method, "image": images}).values
        b = randomised["maps"].sel({"method": method, "image": images}).values
        r = similarity_per_image(resize_maps(a, grid), resize_maps(b, grid), measure)
        out[str(method)] = float(np.mean(r))
    return out
