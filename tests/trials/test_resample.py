"""Participant-level bootstrap rebuilds and split-half reliability."""

from __future__ import annotations

import numpy as np
import pytest

from lib.errors import InputError
from lib.maps import pearson_per_image
from lib.trials import (
    SimulationSizes,
    bootstrap_maps,
    estimate_maps,
    spearman_brown,
    split_half_reliability,
)
from tests.trials._helpers import IMAGES, simulated

SMALL = SimulationSizes(raters=4, responses=4, chains=40, participants=6, fixations=8)


@pytest.mark.parametrize(
    "measure, size", [("patch", 250), ("dprime", 251), ("spatial", 251), ("saliency", 251)]
)
def test_bootstrap_shape_and_seed(truths, measure, size):
    trials = simulated(measure, truths, sizes=SMALL)
    maps = bootstrap_maps(trials, 3, seed=7, measure=measure, images=IMAGES)
    assert maps.shape == (3, len(IMAGES), size, size)
    assert np.isfinite(maps).all()
    np.testing.assert_array_equal(
        maps, bootstrap_maps(trials, 3, seed=7, measure=measure, images=IMAGES)
    )
    assert not np.array_equal(maps[0], maps[1])  # resamples differ
    assert not np.array_equal(
        maps, bootstrap_maps(trials, 3, seed=8, measure=measure, images=IMAGES)
    )


@pytest.mark.parametrize("measure", ["patch", "spatial", "free"])
def test_bootstrap_mean_approaches_the_full_data_map(truths, measure):
    trials = simulated(measure, truths, sizes=SMALL)
    full = estimate_maps(trials, measure, IMAGES)
    boots = bootstrap_maps(trials, 60, seed=0, measure=measure, images=IMAGES)

    def error(k):  # relative RMS distance of the mean of k resamples from the full-data map
        return np.sqrt(((boots[:k].mean(0) - full) ** 2).mean() / full.var())

    assert error(60) < 0.5 * error(3)
    assert pearson_per_image(boots.mean(0), full).min() > 0.97
    # single resamples scatter around it: participant-level variability is really there
    assert pearson_per_image(boots[0], full).mean() < pearson_per_image(boots.mean(0), full).mean()


def test_bootstrap_rejects_zero_resamples(truths):
    with pytest.raises(InputError, match="n must be at least 1"):
        bootstrap_maps(simulated("free", truths, sizes=SMALL), 0, 0, measure="free", images=IMAGES)


def test_spearman_brown_by_hand():
    assert spearman_brown(0.5) == pytest.approx(2 / 3)
    assert spearman_brown(0.6, factor=1) == pytest.approx(0.6)
    assert spearman_brown(1.0) == pytest.approx(1.0)


# Per measure: the size that grows and a small and a larger value of it.
RELIABILITY_GROWTH = {
    "patch": ("raters", 4, 16),
    "dprime": ("responses", 4, 16),
    "spatial": ("chains", 60, 240),
    "object": ("participants", 6, 24),
}


@pytest.mark.parametrize("measure", list(RELIABILITY_GROWTH))
def test_split_half_reliability_grows_with_participants(truths, measure):
    field, small, large = RELIABILITY_GROWTH[measure]
    rel = [
        split_half_reliability(
            simulated(measure, truths, sizes=SimulationSizes(**{field: n})),
            measure=measure,
            images=IMAGES,
            n_splits=3,
            seed=0,
        )
        for n in (small, large)
    ]
    # four times the participants: the unshared (noise) part of the halves shrinks markedly
    assert 1 - rel[1].r_half < 0.6 * (1 - rel[0].r_half)
    assert rel[1].r_full == pytest.approx(spearman_brown(rel[1].r_half))
    assert 0 < rel[0].r_half < rel[0].r_full < 1
    assert rel[1].per_image.shape == (len(IMAGES),)
