"""BMS, Boolean Map Saliency (Zhang & Sclaroff, ICCV 2013; TPAMI 2016), with the settings the
authors' release documents for eye-fixation prediction (image scaled to 400 px, whitened CIE Lab,
threshold step 8, dilation widths 3 and 11, L2-normalised attention maps, Gaussian blur 20 px).
Nothing is random: the thresholds are a fixed grid."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import ndimage

from lib.attention.baselines._common import _area_resize, _check_image, _minmax, _options, _out_size, _resize

# Settings the authors' BMS v2 release documents for eye-fixation prediction (main.cpp).
BMS_DEFAULTS: dict[str, Any] = {
    "max_dim": 400,  # the image is area-resized so its larger side is this many pixels
    "step": 8,  # threshold step delta on each 0-255 feature channel
    "dilation_width_1": 3,  # square dilation of each attention map (omega_d1)
    "dilation_width_2": 11,  # square grey dilation of the mean attention map (omega_d2)
    "blur_std": 20.0,  # Gaussian blur of the result, pixels at max_dim (sigma)
    "blur_max_width": 51,  # the release caps the blur kernel at 51 taps (min(4*sd+1, 51))
    "whitening": True,  # decorrelate the Lab channels (principal axes) before thresholding
    "median_width": 3,  # median filter of each 0-255 feature channel
}


def _rgb_to_lab8(img: np.ndarray) -> np.ndarray:
    """CIE Lab (D65) of sRGB in [0, 1], scaled to OpenCV's 8-bit ranges (L * 255/100, a + 128,
    b + 128), the units the BMS release works in (kept as floats, not rounded). (The release
    passes OpenCV's BGR pixels to an RGB->Lab conversion, swapping red and blue; the paper
    means true Lab, as here.)"""
    from skimage.color import rgb2lab

    lab = rgb2lab(img)
    return np.stack([lab[..., 0] * 255.0 / 100.0, lab[..., 1] + 128.0, lab[..., 2] + 128.0], -1)


def _bms_feature_maps(img: np.ndarray, whitening: bool, median_width: int) -> list:
    """The 0-255 feature channels BMS thresholds: the Lab channels or, whitened, their
    projections on the principal axes of the image's colour covariance; each min-max scaled to
    0-255, rounded and median filtered.

    The release whitens with the covariance plus a ridge of 50 and scales each axis to unit
    variance, but then min-max scales every channel, which undoes any per-axis scale (and the
    ridge leaves the axes unchanged): whitening reduces to the rotation done here. A channel
    spanning less than one level of the release's 8-bit Lab is constant at that precision (a grey
    image's a and b) and is dropped rather than its rounding noise stretched to 0-255."""
    lab = _rgb_to_lab8(img)
    pixels = lab.reshape(-1, 3)
    if whitening:
        _, axes = np.linalg.eigh(np.cov(pixels, rowvar=False))
        # fix each axis's sign (largest component positive) so the maps do not depend on LAPACK
        axes = axes * np.sign(axes[np.abs(axes).argmax(axis=0), np.arange(3)])
        pixels = pixels @ axes
    channels = []
    for values in pixels.T.reshape(3, *img.shape[:2]):
        if np.ptp(values) < 1.0:
            continue
        scaled = np.rint(_minmax(values) * 255.0)
        channels.append(ndimage.median_filter(scaled, size=median_width, mode="nearest"))
    return channels


_EIGHT = np.ones((3, 3), dtype=bool)
# labels each 2D slice of a stack on its own (8-connected within a slice, none across slices)
_EIGHT_PER_SLICE = np.stack([np.zeros((3, 3), bool), _EIGHT, np.zeros((3, 3), bool)])


def _surrounded(masks: np.ndarray) -> np.ndarray:
    """For a stack of boolean maps (n, H, W): the pixels of each map's 8-connected regions that do
    not touch the image border (the 'surrounded' regions of BMS)."""
    labels, count = ndimage.label(masks, structure=_EIGHT_PER_SLICE)
    touching = np.zeros(count + 1, dtype=bool)
    for border in (labels[:, 0, :], labels[:, -1, :], labels[:, :, 0], labels[:, :, -1]):
        touching[border.ravel()] = True
    touching[0] = True  # background of the labelling, i.e. pixels outside the masks
    return ~touching[labels]


