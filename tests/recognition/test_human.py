"""The human experiment's files: stimuli that reveal half of each image, the page, the summary."""

import json
import re

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from lib.recognition.human import design_summary, write_experiment


@pytest.fixture(scope="module")
def written(small_experiment, tmp_path_factory):
    out = tmp_path_factory.mktemp("exp") / "human"
    stimuli = write_experiment(small_experiment, out, fixation_ms=500, flash_ms=200, iti_ms=300)
    return small_experiment, out, stimuli


def test_every_stimulus_reveals_exactly_half_the_image(written):
    exp, out, stimuli = written
    assert set(stimuli["stimulus"]) == set(exp.trials["stimulus"])
    index = {i: k for k, i in enumerate(exp.image_ids)}
    for row in stimuli.itertuples():
        pixels = np.asarray(Image.open(out / row.file))
        assert pixels.dtype == np.uint8 and pixels.shape == (64, 64)  # 8-bit grayscale
        # The toy images are never black, so a black pixel is a hidden one.
        assert (pixels > 0).sum() == 64 * 64 // 2
        mask = np.rot90(exp.masks[row.map_type][index[row.mask_image]], row.rotation // 90)
        expected = np.clip(np.rint(exp.gray[index[row.image]] * mask), 0, 255)
        np.testing.assert_array_equal(pixels, expected)


def test_folder_holds_trials_stimuli_and_a_page_without_network(written):
    exp, out, _ = written
    assert sorted(p.name for p in out.iterdir()) == ["experiment.html", "stimuli", "stimuli.csv",
                                                     "trials.csv"]
    pd.testing.assert_frame_equal(pd.read_csv(out / "trials.csv"), exp.trials,
                                  check_dtype=False)
    html = (out / "experiment.html").read_text()
    assert not re.search(r"https?://|//cdn|<link|src=\"http", html)
    design = json.loads(re.search(r"const DESIGN = (\{.*?\});\n", html).group(1))
    assert design["flash_ms"] == 200 and design["n_sets"] == 5
    assert len(design["sets"]["0"]) == 10
    first = design["sets"]["0"][0]
    assert (out / first["file"]).is_file() and len(first["options"]) == 10
    assert not list(out.parent.glob("*.partial*"))


def test_design_summary(small_experiment):
    summary = design_summary(small_experiment.trials)
    assert summary["sets"] == 5 and summary["trials"] == 50
    assert sum(summary["trials_per_map_type"].values()) == 50
    assert summary["incorrect_r"]["max"] < 0.4
