"""Participant-level uncertainty: bootstrap rebuilds of the maps and split-half reliability.

The resampling unit is the participant (the chain for spatial memory, whose chains are each a
sequence of different participants), within each image: every image's map is rebuilt from that
image's units drawn with replacement, so each resample keeps the image's sample size. A unit drawn
k times counts its trials k times (row weights), which is the same as copying its rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lib.errors import InputError
from lib.maps import pearson_per_image
from lib.trials.estimate import split_by_image
from lib.trials.schemas import TrialSet
from lib.trials.settings import TrialSettings


def bootstrap_maps(
    trials: TrialSet,
    n: int,
    seed: int,
    *,
    measure: str,
    images: list[str],
    settings: TrialSettings | None = None,
) -> np.ndarray:
    """`n` bootstrap rebuilds of `measure`'s maps: array (n, image, H, W) at the native size
    (H = W = 250 for patch, 251 otherwise), images in the order of `images`. Resample b of image i
    comes from that image's participants (chains) drawn with replacement. Same seed, same maps."""
    if n < 1:
        raise InputError(f"bootstrap: n must be at least 1, got {n}")
    parts = split_by_image(trials, measure, images, settings)
    rng = np.random.default_rng(seed)
    out = None
    for i, part in enumerate(parts):
        n_units = part.n_units
        for b in range(n):
            counts = rng.multinomial(n_units, np.full(n_units, 1.0 / n_units))
            m = part.build(counts[part.units].astype(np.float64))
            if out is None:
                out = np.empty((n, len(parts), *m.shape))
            out[b, i] = m
    return out


@dataclass(frozen=True)
class SplitHalf:
    """Split-half reliability of one measure: the mean over images and random splits of the
    Pearson r between maps from two disjoint halves of the units (`r_half`), and its
    Spearman-Brown correction to the full sample, 2r / (1 + r) (`r_full`). `per_image` is r_half
    per image (mean over splits)."""

    r_half: float
    r_full: float
    per_image: np.ndarray


def spearman_brown(r: float | np.ndarray, factor: float = 2.0) -> float | np.ndarray:
    """Reliability of a measure `factor` (k) times as long as one with reliability r:
    k r / (1 + (k - 1) r)."""
    return factor * r / (1.0 + (factor - 1.0) * r)


def split_half_reliability(
    trials: TrialSet,
    *,
    measure: str,
    images: list[str],
    settings: TrialSettings | None = None,
    n_splits: int = 10,
    seed: int = 0,
) -> SplitHalf:
    """Random split-half reliability of `measure`: per image and split, its units (participants;
    chains for spatial memory) are shuffled and cut in two halves, a map is estimated from each and
    the halves correlated (Pearson, native size); r_half is the mean over splits and images, r_full
    its Spearman-Brown correction (the reliability of a map from all units)."""
    parts = split_by_image(trials, measure, images, settings)
    rng = np.random.default_rng(seed)
    per_image = np.zeros(len(parts))
    for i, part in enumerate(parts):
        codes, n_units = part.units, part.n_units
        if n_units < 2:
            raise InputError(
                f"{part.where}: split-half needs at least 2 participants/chains, has {n_units}"
            )
        rs = []
        for _ in range(n_splits):
            first = np.zeros(n_units, dtype=bool)
            first[rng.permutation(n_units)[: n_units // 2]] = True
            halves = [
                part.build((first[codes] == side).astype(np.float64)) for side in (True, False)
            ]
            rs.append(float(pearson_per_image(halves[0], halves[1])))
        per_image[i] = np.mean(rs)
    r_half = float(per_image.mean())
    return SplitHalf(r_half=r_half, r_full=float(spearman_brown(r_half)), per_image=per_image)
