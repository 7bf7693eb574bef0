"""One measure's maps for a list of images from a validated TrialSet: the dispatch from measure to
procedure, at the published maps' native sizes so estimate_human treats them like published maps."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lib.errors import InputError
from lib.measures import NATIVE_SHAPES
from lib.trials.dprime import dprime_builder
from lib.trials.fixations import fixation_builder
from lib.trials.patch import patch_builder
from lib.trials.schemas import PROCEDURE_OF_MEASURE, TrialSet
from lib.trials.settings import TrialSettings
from lib.trials.spatial import final_positions, spatial_builder

# The published maps' native sizes (METHOD.md, Data): 250 for patch, 251 for the others.
OUTPUT_SIZES: dict[str, int] = {m: NATIVE_SHAPES[m][0] for m in PROCEDURE_OF_MEASURE}


def check_measure(trials: TrialSet, measure: str) -> None:
    if measure not in PROCEDURE_OF_MEASURE:
        raise InputError(f"unknown measure {measure!r} (one of {list(PROCEDURE_OF_MEASURE)})")
    if PROCEDURE_OF_MEASURE[measure] != trials.procedure:
        raise InputError(
            f"{trials.name}: holds {trials.procedure} trials, but measure {measure} is "
            f"estimated from {PROCEDURE_OF_MEASURE[measure]} trials"
        )


@dataclass(frozen=True)
class ImageTrials:
    """One image's rows that the map is built from (fixations: that task's rows; spatial memory:
    the chains' final positions, one row per chain), its resampling unit per row (participant, or
    chain), and `build`: row weights (None: each row once) -> the native-size map."""

    image: str
    frame: pd.DataFrame
    where: str
    units: np.ndarray  # integer unit code per row of `frame`
    build: Callable[[np.ndarray | None], np.ndarray]

    @property
    def n_units(self) -> int:
        return int(self.units.max()) + 1


def _builder(frame: pd.DataFrame, measure: str, settings: TrialSettings, where: str):
    size = OUTPUT_SIZES[measure]
    procedure = PROCEDURE_OF_MEASURE[measure]
    s = settings
    if procedure == "patch":
        return patch_builder(frame, size, s.patch_sigma_px, where)
    if procedure == "dprime":
        return dprime_builder(frame, size, s.dprime_sigma_px, s.dprime_correction, where)
    if procedure == "spatial":
        return spatial_builder(frame, size, s.spatial_sigma_x_px, s.spatial_sigma_y_px, where)
    return fixation_builder(frame, size, s.fixation_sigma_x_px, s.fixation_sigma_y_px, where)


def split_by_image(
    trials: TrialSet, measure: str, images: list[str], settings: TrialSettings | None = None
) -> list[ImageTrials]:
    """Per image in `images`, in order, its rows for `measure` ready to build maps from; an image
    without rows (for fixations: without rows of that task) is an error naming the file."""
    settings = TrialSettings() if settings is None else settings
    check_measure(trials, measure)
    frame = trials.frame
    is_fixation = trials.procedure == "fixations"
    if is_fixation:
        frame = frame[(frame["task"] == measure).to_numpy()]
    groups = {str(k): v for k, v in frame.groupby("image", sort=False, observed=True)}
    out = []
    for image in images:
        where = f"{trials.name}: image {image}" + (f", task {measure}" if is_fixation else "")
        rows = groups.get(image)
        if rows is None or len(rows) == 0:
            raise InputError(
                f"{where}: no trials (every image in params.yaml data.images needs them)"
            )
        rows = rows.reset_index(drop=True)
        if trials.procedure == "spatial":
            rows = final_positions(rows, settings.spatial_iteration, where)
        unit = "chain" if trials.procedure == "spatial" else "participant"
        _, units = np.unique(rows[unit].to_numpy().astype(str), return_inverse=True)
        out.append(
            ImageTrials(image, rows, where, units.ravel(), _builder(rows, measure, settings, where))
        )
    return out


def estimate_maps(
    trials: TrialSet, measure: str, images: list[str], settings: TrialSettings | None = None
) -> np.ndarray:
    """Maps (image, H, W) of `measure` for `images`, H = W = the published native size (250 for
    patch, 251 otherwise), estimated from `trials` as METHOD.md (estimate_human) describes."""
    return np.stack(
        [part.build(None) for part in split_by_image(trials, measure, images, settings)]
    )
