"""lib.benchmark: the scores at the fitted sigma agree with fit_smoothing's r, undefined metrics are
listed and excluded, the leaderboard keeps controls below the models, records say when two runs
are comparable."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from lib import benchmark
from lib.compare import fit_smoothing, saliency_metrics
from lib.compare.blur import blur_maps
from lib.compare.screen import ExcludedMapTypeWarning
from lib.errors import InputError
from tests.compare.conftest import smooth_noise

SETTINGS = {"kl_eps": 2.2204e-16, "ig_eps": 2.2204e-16, "centre_bias_sigma_frac": 0.2, "interval": 0.95}
FIXATION = ["free"]
IMAGES = ["img1", "img2", "img3", "img4"]
TYPES = ["net-GBP-I", "net-GradCAM-I", "net-GBP-R", "gbvs"]


@pytest.fixture(scope="module")
def case():
    """Human maps (free: a fixation density; patch: a rating map; pc: z-scored, negative values)
    and four map types that follow them with noise, on a 16x16 grid; fit_smoothing over 0..3."""
    rng = np.random.default_rng(3)
    truth = smooth_noise(rng, (len(IMAGES), 16, 16), sigma=2.0)
    free = truth**2 / (truth**2).sum(axis=(-2, -1), keepdims=True)
    patch = smooth_noise(rng, (len(IMAGES), 16, 16), sigma=3.0)
    pc = (truth - truth.mean()) / truth.std()
    targets = xr.DataArray(np.stack([free, patch, pc]), dims=("human_map", "image", "y", "x"),
                           coords={"human_map": ["free", "patch", "pc"], "image": IMAGES})
    noise = [0.1, 0.5, 2.0, 1.0]
    maps = xr.DataArray(np.stack([truth + s * rng.random(truth.shape) for s in noise]),
                        dims=("map_type", "image", "y", "x"), coords={"map_type": TYPES, "image": IMAGES})
    fit = fit_smoothing(maps, targets, np.arange(4.0))
    scores = benchmark.per_image_scores(maps, targets, fit["peak_sigma"], FIXATION, SETTINGS)
    return maps, targets, fit, scores


def test_cc_at_the_fitted_sigma_is_fit_smoothings_r(case):
    _maps, _targets, fit, scores = case
    np.testing.assert_allclose(scores.sel(metric="CC").values, fit["r_at_peak"].values, atol=1e-12)


def test_metrics_are_computed_at_the_fitted_sigma(case):
    maps, targets, fit, scores = case
    t, h = "net-GradCAM-I", "free"
    sigma = float(fit["peak_sigma"].sel(map_type=t, human_map=h))
    blurred = blur_maps(maps.sel(map_type=t).values, sigma)
    human = targets.sel(human_map=h).values
    np.testing.assert_allclose(scores.sel(map_type=t, human_map=h, metric="NSS").values,
                               saliency_metrics.nss(blurred, human), atol=1e-12)
    np.testing.assert_allclose(scores.sel(map_type=t, human_map=h, metric="SIM").values,
                               saliency_metrics.sim(blurred, human), atol=1e-12)


def test_fixation_metrics_only_for_fixation_measures(case):
    _maps, _targets, _fit, scores = case
    assert np.isfinite(scores.sel(human_map="free", metric=list(benchmark.FIXATION_METRICS))).all()
    assert np.isnan(scores.sel(human_map=["patch", "pc"], metric=list(benchmark.FIXATION_METRICS))).all()
    table, excluded = benchmark.summarise(scores, FIXATION, 50, 0, 0.95)
    assert excluded == []
    assert set(table.loc[table["human_map"] == "pc", "metric"]) == set(benchmark.MAP_METRICS)
    assert table["value"].notna().all() and (table["lo"] <= table["value"]).all()
    assert (table["value"] <= table["hi"]).all()


def test_better_maps_score_better_on_every_metric(case):
    """Noise 0.1 vs 2.0 on the same truth: higher CC, SIM, NSS, AUC, IG and lower KL."""
    _maps, _targets, _fit, scores = case
    good, bad = (scores.sel(map_type=t, human_map="free").mean("image") for t in ("net-GBP-I", "net-GBP-R"))
    for metric in ("CC", "SIM", "NSS", "AUC_Judd", "IG"):
        assert float(good.sel(metric=metric)) > float(bad.sel(metric=metric)), metric
    assert float(good.sel(metric="KL")) < float(bad.sel(metric="KL"))


def test_undefined_metric_is_excluded_with_a_warning_and_listed(case):
    _maps, _targets, _fit, scores = case
    broken = scores.copy()
    broken.loc[{"map_type": "net-GradCAM-I", "human_map": "free", "metric": "NSS", "image": "img2"}] = np.nan
    with pytest.warns(ExcludedMapTypeWarning, match="NSS of net-GradCAM-I against free"):
        table, excluded = benchmark.summarise(broken, FIXATION, 50, 0, 0.95)
    assert excluded == [{"map_type": "net-GradCAM-I", "human_map": "free", "metric": "NSS", "images": ["img2"]}]
    cell = (table["map_type"] == "net-GradCAM-I") & (table["human_map"] == "free") & (table["metric"] == "NSS")
    assert not cell.any() and table["value"].notna().all()


def test_leaderboard_ranks_models_and_keeps_controls_below(case):
    _maps, _targets, fit, scores = case
    table, _ = benchmark.summarise(scores, FIXATION, 50, 0, 0.95)
    summary = fit[["peak_sigma", "peak_r", "gap"]].to_dataframe().reset_index()
    summary = summary.rename(columns={"peak_sigma": "sigma", "peak_r": "r"})
    summary["share_of_ceiling"] = summary["r"] / 0.9
    randomisation = {"net-I": {"GBP": {"similarity_full": 0.2}, "GradCAM": {"similarity_full": 0.6}}}
    board = benchmark.leaderboard(table, summary, "pc", FIXATION, randomisation=randomisation)
    assert list(board["role"]) == ["model", "model", "random", "reference"]
    models = board[board["role"] == "model"]
    assert list(models["r"]) == sorted(models["r"], reverse=True)
    assert board.set_index("map_type").loc["net-GBP-I", "randomised_similarity"] == 0.2
    assert np.isnan(board.set_index("map_type").loc["gbvs", "randomised_similarity"])
    pc_cc = table[(table["human_map"] == "pc") & (table["metric"] == "CC")].set_index("map_type")["value"]
    np.testing.assert_allclose(board.set_index("map_type")["CC"], pc_cc.loc[board["map_type"]], atol=1e-6)


def test_records_say_when_runs_are_comparable(case):
    _maps, targets, _fit, _scores = case
    params = {"data": {"images": IMAGES, "grid": 16}, "benchmark": dict(SETTINGS)}
    board = pd.DataFrame({"map_type": ["net-GBP-I"], "role": ["model"], "r": [0.5]})
    a = benchmark.record(params, targets, {"net-I": "abc"}, [], board)
    assert a["version"] == benchmark.VERSION and a["best"]["map_type"] == "net-GBP-I"
    assert benchmark.comparable(a, a) == []
    other = benchmark.record(params | {"benchmark": SETTINGS | {"kl_eps": 1e-6}}, targets, {"net-I": "abd"}, [], board)
    assert benchmark.comparable(a, other) == ["params `benchmark` differ", "weights of net-I differ"]
    changed = targets.copy(data=targets.values + 1e-9)
    assert "different human maps" in benchmark.comparable(a, benchmark.record(params, changed, {}, [], board))


def test_bad_settings_name_the_key():
    with pytest.raises(InputError, match="benchmark.kl_eps"):
        benchmark.check_settings(SETTINGS | {"kl_eps": 0})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert benchmark.check_settings(SETTINGS) == SETTINGS


def test_an_image_agnostic_map_has_mean_shuffled_auc_exactly_half(case):
    """The same map on every image (centre bias): its shuffled AUC averaged over images is 1/2
    exactly, for any scores: with H the pairwise win matrix (H + H' = 1), sum_n q_n' H (Q - q_n)
    = Q' H Q - sum_n q_n' H q_n = N^2 / 2 - N / 2."""
    _maps, targets, _fit, _scores = case
    centre = np.broadcast_to(saliency_metrics.centre_bias(16, 0.2), (len(IMAGES), 16, 16))
    maps = xr.DataArray(centre[None], dims=("map_type", "image", "y", "x"),
                        coords={"map_type": ["center-bias"], "image": IMAGES})
    sigma = xr.DataArray(np.zeros((1, 3)), dims=("map_type", "human_map"),
                         coords={"map_type": ["center-bias"], "human_map": ["free", "patch", "pc"]})
    scores = benchmark.per_image_scores(maps, targets, sigma, FIXATION, SETTINGS)
    cell = scores.sel(map_type="center-bias", human_map="free")
    assert float(cell.sel(metric="sAUC").mean()) == pytest.approx(0.5, abs=1e-12)
    assert not np.allclose(cell.sel(metric="sAUC").values, 0.5)  # per image it varies


def test_real_fixations_give_the_sampled_fixation_metrics(case, tmp_path):
    """Fixation trials configured for FREE: the histogram holds exactly the rows of that task,
    NSS is the mean z-scored map at those fixations, and an image without fixations is excluded."""
    maps, targets, fit, _scores = case
    rows = pd.DataFrame({
        "image": ["img1", "img1", "img1", "img2", "img3", "img1"],
        "participant": ["p1"] * 6,
        "task": ["free", "free", "free", "free", "free", "saliency"],
        "x": [0.0, 404.9, 200.0, 100.0, 300.0, 50.0],
        "y": [404.9, 0.0, 200.0, 100.0, 300.0, 50.0],
    })
    rows.to_csv(tmp_path / "fixations.csv", index=False)
    hist = benchmark.fixation_histograms({"free": "fixations.csv"}, FIXATION, IMAGES, 16, root=tmp_path)
    assert set(hist) == {"free"} and hist["free"].sum() == 5  # the saliency row is not FREE's
    assert hist["free"][0, 15, 0] == 1 and hist["free"][0, 0, 15] == 1 and hist["free"][0, 7, 7] == 1
    assert hist["free"][3].sum() == 0  # img4 has none
    scores = benchmark.per_image_scores(maps, targets, fit["peak_sigma"], FIXATION, SETTINGS, hist)
    t = "net-GBP-I"
    sigma = float(fit["peak_sigma"].sel(map_type=t, human_map="free"))
    blurred = blur_maps(maps.sel(map_type=t).values[0], sigma)
    z = (blurred - blurred.mean()) / blurred.std()
    assert float(scores.sel(map_type=t, human_map="free", metric="NSS", image="img1")) == pytest.approx(
        (z[15, 0] + z[0, 15] + z[7, 7]) / 3, abs=1e-12)
    assert np.isnan(scores.sel(human_map="free", metric="NSS", image="img4")).all()
    # the density-based metrics do not change
    np.testing.assert_allclose(scores.sel(metric="CC"), _scores.sel(metric="CC"), atol=0)
    with pytest.warns(ExcludedMapTypeWarning, match="undefined for 1 image"):
        table, excluded = benchmark.summarise(scores, FIXATION, 50, 0, 0.95)
    assert {(e["metric"], tuple(e["images"])) for e in excluded} == {(m, ("img4",)) for m in benchmark.FIXATION_METRICS}
