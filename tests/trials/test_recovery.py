"""Maps estimated from simulated trials recover their ground truth, better with more participants.

The pinned values are Pearson r (mean over two seeded synthetic truths) measured with
`python -m lib.trials.evaluate`'s procedure at the study's sample sizes (9 ratings per patch,
9 responses per probe and condition, 250 chains x 20 iterations, 20 viewers x 10 fixations).
"""

from __future__ import annotations

import numpy as np
import pytest

from lib.trials import SimulationSizes, synthetic_truth
from tests.trials._helpers import recovery

STUDY_RECOVERY = {"patch": 0.907, "dprime": 0.983, "spatial": 0.927, "free": 0.923}


@pytest.mark.parametrize("measure", list(STUDY_RECOVERY))
def test_recovery_at_the_study_sample_sizes(truths, measure):
    assert recovery(measure, truths) == pytest.approx(STUDY_RECOVERY[measure], abs=0.02)


# Per measure: the size that grows, three values, and the least gain expected per step.
GROWTH = {
    "patch": ("raters", (1, 3, 9), 0.003),
    "dprime": ("responses", (3, 9, 27), 0.003),
    "spatial": ("chains", (50, 250, 1000), 0.02),
    "free": ("participants", (5, 20, 80), 0.02),
}


@pytest.mark.parametrize("measure", list(GROWTH))
def test_recovery_improves_with_participants(truths, measure):
    field, counts, gain = GROWTH[measure]
    seeds = [1]
    if measure == "patch":
        # A 12x12 grid of patches cannot resolve the default truths' narrow bumps: their recovery
        # is limited by resolution, not raters. Coarser truths and three seeds show the raters.
        rng = np.random.default_rng(5)
        truths = {i: synthetic_truth(rng, sigma_px=(40, 80)) for i in truths}
        seeds = [0, 1, 2]
    rs = [
        np.mean([recovery(measure, truths, s, SimulationSizes(**{field: c})) for s in seeds])
        for c in counts
    ]
    assert rs[1] > rs[0] + gain and rs[2] > rs[1] + gain, rs
