"""Simulated responses for testing the analysis: a known probability of choosing the shown image's
label set per masking condition, otherwise a uniform guess among the other options. For tests
only; the pipeline never invents responses."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy.stats import norm


def simulate(trials: pd.DataFrame, p_correct: Mapping, participants_per_set: int,
             rng: np.random.Generator, accuracy_override: Mapping[str, float] | None = None
             ) -> pd.DataFrame:
    """Rows (participant, set, trial, stimulus, response, correct): each set done by
    `participants_per_set` participants. `p_correct` maps a condition, or a (map type, condition)
    pair (which wins), to the probability of naming the shown image; `accuracy_override`
    {participant: p} replaces it for chosen participants."""
    rows = []
    for s, block in trials.sort_values(["set", "trial"]).groupby("set"):
        for k in range(participants_per_set):
            participant = f"s{s}p{k}"
            for t in block.itertuples():
                p = p_correct.get((t.map_type, t.condition)) or p_correct[t.condition]
                p = (accuracy_override or {}).get(participant, p)
                options = t.options.split(";")
                if rng.random() < p:
                    response = t.image
                else:
                    others = [o for o in options if o != t.image]
                    response = others[rng.integers(len(others))]
                rows.append({"participant": participant, "set": s, "trial": t.trial,
                             "stimulus": t.stimulus, "response": response,
                             "correct": int(response == t.image)})
    return pd.DataFrame(rows)


def true_dprime(p: float, n_options: int) -> float:
    """d' of the simulation: hit rate p; false alarm (1 - p) / (n_options - 1)."""
    return float(norm.ppf(p) - norm.ppf((1 - p) / (n_options - 1)))


def jspsych_columns() -> list[str]:
    """The columns `as_jspsych` writes: a subset of what jsPsych saves from experiment.html
    (test_browser checks that against a real session)."""
    return ["trial_type", "trial_index", "time_elapsed", "rt", "stimulus", "response", "task",
            "trial", "stimulus_id", "options", "response_image", "flash_ms", "experiment",
            "design_id", "participant", "set", "PROLIFIC_PID", "STUDY_ID", "SESSION_ID"]


def as_jspsych(responses: pd.DataFrame, trials: pd.DataFrame, design: str) -> pd.DataFrame:
    """Plain responses (one row per trial) as the rows experiment.html's jsPsych session saves:
    per participant a consent row, fixation / flash / response / blank rows per trial and an end
    row, with jsPsych's own fields and the page's properties."""
    files = dict(zip(trials["stimulus"], "stimuli/" + trials["stimulus"] + ".png", strict=False))
    options = {(int(r.set), int(r.trial)): r.options for r in trials.itertuples()}
    rows = []

    def add(p, kind, task, **fields):
        rows.append({"trial_type": kind, "trial_index": len(rows), "time_elapsed": 1000 * len(rows),
                     "task": task, "experiment": "recognition_human", "design_id": design,
                     "participant": p.participant, "set": p.set, "PROLIFIC_PID": "",
                     "STUDY_ID": "", "SESSION_ID": ""} | fields)

    for _, block in responses.groupby("participant", sort=False):
        first = block.iloc[0]
        add(first, "html-button-response", "consent", rt=900, response=0)
        for r in block.itertuples():
            opts = options[(int(r.set), int(r.trial))]
            add(r, "html-keyboard-response", "fixation", trial=r.trial)
            add(r, "image-keyboard-response", "flash", trial=r.trial, stimulus=files[r.stimulus],
                stimulus_id=r.stimulus, flash_ms=200)
            add(r, "html-button-response", "response", trial=r.trial, stimulus_id=r.stimulus,
                options=opts, rt=800, response=opts.split(";").index(r.response),
                response_image=r.response)
            add(r, "html-keyboard-response", "iti", trial=r.trial)
        add(first, "html-button-response", "end", rt=500, response=0)
    table = pd.DataFrame(rows).reindex(columns=jspsych_columns())
    # Integers as jsPsych writes them (no "3.0" where other rows leave the field empty).
    ints = ["trial", "rt", "response", "flash_ms"]
    return table.astype(dict.fromkeys(ints, "Int64"))
