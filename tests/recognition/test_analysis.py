"""Analysis of recognition responses: recovery of a simulated effect, exclusion, bad files."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from lib.errors import InputError
from lib.recognition.analysis import (
    analyse,
    dprime_table,
    exclude,
    participant_dprime_table,
    read_responses,
)
from lib.recognition.design import DesignSpec, make_design
from lib.recognition.labels import conflicts
from lib.recognition.masks import half_mask
from tests.recognition.conftest import blob_maps
from tests.recognition.simulate import simulate, true_dprime

IDS = [f"img{k}" for k in range(25)]
TYPES = ("a-SGBP-I", "a-ScoreCAM-I")


@pytest.fixture(scope="module")
def design():
    gen = np.random.default_rng(2)
    masks = {m: half_mask(blob_maps(25, 30, gen)) for m in TYPES}
    labels = {i: f"thing{k}" for k, i in enumerate(IDS)}
    return make_design(IDS, conflicts(labels), masks, DesignSpec(map_types=TYPES, seed=4))


def _write(tmp_path, table, name="responses.csv"):
    path = tmp_path / name
    table.to_csv(path, index=False)
    return path


def test_analysis_recovers_a_simulated_masking_effect(design, tmp_path):
    # Correct masks double the chance of naming the image: d' 2.59 vs 1.42 (10 options).
    p = {"correct": 0.75, "incorrect": 0.45}
    responses = simulate(design, p, participants_per_set=5, rng=np.random.default_rng(9))
    metrics, tables = analyse(_write(tmp_path, responses), design, TYPES, IDS,
                              min_accuracy=0.15, n_resamples=200, seed=0)
    dp, boot = tables["dprime"], tables["bootstrap"]
    truth = {c: true_dprime(v, 10) for c, v in p.items()}
    for m in TYPES:
        got = metrics["dprime"][m]
        assert got["correct"]["mean"] == pytest.approx(truth["correct"], abs=0.15)
        assert got["incorrect"]["mean"] == pytest.approx(truth["incorrect"], abs=0.15)
        effect = truth["correct"] - truth["incorrect"]
        assert got["effect"]["mean"] == pytest.approx(effect, abs=0.15)
        assert got["effect"]["ci"][0] < effect < got["effect"]["ci"][1]
        assert got["effect"]["ci"][0] > 0.5  # far from no effect
    tests = {t["test"]: t for t in metrics["tests"]}
    for m in TYPES:
        t = tests[f"{m} correct vs incorrect"]
        assert t["n_images"] == 25 and t["mean_diff"] > 0.8 and t["p_bonferroni"] < 1e-6
    # No difference between the map types was simulated: small differences only.
    null = tests["a-SGBP-I vs a-ScoreCAM-I: masking effect"]
    assert abs(null["mean_diff"]) < 0.3 and null["ci"][0] < 0 < null["ci"][1]
    # Per-image d' share each cell's false alarms, so the bootstrap interval of a difference is
    # wider than the t-test's (which treats images as independent).
    same = tests["a-SGBP-I vs a-ScoreCAM-I: correct d'"]
    t_halfwidth = 2.064 * abs(same["mean_diff"] / same["t"])  # t(24) 97.5% quantile x SE
    assert same["ci"][1] - same["ci"][0] > 2 * t_halfwidth
    assert set(dp.columns) >= {"mask_type", "masking", "image", "dprime"}
    assert len(dp) == 2 * 2 * 25 and dp["dprime"].notna().all()
    assert len(boot) == 2 * 3


def test_analysis_recovers_a_map_type_difference(design, tmp_path):
    # SGBP masks help more than Score-CAM masks: d'(0.8) - d'(0.55) on correct trials.
    rng = np.random.default_rng(3)
    rows = []
    for m, p_correct in zip(TYPES, (0.8, 0.55), strict=True):
        sub = simulate(design[design["map_type"] == m], {"correct": p_correct, "incorrect": 0.4},
                       participants_per_set=5, rng=rng)
        rows.append(sub)
    responses = pd.concat(rows).sort_values(["participant", "set", "trial"])
    metrics, _ = analyse(_write(tmp_path, responses), design, TYPES, IDS, 0.15, 100, 0)
    diff = true_dprime(0.8, 10) - true_dprime(0.55, 10)
    t = {t["test"]: t for t in metrics["tests"]}["a-SGBP-I vs a-ScoreCAM-I: correct d'"]
    assert t["mean_diff"] == pytest.approx(diff, abs=0.15) and t["p_bonferroni"] < 1e-4


def test_dprime_counts_by_hand(design, tmp_path):
    # One set, one participant: hits and false alarms counted per image within each cell.
    block = design[design["set"] == 0]
    first = block.iloc[0]
    other = next(o for o in first.options.split(";") if o != first.image)
    responses = pd.DataFrame([{"participant": "p", "set": 0, "trial": int(first.trial),
                               "stimulus": first.stimulus, "response": other}])
    dp = dprime_table(read_responses(_write(tmp_path, responses), design), TYPES, IDS)
    cell = dp.set_index(["mask_type", "masking", "image"])
    shown = cell.loc[(first.map_type, first.condition, first.image)]
    assert (shown.n_signal, shown.hits, shown.n_noise) == (1, 0, 0)
    chosen = cell.loc[(first.map_type, first.condition, other)]
    assert (chosen.n_signal, chosen.n_noise, chosen.false_alarms) == (0, 1, 1)
    assert np.isnan(chosen.dprime)  # no signal trials: no d'


def test_participant_dprime_by_hand(design, tmp_path):
    # One participant, one set, right on every trial but the first: per map type and masking,
    # hits = right answers, false alarms = wrong ones, 9 noise trials per trial (10 options).
    block = design[design["set"] == 0].sort_values("trial")
    first = block.iloc[0]
    responses = pd.DataFrame({"participant": "p", "set": 0, "trial": block["trial"],
                              "stimulus": block["stimulus"], "response": block["image"]})
    responses.loc[responses.index[0], "response"] = next(o for o in first.options.split(";")
                                                         if o != first.image)
    table = participant_dprime_table(read_responses(_write(tmp_path, responses), design), TYPES)
    cells = block.groupby(["map_type", "condition"]).size()
    assert len(table) == len(cells) and set(table["participant"]) == {"p"}
    for r in table.itertuples():
        n = cells[(r.mask_type, r.masking)]
        wrong = int((r.mask_type, r.masking) == (first.map_type, first.condition))
        assert (r.n_signal, r.hits, r.false_alarms, r.n_noise) == (n, n - wrong, wrong, 9 * n)
        expected = norm.ppf((n - wrong + 0.5) / (n + 1)) - norm.ppf((wrong + 0.5) / (9 * n + 1))
        assert r.dprime == pytest.approx(expected, abs=1e-12)
    assert list(table["mask_type"].drop_duplicates()) == [t for t in TYPES
                                                         if t in set(table["mask_type"])]


def test_exclusion_below_min_accuracy(design, tmp_path):
    block = design[design["set"] == 0].sort_values("trial")
    rows = []
    for participant, n_right in (("low", 1), ("exact", 2), ("high", 3)):
        for k, t in enumerate(block.itertuples()):
            wrong = next(o for o in t.options.split(";") if o != t.image)
            rows.append({"participant": participant, "set": t.set, "trial": t.trial,
                         "stimulus": t.stimulus, "response": t.image if k < n_right else wrong})
    responses = read_responses(_write(tmp_path, pd.DataFrame(rows)), design)
    # 10 trials each: 10% is excluded, exactly 20% and 30% are kept.
    kept, out = exclude(responses, 0.2)
    assert out == ["low"] and set(kept["participant"]) == {"exact", "high"}
    assert len(kept) == 20
    _, out = exclude(responses, 0.3)
    assert out == ["exact", "low"]


@pytest.mark.parametrize("edit, message", [
    (lambda t: t.drop(columns=["response"]), r"missing column\(s\) \['response'\]"),
    (lambda t: t.assign(stimulus=["nope"] + list(t["stimulus"][1:])),
     r"line 2: unknown stimulus 'nope'"),
    (lambda t: pd.concat([t, pd.DataFrame([{"participant": "ghost", "set": "", "trial": "",
                                            "stimulus": "", "response": ""}])]),
     r"line 12: participant ghost has no trials"),
    (lambda t: t.assign(response=list(t["response"][:3]) + ["img999"] + list(t["response"][4:])),
     r"line 5: response 'img999' was not an option"),
    (lambda t: pd.concat([t, t.iloc[[2]]]), r"line 12: participant p1 answered set 0 trial 2 "
                                            r"already at .*line 4"),
    (lambda t: t.assign(set=list(t["set"][:-1]) + [1]), r"line 11: participant p1 also did set 1 "
                                                        r"\(set 0 at .*line 2\); each participant"),
    (lambda t: t.assign(trial=[1] + list(t["trial"][1:])), r"line 2: stimulus .* was not shown "
                                                           r"as set 0 trial 1"),
    (lambda t: t.assign(set=["x"] + list(t["set"][1:])), r"line 2: set and trial must be "
                                                         r"integers"),
    (lambda t: t.assign(participant=[""] + list(t["participant"][1:])), r"line 2: no participant"),
    (lambda t: t.assign(response=[""] + list(t["response"][1:])),
     r"line 2: participant p1: no response"),
])
def test_bad_responses_name_the_row(design, tmp_path, edit, message):
    block = design[design["set"] == 0].sort_values("trial")
    good = pd.DataFrame({"participant": "p1", "set": 0, "trial": block["trial"],
                         "stimulus": block["stimulus"], "response": block["image"]})
    read_responses(_write(tmp_path, good), design)  # the unedited file is fine
    with pytest.raises(InputError, match=message):
        read_responses(_write(tmp_path, edit(good.reset_index(drop=True)), "bad.csv"), design)


def _jspsych_file(design, tmp_path, edit=None, name="session.csv"):
    """One participant's jsPsych session of set 0 (right on every trial), optionally edited."""
    from lib.recognition.experiment import design_id
    from tests.recognition.simulate import as_jspsych

    block = design[design["set"] == 0].sort_values("trial")
    plain = pd.DataFrame({"participant": "p1", "set": 0, "trial": block["trial"],
                          "stimulus": block["stimulus"], "response": block["image"]})
    rows = as_jspsych(plain, design, design_id(design))
    return _write(tmp_path, edit(rows) if edit else rows, name)


