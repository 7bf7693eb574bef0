"""The participant bootstrap, end to end on the simulated example trials."""

import numpy as np
import pytest
import xarray as xr

from lib.compare import fit_smoothing
from lib.compare.participants import participant_bootstrap, resampled_measures
from lib.human_maps import build_human_maps
from lib.human_pc import fit_human_pc
from lib.paths import RAW_HUMAN_MAPS, ROOT
from lib.trials import TrialSettings

IMAGES = ["img10", "img32", "img95"]
MEASURES = ["patch", "dprime", "spatial", "free", "saliency", "object"]
SOURCES = {"patch": "data/examples/trials/patch.csv", "dprime": "data/examples/trials/dprime.parquet",
           "spatial": "data/examples/trials/spatial.csv", "free": "data/examples/trials/fixations.csv",
           "saliency": "data/examples/trials/fixations.csv", "object": "data/examples/trials/fixations.csv"}
GRID = 32


@pytest.fixture(scope="module")
def full_sample():
    ds = build_human_maps(RAW_HUMAN_MAPS, IMAGES, MEASURES, SOURCES, GRID)
    measures = ds["maps"].values
    fit = fit_human_pc(measures, MEASURES, ["free", "saliency", "object"], np.sqrt(1 / 3))
    human = xr.DataArray(np.concatenate([measures, fit.project(measures)[None]]),
                         dims=("human_map", "image", "y", "x"),
                         coords={"human_map": MEASURES + ["pc"], "image": IMAGES})
    rng = np.random.default_rng(0)
    maps = xr.DataArray(np.stack([human.sel(human_map="pc").values + rng.random((3, GRID, GRID)),
                                  rng.random((3, GRID, GRID))]),
                        dims=("map_type", "image", "y", "x"),
                        coords={"map_type": ["toy-GBP-I", "toy-GBP-R"], "image": IMAGES})
    sigma = xr.DataArray(np.full((2, 7), 2.0), dims=("map_type", "human_map"),
                         coords={"map_type": maps["map_type"].values, "human_map": MEASURES + ["pc"]})
    return human, fit, maps, sigma


def test_resampling_the_full_sample_reproduces_its_scores(full_sample):
    human, fit, maps, sigma = full_sample
    same = {m: np.repeat(human.sel(human_map=m).values[None], 4, axis=0) for m in MEASURES}
    ds = participant_bootstrap(maps, human, fit, "pc", same, sigma)
    reference = fit_smoothing(maps, human, np.array([2.0]))["peak_r"]
    np.testing.assert_allclose(ds["r_fixed"].values, np.repeat(reference.values[..., None], 4, axis=-1), atol=1e-12)
    np.testing.assert_allclose(ds["sd"].values, 0.0, atol=1e-12)


@pytest.mark.slow
def test_participant_bootstrap_on_example_trials(full_sample):
    human, fit, maps, sigma = full_sample
    settings = TrialSettings()
    resampled = resampled_measures(SOURCES, MEASURES, IMAGES, 6, 0, GRID, settings, ROOT)
    assert set(resampled) == set(MEASURES) and resampled["patch"].shape == (6, 3, GRID, GRID)
    again = resampled_measures(SOURCES, MEASURES, IMAGES, 6, 0, GRID, settings, ROOT)
    np.testing.assert_array_equal(resampled["dprime"], again["dprime"])  # same seed, same maps
    ds = participant_bootstrap(maps, human, fit, "pc", resampled, sigma)
    assert ds.attrs["resampled"] == sorted(MEASURES)
    assert (ds["sd"].values > 0).all()
    # The map built to follow the Human PC keeps scoring far above the random one in every resample.
    r = ds["r_fixed"].sel(human_map="pc")
    assert (r.sel(map_type="toy-GBP-I") > r.sel(map_type="toy-GBP-R") + 0.2).all()
    assert (ds["lo"] <= ds["hi"]).all()


def test_published_sources_give_a_status_and_no_numbers(tmp_path, monkeypatch):
    import json

    import pandas as pd

    from lib import paths
    from stages import participant_bootstrap as stage

    params = {"estimate_human": {"sources": {m: "published" for m in MEASURES}},
              "data": {"measures": MEASURES, "human_pc": "pc"},
              "bootstrap": {"participants": {"n": 5, "seed": 0}}}
    monkeypatch.setattr(stage, "load_params", lambda: params)
    monkeypatch.setattr(paths, "PARTICIPANT_BOOTSTRAP", tmp_path / "compare" / "participant_bootstrap.csv")
    monkeypatch.setattr(paths, "METRICS", tmp_path / "metrics")
    stage.main()
    status = json.loads((tmp_path / "metrics" / "participant_bootstrap.json").read_text())["status"]
    assert status.startswith("not available") and "estimate_human.sources" in status
    table = pd.read_csv(tmp_path / "compare" / "participant_bootstrap.csv")
    assert list(table.columns) == stage.COLUMNS and table.empty


def test_every_participant_drawn_once_rebuilds_the_full_sample_maps(full_sample):
    from lib.maps import resize_maps
    from lib.trials import PROCEDURE_OF_MEASURE, load_trials
    from lib.trials.estimate import split_by_image

    human, _, _, _ = full_sample
    # The resample in which each participant (chain) is drawn exactly once is the full sample, so the
    # bootstrap's row weights must rebuild estimate_human's maps exactly, for every measure.
    for measure in MEASURES:
        trials = load_trials(ROOT / SOURCES[measure], PROCEDURE_OF_MEASURE[measure], IMAGES)
        parts = split_by_image(trials, measure, IMAGES, TrialSettings())
        native = np.stack([p.build(np.ones(len(p.units))) for p in parts])
        np.testing.assert_allclose(resize_maps(native[None], GRID)[0], human.sel(human_map=measure).values,
                                   atol=1e-12)


def test_twice_the_participants_shrinks_the_spread_by_about_root_two(tmp_path):
    import pandas as pd

    # Each participant copied under a new id: the same full-sample map from twice the people, so
    # the bootstrap SD of the maps should fall by about 1/sqrt(2) (0.71; measured 0.70 at n = 40).
    trials = pd.read_csv(ROOT / SOURCES["patch"])
    pd.concat([trials, trials.assign(participant=trials["participant"] + "-copy")]).to_csv(
        tmp_path / "patch.csv", index=False)
    one = resampled_measures({"patch": SOURCES["patch"]}, ["patch"], IMAGES, 40, 0, GRID, TrialSettings(), ROOT)
    two = resampled_measures({"patch": "patch.csv"}, ["patch"], IMAGES, 40, 0, GRID, TrialSettings(), tmp_path)
    ratio = two["patch"].std(axis=0, ddof=1).mean() / one["patch"].std(axis=0, ddof=1).mean()
    assert 0.55 < ratio < 0.85
