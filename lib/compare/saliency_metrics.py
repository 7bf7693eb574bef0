"""The saliency field's standard metrics (Bylinskii et al. 2018, "What do different evaluation
metrics tell us about saliency models?"; the MIT/Tuebingen benchmark): CC, SIM, KL divergence,
NSS, AUC-Judd, shuffled AUC and information gain.

Pure numpy functions of arrays, vectorised over leading axes: a map argument is (..., H, W) and
the result has the leading shape (...), so a whole (map_type, image) stack is one call.

The study's human maps are densities, not fixation lists. The fixation-based metrics are
therefore written as expectations under a density q over pixels (the positive weights): NSS is
the q-weighted mean of the z-scored map, AUC is the probability that a pixel drawn from q scores
above one drawn from the negative distribution (ties count one half). Drawing fixations from q
and computing the usual sampled metric converges to these values; and an empirical fixation
histogram (counts / total) as q gives the sampled metric exactly, so real fixations take the same
code path. pysaliency (the field's reference implementation) is used in the tests as the
independent check; it is not imported here because its package import pulls optional MATLAB
model wrappers that need setuptools' removed `pkg_resources`, and the expectation forms are not
in it anyway.

Undefined values are NaN (CC and NSS of a constant map, a metric of a map that sums to zero as a
density); the caller lists and excludes them, never averages them.
"""

from __future__ import annotations

import numpy as np

# The MIT benchmark's regulariser in KL and information gain (MATLAB's eps); params override it.
MIT_EPS = 2.2204e-16


def _flat(maps: np.ndarray) -> np.ndarray:
    arr = np.asarray(maps, dtype=np.float64)
    if arr.ndim < 2:
        raise ValueError(f"saliency metrics: expected maps (..., H, W), got shape {arr.shape}")
    return arr.reshape(*arr.shape[:-2], -1)


def to_density(maps: np.ndarray) -> np.ndarray:
    """Maps (..., H, W) as probability distributions over pixels, flattened to (..., H*W): a map
    with negative values is shifted by its minimum (pysaliency's convention; the Human PC is
    z-scored), then divided by its sum. A map summing to zero gives NaN."""
    flat = _flat(maps)
    low = flat.min(axis=-1, keepdims=True)
    flat = np.where(low < 0, flat - low, flat)
    total = flat.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, flat / np.where(total > 0, total, 1.0), np.nan)


def zscore(maps: np.ndarray) -> np.ndarray:
    """Maps (..., H, W) flattened and z-scored over their pixels (population SD); NaN for a
    constant map."""
    flat = _flat(maps)
    centred = flat - flat.mean(axis=-1, keepdims=True)
    std = np.sqrt((centred * centred).mean(axis=-1, keepdims=True))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(std > 0, centred / np.where(std > 0, std, 1.0), np.nan)


def cc(maps: np.ndarray, human: np.ndarray) -> np.ndarray:
    """Pearson correlation over pixels (the study's r); NaN when either map is constant."""
    return (zscore(maps) * zscore(human)).mean(axis=-1)


def sim(maps: np.ndarray, human: np.ndarray) -> np.ndarray:
    """Similarity (histogram intersection) of the two maps as distributions: sum of the pixelwise
    minimum; 1 for identical distributions, 0 for disjoint ones."""
    return np.minimum(to_density(maps), to_density(human)).sum(axis=-1)


def kl_divergence(maps: np.ndarray, human: np.ndarray, eps: float = MIT_EPS) -> np.ndarray:
    """KL divergence of the map's distribution P from the human distribution Q (Q the reference):
    sum Q log(eps + Q / (P + eps)), the MIT benchmark's regularised form (natural log). 0 for
    identical maps; large where the map puts almost no mass on pixels humans select."""
    p, q = to_density(maps), to_density(human)
    return (q * np.log(eps + q / (p + eps))).sum(axis=-1)


def nss(maps: np.ndarray, density: np.ndarray) -> np.ndarray:
    """Normalised scanpath saliency as an expectation: the mean of the z-scored map at fixations
    drawn from `density` (any non-negative map, normalised here). NaN for a constant map."""
    return (zscore(maps) * to_density(density)).sum(axis=-1)


def weighted_auc(scores: np.ndarray, positive: np.ndarray, negative: np.ndarray) -> np.ndarray:
    """Area under the ROC curve with thresholds at every score value, for positives and
    negatives given as weights over the same pixels: P(score(x) > score(y)) + P(tie) / 2 with x
    drawn from `positive` and y from `negative` (both normalised here).

    scores, positive, negative: flattened (..., P) and broadcastable to one shape. With counts of
    sampled fixations as `positive` and one count per pixel as `negative` this is the sampled AUC
    computed over all thresholds (pysaliency's general_roc); ties are resolved exactly, so a
    constant map scores 0.5.
    """
    return weighted_aucs(scores, positive, [negative])[0]


