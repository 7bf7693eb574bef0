import json

import numpy as np
import pytest

from lib.errors import InputError
from lib.human_maps import load_published_measure
from lib.human_pc import fit_human_pc, summarise
from lib.maps import pearson_per_image
from lib.params import load_params
from lib.paths import HUMAN_MAPS, METRICS, RAW_HUMAN_MAPS
from lib.store import read_dataset

MEASURES = ["patch", "dprime", "spatial", "free", "saliency", "object"]
FIX = ["free", "saliency", "object"]


def _one_factor_maps(rng, direction, noise=0.01, n_images=5, size=12):
    """Maps whose z-scored columns are a single latent map times `direction`, plus small noise."""
    latent = rng.standard_normal((n_images, size, size))
    maps = direction[:, None, None, None] * latent[None] + noise * rng.standard_normal(
        (len(direction), n_images, size, size)
    )
    # Arbitrary per-measure units and offsets: z-scoring must remove them.
    scales = np.array([1e-9, 3.0, 0.5, 1e4, 2.0, 7.0])
    return maps * scales[:, None, None, None] + np.arange(6)[:, None, None, None]


def test_pca_recovers_a_known_component(rng):
    direction = np.array([0.5, 0.4, 0.3, 0.45, 0.4, 0.38])
    direction /= np.linalg.norm(direction)
    maps = _one_factor_maps(rng, direction * np.sqrt(6))
    fit = fit_human_pc(maps, MEASURES, FIX, np.sqrt(1 / 3))
    # All six measures are the same latent map up to noise: one component explains nearly all.
    assert fit.explained_variance[0] > 0.99
    assert np.isclose(fit.explained_variance.sum(), 1.0)
    assert np.all(np.diff(fit.explained_variance) <= 1e-12)
    assert np.allclose(fit.loadings, np.full(6, 1 / np.sqrt(6)), atol=1e-3)


def test_pca_matches_svd_of_zscored_matrix_and_orients_positive(rng):
    maps = rng.standard_normal((6, 4, 10, 10)) + 0.8 * rng.standard_normal((1, 4, 10, 10))
    maps[2] *= -1  # one measure anti-correlated: orientation is by the loadings' sum
    fit = fit_human_pc(maps, MEASURES, FIX, np.sqrt(1 / 3))
    cols = maps.reshape(6, -1).T
    z = (cols - cols.mean(0)) / cols.std(0)
    _, s, vt = np.linalg.svd(z, full_matrices=False)
    assert np.allclose(fit.explained_variance, s**2 / (s**2).sum())
    assert np.allclose(np.abs(fit.loadings), np.abs(vt[0]))
    assert fit.loadings.sum() > 0


def test_fixation_loadings_are_downweighted_in_the_pc(rng):
    maps = rng.standard_normal((6, 3, 8, 8)) + rng.standard_normal((1, 3, 8, 8))
    fit = fit_human_pc(maps, MEASURES, FIX, np.sqrt(1 / 3))
    expected = fit.loadings * np.array([1, 1, 1, np.sqrt(1 / 3), np.sqrt(1 / 3), np.sqrt(1 / 3)])
    assert np.allclose(fit.weights, expected)
    z = (maps - fit.mean[:, None, None, None]) / fit.std[:, None, None, None]
    assert np.allclose(fit.project(maps), np.einsum("m,mixy->ixy", expected, z))


def test_pca_rejects_unknown_fixation_measures_and_constant_measures(rng):
    maps = rng.standard_normal((6, 2, 4, 4))
    with pytest.raises(InputError, match="fixation_measures"):
        fit_human_pc(maps, MEASURES, ["fixations"], 0.5)
    maps[1] = 3.0
    with pytest.raises(InputError, match="no variance"):
        fit_human_pc(maps, MEASURES, FIX, 0.5)


@pytest.fixture(scope="module")
def study():
    """The study's published maps on the analysis grid, straight from the .mat files."""
    from lib.human_maps import build_human_maps

    params = load_params()
    images = params["data"]["images"]
    ds = build_human_maps(RAW_HUMAN_MAPS, images, MEASURES, params["estimate_human"]["sources"], 100)
    published, _ = load_published_measure(RAW_HUMAN_MAPS, images, "pc_published")
    return ds["maps"].values, published


@pytest.mark.data
def test_human_pc_agrees_with_the_published_maps(study):
    maps, published = study
    fit = fit_human_pc(maps, MEASURES, FIX, np.sqrt(1 / 3))
    r = pearson_per_image(fit.project(maps), published)
    assert r.shape == (25,)
    assert r.mean() == pytest.approx(0.99973, abs=2e-4)
    assert r.min() > 0.998
    # Golden numbers of this pipeline on the study data (METHOD.md's PCA).
    assert fit.explained_variance[0] == pytest.approx(0.5300, abs=1e-3)
    assert fit.loadings == pytest.approx([0.372, 0.364, 0.199, 0.494, 0.492, 0.451], abs=1e-3)


@pytest.mark.data
def test_committed_metrics_have_the_promised_keys_and_match_the_code(study):
    path = METRICS / "human_pc.json"
    committed = json.loads(path.read_text())
    assert list(committed) == [
        "explained_variance", "loadings", "pc_measure_r", "measure_r", "published_pc_r"
    ]
    maps, published = study
    fit = fit_human_pc(maps, MEASURES, FIX, np.sqrt(1 / 3))
    assert summarise(fit, maps, fit.project(maps), published) == committed
    assert set(committed["measure_r"]) == set(MEASURES)
    assert committed["measure_r"]["free"]["free"] == 1.0


@pytest.mark.data
def test_pipeline_store_matches_a_fresh_computation(study):
    maps, _ = study
    assert np.array_equal(read_dataset(HUMAN_MAPS)["maps"].values, maps)
