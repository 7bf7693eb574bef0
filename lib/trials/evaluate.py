"""How well the estimators recover known maps, and how reliable they are, on simulated trials.

    .venv/bin/python -m lib.trials.evaluate            # prints JSON (a few minutes on 2 cores)

For each measure and sample size (the study's, a third of it, three times it): the mean over images
of Pearson r between the map estimated from simulated trials and the ground truth it was simulated
from, at the native size; ground truths are synthetic (`synthetic_truth`, seeded) and, when the
study data are present, the study's published maps (each measure its own). Then the split-half
reliability (mean r between halves of the participants, and its Spearman-Brown correction) at the
same sizes. Everything is seeded; the numbers in the README come from this.
"""

from __future__ import annotations

import json

import numpy as np

from lib.maps import pearson_per_image, resize_maps
from lib.paths import RAW_HUMAN_MAPS
from lib.trials.estimate import estimate_maps
from lib.trials.resample import split_half_reliability
from lib.trials.schemas import PROCEDURE_OF_MEASURE, TrialSet, validate_trials
from lib.trials.simulate import SimulationSizes, simulate_measure, synthetic_truth

FIELDS = {
    "patch": ("raters",),
    "dprime": ("responses",),
    "spatial": ("chains",),
    "free": ("participants",),
    "saliency": ("participants",),
    "object": ("participants",),
}
SCALES = {"third": 1 / 3, "study": 1.0, "triple": 3.0}
PUBLISHED_IMAGES = ["img10", "img51", "img134", "img273", "img545", "img790"]


def _sizes(measure: str, scale: float) -> SimulationSizes:
    study = SimulationSizes()
    field = FIELDS[measure][0]
    return SimulationSizes(**{field: max(2, round(getattr(study, field) * scale))})


def _trials(measure, truths, sizes, seed=0) -> TrialSet:
    procedure = PROCEDURE_OF_MEASURE[measure]
    frame = simulate_measure(measure, truths, seed, sizes)
    return TrialSet(procedure, validate_trials(frame, procedure, list(truths)))


def evaluate(truths_of: dict[str, dict[str, np.ndarray]], reliability: bool) -> dict:
    out: dict = {}
    for measure, truths in truths_of.items():
        images = list(truths)
        truth = np.stack(list(truths.values()))
        row: dict = {}
        for name, scale in SCALES.items():
            sizes = _sizes(measure, scale)
            trials = _trials(measure, truths, sizes)
            maps = estimate_maps(trials, measure, images)
            entry = {
                "n": getattr(sizes, FIELDS[measure][0]),
                "recovery_r": round(
                    float(pearson_per_image(maps, resize_maps(truth, maps.shape[-1])).mean()), 3
                ),
            }
            if reliability:
                rel = split_half_reliability(trials, measure=measure, images=images, n_splits=5)
                entry |= {
                    "split_half_r": round(rel.r_half, 3),
                    "spearman_brown_r": round(rel.r_full, 3),
                }
            row[name] = entry
        out[measure] = row
    return out


def main() -> None:
    rng = np.random.default_rng(2021)
    synthetic = {f"syn{k}": synthetic_truth(rng) for k in range(4)}
    result = {
        "synthetic": evaluate({m: synthetic for m in ("patch", "dprime", "spatial", "free")}, True)
    }
    if RAW_HUMAN_MAPS.is_dir():
        from lib.trials.example import published_truths

        result["published"] = evaluate(
            {m: published_truths(m, tuple(PUBLISHED_IMAGES)) for m in FIELDS}, False
        )
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    try:  # small matrix products: BLAS threads only fight each other (threadpoolctl via sklearn)
        from threadpoolctl import threadpool_limits
    except ImportError:
        main()
    else:
        with threadpool_limits(limits=1, user_api="blas"):
            main()
