"""Simulated trials from a known ground-truth map, at the study's sample sizes, for recovery tests,
reliability estimates and the example data set.

A ground truth is a non-negative map (H, W) covering the 405x405 image (any H, W; cell (i, j) covers
[j, j+1) x [i, i+1) * 405 / W). Each procedure's observer model is chosen so that the estimator's
output is, in expectation and up to its smoothing, proportional (patch, d': affine) to the truth:
- patch: a patch's true mean rating is sqrt(1 + 35 u), u = the truth's mean inside the patch
  divided by the largest patch mean, so squared ratings (the map) run 1..36 linearly in u; each
  rater adds a personal offset N(0, rater_bias_sd) and trial noise N(0, rating_noise_sd), rounded
  and clipped to 1..6. 12x12 centres, diameter 442/2430 of the width, `raters` ratings per patch.
- d': equal-variance signal detection, true d' = dprime_max * sqrt(truth / max truth) at the probe
  (so d'^2 follows the truth), each participant with a criterion c ~ N(0, criterion_sd):
  P("shifted" | shifted) = Phi(d'/2 - c), P("shifted" | same) = Phi(-d'/2 - c). Probes 7 px apart,
  `responses` responses per probe and condition (response k from participant k).
- spatial memory: the Bayesian serial-reproduction model (Xu & Griffiths 2010): a participant
  remembers the shown dot with Gaussian noise m ~ N(x, memory_sd^2) and reproduces a sample of the
  posterior p(x' | m) proportional to truth(x') N(m; x', memory_sd^2). This is a Gibbs sampler whose
  stationary distribution is the truth, so chains converge toward the map's density. Chains start
  uniformly; iterations 1..`iterations` are recorded; `chains` chains per image.
- fixations: independent draws from the density truth / sum(truth); `participants` viewers with
  `fixations` fixations each, per task. The study's fixations come from Koehler et al. (2014),
  whose per-image counts are not in METHOD.md: 20 x 10 is an assumption.
Positions are uniform inside the sampled truth cell and rounded to 0.01 px.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.ndimage import map_coordinates
from scipy.stats import norm

from lib.trials.dprime import PROBE_SPACING_PX
from lib.trials.patch import PATCH_DIAMETER_FRACTION, PATCH_GRID, patch_centres
from lib.trials.schemas import IMAGE_SIZE


@dataclass(frozen=True)
class SimulationSizes:
    """Sample sizes per image; the defaults are the study's (METHOD.md, estimate_human)."""

    raters: int = 9  # ratings per patch
    responses: int = 9  # per probe location and condition
    chains: int = 250
    iterations: int = 20
    participants: int = 20  # fixation viewers per task (assumed)
    fixations: int = 10  # per viewer (assumed)


@dataclass(frozen=True)
class ObserverModel:
    rating_noise_sd: float = 1.0
    rater_bias_sd: float = 0.5
    dprime_max: float = 3.0
    criterion_sd: float = 0.3
    memory_sd: float = 30.0  # px; larger mixes faster over 20 iterations


def _cell_size(truth: np.ndarray) -> tuple[float, float]:
    return IMAGE_SIZE / truth.shape[0], IMAGE_SIZE / truth.shape[1]


def _check_truth(truth: np.ndarray) -> np.ndarray:
    truth = np.asarray(truth, dtype=np.float64)
    if truth.ndim != 2 or not np.isfinite(truth).all() or (truth < 0).any() or truth.sum() <= 0:
        raise ValueError("ground truth must be a finite, non-negative 2D map with positive mass")
    return truth


def synthetic_truth(
    rng: np.random.Generator,
    size: int = 135,
    blobs: int = 6,
    sigma_px: tuple[float, float] = (15, 50),
) -> np.ndarray:
    """A smooth random ground truth: a small floor plus `blobs` Gaussian bumps (sigma uniform in
    `sigma_px`, heights 0.3-1) placed away from the border; (size, size) over the 405 px image."""
    centres = (np.arange(size) + 0.5) * IMAGE_SIZE / size
    out = np.full((size, size), 0.02)
    for _ in range(blobs):
        cx, cy = rng.uniform(60, IMAGE_SIZE - 60, size=2)
        sigma = rng.uniform(*sigma_px)
        height = rng.uniform(0.3, 1.0)
        gy = np.exp(-0.5 * ((centres - cy) / sigma) ** 2)
        gx = np.exp(-0.5 * ((centres - cx) / sigma) ** 2)
        out += height * np.outer(gy, gx)
    return out


