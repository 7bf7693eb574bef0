"""The standard saliency metrics on hand-made cases with known values, against pysaliency where it
is installed, and the expectation forms against fixations sampled from the density."""

from __future__ import annotations

import importlib.machinery
import importlib.util

import numpy as np
import pytest

from lib.compare import saliency_metrics as sm
from tests.compare.conftest import smooth_noise

SIZE = 24  # small grids keep every test well under a second


@pytest.fixture(scope="module")
def pysaliency():
    """pysaliency's metrics module and its compiled ROC, loaded from the installed package's files
    (its package import needs setuptools' removed `pkg_resources`; its ROC calls numpy's
    `trapz`, renamed `trapezoid` in numpy 2, restored for these tests only). Skips when absent."""
    spec = importlib.util.find_spec("pysaliency")
    if spec is None or spec.origin is None:
        pytest.skip("pysaliency not installed")
    from pathlib import Path

    root = Path(spec.origin).parent
    metrics_spec = importlib.util.spec_from_file_location("_pysaliency_metrics", root / "metrics.py")
    metrics = importlib.util.module_from_spec(metrics_spec)
    metrics_spec.loader.exec_module(metrics)
    ext = next(root.glob("roc_cython*.so"), None)
    if ext is None:
        pytest.skip("pysaliency's compiled ROC not built")
    loader = importlib.machinery.ExtensionFileLoader("pysaliency.roc_cython", str(ext))
    roc = importlib.util.module_from_spec(importlib.util.spec_from_file_location(loader.name, ext, loader=loader))
    loader.exec_module(roc)
    patch = pytest.MonkeyPatch()
    if not hasattr(np, "trapz"):
        patch.setattr(np, "trapz", np.trapezoid, raising=False)
    yield metrics, roc
    patch.undo()


@pytest.fixture(scope="module")
def density():
    """A smooth, strictly positive fixation density on the small grid (sum 1)."""
    rng = np.random.default_rng(7)
    d = smooth_noise(rng, (SIZE, SIZE), sigma=3.0) ** 3
    return d / d.sum()


@pytest.fixture(scope="module")
def saliency():
    """A smooth map that partly agrees with `density` (shares its seed's structure plus noise)."""
    rng = np.random.default_rng(7)
    base = smooth_noise(rng, (SIZE, SIZE), sigma=3.0)
    return base + 0.5 * smooth_noise(np.random.default_rng(8), (SIZE, SIZE), sigma=2.0)


def sample(density, n, seed):
    """n fixations drawn from the density: (ys, xs)."""
    idx = np.random.default_rng(seed).choice(density.size, size=n, p=density.ravel())
    return np.unravel_index(idx, density.shape)


def test_identical_maps_give_cc_1_sim_1_kl_0(density):
    assert sm.cc(density, density) == pytest.approx(1.0, abs=1e-12)
    assert sm.sim(density, density) == pytest.approx(1.0, abs=1e-12)
    assert sm.kl_divergence(density, density) == pytest.approx(0.0, abs=1e-12)
    # scale and offset do not change CC; scale does not change SIM or KL
    assert sm.cc(3 * density + 2, density) == pytest.approx(1.0, abs=1e-12)
    assert sm.sim(5 * density, density) == pytest.approx(1.0, abs=1e-12)


