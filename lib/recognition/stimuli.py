"""The human experiment's stimuli: grayscale images behind half masks from blurred ANN maps."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from lib.errors import InputError
from lib.recognition.masks import area_resize, grayscale, human_mask, to_grid_maps, to_uint8

STIMULUS_COLUMNS = ["stimulus", "file", "image", "map_type", "condition", "mask_image", "rotation"]


def human_masks(raw: np.ndarray, grid: int, sigma: float, size: int, style: str = "graded"
                ) -> np.ndarray:
    """Masks (n, size, size) in [0, 1] revealing half of each image: raw ANN maps (n, H, W) resized
    to the analysis grid (where sigma was fitted), blurred at the sigma fitted to the Human PC,
    resized to the stimulus grid (area) and thresholded at the median; `style` graded keeps the
    map's values above it, binary sets them to 1 (lib.recognition.masks.human_mask)."""
    return human_mask(area_resize(to_grid_maps(raw, grid, sigma), size), style)


def gray_images(images: np.ndarray, size: int) -> np.ndarray:
    """uint8 RGB images (n, H, W, 3) as grayscale (float, 0..255) on the stimulus grid (area)."""
    return area_resize(grayscale(images), size)


def render_stimuli(trials: pd.DataFrame, gray: np.ndarray, masks: Mapping[str, np.ndarray],
                   image_ids: Sequence[str], out_dir: Path) -> pd.DataFrame:
    """Write one 8-bit grayscale PNG per distinct stimulus of `trials` into `out_dir` (named
    `<stimulus>.png`) and return the stimulus table (STIMULUS_COLUMNS, file relative to the
    folder holding `out_dir`)."""
    index = {i: k for k, i in enumerate(image_ids)}
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for row in trials.drop_duplicates("stimulus").sort_values("stimulus").itertuples():
        if row.rotation % 90:
            raise InputError(f"stimulus {row.stimulus}: rotation {row.rotation} is not a "
                             "multiple of 90")
        mask = np.rot90(masks[row.map_type][index[row.mask_image]], row.rotation // 90)
        pixels = to_uint8(gray[index[row.image]] * mask)
        name = f"{row.stimulus}.png"
        Image.fromarray(pixels).save(out_dir / name)
        rows.append({"stimulus": row.stimulus, "file": f"{out_dir.name}/{name}", "image": row.image,
                     "map_type": row.map_type, "condition": row.condition,
                     "mask_image": row.mask_image, "rotation": row.rotation})
    return pd.DataFrame(rows, columns=STIMULUS_COLUMNS)
