"""The human experiment's files: stimuli that reveal half of each image, the page, the summary."""

import json
import re

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from lib.recognition.experiment import design_id
from lib.recognition.human import design_summary, write_experiment


@pytest.fixture(scope="module")
def written(small_experiment, tmp_path_factory):
    out = tmp_path_factory.mktemp("exp") / "human"
    stimuli = write_experiment(small_experiment, out, fixation_ms=500, flash_ms=200, iti_ms=300)
    return small_experiment, out, stimuli


def test_every_stimulus_is_the_grayscale_image_times_a_graded_half_mask(written):
    exp, out, stimuli = written
    assert set(stimuli["stimulus"]) == set(exp.trials["stimulus"])
    index = {i: k for k, i in enumerate(exp.image_ids)}
    for row in stimuli.itertuples():
        pixels = np.asarray(Image.open(out / row.file))
        assert pixels.dtype == np.uint8 and pixels.shape == (64, 64)  # 8-bit grayscale
        mask = np.rot90(exp.masks[row.map_type][index[row.mask_image]], row.rotation // 90)
        # Graded (the default): half the pixels carry the map's value, the rest are hidden.
        assert (mask > 0).sum() == 64 * 64 // 2 and len(np.unique(mask)) > 100
        assert mask.max() == 1.0 and not pixels[mask == 0].any()
        expected = np.clip(np.rint(exp.gray[index[row.image]] * mask), 0, 255)
        np.testing.assert_array_equal(pixels, expected)


def test_binary_stimuli_reveal_exactly_half_the_image(small_experiment, tmp_path):
    from tests.recognition.conftest import binary_experiment

    exp = binary_experiment()
    stimuli = write_experiment(exp, tmp_path / "human", fixation_ms=500, flash_ms=200, iti_ms=300)
    for row in stimuli.head(20).itertuples():
        pixels = np.asarray(Image.open(tmp_path / "human" / row.file))
        # The toy images are never black, so a black pixel is a hidden one.
        assert (pixels > 0).sum() == 64 * 64 // 2
    # Same maps and seed: the binary masks are the graded ones' support.
    for m in exp.masks:
        np.testing.assert_array_equal(exp.masks[m], small_experiment.masks[m] > 0)


def test_folder_holds_trials_stimuli_and_a_page_without_network(written):
    exp, out, _ = written
    assert sorted(p.name for p in out.iterdir()) == ["experiment.html", "jspsych", "stimuli",
                                                     "stimuli.csv", "trials.csv"]
    from lib.recognition.experiment import BUNDLE

    assert sorted(p.name for p in (out / "jspsych").iterdir()) == sorted(BUNDLE)
    pd.testing.assert_frame_equal(pd.read_csv(out / "trials.csv"), exp.trials,
                                  check_dtype=False)
    html = (out / "experiment.html").read_text()
    assert not re.search(r"https?://|//cdn|src=\"http|href=\"http", html)
    assert re.findall(r'<script src="([^"]+)"', html) == [
        f"jspsych/{name}" for name in ["jspsych.js", "plugin-preload.js", "plugin-browser-check.js",
                                       "plugin-fullscreen.js", "plugin-instructions.js",
                                       "plugin-html-button-response.js",
                                       "plugin-html-keyboard-response.js",
                                       "plugin-image-keyboard-response.js"]]
    design = json.loads(re.search(r"const DESIGN = (\{.*?\});\n", html).group(1))
    assert design["flash_ms"] == 200 and design["n_sets"] == 5
    assert design["experiment"] == "recognition_human" and design["design_id"] == design_id(exp.trials)
    assert len(design["sets"]["0"]) == 10
    first = design["sets"]["0"][0]
    assert (out / first["file"]).is_file() and len(first["options"]) == 10
    assert not list(out.parent.glob("*.partial*"))


def test_design_summary(small_experiment):
    summary = design_summary(small_experiment.trials)
    assert summary["sets"] == 5 and summary["trials"] == 50
    assert sum(summary["trials_per_map_type"].values()) == 50
    assert summary["incorrect_r"]["max"] < 0.4


def test_without_npm_ci_the_folder_is_not_written(small_experiment, tmp_path, monkeypatch):
    from lib.errors import InputError
    from lib.recognition import experiment

    monkeypatch.setattr(experiment, "NODE_MODULES", tmp_path / "node_modules")
    with pytest.raises(InputError, match=r"jspsych/dist/index.browser.min.js: not found; run `npm ci`"):
        write_experiment(small_experiment, tmp_path / "human", fixation_ms=500, flash_ms=200,
                         iti_ms=300)
    assert not (tmp_path / "human").exists() and not (tmp_path / "human.partial").exists()


def test_design_id_follows_the_trials(small_experiment):
    trials = small_experiment.trials
    assert design_id(trials) == design_id(trials.sample(frac=1, random_state=0))  # row order
    changed = trials.copy()
    changed.loc[0, "options"] = ";".join(reversed(changed.loc[0, "options"].split(";")))
    assert design_id(changed) != design_id(trials)