def test_half_support_gives_known_kl_sim_and_information_gain():
    """Humans on the left half, the map uniform: KL = log 2, SIM = 1/2, IG over uniform = 0, and
    the human map itself gains exactly 1 bit over the uniform baseline."""
    human = np.zeros((SIZE, SIZE))
    human[:, : SIZE // 2] = 1.0
    uniform = np.ones((SIZE, SIZE))
    assert sm.kl_divergence(uniform, human) == pytest.approx(np.log(2), abs=1e-9)
    assert sm.sim(uniform, human) == pytest.approx(0.5, abs=1e-12)
    assert sm.information_gain(uniform, human, uniform) == pytest.approx(0.0, abs=1e-12)
    assert sm.information_gain(human, human, uniform) == pytest.approx(1.0, abs=1e-9)


def test_single_hot_pixel_nss_and_auc():
    """A map that is 1 on one pixel, fixations all there: NSS = sqrt(P - 1) (z-score of the one
    hot pixel), AUC-Judd = (P - 1/2) / P (every other pixel below, a tie with itself)."""
    hot = np.zeros((SIZE, SIZE))
    hot[5, 9] = 1.0
    p = hot.size
    assert sm.nss(hot, hot) == pytest.approx(np.sqrt(p - 1), rel=1e-12)
    assert sm.auc_judd(hot, hot) == pytest.approx((p - 0.5) / p, rel=1e-12)


def test_constant_map_auc_half_and_nss_cc_undefined(density):
    flat = np.full((SIZE, SIZE), 0.3)
    assert sm.auc_judd(flat, density) == pytest.approx(0.5, abs=1e-12)
    assert sm.shuffled_auc(flat, density, density[::-1]) == pytest.approx(0.5, abs=1e-12)
    assert np.isnan(sm.nss(flat, density))
    assert np.isnan(sm.cc(flat, density))


def test_shuffled_auc_is_half_when_negatives_match_positives(saliency, density):
    """Positives and negatives from one distribution: P(X > Y) + P(X = Y)/2 = 1/2 for any map."""
    assert sm.shuffled_auc(saliency, density, density) == pytest.approx(0.5, abs=1e-12)


def test_auc_invariant_to_monotone_transforms(saliency, density):
    auc = sm.auc_judd(saliency, density)
    assert sm.auc_judd(np.exp(3 * saliency), density) == pytest.approx(auc, abs=1e-12)
    assert sm.auc_judd(-saliency, density) == pytest.approx(1 - auc, abs=1e-12)


def test_vectorised_over_leading_axes_equals_one_by_one(rng):
    maps = smooth_noise(rng, (3, 4, SIZE, SIZE))
    human = smooth_noise(rng, (4, SIZE, SIZE)) ** 2
    negative = human[::-1]
    baseline = sm.centre_bias(SIZE, 0.2)
    batched = {
        "cc": sm.cc(maps, human), "sim": sm.sim(maps, human), "kl": sm.kl_divergence(maps, human),
        "nss": sm.nss(maps, human), "auc": sm.auc_judd(maps, human),
        "sauc": sm.shuffled_auc(maps, human, negative), "ig": sm.information_gain(maps, human, baseline),
    }
    for t in range(3):
        for n in range(4):
            m, h = maps[t, n], human[n]
            single = {
                "cc": sm.cc(m, h), "sim": sm.sim(m, h), "kl": sm.kl_divergence(m, h), "nss": sm.nss(m, h),
                "auc": sm.auc_judd(m, h), "sauc": sm.shuffled_auc(m, h, negative[n]),
                "ig": sm.information_gain(m, h, baseline),
            }
            for key, value in single.items():
                assert batched[key][t, n] == pytest.approx(float(value), abs=1e-12), key


def test_map_metrics_match_pysaliency(pysaliency, saliency, density):
    metrics, _ = pysaliency
    assert sm.cc(saliency, density) == pytest.approx(metrics.CC(saliency, density), abs=1e-12)
    assert sm.sim(saliency, density) == pytest.approx(metrics.SIM(saliency, density), abs=1e-12)
    # the PC-like case: a map with negative values is shifted by its minimum in both
    centred = saliency - saliency.mean()
    assert sm.sim(centred, density) == pytest.approx(metrics.SIM(centred, density), abs=1e-12)
    assert sm.kl_divergence(saliency, density) == pytest.approx(metrics.MIT_KLDiv(saliency, density), abs=1e-9)


def test_fixation_histogram_gives_the_sampled_metrics_exactly(pysaliency, saliency, density):
    """With real (here: sampled) fixations as the density, the expectation forms are the sampled
    metrics: pysaliency's NSS at the fixations and its ROC over all thresholds."""
    metrics, roc = pysaliency
    ys, xs = sample(density, 500, seed=1)
    hist = sm.fixation_histogram(ys, xs, density.shape)
    assert sm.nss(saliency, hist) == pytest.approx(metrics.NSS(saliency, xs, ys).mean(), abs=1e-12)
    auc, _, _ = roc.general_roc(saliency[ys, xs].astype(float), saliency.ravel().astype(float), 0)
    assert sm.auc_judd(saliency, hist) == pytest.approx(auc, abs=1e-12)
    # shuffled AUC: negatives at another image's fixations
    other_ys, other_xs = sample(density[::-1].copy() / density.sum(), 400, seed=2)
    other = sm.fixation_histogram(other_ys, other_xs, density.shape)
    sauc, _, _ = roc.general_roc(saliency[ys, xs].astype(float), saliency[other_ys, other_xs].astype(float), 0)
    assert sm.shuffled_auc(saliency, hist, other) == pytest.approx(sauc, abs=1e-12)


@pytest.mark.parametrize("metric", ["nss", "auc_judd", "shuffled_auc", "information_gain"])
def test_expectation_matches_sampled_fixations_as_the_sample_grows(metric, saliency, density):
    """Sampled metrics (computed directly from the drawn fixations, no shared code with the
    expectation) converge to the density form; the error shrinks as the sample grows."""
    negative = density[::-1].copy()
    baseline = sm.centre_bias(SIZE, 0.25)
    z = (saliency - saliency.mean()) / saliency.std()
    log_ratio = np.log2(sm.MIT_EPS + saliency / saliency.sum()) - np.log2(sm.MIT_EPS + baseline)
    neg_ys, neg_xs = sample(negative / negative.sum(), 4000, seed=99)
    neg_values = np.sort(saliency[neg_ys, neg_xs])

    def sampled(ys, xs):
        values = saliency[ys, xs]
        if metric == "nss":
            return z[ys, xs].mean()
        if metric == "information_gain":
            return log_ratio[ys, xs].mean()
        pool = np.sort(saliency.ravel()) if metric == "auc_judd" else neg_values
        below = np.searchsorted(pool, values, side="left")
        tied = np.searchsorted(pool, values, side="right") - below
        return ((below + 0.5 * tied) / len(pool)).mean()

    expected = {
        "nss": sm.nss(saliency, density),
        "auc_judd": sm.auc_judd(saliency, density),
        "shuffled_auc": sm.shuffled_auc(saliency, density, negative),
        "information_gain": sm.information_gain(saliency, density, baseline),
    }[metric]
    errors = []
    for n in (200, 200_000):
        ys, xs = sample(density, n, seed=n)
        errors.append(abs(sampled(ys, xs) - expected))
    # sAUC's negatives are a 4000-fixation sample, so it converges to within that sample's error
    tolerance = 0.02 if metric == "shuffled_auc" else 0.01 * max(1.0, abs(expected))
    assert errors[1] < tolerance
    assert errors[1] < errors[0] or errors[0] < tolerance / 10
