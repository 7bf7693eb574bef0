"""The human experiment as files: stimuli, trial list and page, built from maps and a design."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from lib.recognition.design import DesignSpec, make_design
from lib.recognition.experiment import copy_bundle, experiment_html
from lib.recognition.labels import conflicts
from lib.recognition.stimuli import gray_images, human_masks, render_stimuli


@dataclass(frozen=True)
class Experiment:
    image_ids: tuple[str, ...]
    labels: dict[str, str]
    masks: dict[str, np.ndarray]  # map type -> (n, S, S) in [0, 1] (0/1 when binary)
    gray: np.ndarray  # (n, S, S) grayscale images on the stimulus grid
    trials: pd.DataFrame


def build_experiment(image_ids: Sequence[str], images: np.ndarray,
                     raw_maps: Mapping[str, np.ndarray], sigmas: Mapping[str, float],
                     labels: Mapping[str, str], spec: DesignSpec, grid: int, size: int,
                     mask_style: str = "graded") -> Experiment:
    """Masks of `mask_style` for each map type of `spec` (raw maps (n, H, W) blurred on the grid
    at `sigmas`), the grayscale images and the trial table. Incorrect masks are drawn by their r
    with the correct mask as shown (graded or binary)."""
    masks = {m: human_masks(raw_maps[m], grid, sigmas[m], size, mask_style)
             for m in spec.map_types}
    trials = make_design(list(image_ids), conflicts(labels), masks, spec)
    return Experiment(tuple(image_ids), dict(labels), masks, gray_images(images, size), trials)


def write_experiment(exp: Experiment, out: Path, fixation_ms: int, flash_ms: int, iti_ms: int,
                     extra: Mapping[str, pd.DataFrame] | None = None) -> pd.DataFrame:
    """Write the folder `out`: stimuli/*.png, stimuli.csv, trials.csv, experiment.html with
    jsPsych's bundle in jspsych/, and any `extra` tables as <name>.csv; built beside it and moved
    into place with the stage's other outputs (lib.atomic). Returns the stimulus table."""
    from lib.atomic import writing

    with writing(Path(out)) as partial:
        partial.mkdir()
        stimuli = render_stimuli(exp.trials, exp.gray, exp.masks, exp.image_ids,
                                 partial / "stimuli")
        stimuli.to_csv(partial / "stimuli.csv", index=False)
        exp.trials.to_csv(partial / "trials.csv", index=False)
        html = experiment_html(exp.trials, stimuli, exp.labels, fixation_ms, flash_ms, iti_ms)
        (partial / "experiment.html").write_text(html)
        copy_bundle(partial / "jspsych")
        for name, table in (extra or {}).items():
            table.to_csv(partial / f"{name}.csv", index=False)
    return stimuli


def design_summary(trials: pd.DataFrame) -> dict:
    """The design's counts and the incorrect masks' correlations with the correct ones."""
    wrong = trials.loc[trials["condition"] == "incorrect", "r_correct"]
    return {
        "sets": int(trials["set"].nunique()),
        "trials": int(len(trials)),
        "stimuli": int(trials["stimulus"].nunique()),
        "trials_per_map_type": {str(k): int(v) for k, v in
                                trials["map_type"].value_counts().sort_index().items()},
        "incorrect_r": {"mean": round(float(wrong.mean()), 6), "max": round(float(wrong.max()), 6)},
    }
