"""The human experiment's design: every balance rule, the r < 0.4 rule, and the ways it fails."""

import itertools

import numpy as np
import pandas as pd
import pytest

from lib.errors import InputError
from lib.maps import pearson_per_image
from lib.paths import LABELS
from lib.recognition.design import (
    DesignSpec,
    build_sets,
    choose_incorrect,
    make_design,
    rotation_correlations,
    split_conditions,
)
from lib.recognition.labels import conflicts, load_labels, terms
from lib.recognition.masks import half_mask
from tests.recognition.conftest import blob_maps

STUDY_IMAGES = ["img10", "img18", "img24", "img32", "img37", "img51", "img68", "img76", "img81",
                "img90", "img95", "img115", "img125", "img126", "img134", "img146", "img152",
                "img155", "img273", "img282", "img312", "img543", "img545", "img695", "img790"]
MAP_TYPES = ("a-SGBP-I", "a-ScoreCAM-I", "a-GradCAM-I")


@pytest.fixture(scope="module")
def full_design():
    """The default design (200 sets of 10) on the shipped labels and synthetic masks."""
    labels = load_labels(LABELS, STUDY_IMAGES)
    gen = np.random.default_rng(5)
    masks = {m: half_mask(blob_maps(25, 40, gen)) for m in MAP_TYPES}
    spec = DesignSpec(map_types=MAP_TYPES, seed=11)
    return make_design(STUDY_IMAGES, conflicts(labels), masks, spec), masks, labels


def test_design_has_200_sets_of_10_distinct_images(full_design):
    trials, _, _ = full_design
    assert len(trials) == 2000 and trials["set"].nunique() == 200
    for _, block in trials.groupby("set"):
        assert sorted(block["trial"]) == list(range(10))
        assert block["image"].nunique() == 10
        # Every trial of a set offers exactly the set's images, each once.
        for opts in block["options"]:
            assert sorted(opts.split(";")) == sorted(block["image"])


def test_design_balances_conditions_per_set_and_per_image(full_design):
    trials, _, _ = full_design
    per_set = trials.groupby(["set", "condition"]).size().unstack()
    assert (per_set["correct"] == 5).all() and (per_set["incorrect"] == 5).all()
    per_image = trials.groupby(["image", "condition"]).size().unstack()
    assert len(per_image) == 25
    assert (per_image["correct"] == 40).all() and (per_image["incorrect"] == 40).all()


def test_design_spreads_map_types_evenly(full_design):
    trials, _, _ = full_design
    cells = trials.groupby(["image", "condition", "map_type"]).size().unstack()
    assert cells.shape == (50, 3)
    assert ((cells.max(axis=1) - cells.min(axis=1)) <= 1).all()
    totals = trials["map_type"].value_counts()
    assert totals.max() - totals.min() <= 1


def test_no_set_holds_two_images_sharing_a_label(full_design):
    trials, _, labels = full_design
    # The shipped labels do have shared terms (street, trees, sea): the rule is exercised.
    assert any(conflicts(labels).values())
    for _, block in trials.groupby("set"):
        for a, b in itertools.combinations(block["image"], 2):
            assert not terms(labels[a]) & terms(labels[b]), (a, b)


