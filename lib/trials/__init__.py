"""Human maps from raw trials (METHOD.md, estimate_human), for labs running the experiments anew.

One module per procedure (`patch`, `dprime`, `spatial`, `fixations`), the trial file schemas
(`schemas`), the estimators' params (`settings`), the dispatch from measure to procedure
(`estimate`), a simulator of trials from a known map (`simulate`) and participant-level
bootstrap and split-half reliability (`resample`).
"""

from lib.trials.estimate import OUTPUT_SIZES, estimate_maps
from lib.trials.resample import SplitHalf, bootstrap_maps, spearman_brown, split_half_reliability
from lib.trials.schemas import (
    IMAGE_SIZE,
    PROCEDURE_OF_MEASURE,
    SCHEMAS,
    TrialSet,
    load_trials,
    validate_trials,
    write_trials,
)
from lib.trials.settings import TrialSettings
from lib.trials.simulate import ObserverModel, SimulationSizes, simulate_measure, synthetic_truth

__all__ = [
    "IMAGE_SIZE",
    "OUTPUT_SIZES",
    "PROCEDURE_OF_MEASURE",
    "SCHEMAS",
    "ObserverModel",
    "SimulationSizes",
    "SplitHalf",
    "TrialSet",
    "TrialSettings",
    "bootstrap_maps",
    "estimate_maps",
    "load_trials",
    "simulate_measure",
    "spearman_brown",
    "split_half_reliability",
    "synthetic_truth",
    "validate_trials",
    "write_trials",
]