def _set_at(rows, task, column, value, nth=0):
    rows = rows.copy()
    rows.loc[rows.index[rows["task"] == task][nth], column] = value
    return rows


def test_jspsych_session_reads_as_one_response_per_trial(design, tmp_path):
    responses = read_responses(_jspsych_file(design, tmp_path), design)
    block = design[design["set"] == 0].sort_values("trial")
    assert list(responses["trial"]) == list(block["trial"]) and responses["correct"].all()
    # A folder of sessions: each participant's file.
    folder = tmp_path / "sessions"
    folder.mkdir()
    _jspsych_file(design, folder, name="a.csv")
    _jspsych_file(design, folder, lambda r: r.assign(participant="p2"), name="b.csv")
    assert sorted(read_responses(folder, design)["participant"].unique()) == ["p1", "p2"]


@pytest.mark.parametrize("edit, message", [
    (lambda r: r.assign(experiment="stroop"),
     r"session.csv line 2 \(trial_index 0\): data of experiment 'stroop', not recognition_human"),
    (lambda r: r.drop(columns=["design_id"]), r"jsPsych data without column\(s\) \['design_id'\]"),
    (lambda r: _set_at(r, "response", "design_id", "0123456789abcdef"),
     r"line 5 \(trial_index 3\): recorded under design 0123456789abcdef, not this run's"),
    (lambda r: r.iloc[:-3], r"participant p1 \(from line 2\) has no end row: the file is truncated"),
    (lambda r: _set_at(r, "iti", "set", 1, nth=4),
     r"line \d+ \(trial_index \d+\): participant p1 also did set 1 \(set 0 from line 2\)"),
    (lambda r: _set_at(r, "response", "stimulus_id", "img1__x__own", nth=2),
     r"line 13 \(trial_index 11\): unknown stimulus 'img1__x__own'"),
    (lambda r: r.drop(index=r.index[r["task"] == "response"][[3, 6]]),
     r"participant p1 set 0: no response for trial\(s\) \[3, 6\]"),
])
def test_bad_jspsych_data_names_the_file_and_line(design, tmp_path, edit, message):
    with pytest.raises(InputError, match=message):
        read_responses(_jspsych_file(design, tmp_path, edit), design)


def test_truncated_mid_row_or_empty_files_are_clear_errors(design, tmp_path):
    good = _jspsych_file(design, tmp_path).read_text()
    cut = tmp_path / "cut.csv"
    cut.write_text(good[: len(good) // 2])  # ends inside a row: the end row is missing
    # The CSV reader (lib.tabular) sees the short last row before the jsPsych checks do.
    with pytest.raises(InputError, match=r"cut.csv line \d+: \d+ fields, the header has \d+"):
        read_responses(cut, design)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(InputError, match="empty.csv: responses file is empty"):
        read_responses(empty, design)
