"""Every path the pipeline reads or writes, built from the repository root (one home for them)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PARAMS = ROOT / "params.yaml"

DATA = ROOT / "data"
RAW = DATA / "raw"
RAW_IMAGES = RAW / "images"
RAW_HUMAN_MAPS = RAW / "human-maps"

HUMAN = DATA / "human"
HUMAN_MAPS = HUMAN / "maps.zarr"
HUMAN_PC = HUMAN / "pc.zarr"

ATTENTION = DATA / "attention"

METRICS = ROOT / "metrics"
REPORT = ROOT / "report"


def image_file(image_id: str) -> Path:
    """The study image `img<N>` as `data/raw/images/image_r_<N>.jpg`."""
    return RAW_IMAGES / f"image_r_{image_id.removeprefix('img')}.jpg"


def attention_store(model_id: str) -> Path:
    """The Zarr store holding one model's raw attention maps."""
    return ATTENTION / f"{model_id}.zarr"


# recognition (METHOD.md, recognition_ann and recognition_human)
FIT_SMOOTHING = METRICS / "fit_smoothing.json"
LABELS = DATA / "labels.csv"  # provisional label set per image (see README, Recognition)
RESPONSES = DATA / "responses"  # where a lab puts recognition_human response files
RECOGNITION = DATA / "recognition"
RECOGNITION_ANN_TABLE = RECOGNITION / "ann.csv"
RECOGNITION_HUMAN = RECOGNITION / "human"  # stimuli/, trials.csv, experiment.html, analysis
