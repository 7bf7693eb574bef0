"""The centre-bias reference: a narrow isotropic Gaussian at the image centre. fit_smoothing blurs
every raw map with a fitted sigma; blurring this map gives an isotropic centre Gaussian whose width
is the fitted one, so the centre-bias baseline gets its best width exactly as every ANN map type
does."""

from __future__ import annotations

from typing import Any

import numpy as np

from lib.attention.baselines._common import _check_image, _options, _out_size
from lib.errors import InputError

CENTER_BIAS_DEFAULTS: dict[str, Any] = {
    # sd of the centre Gaussian as a fraction of the output's larger side: 0.01 is 2.2 px at 224
    # and 1 px on the 100x100 analysis grid, narrow enough that fit_smoothing's blur sets the width,
    # wide enough to survive the non-antialiased bicubic resize to that grid.
    "sigma_frac": 0.01,
}


def center_bias(
    image: np.ndarray,
    out_size: tuple[int, int] | int | None = None,
    where: str = "image",
    **options: Any,
) -> np.ndarray:
    """Centre-bias map for an image (only its shape is used): float64 (out_size) in [0, 1], an
    isotropic Gaussian centred exactly on the image centre with sd `sigma_frac` times the larger
    output side. Narrow on purpose: fit_smoothing's fitted blur turns it into a centre Gaussian
    of the fitted width (sd^2 add), so the baseline's width is chosen like every map type's."""
    opts = _options(CENTER_BIAS_DEFAULTS, options, "center_bias")
    arr = _check_image(image, where, allow_constant=True)
    h, w = _out_size(arr, out_size)
    sd = opts["sigma_frac"] * max(h, w)
    if sd <= 0:
        raise InputError(f"center_bias: sigma_frac must be positive, got {opts['sigma_frac']}")
    y = np.arange(h) - (h - 1) / 2.0
    x = np.arange(w) - (w - 1) / 2.0
    return np.exp(-(y[:, None] ** 2 + x[None, :] ** 2) / (2.0 * sd**2))
