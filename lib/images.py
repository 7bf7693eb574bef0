"""The study images: read by id, checked, stacked (one home for every stage that needs pixels)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from lib.errors import InputError
from lib.paths import image_file

# The study images are 405x405 (METHOD.md, Data); another size would be stretched silently by
# every resize downstream, so it is refused where the pixels are read.
STUDY_IMAGE_SIZE = 405


def read_image(path: Path, size: int | None = None) -> np.ndarray:
    """The RGB image at `path` as uint8 (H, W, 3); InputError naming the file if unreadable, or
    if `size` is given and the image is not size x size."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: image not found (run `dvc pull` to fetch the study data)")
    try:
        with Image.open(path) as im:
            pixels = np.asarray(im.convert("RGB"), dtype=np.uint8).copy()
    except Exception as err:  # PIL raises many types for damaged files
        raise InputError(f"{path}: not a readable image ({err})") from err
    if pixels.ndim != 3 or pixels.shape[2] != 3:
        raise InputError(f"{path}: expected an RGB image, got array shape {pixels.shape}")
    if size is not None and pixels.shape[:2] != (size, size):
        raise InputError(f"{path}: image is {pixels.shape[1]}x{pixels.shape[0]}, expected the study's "
                         f"{size}x{size}")
    return pixels


def read_images(image_ids: Sequence[str], size: int = STUDY_IMAGE_SIZE) -> np.ndarray:
    """The study images `image_ids` as uint8 (N, size, size, 3) RGB."""
    missing = [i for i in image_ids if not image_file(i).is_file()]
    if missing:
        raise InputError(f"{image_file(missing[0]).parent}: no image for ids {missing} (run `dvc pull`)")
    arrays = [read_image(image_file(i), size) for i in image_ids]
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        raise InputError(f"{image_file(image_ids[0]).parent}: images differ in size {sorted(shapes)}")
    return np.stack(arrays)
