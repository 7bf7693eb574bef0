"""d' with corrected rates, and the change-sensitivity map built from it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from lib.errors import InputError
from lib.trials.dprime import corrected_rate, dprime, dprime_map


@pytest.mark.parametrize("correction", ["loglinear", "half"])
def test_rates_of_zero_and_one_give_finite_dprime(correction):
    n = np.array([9, 9, 9, 9, 1, 0])
    hits = np.array([9, 0, 9, 0, 1, 0])
    fas = np.array([0, 9, 9, 0, 0, 0])
    d = dprime(hits, n, fas, n, correction)
    assert np.isfinite(d).all()
    assert d[0] > 0 > d[1]  # perfect discrimination, perfectly reversed
    assert d[0] == pytest.approx(-d[1])
    assert d[2] == pytest.approx(0) and d[3] == pytest.approx(0)  # all "shifted" / all "same"
    assert d[5] == 0  # no trials at all (a bootstrap hole): rates 0.5, d' 0


def test_corrections_by_hand():
    # log-linear (Hautus 1995): (k + 0.5) / (n + 1)
    assert corrected_rate(9, 9, "loglinear") == pytest.approx(9.5 / 10)
    assert corrected_rate(0, 9, "loglinear") == pytest.approx(0.5 / 10)
    assert corrected_rate(4, 9, "loglinear") == pytest.approx(4.5 / 10)
    # 1/(2n) rule: only the extremes move
    assert corrected_rate(9, 9, "half") == pytest.approx(1 - 1 / 18)
    assert corrected_rate(0, 9, "half") == pytest.approx(1 / 18)
    assert corrected_rate(4, 9, "half") == pytest.approx(4 / 9)
    assert dprime(9, 9, 0, 9) == pytest.approx(2 * norm.ppf(0.95))


def test_unknown_correction_is_an_input_error():
    with pytest.raises(InputError, match="unknown d' correction 'probit'"):
        corrected_rate(1, 2, "probit")


def _grid_trials(hits_of, fas_of, n=9, spacing=7.0, count=8):
    """Trials on a count x count probe grid where location (x, y) gets hits_of(x, y) "shifted"
    answers out of n shifted trials and fas_of(x, y) out of n same trials."""
    rows = []
    axis = 3.0 + spacing * np.arange(count)
    for y in axis:
        for x in axis:
            for cond, k in (("shifted", hits_of(x, y)), ("same", fas_of(x, y))):
                for j in range(n):
                    rows.append(("img1", f"p{j}", x, y, cond, "shifted" if j < k else "same"))
    return pd.DataFrame(rows, columns=["image", "participant", "x", "y", "condition", "response"])


def test_uniform_sensitivity_gives_a_flat_map_of_dprime_squared():
    frame = _grid_trials(lambda x, y: 8, lambda x, y: 2)
    m = dprime_map(frame, 40, sigma_px=7.0)
    expected = (norm.ppf(8.5 / 10) - norm.ppf(2.5 / 10)) ** 2
    assert m.shape == (40, 40)
    np.testing.assert_allclose(m, expected, rtol=1e-6)


def test_sensitive_region_is_where_the_map_is_high():
    # Perfect discrimination left of x = 30, chance to the right.
    frame = _grid_trials(lambda x, y: 9 if x < 30 else 5, lambda x, y: 0 if x < 30 else 5, count=10)
    m = dprime_map(frame, 60, sigma_px=3.0)
    assert m[:, :5].mean() > 5 * m[:, -10:].mean()


def test_holes_and_irregular_grids_are_named():
    frame = _grid_trials(lambda x, y: 5, lambda x, y: 5)
    holed = frame[~((frame.x == 10) & (frame.y == 17) & (frame.condition == "same"))]
    with pytest.raises(InputError, match=r"no `same` trials at probe \(x=10, y=17\)"):
        dprime_map(holed, 40, 7.0)
    irregular = frame.copy()
    irregular.loc[irregular.x == 52, "x"] = 60
    with pytest.raises(InputError, match="not a regular grid"):
        dprime_map(irregular, 40, 7.0)
