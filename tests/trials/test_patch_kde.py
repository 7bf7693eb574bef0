"""The patch estimator and the kernel density estimate of spatial memory and fixations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lib.errors import InputError
from lib.trials._grid import kde_map, pixel_centres
from lib.trials.patch import patch_centres, patch_map
from lib.trials.spatial import spatial_map


def _patch_frame(ratings: dict[tuple[float, float], list[int]]) -> pd.DataFrame:
    rows = [("img1", f"p{j}", x, y, r) for (x, y), rs in ratings.items() for j, r in enumerate(rs)]
    return pd.DataFrame(rows, columns=["image", "participant", "x", "y", "rating"])


def test_pixel_centres_cover_the_image():
    c = pixel_centres(250)
    assert c[0] == pytest.approx(405 / 500) and c[-1] == pytest.approx(405 - 405 / 500)
    assert patch_centres(12)[0] == pytest.approx(405 / 24)


def test_equal_mean_ratings_give_a_flat_map_of_the_rating_squared():
    centres = patch_centres(12)
    frame = _patch_frame({(x, y): [3, 5] for x in centres for y in centres})
    np.testing.assert_allclose(patch_map(frame, 50, sigma_px=37.0), 16.0)


def test_two_patches_weighted_by_distance():
    # Two centres on a horizontal line: at their midpoint the weights are equal, so the value is
    # the squared average of their means; near one centre it approaches that centre's mean squared.
    frame = _patch_frame({(100.5, 202.5): [2, 2], (304.5, 202.5): [6, 4]})
    m = patch_map(frame, 405, sigma_px=20.0)
    assert m[202, 202] == pytest.approx(((2 + 5) / 2) ** 2)
    assert m[202, 100] == pytest.approx(4.0, rel=1e-6)
    assert m[202, 304] == pytest.approx(25.0, rel=1e-6)


def test_patch_weights_count_raters_and_zero_weight_drops_a_patch():
    frame = _patch_frame({(100.5, 202.5): [2, 6], (304.5, 202.5): [4, 4]})
    doubled = patch_map(frame, 81, 30.0, weights=np.array([1, 3, 1, 1]))  # rater p1 drawn 3 times
    assert doubled[40, 20] == pytest.approx(
        patch_map(_patch_frame({(100.5, 202.5): [2, 6, 6, 6], (304.5, 202.5): [4, 4]}), 81, 30.0)[
            40, 20
        ]
    )
    only_right = patch_map(frame, 81, 30.0, weights=np.array([0, 0, 1, 1]))
    np.testing.assert_allclose(only_right, 16.0)


def test_patch_sigma_too_small_is_named():
    frame = _patch_frame({(10.0, 10.0): [3]})
    with pytest.raises(InputError, match="sigma_px = 0.5 is too small"):
        patch_map(frame, 100, sigma_px=0.5)


def test_kde_sums_to_one_peaks_at_the_point_and_has_its_covariance():
    m = kde_map(np.array([202.5]), np.array([202.5]), 405, sigma_x=20.0, sigma_y=8.0)
    assert m.sum() == pytest.approx(1.0)
    assert np.unravel_index(m.argmax(), m.shape) == (202, 202)
    c = pixel_centres(405)
    var_x = (m.sum(axis=0) * (c - 202.5) ** 2).sum()
    var_y = (m.sum(axis=1) * (c - 202.5) ** 2).sum()
    assert var_x == pytest.approx(400.0, rel=1e-3) and var_y == pytest.approx(64.0, rel=1e-3)


def test_kde_weight_two_equals_a_duplicated_point():
    x, y = np.array([50.0, 300.0]), np.array([60.0, 200.0])
    weighted = kde_map(x, y, 51, 16.0, 16.0, weights=np.array([2.0, 1.0]))
    duplicated = kde_map(np.r_[x, 50.0], np.r_[y, 60.0], 51, 16.0, 16.0)
    np.testing.assert_allclose(weighted, duplicated)
    with pytest.raises(InputError, match="no points with positive weight"):
        kde_map(x, y, 51, 16.0, 16.0, weights=np.zeros(2))


def _chains():
    rows = []
    for c in range(3):
        for it in range(1, 21):
            rows.append(("img1", f"c{c}", it, 10.0 * it + c, 200.0 - 5 * it))
    return pd.DataFrame(rows, columns=["image", "chain", "iteration", "x", "y"])


def test_spatial_map_uses_only_the_final_iteration():
    frame = _chains()
    m = spatial_map(frame, 101, 20, 16.0, 16.0)
    final = frame[frame.iteration == 20]
    np.testing.assert_allclose(m, kde_map(final.x.to_numpy(), final.y.to_numpy(), 101, 16.0, 16.0))
    moved = frame.copy()
    moved.loc[moved.iteration < 20, "x"] = 1.0  # earlier iterations do not matter
    np.testing.assert_allclose(spatial_map(moved, 101, 20, 16.0, 16.0), m)


def test_spatial_chain_stopping_early_is_named():
    frame = _chains()
    frame = frame[~((frame.chain == "c1") & (frame.iteration > 12))]
    with pytest.raises(InputError, match="chain 'c1' ends at iteration 12, before .* = 20"):
        spatial_map(frame, 101, 20, 16.0, 16.0)
