"""Noise ceilings: the highest mean correlation any map could reach against a noisy human map.

A measured human map is the true map plus measurement noise. With reliability rel (the share of
its variance that is true-map variance), the correlation of the measured map with the true map is
sqrt(rel), and no predictor can correlate with the measured map better than the true map does:
the ceiling on r is sqrt(rel). (The split-half correlation itself, rel, is the ceiling only for
predicting a second, equally noisy measurement; our targets are the measured maps, so sqrt.)

The study reported split-half reliabilities per measure (params `smoothing.reliability`). If
those are correlations between half-sample maps rather than reliabilities of the full maps, set
`smoothing.spearman_brown: true` and they are stepped up to the full sample as 2r / (1 + r).

The Human PC is a weighted composite PC = sum_k w_k z_k of the z-scored measures (fixed weights
from human_pc). Its reliability follows Mosier's formula for composites, assuming measurement
errors independent across measures (separate experiments, separate participants): per image,
    rel_PC = 1 - sum_k w_k^2 (1 - rel_k) var(z_k) / var(PC)
with the variances over that image's pixels, so the composite's ceiling reflects how much each
measure contributes there. Its ceiling is the mean over images of sqrt(rel_PC).
"""

from __future__ import annotations

import numpy as np

from lib.errors import InputError


def reliabilities(values: dict, measures: list[str], spearman_brown: bool = False) -> np.ndarray:
    """Reliability per measure (in `measures` order) from params `smoothing.reliability`,
    validated to lie in (0, 1]; stepped up by Spearman-Brown when asked."""
    if not isinstance(values, dict):
        raise InputError("params.yaml: `smoothing.reliability` must map each measure to a number")
    missing = [m for m in measures if m not in values]
    if missing:
        raise InputError(f"params.yaml: `smoothing.reliability` lacks {missing}")
    out = []
    for m in measures:
        v = values[m]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v <= 1:
            raise InputError(
                f"params.yaml: `smoothing.reliability.{m}` must be in (0, 1], got {v!r}"
            )
        out.append(2 * v / (1 + v) if spearman_brown else float(v))
    return np.array(out)


def composite_reliability(
    measure_maps: np.ndarray, weights: np.ndarray, std: np.ndarray, reliability: np.ndarray
) -> np.ndarray:
    """Per-image reliability (N,) of the composite sum_k weights[k] * (maps[k] - mean_k) / std[k]
    for measure maps (K, N, H, W), given each measure's reliability (K,)."""
    maps = np.asarray(measure_maps, dtype=np.float64)
    z = maps / np.asarray(std, dtype=np.float64)[:, None, None, None]  # means do not matter
    flat = z.reshape(*z.shape[:2], -1)
    composite = np.tensordot(weights, flat, axes=(0, 0))  # (N, P)
    error = (
        (np.asarray(weights) ** 2 * (1 - np.asarray(reliability)))[:, None] * flat.var(axis=-1)
    ).sum(axis=0)
    return 1 - error / composite.var(axis=-1)


def noise_ceilings(
    human_maps: list[str],
    measures: list[str],
    reliability: np.ndarray,
    measure_maps: np.ndarray | None = None,
    pc_id: str | None = None,
    pc_weights: np.ndarray | None = None,
    pc_std: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(reliability, ceiling) per human map in `human_maps` order. Measures get sqrt(rel); the
    Human PC (`pc_id`) its composite reliability from the measure maps (K, N, H, W) and the PC's
    weights and stds; a human map with neither gets NaN (ceiling unavailable)."""
    rel_out = np.full(len(human_maps), np.nan)
    ceiling = np.full(len(human_maps), np.nan)
    for i, h in enumerate(human_maps):
        if h in measures:
            rel_out[i] = reliability[measures.index(h)]
            ceiling[i] = np.sqrt(rel_out[i])
        elif h == pc_id and measure_maps is not None:
            per_image = composite_reliability(measure_maps, pc_weights, pc_std, reliability)
            rel_out[i] = per_image.mean()
            ceiling[i] = np.sqrt(np.clip(per_image, 0, None)).mean()
    return rel_out, ceiling


def human_ceilings(targets, pc_store, reliability: dict, spearman_brown: bool, pc_id: str):
    """(reliability, ceiling) per human map of targets (human_map, image, y, x), with the Human
    PC's weights and stds from the human_pc store (Dataset with `weights`, `std` on `measure`)."""
    measures = [str(m) for m in pc_store["measure"].values]
    rel = reliabilities(reliability, measures, spearman_brown)
    return noise_ceilings(
        [str(h) for h in targets["human_map"].values],
        measures,
        rel,
        measure_maps=targets.sel(human_map=measures).values,
        pc_id=pc_id,
        pc_weights=pc_store["weights"].values,
        pc_std=pc_store["std"].values,
    )
