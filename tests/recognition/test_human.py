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
    assert not out.with_name("human.partial").exists()


def test_design_summary(small_experiment):
    summary = design_summary(small_experiment.trials)
    assert summary["sets"] == 5 and summary["trials"] == 50
    assert sum(summary["trials_per_map_type"].values()) == 50
    assert summary["incorrect_r"]["max"] < 0.4
