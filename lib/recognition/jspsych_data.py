"""The data jsPsych saves from the experiment page (lib.recognition.experiment), read back as
one response per trial.

jsPsych writes one CSV row per jsPsych trial (consent, browser check, fullscreen, instructions,
preload, then fixation / flash / response / blank per experiment trial, an end screen), each with
its own fields (`trial_type`, `trial_index`, `time_elapsed`, `rt`, ...) and the properties the page
adds to every row (`experiment`, `design_id`, `participant`, `set`, the Prolific ids). The
response rows (`task` = response) carry `trial`, `stimulus_id` and `response_image`; the flash
rows the measured `flash_ms`.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from lib.errors import InputError
from lib.recognition.experiment import EXPERIMENT

JSPSYCH_COLUMNS = ["trial_type", "trial_index", "time_elapsed"]
PAGE_COLUMNS = ["experiment", "design_id", "participant", "set", "task"]
RESPONSE_FIELDS = ["trial", "stimulus_id", "response_image", "rt"]


def is_jspsych(table: pd.DataFrame) -> bool:
    """Whether a responses table is jsPsych data (has jsPsych's own columns)."""
    return all(c in table.columns for c in JSPSYCH_COLUMNS)


def response_rows(path: Path, table: pd.DataFrame, trials: pd.DataFrame, design: str
                  ) -> list[dict]:
    """Rows {participant, set, trial, stimulus, response, rt_ms, flash_ms, where} of the
    response trials in jsPsych data `table` (read from `path` as strings), `where` naming the file,
    line and trial_index. InputError for data from another experiment or design, a participant
    with two sets, a session without its end row (truncated or abandoned) and missing trials."""
    missing = [c for c in PAGE_COLUMNS + RESPONSE_FIELDS if c not in table.columns]
    if missing:
        raise InputError(f"{path}: jsPsych data without column(s) {missing}: not saved by this "
                         "project's experiment.html")
    rows: list[dict] = []
    first: dict[str, tuple[str, int]] = {}  # participant -> (set, line)
    ended: set[str] = set()
    flash: dict[tuple[str, str], str] = {}
    for k, r in enumerate(table.itertuples(index=False)):
        where = f"{path} line {k + 2} (trial_index {r.trial_index})"
        blank = [c for c in PAGE_COLUMNS if not str(getattr(r, c)).strip()]
        if blank and k == len(table) - 1:
            raise InputError(f"{where}: the last row ends early (no {blank}): the file is truncated")
        if blank:
            raise InputError(f"{where}: no {blank}")
        if r.experiment != EXPERIMENT:
            raise InputError(f"{where}: data of experiment {r.experiment!r}, not {EXPERIMENT}")
        if r.design_id != design:
            raise InputError(f"{where}: recorded under design {r.design_id}, not this run's "
                             f"{design} (the trials changed since the data were collected)")
        participant = str(r.participant).strip()
        set_, line = first.setdefault(participant, (r.set, k + 2))
        if r.set != set_:
            raise InputError(f"{where}: participant {participant} also did set {r.set} (set "
                             f"{set_} from line {line}); each participant does one set")
        if r.task == "end":
            ended.add(participant)
        elif r.task == "flash":
            flash[(participant, r.trial)] = getattr(r, "flash_ms", "")
        elif r.task == "response":
            rows.append({"participant": participant, "set": r.set, "trial": r.trial,
                         "stimulus": r.stimulus_id, "response": r.response_image,
                         "rt_ms": r.rt, "flash_ms": flash.get((participant, r.trial), ""),
                         "where": where})
    for participant, (set_, line) in first.items():
        if participant not in ended:
            raise InputError(f"{path}: participant {participant} (from line {line}) has no end row: "
                             "the file is truncated or the session was not completed")
        try:
            wanted = set(trials.loc[trials["set"] == int(set_), "trial"])
        except ValueError as err:
            raise InputError(f"{path} line {line}: set must be an integer, got {set_!r}") from err
        done = {int(r["trial"]) for r in rows if r["participant"] == participant
                and str(r["trial"]).isdigit()}
        if wanted - done:
            raise InputError(f"{path}: participant {participant} set {set_}: no response for "
                             f"trial(s) {sorted(wanted - done)}")
    return rows
