"""The Human PC: first principal component of the six z-scored human measures (METHOD.md, human_pc).

Each measure is z-scored over its concatenation across all images; PCA is on the resulting
(images * pixels) x measures matrix. The Human PC map is the z-scored maps weighted by the first
component's loadings, with the fixation measures' loadings down-weighted so three highly
inter-correlated fixation maps do not dominate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lib.errors import InputError
from lib.maps import pearson_per_image


@dataclass(frozen=True)
class HumanPCFit:
    measures: tuple[str, ...]
    mean: np.ndarray  # per measure, over all pixels of all images
    std: np.ndarray
    explained_variance: np.ndarray  # ratios, largest first
    loadings: np.ndarray  # first component, unit norm, positive orientation
    weights: np.ndarray  # loadings with the fixation down-weighting applied

    def project(self, maps: np.ndarray) -> np.ndarray:
        """Human PC maps (image, y, x) from measure maps (measure, image, y, x) with this fit's
        normalisation and weights (fixed loadings: what the bootstrap uses)."""
        z = (maps - self.mean[:, None, None, None]) / self.std[:, None, None, None]
        return np.tensordot(self.weights, z, axes=(0, 0))


def fit_human_pc(
    maps: np.ndarray,
    measures: list[str] | tuple[str, ...],
    downweighted: list[str] | tuple[str, ...],
    downweight: float,
) -> HumanPCFit:
    """PCA of measure maps (measure, image, y, x); the loadings of measures in `downweighted`
    are multiplied by `downweight` (sqrt(1/3) in the study) to form the Human PC weights."""
    maps = np.asarray(maps, dtype=np.float64)
    if maps.ndim != 4 or maps.shape[0] != len(measures):
        raise InputError(f"human_pc: expected maps (measure={len(measures)}, image, y, x), got {maps.shape}")
    unknown = set(downweighted) - set(measures)
    if unknown:
        raise InputError(f"params.yaml: human_pc.fixation_measures {sorted(unknown)} are not measures")
    columns = maps.reshape(len(measures), -1)
    mean = columns.mean(axis=1)
    std = columns.std(axis=1)
    if not np.all(std > 0):
        raise InputError("human_pc: a measure has no variance across images")
    z = (columns - mean[:, None]) / std[:, None]
    # PCA of z-scored columns = eigendecomposition of their correlation matrix.
    corr = (z @ z.T) / z.shape[1]
    eigvals, eigvecs = np.linalg.eigh(corr)
    order = np.argsort(eigvals)[::-1]
    eigvals, eigvecs = eigvals[order], eigvecs[:, order]
    first = eigvecs[:, 0]
    if first.sum() < 0:
        first = -first
    weights = first * np.array([downweight if m in downweighted else 1.0 for m in measures])
    return HumanPCFit(
        measures=tuple(measures),
        mean=mean,
        std=std,
        explained_variance=eigvals / eigvals.sum(),
        loadings=first,
        weights=weights,
    )


def mean_correlations(maps: np.ndarray) -> np.ndarray:
    """Matrix (k, k) of the mean over images of per-image Pearson r between maps (k, image, y, x)."""
    r = pearson_per_image(maps[:, None], maps[None, :])  # (k, k, image)
    return r.mean(axis=-1)


def summarise(fit: HumanPCFit, maps: np.ndarray, pc: np.ndarray, published: np.ndarray) -> dict:
    """The human_pc metrics: explained variance, loadings, PC-measure and measure-measure mean
    per-image correlations, and agreement with the study's published Human PC maps."""

    def by_measure(values: np.ndarray) -> dict[str, float]:
        return {m: round(float(v), 6) for m, v in zip(fit.measures, values, strict=True)}

    pc_r = pearson_per_image(pc[None], maps).mean(axis=-1)
    measure_r = mean_correlations(maps)
    published_r = pearson_per_image(pc, published)
    return {
        "explained_variance": [round(float(v), 6) for v in fit.explained_variance],
        "loadings": by_measure(fit.loadings),
        "pc_measure_r": by_measure(pc_r),
        "measure_r": {m: by_measure(row) for m, row in zip(fit.measures, measure_r, strict=True)},
        "published_pc_r": {
            "mean": round(float(published_r.mean()), 6),
            "min": round(float(published_r.min()), 6),
        },
    }


def pc_dataset(fit: HumanPCFit, pc: np.ndarray, published: np.ndarray, image_ids: list[str]):
    """The human_pc store: the PC maps, the published maps beside them, and the fit."""
    import xarray as xr

    return xr.Dataset(
        {
            "pc": (("image", "y", "x"), pc),
            "published_pc": (("image", "y", "x"), published),
            "published_r": (("image",), pearson_per_image(pc, published)),
            "loadings": (("measure",), fit.loadings),
            "weights": (("measure",), fit.weights),
            "mean": (("measure",), fit.mean),
            "std": (("measure",), fit.std),
            "explained_variance": (("component",), fit.explained_variance),
        },
        coords={"image": image_ids, "measure": list(fit.measures),
                "component": np.arange(1, len(fit.measures) + 1)},
    )


def load_human_targets(maps_path, pc_path, pc_id: str = "pc"):
    """Every human map a comparison targets, as a DataArray (human_map, image, y, x): the six
    measures followed by the Human PC under `pc_id`."""
    import xarray as xr

    from lib.store import read_dataset

    maps = read_dataset(maps_path)["maps"].rename(measure="human_map")
    pc = read_dataset(pc_path)["pc"].expand_dims(human_map=[pc_id])
    return xr.concat([maps, pc], dim="human_map")
