"""What a store records about the network behind its maps beyond the params: the checksum of the
weights file, and how much the choice of input normalisation matters for this network (the
number of images whose top-1 class, the target of every map, changes under the other choice).
Both go into the store's settings, so the methods page and the deviations table can quote them."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import numpy as np

from lib.attention.models import LoadedModel, preprocess

__all__ = ["sha256", "top1_changes"]


def sha256(path: Path | None) -> str:
    """Hex SHA-256 of a weights file ('' for a random-weight network, which has none)."""
    if path is None:
        return ""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def top1_changes(loaded: LoadedModel, images: np.ndarray, top1: np.ndarray, mean, std,
                 batch_size: int = 25) -> int:
    """Images whose top-1 class under normalisation (`mean`, `std`) differs from `top1` (the
    classes under the run's own normalisation); 0 when the two normalisations coincide."""
    if tuple(mean) == tuple(loaded.mean) and tuple(std) == tuple(loaded.std):
        return 0
    from lib.attention.extract import top1 as top1_of

    other = dataclasses.replace(loaded, mean=tuple(mean), std=tuple(std))
    classes, _ = top1_of(loaded.model, preprocess(images, other), batch_size)
    return int((classes != np.asarray(top1)).sum())
