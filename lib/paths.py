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
# Pretrained weights files (params `extract_attention.weights_dir` may point elsewhere).
WEIGHTS = ROOT / "weights"

METRICS = ROOT / "metrics"
REPORT = ROOT / "report"


def image_file(image_id: str) -> Path:
    """The study image `img<N>` as `data/raw/images/image_r_<N>.jpg`."""
    return RAW_IMAGES / f"image_r_{image_id.removeprefix('img')}.jpg"


def attention_store(model_id: str) -> Path:
    """The Zarr store holding one model's raw attention maps."""
    return ATTENTION / f"{model_id}.zarr"
