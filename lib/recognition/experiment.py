"""The browser page that runs the speeded recognition task and saves responses.

The page (`experiment_template.html` with the design embedded as JSON) needs no network and no
server: open it from disk beside its `stimuli/` folder. Each trial shows a fixation cross, flashes
the stimulus for `flash_ms`, then lists the label sets of the set's images as buttons; at the end
the browser downloads `responses_<participant>_set<n>.csv` with RESPONSE_COLUMNS, which
`lib.recognition.analysis.read_responses` reads.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from lib.errors import InputError

TEMPLATE = Path(__file__).with_name("experiment_template.html")
RESPONSE_COLUMNS = ["participant", "set", "trial", "stimulus", "response", "correct", "rt_ms",
                    "flash_ms"]


def experiment_html(trials: pd.DataFrame, stimuli: pd.DataFrame, labels: Mapping[str, str],
                    fixation_ms: int, flash_ms: int, iti_ms: int) -> str:
    """The page's text for the trial table and stimulus table of a design."""
    files = dict(zip(stimuli["stimulus"], stimuli["file"], strict=True))
    missing = sorted(set(trials["stimulus"]) - set(files))
    if missing:
        raise InputError(f"experiment: stimuli without files: {missing[:5]}")
    sets: dict[str, list[dict]] = {}
    for row in trials.sort_values(["set", "trial"]).itertuples():
        sets.setdefault(str(row.set), []).append({
            "trial": int(row.trial), "stimulus": row.stimulus, "file": files[row.stimulus],
            "image": row.image, "options": row.options.split(";"),
        })
    used = sorted({o for trials_ in sets.values() for t in trials_ for o in t["options"]})
    design = {"n_sets": len(sets), "fixation_ms": int(fixation_ms), "flash_ms": int(flash_ms),
              "iti_ms": int(iti_ms), "labels": {i: labels[i] for i in used}, "sets": sets}
    # "</" inside a <script> element would end it early.
    embedded = json.dumps(design, sort_keys=True, separators=(",", ":")).replace("</", "<\\/")
    return (TEMPLATE.read_text()
            .replace("__DESIGN_JSON__", embedded)
            .replace("__COLUMNS_JSON__", json.dumps(RESPONSE_COLUMNS)))
