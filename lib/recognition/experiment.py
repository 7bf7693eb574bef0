"""The browser experiment that runs the speeded recognition task, built on jsPsych 8.

`experiment_template.html` with the design embedded as JSON, plus jsPsych's browser bundles
(installed by `npm ci` from the pinned `package.json` / `package-lock.json`, copied into the
folder's `jspsych/`): no network and no server are needed, so the folder opens from `file://`
and uploads unchanged to JATOS or Pavlovia. Each participant does one set: consent, a browser
check, fullscreen, instructions, preload of the set's stimuli, then per trial a fixation cross,
the stimulus for `flash_ms`, the set's label sets as buttons, a blank. jsPsych saves its data
(one row per jsPsych trial, with its own timing fields) as CSV, which
`lib.recognition.responses` reads; every row carries `experiment` and `design_id` so a file from
another experiment or another design is recognised.
"""

from __future__ import annotations

import hashlib
import html
import json
import shutil
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from lib.errors import InputError
from lib.paths import NODE_MODULES

TEMPLATE = Path(__file__).with_name("experiment_template.html")
EXPERIMENT = "recognition_human"
# Browser bundles copied into the experiment folder: {name in jspsych/: path in node_modules/}.
BUNDLE = {
    "jspsych.js": "jspsych/dist/index.browser.min.js",
    "jspsych.css": "jspsych/css/jspsych.css",
    **{f"plugin-{p}.js": f"@jspsych/plugin-{p}/dist/index.browser.min.js" for p in (
        "preload", "browser-check", "fullscreen", "instructions", "html-button-response",
        "html-keyboard-response", "image-keyboard-response")},
}
CONSENT_HTML = (
    "<h2>Recognition experiment</h2><p>In this study images flash briefly on the screen and you "
    "choose the description that fits each one best. It takes about two minutes. Taking part is "
    "voluntary; you may stop at any time by closing this window. Your answers are stored under "
    "your participant id only.</p><p>Do you agree to take part?</p>")
INSTRUCTIONS_HTML = [
    "<p>The experiment runs in fullscreen. Each trial starts with a cross in the middle of the "
    "screen: look at it.</p>",
    "<p>An image then flashes for a fraction of a second; parts of it are hidden. Afterwards ten "
    "descriptions appear as buttons: click the one that fits the image best. Guess if unsure.</p>",
]


def design_id(trials: pd.DataFrame) -> str:
    """A short digest of the trial table's sets, trials, stimuli and options: the page records it
    in every data row, and the analysis refuses data recorded under another design."""
    table = trials.sort_values(["set", "trial"])[["set", "trial", "stimulus", "options"]]
    return hashlib.sha256(table.to_csv(index=False).encode()).hexdigest()[:16]


def experiment_html(trials: pd.DataFrame, stimuli: pd.DataFrame, labels: Mapping[str, str],
                    fixation_ms: int, flash_ms: int, iti_ms: int,
                    min_size: tuple[int, int] = (800, 600)) -> str:
    """The page's text for the trial table and stimulus table of a design; `min_size` is the
    browser check's minimum window (width, height) in CSS pixels."""
    files = dict(zip(stimuli["stimulus"], stimuli["file"], strict=True))
    missing = sorted(set(trials["stimulus"]) - set(files))
    if missing:
        raise InputError(f"experiment: stimuli without files: {missing[:5]}")
    sets: dict[str, list[dict]] = {}
    for row in trials.sort_values(["set", "trial"]).itertuples():
        sets.setdefault(str(row.set), []).append({
            "trial": int(row.trial), "stimulus": row.stimulus, "file": files[row.stimulus],
            "options": row.options.split(";"),
        })
    used = sorted({o for trials_ in sets.values() for t in trials_ for o in t["options"]})
    design = {"experiment": EXPERIMENT, "design_id": design_id(trials), "n_sets": len(sets),
              "fixation_ms": int(fixation_ms), "flash_ms": int(flash_ms), "iti_ms": int(iti_ms),
              "min_width": int(min_size[0]), "min_height": int(min_size[1]),
              "consent_html": CONSENT_HTML, "instructions_html": INSTRUCTIONS_HTML,
              "labels": {i: html.escape(labels[i]) for i in used}, "sets": sets}
    # "</" inside a <script> element would end it early.
    embedded = json.dumps(design, sort_keys=True, separators=(",", ":")).replace("</", "<\\/")
    return TEMPLATE.read_text().replace("__DESIGN_JSON__", embedded)


def copy_bundle(dest: Path, node_modules: Path | None = None) -> None:
    """Copy jsPsych's browser bundles (BUNDLE) from `node_modules` (default the repository's)
    into `dest`; InputError when `npm ci` has not installed them."""
    node_modules = NODE_MODULES if node_modules is None else Path(node_modules)
    absent = [src for src in BUNDLE.values() if not (node_modules / src).is_file()]
    if absent:
        raise InputError(f"{node_modules / absent[0]}: not found; run `npm ci` in the repository "
                         "root (make setup does) to install the pinned jsPsych packages")
    dest.mkdir(parents=True, exist_ok=True)
    for name, src in BUNDLE.items():
        shutil.copyfile(node_modules / src, dest / name)
