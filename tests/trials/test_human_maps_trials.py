"""estimate_human with raw-trial sources: maps estimated from trials, their source and checksums
recorded, published maps still the default, and bad trial files stopping the stage with nothing
written."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest
import scipy.io

import stages.estimate_human as stage
from lib.errors import InputError
from lib.human_maps import build_human_maps, map_file
from lib.maps import pearson_per_image, resize_maps
from lib.measures import MEASURE_FILES, NATIVE_SHAPES
from lib.trials import SimulationSizes, TrialSettings, simulate_measure, write_trials
from tests.trials._helpers import IMAGES

MEASURES = list(MEASURE_FILES)
SIZES = SimulationSizes(raters=3, responses=2, chains=60, participants=8, fixations=10)
FILES = {"patch": "patch.csv", "dprime": "dprime.parquet", "spatial": "spatial.csv"}


@pytest.fixture(scope="module")
def trial_root(tmp_path_factory, truths):
    """A folder with the four trial files simulated from the synthetic truths."""
    root = tmp_path_factory.mktemp("trials")
    for measure, name in FILES.items():
        write_trials(simulate_measure(measure, truths, 0, SIZES), root / name)
    fix = [simulate_measure(t, truths, 0, SIZES) for t in ("free", "saliency", "object")]
    write_trials(pd.concat(fix, ignore_index=True), root / "fixations.csv")
    return root


def _all_trials():
    return {m: FILES.get(m, "fixations.csv") for m in MEASURES}


def test_every_measure_from_trials(trial_root, truths):
    ds = build_human_maps(
        trial_root / "no-published-maps",
        IMAGES,
        MEASURES,
        _all_trials(),
        20,
        TrialSettings(),
        root=trial_root,
    )
    assert ds["maps"].shape == (6, 2, 20, 20)
    assert list(ds["source"].values) == [f"trials:{_all_trials()[m]}" for m in MEASURES]
    for measure in MEASURES:
        assert ds[f"native_{measure}"].shape == (2, *NATIVE_SHAPES[measure])
    md5 = {
        f"trials:{n}": hashlib.md5((trial_root / n).read_bytes()).hexdigest()
        for n in set(_all_trials().values())
    }
    assert ds.attrs["provenance"] == md5
    assert ds.attrs["trial_settings"] == TrialSettings().as_params()
    # even these small samples put the maps near their truths
    truth = resize_maps(np.stack(list(truths.values())), 20)
    assert pearson_per_image(ds["maps"].sel(measure="free").values, truth).min() > 0.7


def _published_folder(folder, rng):
    for image in IMAGES:
        for measure, suffix in MEASURE_FILES.items():
            scipy.io.savemat(
                map_file(folder, image, suffix), {"map": rng.random(NATIVE_SHAPES[measure])}
            )


def test_mixed_sources_record_each(tmp_path, trial_root):
    _published_folder(tmp_path, np.random.default_rng(0))
    sources = {m: "published" for m in MEASURES} | {"dprime": str(trial_root / "dprime.parquet")}
    ds = build_human_maps(tmp_path, IMAGES, MEASURES, sources, 20)
    assert ds["source"].sel(measure="dprime").item() == f"trials:{trial_root / 'dprime.parquet'}"
    assert (ds["source"].values == "published").sum() == 5
    assert len(ds.attrs["provenance"]) == 5 * 2 + 1
    published = scipy.io.loadmat(map_file(tmp_path, "img2", "patchRate"))["map"]
    np.testing.assert_array_equal(ds["native_patch"].values[1], published)


def test_missing_trial_file_names_the_param(trial_root):
    sources = _all_trials() | {"spatial": "nope.csv"}
    with pytest.raises(InputError, match=r"sources.spatial = 'nope.csv' is neither `published`"):
        build_human_maps(trial_root, IMAGES, MEASURES, sources, 20, root=trial_root)


def test_fixation_file_without_a_task_is_named(tmp_path, truths):
    write_trials(simulate_measure("free", truths, 0, SIZES), tmp_path / "fix.csv")
    sources = {"free": "fix.csv", "saliency": "fix.csv"}
    with pytest.raises(InputError, match=r"fix.csv: image img1, task saliency: no trials"):
        build_human_maps(tmp_path, IMAGES, ["free", "saliency"], sources, 20, root=tmp_path)


def test_wrong_kind_of_file_is_named(trial_root):
    sources = _all_trials() | {"spatial": "patch.csv"}
    with pytest.raises(InputError, match=r"patch.csv: missing columns \['chain', 'iteration'\]"):
        build_human_maps(trial_root, IMAGES, MEASURES, sources, 20, root=trial_root)


def test_stage_stops_on_a_bad_trial_file_and_writes_nothing(
    tmp_path, trial_root, monkeypatch, capsys
):
    bad = tmp_path / "patch.csv"
    lines = (trial_root / "patch.csv").read_text().splitlines()
    lines[5] = lines[5].rsplit(",", 1)[0] + ",9"  # data row 5: rating 9
    bad.write_text("\n".join(lines) + "\n")
    sources = {m: str(trial_root / n) for m, n in _all_trials().items()} | {"patch": str(bad)}
    params = {
        "data": {"images": IMAGES, "measures": MEASURES, "grid": 20},
        "estimate_human": {"sources": sources, "trials": TrialSettings().as_params()},
    }
    out = tmp_path / "out" / "maps.zarr"
    monkeypatch.setattr(stage, "load_params", lambda: params)
    monkeypatch.setattr(stage, "HUMAN_MAPS", out)
    with pytest.raises(SystemExit) as exit_:
        stage.run(stage.main)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert f"{bad}: row 5 (line 6): rating 9 is outside 1-6" in err
    assert not out.exists() and not (tmp_path / "out").exists()
    # and with the file fixed, the same stage writes the store
    monkeypatch.setitem(sources, "patch", str(trial_root / "patch.csv"))
    stage.main()
    assert out.exists()


@pytest.mark.data
def test_example_trials_estimate_the_published_maps():
    """The committed example set (simulated from the study's maps of three images) gives maps
    close to the published ones; numbers in the README."""
    from lib.paths import RAW_HUMAN_MAPS, ROOT
    from lib.trials.example import EXAMPLE_FILES, EXAMPLE_IMAGES

    images = list(EXAMPLE_IMAGES)
    procedure = {m: "fixations" if m in ("free", "saliency", "object") else m for m in MEASURES}
    sources = {m: f"data/examples/trials/{EXAMPLE_FILES[procedure[m]]}" for m in MEASURES}
    trials = build_human_maps(RAW_HUMAN_MAPS, images, MEASURES, sources, 100, root=ROOT)
    published = build_human_maps(
        RAW_HUMAN_MAPS, images, MEASURES, {m: "published" for m in MEASURES}, 100
    )
    r = pearson_per_image(trials["maps"].values, published["maps"].values).mean(axis=1)
    assert dict(zip(MEASURES, r.round(2), strict=True)) == pytest.approx(EXAMPLE_R, abs=0.02)


EXAMPLE_R = {
    "patch": 0.75,
    "dprime": 0.98,
    "spatial": 0.77,
    "free": 0.96,
    "saliency": 0.95,
    "object": 0.93,
}
