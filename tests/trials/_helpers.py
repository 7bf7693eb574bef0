"""Shared helpers for the raw-trial tests."""

from __future__ import annotations

import numpy as np

from lib.maps import pearson_per_image, resize_maps
from lib.trials import (
    PROCEDURE_OF_MEASURE,
    SimulationSizes,
    TrialSet,
    estimate_maps,
    simulate_measure,
    validate_trials,
)

IMAGES = ["img1", "img2"]


def simulated(
    measure: str, truths: dict, seed: int = 0, sizes: SimulationSizes | None = None
) -> TrialSet:
    """A validated TrialSet of `measure` simulated from `truths` (image -> map)."""
    frame = simulate_measure(measure, truths, seed, sizes or SimulationSizes())
    procedure = PROCEDURE_OF_MEASURE[measure]
    return TrialSet(procedure, validate_trials(frame, procedure, list(truths)))


def recovery(
    measure: str, truths: dict, seed: int = 0, sizes: SimulationSizes | None = None
) -> float:
    """Mean over images of Pearson r between the map estimated from simulated trials and its
    truth."""
    maps = estimate_maps(simulated(measure, truths, seed, sizes), measure, list(truths))
    truth = resize_maps(np.stack(list(truths.values())), maps.shape[-1])
    return float(pearson_per_image(maps, truth).mean())