def test_incorrect_masks_come_from_other_images_and_correlate_below_04(full_design):
    trials, masks, _ = full_design
    index = {i: k for k, i in enumerate(STUDY_IMAGES)}
    correct = trials[trials["condition"] == "correct"]
    assert (correct["mask_image"] == correct["image"]).all()
    assert (correct["rotation"] == 0).all()
    wrong = trials[trials["condition"] == "incorrect"]
    assert (wrong["mask_image"] != wrong["image"]).all()
    assert set(wrong["rotation"]) <= {0, 90, 180, 270} and wrong["rotation"].nunique() > 1
    for t in wrong.itertuples():
        own = masks[t.map_type][index[t.image]]
        other = np.rot90(masks[t.map_type][index[t.mask_image]], t.rotation // 90)
        r = pearson_per_image(own, other)
        assert r < 0.4 and r == pytest.approx(t.r_correct, abs=1e-6)


def test_design_is_seeded(full_design):
    trials, masks, labels = full_design
    again = make_design(STUDY_IMAGES, conflicts(labels), masks,
                        DesignSpec(map_types=MAP_TYPES, seed=11))
    pd.testing.assert_frame_equal(trials, again)
    other = make_design(STUDY_IMAGES, conflicts(labels), masks,
                        DesignSpec(map_types=MAP_TYPES, seed=12))
    assert not trials.equals(other)


def test_impossible_r_rule_is_an_error_not_a_loop():
    # Masks symmetric under every rotation and identical across images: every r is 1.
    m = np.zeros((20, 20))
    m[5:15, 5:15] = 1
    masks = np.repeat(m[None], 4, axis=0)
    r = rotation_correlations(masks, [0, 90, 180, 270])
    assert np.allclose(r, 1)
    with pytest.raises(InputError, match=r"image img2, toy: no other image's mask .* below 0.4"):
        choose_incorrect(1, r, 0.4, np.random.default_rng(0), "image img2, toy")
    ids = [f"i{k}" for k in range(4)]
    with pytest.raises(InputError, match="below 0.4"):
        make_design(ids, {}, {"toy": masks}, DesignSpec(map_types=("toy",), n_sets=4, set_size=2))


def test_choose_incorrect_draws_only_allowed_candidates():
    r = np.full((3, 3, 2), 0.9)
    r[0, 2, 1] = 0.1  # the only candidate for image 0
    r[0, 0, :] = -1.0  # the image itself never qualifies, however low its r
    gen = np.random.default_rng(0)
    assert {choose_incorrect(0, r, 0.4, gen, "x")[:2] for _ in range(20)} == {(2, 1)}


def test_three_images_sharing_a_term_cannot_fill_the_sets():
    ids = [f"i{k}" for k in range(25)]
    labels = {i: f"t{k}" for k, i in enumerate(ids)}
    for i in ids[:3]:
        labels[i] = "kitchen"  # each must be in 80 of 200 sets, never two together: 240 > 200
    spec = DesignSpec(map_types=("a",), max_restarts=3)
    with pytest.raises(InputError, match="could not draw 200 sets"):
        build_sets(ids, conflicts(labels), spec, np.random.default_rng(0))


def test_counts_that_cannot_balance_are_an_error():
    ids = [f"i{k}" for k in range(25)]
    with pytest.raises(InputError, match="even multiple"):
        build_sets(ids, {}, DesignSpec(map_types=("a",), n_sets=199), np.random.default_rng(0))
    with pytest.raises(InputError, match="must be even"):
        build_sets(ids, {}, DesignSpec(map_types=("a",), set_size=9), np.random.default_rng(0))


def test_split_conditions_balances_any_even_incidence(rng):
    sets = [list(rng.choice(12, 6, replace=False)) for _ in range(40)]
    # Make every image's count even by construction: duplicate the list of sets.
    sets = [[f"i{k}" for k in s] for s in sets + sets]
    conds = split_conditions(sets, rng)
    per_image: dict[str, list[int]] = {}
    for members, cs in zip(sets, conds, strict=True):
        assert cs.count("correct") == cs.count("incorrect")
        for i, c in zip(members, cs, strict=True):
            per_image.setdefault(i, [0, 0])[c == "correct"] += 1
    assert all(a == b for a, b in per_image.values())


def test_shipped_labels_cover_the_study_images():
    labels = load_labels(LABELS, STUDY_IMAGES)
    assert len(labels) == 25 and all(len(terms(t)) >= 2 for t in labels.values())
    table = pd.read_csv(LABELS)
    assert (table["status"] == "provisional").all()


def test_labels_file_errors_name_the_line(tmp_path):
    bad = tmp_path / "labels.csv"
    bad.write_text("image,labels\nimg1,\"a, b\"\nimg1,\"c\"\n")
    with pytest.raises(InputError, match="line 3: image img1 labelled twice"):
        load_labels(bad, ["img1"])
    bad.write_text("image,labels\nimg1,\" , \"\n")
    with pytest.raises(InputError, match="line 2: image img1 has no label terms"):
        load_labels(bad, ["img1"])
    bad.write_text("image,labels\nimg1,a\n")
    with pytest.raises(InputError, match=r"no labels for images \['img2'\]"):
        load_labels(bad, ["img1", "img2"])