def weighted_aucs(scores: np.ndarray, positive: np.ndarray, negatives: list) -> np.ndarray:
    """`weighted_auc` for several negative distributions at once (len(negatives), ...): the maps
    are sorted once, which is most of the cost (AUC-Judd and shuffled AUC share it)."""
    arrays = np.broadcast_arrays(np.asarray(scores, dtype=np.float64), np.asarray(positive, dtype=np.float64),
                                 *(np.asarray(n, dtype=np.float64) for n in negatives))
    lead, n = arrays[0].shape[:-1], arrays[0].shape[-1]
    scores, positive, *negatives = (a.reshape(-1, n) for a in arrays)
    order = np.argsort(scores, axis=-1, kind="stable")
    s = np.take_along_axis(scores, order, axis=-1)
    pos = np.take_along_axis(positive, order, axis=-1)
    # Each pixel's tie group [first, last] in sorted order: negatives strictly below count 1,
    # those tied with it count 1/2.
    index = np.broadcast_to(np.arange(n), s.shape)
    new = np.ones(s.shape, dtype=bool)
    new[:, 1:] = s[:, 1:] != s[:, :-1]
    first = np.maximum.accumulate(np.where(new, index, 0), axis=-1)
    ends = np.ones(s.shape, dtype=bool)
    ends[:, :-1] = new[:, 1:]
    last = np.minimum.accumulate(np.where(ends, index, n - 1)[:, ::-1], axis=-1)[:, ::-1]
    out = []
    for negative in negatives:
        neg = np.take_along_axis(negative, order, axis=-1)
        cum = np.cumsum(neg, axis=-1)
        below = np.take_along_axis(cum - neg, first, axis=-1)
        tied = np.take_along_axis(cum, last, axis=-1) - below
        with np.errstate(invalid="ignore", divide="ignore"):
            credit = (below + 0.5 * tied) / cum[:, -1:]
            out.append(((pos * credit).sum(axis=-1) / pos.sum(axis=-1)).reshape(lead))
    return np.stack(out)


def auc_judd(maps: np.ndarray, density: np.ndarray) -> np.ndarray:
    """AUC-Judd as an expectation: positives drawn from `density`, negatives every pixel of the
    image alike (the limit of Judd's AUC as fixations grow and thresholds cover every value)."""
    return weighted_auc(_flat(maps), to_density(density), 1.0)


def shuffled_auc(maps: np.ndarray, density: np.ndarray, negative_density: np.ndarray) -> np.ndarray:
    """Shuffled AUC as an expectation: positives from this image's `density`, negatives from
    `negative_density` (the mean fixation density of the other images), so a map that only
    predicts the centre bias every image shares scores 0.5."""
    return weighted_auc(_flat(maps), to_density(density), to_density(negative_density))


def information_gain(
    maps: np.ndarray, density: np.ndarray, baseline: np.ndarray, eps: float = MIT_EPS
) -> np.ndarray:
    """Information gain over a baseline (Kuemmerer et al. 2015, Bylinskii's regularised form), in
    bits per fixation: E_q[log2(eps + P) - log2(eps + B)] with P the map and B the baseline as
    distributions and fixations drawn from `density`. Positive when the map predicts the
    fixations better than the baseline; 0 for the baseline itself."""
    q = to_density(density)
    gain = np.log2(eps + to_density(maps)) - np.log2(eps + to_density(baseline))
    return (q * gain).sum(axis=-1)


def centre_bias(size: int, sigma_frac: float) -> np.ndarray:
    """An isotropic Gaussian centred on a size x size grid with sd sigma_frac * size, sum 1: the
    information-gain baseline."""
    centre = (size - 1) / 2
    axis = np.arange(size, dtype=np.float64) - centre
    g = np.exp(-(axis * axis) / (2 * (sigma_frac * size) ** 2))
    out = np.outer(g, g)
    return out / out.sum()


def fixation_histogram(ys: np.ndarray, xs: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Counts of fixations (integer pixel rows ys, columns xs) per pixel of a map of `shape`: the
    empirical density that turns every expectation above into the sampled metric."""
    counts = np.zeros(shape)
    np.add.at(counts, (np.asarray(ys, dtype=int), np.asarray(xs, dtype=int)), 1.0)
    return counts
