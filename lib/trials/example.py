"""The example trial files in `data/examples/trials/`: simulated from the study's published maps of
a few images (each measure's own map is its ground truth), at the study's sample sizes.

Regenerate (needs the study data, `dvc pull`):

    .venv/bin/python -m lib.trials.example

Files: `patch.csv`, `dprime.parquet` (about 60,000 trials per image, too many for a small CSV),
`spatial.csv`, `fixations.csv` (all three fixation tasks), schemas as in lib.trials.schemas.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from lib.human_maps import load_published_measure
from lib.paths import EXAMPLE_TRIALS, RAW_HUMAN_MAPS
from lib.trials.schemas import write_trials
from lib.trials.simulate import SimulationSizes, simulate_measure

EXAMPLE_IMAGES = ("img10", "img32", "img95")
EXAMPLE_SEED = 0
EXAMPLE_FILES = {
    "patch": "patch.csv",
    "dprime": "dprime.parquet",
    "spatial": "spatial.csv",
    "fixations": "fixations.csv",
}


def published_truths(measure: str, images: tuple[str, ...], folder: Path = RAW_HUMAN_MAPS):
    """Image id -> the study's published map of `measure`, negatives (interpolation ringing in the
    fixation maps) set to 0 so it is a density."""
    stack, _ = load_published_measure(folder, list(images), measure)
    return {image: np.clip(m, 0.0, None) for image, m in zip(images, stack, strict=True)}


def write_example(
    folder: Path = EXAMPLE_TRIALS,
    images: tuple[str, ...] = EXAMPLE_IMAGES,
    seed: int = EXAMPLE_SEED,
    sizes: SimulationSizes | None = None,
) -> dict[str, Path]:
    """Simulate and write the four example files (the study's sample sizes unless `sizes`);
    returns procedure -> path."""
    sizes = SimulationSizes() if sizes is None else sizes
    frames = {
        m: simulate_measure(m, published_truths(m, images), seed, sizes)
        for m in ("patch", "dprime", "spatial")
    }
    tasks = ("free", "saliency", "object")
    frames["fixations"] = pd.concat(
        [simulate_measure(t, published_truths(t, images), seed, sizes) for t in tasks],
        ignore_index=True,
    )
    paths = {}
    for procedure, name in EXAMPLE_FILES.items():
        paths[procedure] = Path(folder) / name
        write_trials(frames[procedure], paths[procedure])
    return paths


if __name__ == "__main__":
    for procedure, path in write_example().items():
        print(f"{procedure}: {path} ({path.stat().st_size / 1024:.0f} KiB)")