def _sample_positions(
    truth: np.ndarray, n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """n independent positions (x, y) in px from the density truth / sum(truth)."""
    p = truth.ravel() / truth.sum()
    cells = rng.choice(p.size, size=n, p=p)
    iy, ix = np.divmod(cells, truth.shape[1])
    hy, hx = _cell_size(truth)
    return (ix + rng.random(n)) * hx, (iy + rng.random(n)) * hy


def _round(v: np.ndarray) -> np.ndarray:
    return np.clip(np.round(v, 2), 0.0, float(IMAGE_SIZE))


def simulate_patch(
    truth, image, rng, sizes=SimulationSizes(), model=ObserverModel()
) -> pd.DataFrame:
    truth = _check_truth(truth)
    hy, hx = _cell_size(truth)
    yy = (np.arange(truth.shape[0]) + 0.5) * hy
    xx = (np.arange(truth.shape[1]) + 0.5) * hx
    radius = PATCH_DIAMETER_FRACTION * IMAGE_SIZE / 2
    centres = patch_centres(PATCH_GRID, IMAGE_SIZE)
    cy, cx = np.meshgrid(centres, centres, indexing="ij")
    cy, cx = cy.ravel(), cx.ravel()
    inside = (
        (yy[None, :, None] - cy[:, None, None]) ** 2 + (xx[None, None, :] - cx[:, None, None]) ** 2
    ) <= radius**2
    u = (inside * truth[None]).sum(axis=(1, 2)) / inside.sum(axis=(1, 2))
    u = u / u.max()
    true_rating = np.sqrt(1.0 + 35.0 * u)
    bias = rng.normal(0.0, model.rater_bias_sd, sizes.raters)
    noise = rng.normal(0.0, model.rating_noise_sd, (sizes.raters, len(u)))
    ratings = np.clip(np.round(true_rating[None] + bias[:, None] + noise), 1, 6).astype(np.int64)
    return pd.DataFrame(
        {
            "image": image,
            "participant": np.repeat([f"p{k + 1:02d}" for k in range(sizes.raters)], len(u)),
            "x": np.tile(_round(cx), sizes.raters),
            "y": np.tile(_round(cy), sizes.raters),
            "rating": ratings.ravel(),
        }
    )


def probe_positions(spacing: float = PROBE_SPACING_PX) -> np.ndarray:
    """Probe coordinates along one axis: `spacing` apart, centred on the image."""
    n = int((IMAGE_SIZE - 1) // spacing) + 1
    return (IMAGE_SIZE - (n - 1) * spacing) / 2 + spacing * np.arange(n)


def simulate_dprime(
    truth, image, rng, sizes=SimulationSizes(), model=ObserverModel()
) -> pd.DataFrame:
    truth = _check_truth(truth)
    axis = probe_positions()
    py, px = np.meshgrid(axis, axis, indexing="ij")
    py, px = py.ravel(), px.ravel()
    hy, hx = _cell_size(truth)
    at_probe = map_coordinates(truth, [py / hy - 0.5, px / hx - 0.5], order=1, mode="nearest")
    d_true = model.dprime_max * np.sqrt(np.clip(at_probe, 0, None) / truth.max())
    criteria = rng.normal(0.0, model.criterion_sd, sizes.responses)
    frames = []
    for condition, sign in (("same", -1.0), ("shifted", 1.0)):
        p = norm.cdf(sign * d_true[None, :] / 2 - criteria[:, None])  # (responses, probes)
        said = rng.random(p.shape) < p
        frames.append(
            pd.DataFrame(
                {
                    "image": image,
                    "participant": np.repeat(
                        [f"p{k + 1:02d}" for k in range(sizes.responses)], len(px)
                    ),
                    "x": np.tile(px, sizes.responses),
                    "y": np.tile(py, sizes.responses),
                    "condition": condition,
                    "response": np.where(said.ravel(), "shifted", "same"),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _categorical(weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One index per row of `weights` (rows, k), drawn with probability proportional to the row."""
    cdf = np.cumsum(weights, axis=1)
    u = rng.random(len(weights)) * cdf[:, -1]
    return np.minimum((cdf < u[:, None]).sum(axis=1), weights.shape[1] - 1)


def simulate_spatial(
    truth, image, rng, sizes=SimulationSizes(), model=ObserverModel()
) -> pd.DataFrame:
    truth = _check_truth(truth)
    hy, hx = _cell_size(truth)
    yy = (np.arange(truth.shape[0]) + 0.5) * hy
    xx = (np.arange(truth.shape[1]) + 0.5) * hx
    n = sizes.chains
    x = rng.uniform(0, IMAGE_SIZE, n)
    y = rng.uniform(0, IMAGE_SIZE, n)
    rows_x, rows_y = [], []
    for _ in range(sizes.iterations):
        # Gibbs step: noisy memory m | x, then reproduction x' | m ~ truth(x') N(m; x', sd^2),
        # drawn as row y' | m from the marginal, then column x' | y', m.
        mx = x + rng.normal(0, model.memory_sd, n)
        my = y + rng.normal(0, model.memory_sd, n)
        gx = np.exp(-0.5 * ((xx[None, :] - mx[:, None]) / model.memory_sd) ** 2)  # (n, W)
        gy = np.exp(-0.5 * ((yy[None, :] - my[:, None]) / model.memory_sd) ** 2)  # (n, H)
        iy = _categorical(gy * (gx @ truth.T) + 1e-300, rng)
        ix = _categorical(gx * truth[iy] + 1e-300, rng)
        y = (iy + rng.random(n)) * hy
        x = (ix + rng.random(n)) * hx
        rows_x.append(x)
        rows_y.append(y)
    it = sizes.iterations
    return pd.DataFrame(
        {
            "image": image,
            "chain": np.tile([f"c{k + 1:03d}" for k in range(n)], it),
            "iteration": np.repeat(np.arange(1, it + 1), n).astype(np.int64),
            "x": _round(np.concatenate(rows_x)),
            "y": _round(np.concatenate(rows_y)),
        }
    )


def simulate_fixations(truth, image, task, rng, sizes=SimulationSizes()) -> pd.DataFrame:
    truth = _check_truth(truth)
    n = sizes.participants * sizes.fixations
    x, y = _sample_positions(truth, n, rng)
    return pd.DataFrame(
        {
            "image": image,
            "participant": np.repeat(
                [f"v{k + 1:02d}" for k in range(sizes.participants)], sizes.fixations
            ),
            "task": task,
            "x": _round(x),
            "y": _round(y),
        }
    )


def simulate_measure(
    measure: str,
    truths: dict[str, np.ndarray],
    seed: int,
    sizes: SimulationSizes = SimulationSizes(),
    model: ObserverModel = ObserverModel(),
) -> pd.DataFrame:
    """Trials of one measure for every image in `truths` (image id -> ground-truth map), in the
    schema of lib.trials.schemas (fixation measures: rows of that task). Seeded: same inputs, same
    trials."""
    frames = []
    for k, (image, truth) in enumerate(truths.items()):
        rng = np.random.default_rng([seed, k, _MEASURE_SALT[measure]])
        if measure == "patch":
            frames.append(simulate_patch(truth, image, rng, sizes, model))
        elif measure == "dprime":
            frames.append(simulate_dprime(truth, image, rng, sizes, model))
        elif measure == "spatial":
            frames.append(simulate_spatial(truth, image, rng, sizes, model))
        else:
            frames.append(simulate_fixations(truth, image, measure, rng, sizes))
    return pd.concat(frames, ignore_index=True)


_MEASURE_SALT = {"patch": 1, "dprime": 2, "spatial": 3, "free": 4, "saliency": 5, "object": 6}