def _dilate_square(masks: np.ndarray, width: int) -> np.ndarray:
    """Binary dilation of each map of a stack (n, H, W) by a `width` x `width` square (odd
    width), as a separable running maximum; pixels beyond the border count as False."""
    radius = width // 2
    if radius < 1:
        return masks.copy()
    _, h, w = masks.shape
    rows = np.pad(masks, [(0, 0), (radius, radius), (0, 0)])
    out = np.zeros_like(masks)
    for shift in range(width):
        out |= rows[:, shift : shift + h]
    cols = np.pad(out, [(0, 0), (0, 0), (radius, radius)])
    out = np.zeros_like(masks)
    for shift in range(width):
        out |= cols[:, :, shift : shift + w]
    return out


def bms_attention(channel: np.ndarray, step: float, dilation_width: int) -> tuple[np.ndarray, int]:
    """Sum of BMS attention maps of one 0-255 feature channel (H, W) and their count.

    For each threshold t in min, min + step, ... < max, the Boolean map B = channel > t and its
    complement each give an attention map: their surrounded regions, dilated by a
    `dilation_width` square and L2-normalised (so a small region weighs as much as a large one)."""
    thresholds = np.arange(channel.min(), channel.max(), step)
    if thresholds.size == 0:
        return np.zeros_like(channel, dtype=np.float64), 0
    above = channel[None] > thresholds[:, None, None]
    masks = np.concatenate([above, ~above])
    attention = _dilate_square(_surrounded(masks), dilation_width)
    sizes = attention.sum(axis=(1, 2))  # squared L2 norm of a 0/1 map
    total = np.zeros(channel.shape)
    for region, size in zip(attention, sizes, strict=True):
        if size:
            total[region] += 1.0 / np.sqrt(size)
    return total, masks.shape[0]


def bms(
    image: np.ndarray,
    out_size: tuple[int, int] | int | None = None,
    where: str = "image",
    **options: Any,
) -> np.ndarray:
    """BMS map of an RGB uint8 image (H, W, 3): float64 (out_size) in [0, 1].

    The image is area-resized to `max_dim` px on its larger side; its (whitened) Lab channels are
    thresholded on a fixed grid of `step`; the mean of all attention maps (`bms_attention`) is
    grey-dilated by a `dilation_width_2` square, Gaussian blurred (`blur_std` px, kernel capped at
    `blur_max_width` taps, mirrored borders as OpenCV) and resized (bicubic) to `out_size`.
    Deterministic. Options override BMS_DEFAULTS. InputError for a non-RGB or constant image."""
    opts = _options(BMS_DEFAULTS, options, "bms")
    size = _out_size(image, out_size)
    img = _check_image(image, where)
    h, w = img.shape[:2]
    work = (int(opts["max_dim"] * h / max(h, w)), int(opts["max_dim"] * w / max(h, w)))
    img = _area_resize(img, work)
    total, count = np.zeros(work), 0
    for channel in _bms_feature_maps(img, opts["whitening"], opts["median_width"]):
        attention, n = bms_attention(channel, opts["step"], opts["dilation_width_1"])
        total += attention
        count += n
    if count == 0 or total.max() <= 0:
        # nothing is surrounded at any threshold: every region touches the border
        return np.zeros(size)
    mean = total / count
    if opts["dilation_width_2"] > 1:
        mean = ndimage.grey_dilation(mean, size=(opts["dilation_width_2"],) * 2, mode="nearest")
    sd = float(opts["blur_std"])
    if sd > 0:
        radius = (min(int(np.floor(sd)) * 4 + 1, opts["blur_max_width"]) - 1) // 2
        mean = ndimage.gaussian_filter(mean, sd, mode="mirror", radius=radius)
    return _minmax(_resize(_minmax(mean), size))
