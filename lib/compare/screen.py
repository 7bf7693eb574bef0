"""Which map types are usable: a map type with a NaN/inf value or a constant map for any image is
reported and excluded as a whole, so no NaN correlation can silently lower a mean over images."""

from __future__ import annotations

import warnings

import numpy as np


class ExcludedMapTypeWarning(UserWarning):
    """A map type was left out of the comparison; the message says which and why."""


# Relative spread below which a map counts as constant. Resizing a constant map multiplies it by
# interpolation weights that sum to 1 only up to rounding, so exact equality is not enough.
CONSTANT_RTOL = 1e-9


def screen_map_types(
    maps: np.ndarray, names: list[str], image_ids: list[str], where: str = ""
) -> dict[str, str]:
    """Reasons to exclude map types, {name: reason}, for maps (map_type, image, y, x).

    Each excluded map type is also reported with an ExcludedMapTypeWarning naming `where`
    (e.g. the store it came from). An empty dict means every map type is usable.
    """
    maps = np.asarray(maps)
    excluded: dict[str, str] = {}
    for name, stack in zip(names, maps, strict=True):
        reason = _problem(stack, image_ids)
        if reason:
            excluded[name] = reason
            source = f" ({where})" if where else ""
            warnings.warn(
                f"map type {name}{source} excluded: {reason}", ExcludedMapTypeWarning, stacklevel=2
            )
    return excluded


def _problem(stack: np.ndarray, image_ids: list[str]) -> str:
    flat = stack.reshape(len(stack), -1)
    finite = np.isfinite(flat).all(axis=1)
    if not finite.all():
        bad = [image_ids[i] for i in np.flatnonzero(~finite)]
        return f"NaN/inf values in the maps of {_list(bad)}"
    spread = np.ptp(flat, axis=1)
    scale = np.abs(flat).max(axis=1)
    constant = spread <= CONSTANT_RTOL * scale
    if constant.any():
        bad = [image_ids[i] for i in np.flatnonzero(constant)]
        return f"constant map (no variance) for {_list(bad)}"
    return ""


def _list(ids: list[str]) -> str:
    shown = ", ".join(ids[:5])
    return f"{len(ids)} image(s): {shown}{', ...' if len(ids) > 5 else ''}"
