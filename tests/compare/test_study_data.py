"""On the study's own maps (needs `dvc repro human_pc`): lib.compare agrees with human_pc."""

import json

import numpy as np
import pytest

from lib.compare.fit import correlation_table
from lib.paths import HUMAN_MAPS, HUMAN_PC, METRICS

pytestmark = pytest.mark.data


@pytest.fixture(scope="module")
def targets():
    from lib.human_pc import load_human_targets

    return load_human_targets(HUMAN_MAPS, HUMAN_PC)


def test_pc_against_measures_at_sigma_zero_matches_human_pc_metrics(targets):
    # The Human PC as a "map type" at sigma 0 correlates with each measure exactly as the
    # human_pc stage reported (pc_measure_r), and perfectly with itself.
    measures = [str(m) for m in targets["human_map"].values[:6]]
    pc = targets.sel(human_map="pc").values[None]
    r, _ = correlation_table(pc, targets.values, np.array([0.0]))
    reported = json.loads((METRICS / "human_pc.json").read_text())["pc_measure_r"]
    np.testing.assert_allclose(r[0, :6, 0].mean(-1), [reported[m] for m in measures], atol=2e-6)
    np.testing.assert_allclose(r[0, 6, 0], 1.0, atol=1e-12)
