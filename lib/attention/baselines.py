"""Classic non-ANN reference maps: GBVS, BMS and a centre-bias map (METHOD.md, Non-ANN references).

Every function takes one RGB uint8 image (H, W, 3) and returns a float64 map of `out_size`
(default: the image's H x W), min-max scaled to [0, 1], so it is non-negative and finite.
Absolute scale carries no meaning here: every consumer compares maps by Pearson r.

- `gbvs`: Graph-Based Visual Saliency (Harel, Koch & Perona, NIPS 2006), written from the paper
  and the defaults of the authors' MATLAB release (`makeGBVSParams`: 32-node-wide graph, DKL
  colour + intensity + orientation channels at pyramid levels 2-4, sigma 0.15 of the map width in
  the activation graph, normalisation by raising to the power 1.5, 4-node border attenuation,
  final blur of 0.02 of the map width).
- `bms`: Boolean Map Saliency (Zhang & Sclaroff, ICCV 2013; TPAMI 2016) with the settings the
  authors' release documents for eye-fixation prediction (image scaled to 400 px, whitened CIE Lab,
  threshold step 8, dilation widths 3 and 11, L2-normalised attention maps, Gaussian blur 20 px).
- `center_bias`: a narrow isotropic Gaussian at the image centre. fit_smoothing blurs every raw map
  with a fitted sigma; blurring this map gives an isotropic centre Gaussian whose width is the
  fitted one, so the centre-bias baseline gets its best width exactly as every ANN map type does.

Where the published code departs from its paper or depends on its platform, the choice made here
is stated beside the code. Nothing is random: BMS's thresholds are a fixed grid.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage
from threadpoolctl import threadpool_limits

from lib.errors import InputError
from lib.images import read_image

# Defaults of the authors' GBVS release (makeGBVSParams.m, "DIO" channels, no centre-bias undoing).
GBVS_DEFAULTS: dict[str, Any] = {
    "salmap_max_size": 32,  # graph lattice: the larger image side gets 32 nodes
    "levels": [2, 3, 4],  # pyramid levels (each halves the size; level 1 = half the image)
    "gabor_angles": [0, 45, 90, 135],  # orientation channel, degrees
    "sigma_frac_act": 0.15,  # activation graph's distance sigma, fraction of the map width
    "norm_power": 1.5,  # normalisation: activation ** 1.5 (the release's default scheme)
    "tol": 1e-4,  # power iteration stops when the L2 change of the distribution is below this
    "border_attenuation": 4,  # nodes linearly attenuated at each border of the master map
    "blur_frac": 0.02,  # final Gaussian blur, sd as a fraction of the map's larger side
    "channel_weights": {"dkl": 1.0, "intensity": 1.0, "orientation": 1.0},
    "min_size": 128,  # the release refuses images smaller than this
}

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

CENTER_BIAS_DEFAULTS: dict[str, Any] = {
    # sd of the centre Gaussian as a fraction of the output's larger side: 0.01 is 2.2 px at 224
    # and 1 px on the 100x100 analysis grid, narrow enough that fit_smoothing's blur sets the width,
    # wide enough to survive the non-antialiased bicubic resize to that grid.
    "sigma_frac": 0.01,
}


# ------------------------------------------------------------------------------------ shared


def _check_image(
    image: np.ndarray, where: str, min_size: int = 1, allow_constant: bool = False
) -> np.ndarray:
    """The image as float64 in [0, 1], or InputError: wrong shape/dtype, too small, or constant
    (a uniform image has no salient location; GBVS and BMS are undefined on it)."""
    arr = np.asarray(image)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise InputError(f"{where}: expected an RGB image (H, W, 3), got shape {arr.shape}")
    if arr.dtype != np.uint8:
        raise InputError(f"{where}: expected uint8 pixels, got dtype {arr.dtype}")
    if min(arr.shape[:2]) < min_size:
        raise InputError(f"{where}: image {arr.shape[:2]} is smaller than {min_size} px")
    if not allow_constant and arr.min() == arr.max():
        raise InputError(f"{where}: image is constant; saliency is undefined")
    return arr.astype(np.float64) / 255.0


def _out_size(image: np.ndarray, out_size: tuple[int, int] | int | None) -> tuple[int, int]:
    if out_size is None:
        return int(image.shape[0]), int(image.shape[1])
    if isinstance(out_size, int):
        return out_size, out_size
    return int(out_size[0]), int(out_size[1])


def _resize(maps: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bicubic resize of (..., H, W) to (..., h, w), antialiased when shrinking.

    torch's antialiased bicubic uses the a = -0.5 kernel with a widened support on shrinking,
    which is what MATLAB's `imresize(..., 'bicubic')` does (the GBVS release's resizer)."""
    arr = np.asarray(maps, dtype=np.float64)
    if arr.shape[-2:] == tuple(size):
        return arr.copy()
    lead = arr.shape[:-2]
    flat = torch.from_numpy(np.ascontiguousarray(arr.reshape(-1, 1, *arr.shape[-2:])))
    out = F.interpolate(flat, size=tuple(size), mode="bicubic", align_corners=False, antialias=True)
    return out.numpy().reshape(*lead, *size)


def _area_matrix(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) weights of area (box) resampling: each output pixel averages the input
    pixels its footprint covers, weighted by overlap (OpenCV's INTER_AREA, used by BMS)."""
    edges = np.arange(n_out + 1) * (n_in / n_out)
    lo = np.maximum(edges[:-1, None], np.arange(n_in)[None, :])
    hi = np.minimum(edges[1:, None], np.arange(1, n_in + 1)[None, :])
    weights = np.clip(hi - lo, 0.0, None)
    return weights / weights.sum(axis=1, keepdims=True)


def _area_resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Area resize of (H, W, C) to (h, w, C)."""
    rows = _area_matrix(image.shape[0], size[0])
    cols = _area_matrix(image.shape[1], size[1])
    tall = np.tensordot(rows, image, axes=1)  # (h, W, C)
    return np.moveaxis(np.moveaxis(tall, 1, 2) @ cols.T, 2, 1)


def _minmax(values: np.ndarray) -> np.ndarray:
    """Scaled to [0, 1] (zeros if constant)."""
    lo, hi = values.min(), values.max()
    if hi <= lo:
        return np.zeros_like(values)
    return (values - lo) / (hi - lo)


def _options(defaults: dict[str, Any], options: dict[str, Any], name: str) -> dict[str, Any]:
    unknown = set(options) - set(defaults)
    if unknown:
        raise InputError(f"{name}: unknown options {sorted(unknown)} (known: {sorted(defaults)})")
    return {**defaults, **options}


# -------------------------------------------------------------------------------------- GBVS


def _decimate(x: np.ndarray, axis: int) -> np.ndarray:
    """Halve `x` along `axis` with the [1 5 10 10 5 1]/32 low-pass (Itti & Koch's pyramid
    filter); output k is centred between inputs 2k and 2k+1, and near the edges the kernel is
    truncated and renormalised, as the GBVS release's subsampler does."""
    n = x.shape[axis]
    m = n // 2
    taps = np.array([1.0, 5.0, 10.0, 10.0, 5.0, 1.0])
    idx = 2 * np.arange(m)[:, None] + np.arange(-2, 4)[None, :]
    valid = (idx >= 0) & (idx < n)
    weights = np.zeros((m, n))
    rows = np.broadcast_to(np.arange(m)[:, None], idx.shape)
    weights[rows[valid], idx[valid]] = np.broadcast_to(taps, idx.shape)[valid]
    weights /= weights.sum(axis=1, keepdims=True)
    return np.moveaxis(np.tensordot(weights, np.moveaxis(x, axis, 0), axes=1), 0, axis)


def _subsample(x: np.ndarray) -> np.ndarray:
    """One pyramid step of (H, W, ...) arrays; the release leaves arrays of 10 px or less as is."""
    if x.shape[0] <= 10 or x.shape[1] <= 10:
        return x
    return _decimate(_decimate(x, 0), 1)


# Linear sRGB -> LMS cone excitations (Smith & Pokorny fundamentals; Vienot, Brettel & Mollon 1999).
_RGB_TO_LMS = np.array(
    [
        [17.8824, 43.5161, 4.11935],
        [3.45565, 27.1554, 3.86714],
        [0.0299566, 0.184309, 1.46709],
    ]
)


def _dkl(rgb: np.ndarray) -> np.ndarray:
    """DKL colour-opponent channels (luminance, L-M, S-(L+M)) of sRGB values (..., 3) in [0, 1].

    The GBVS release converts through a gamma table and cone matrix of one calibrated monitor;
    here sRGB is linearised by its standard curve and converted with a standard cone matrix, the
    opponent axes taken relative to mid-grey as in Derrington, Krauskopf & Lennie (1984). GBVS
    only sees differences between locations with each map's scale divided out, so only the axes'
    directions matter, not their offsets or gains."""
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    lms = linear @ _RGB_TO_LMS.T
    l0, m0, s0 = _RGB_TO_LMS @ np.full(3, 0.5)
    lum = lms[..., 0] + lms[..., 1]
    red_green = lms[..., 0] / l0 - lms[..., 1] / m0
    blue_yellow = lms[..., 2] / s0 - lum / (l0 + m0)
    return np.stack([lum, red_green, blue_yellow], axis=-1)


@lru_cache(maxsize=16)
def _gabor_pair(angle: float) -> tuple[np.ndarray, np.ndarray]:
    """Even and odd Gabor kernels at `angle` degrees, as the release builds them: Gaussian
    envelope sd 2 px across and 4 px along the bars, carrier period pi px (angular frequency 2),
    27 x 27 taps (half-width ceil(4 * sqrt(10))), each zero-mean with unit L2 norm."""
    sd_major, sd_minor, omega = 2.0, 4.0, 2.0
    half = int(np.ceil(sd_minor * np.sqrt(10.0)))
    grid = np.arange(-half, half + 1, dtype=np.float64)
    rows, cols = np.meshgrid(grid, grid, indexing="ij")
    theta = np.deg2rad(angle)
    major = rows * np.cos(theta) - cols * np.sin(theta)
    minor = -rows * np.sin(theta) - cols * np.cos(theta)
    envelope = np.exp(-(major**2) / (2 * sd_major**2) - minor**2 / (2 * sd_minor**2))
    kernels = []
    for phase in (0.0, np.pi / 2):
        k = np.cos(omega * major + phase) * envelope
        k -= k.mean()
        kernels.append(k / np.sqrt((k**2).sum()))
    return kernels[0], kernels[1]


def _attenuate_borders(values: np.ndarray, width: int) -> np.ndarray:
    """Linear ramp (1..width)/(width+1) applied to the `width` outermost rows and columns (the
    Saliency Toolbox's attenuateBorders; keeps filter edge effects from looking salient)."""
    width = min(width, values.shape[0] // 2, values.shape[1] // 2)
    if width < 1:
        return values.copy()
    ramp = np.arange(1, width + 1) / (width + 1)
    out = values.copy()
    out[:width] *= ramp[:, None]
    out[-width:] *= ramp[::-1, None]
    out[:, :width] *= ramp[None, :]
    out[:, -width:] *= ramp[None, ::-1]
    return out


def _gbvs_features(img: np.ndarray, levels: list[int], angles: list[float]) -> dict[str, list]:
    """Raw feature maps per channel: DKL (3 types), intensity (max of R, G, B; 1 type) and
    orientation (|even| + |odd| Gabor energy on intensity; one type per angle), each at every
    pyramid level in `levels`."""
    intensity = img.max(axis=2)
    pyramid_rgb, pyramid_int = [_subsample(img)], [_subsample(intensity)]
    for _ in range(2, max(levels) + 1):
        pyramid_rgb.append(_subsample(pyramid_rgb[-1]))
        pyramid_int.append(_subsample(pyramid_int[-1]))
    features: dict[str, list] = {"dkl": [], "intensity": [], "orientation": []}
    for level in levels:
        rgb, lum = pyramid_rgb[level - 1], pyramid_int[level - 1]
        dkl = _dkl(rgb)
        features["dkl"].extend(dkl[..., t] for t in range(3))
        features["intensity"].append(lum)
        for angle in angles:
            even, odd = _gabor_pair(float(angle))
            # replicate padding, as the release's myconv2
            energy = np.abs(ndimage.convolve(lum, even, mode="nearest")) + np.abs(
                ndimage.convolve(lum, odd, mode="nearest")
            )
            features["orientation"].append(_attenuate_borders(energy, 13))
    return features


@lru_cache(maxsize=8)
def _distance_weights(shape: tuple[int, int], sigma: float) -> np.ndarray:
    """exp(-d^2 / (2 sigma^2)) between all pairs of lattice nodes (P, P), P = h * w."""
    yy, xx = np.meshgrid(np.arange(shape[0]), np.arange(shape[1]), indexing="ij")
    pos = np.stack([yy.ravel(), xx.ravel()], axis=1).astype(np.float64)
    d2 = ((pos[:, None, :] - pos[None, :, :]) ** 2).sum(axis=-1)
    weights = np.exp(-d2 / (2.0 * sigma**2))
    weights.setflags(write=False)
    return weights


def stationary_distribution(
    transition: np.ndarray, tol: float = 1e-4, max_iter: int = 1000
) -> np.ndarray:
    """Equilibrium distribution v = T v (sum 1) of a column-stochastic matrix T (P, P), by
    power iteration from the uniform distribution, stopping when the L2 norm of the change in v
    falls to `tol` (the GBVS release's rule and default; some 20 iterations on image features).

    A chain that does not settle within `max_iter` steps is periodic (a feature with exactly two
    values makes a bipartite graph, whose power iterates oscillate for ever); its equilibrium is
    still unique, so it is then solved for directly: (T - I) v = 0 with sum(v) = 1."""
    p = transition.shape[0]
    v = np.full(p, 1.0 / p)
    for _ in range(max_iter):
        new = transition @ v
        if np.linalg.norm(new - v) <= tol:
            return new / new.sum()
        v = new
    system = transition - np.eye(p)
    system[-1] = 1.0
    rhs = np.zeros(p)
    rhs[-1] = 1.0
    v = np.linalg.lstsq(system, rhs, rcond=None)[0]
    return v / v.sum()


def gbvs_activation(feature: np.ndarray, sigma_frac: float = 0.15, tol: float = 1e-4) -> np.ndarray:
    """GBVS activation of one feature map (h, w): a Markov chain on the fully connected lattice
    whose edge i -> j has weight |M(i) - M(j)| * exp(-d_ij^2 / (2 sigma^2)), sigma = sigma_frac *
    mean(h, w); the map is its equilibrium distribution (mass gathers at nodes unlike their
    surround). The paper's dissimilarity is |log(M(i)/M(j))|; the authors' release, which the
    published GBVS maps come from, uses the plain difference, as here. A constant feature has no
    dissimilarity anywhere, so no chain; it contributes zeros (it carries no saliency)."""
    values = feature.ravel().astype(np.float64)
    if np.ptp(values) == 0:
        return np.zeros_like(feature, dtype=np.float64)
    sigma = sigma_frac * float(np.mean(feature.shape))
    dissimilarity = np.abs(values[:, None] - values[None, :])
    weights = _distance_weights(tuple(feature.shape), sigma) * dissimilarity
    # weights[i, j] is symmetric; column j holds the probabilities of leaving node j
    transition = weights / weights.sum(axis=0, keepdims=True)
    return stationary_distribution(transition, tol=tol).reshape(feature.shape)


def _matlab_gauss_blur(values: np.ndarray, sd: float) -> np.ndarray:
    """The release's final blur: a Gaussian of `sd` truncated at round(2 sd), normalised,
    applied separably with replicate padding."""
    radius = int(np.round(2 * sd))
    if sd <= 0 or radius < 1:
        return values
    x = np.arange(-radius, radius + 1)
    kernel = np.exp(-(x**2) / (2 * sd**2))
    kernel /= kernel.sum()
    out = ndimage.convolve1d(values, kernel, axis=0, mode="nearest")
    return ndimage.convolve1d(out, kernel, axis=1, mode="nearest")


def gbvs(
    image: np.ndarray,
    out_size: tuple[int, int] | int | None = None,
    where: str = "image",
    **options: Any,
) -> np.ndarray:
    """GBVS map of an RGB uint8 image (H, W, 3): float64 (out_size) in [0, 1].

    Feature maps (DKL colour, intensity, orientation at pyramid levels 2-4) are resized to a
    lattice whose larger side has `salmap_max_size` nodes (32 x 32 for a square image); each
    becomes an activation map (`gbvs_activation`), raised to `norm_power` to concentrate mass
    (the release's default normalisation), summed within and then across channels; the master
    map's borders are attenuated, it is blurred slightly and resized (bicubic) to `out_size`.
    Options override GBVS_DEFAULTS. InputError for a non-RGB, smaller than 128 px or constant
    image (`where` names it in the message)."""
    opts = _options(GBVS_DEFAULTS, options, "gbvs")
    size = _out_size(image, out_size)
    img = _check_image(image, where, min_size=opts["min_size"])
    h, w = img.shape[:2]
    scale = opts["salmap_max_size"] / max(h, w)
    lattice = (int(round(h * scale)), int(round(w * scale)))
    features = _gbvs_features(img, list(opts["levels"]), list(opts["gabor_angles"]))
    master = np.zeros(lattice)
    # One BLAS thread: a 1024-node mat-vec is too small to share, extra threads only spin-wait on
    # a busy machine (4x slower measured on 2 shared cores), and one thread fixes the sum order.
    with threadpool_limits(limits=1, user_api="blas"):
        for channel, maps in features.items():
            channel_map = np.zeros(lattice)
            for raw in maps:
                feature = _resize(raw, lattice)
                activation = gbvs_activation(feature, opts["sigma_frac_act"], opts["tol"])
                channel_map += activation ** opts["norm_power"]
            master += opts["channel_weights"][channel] * channel_map
    master = _minmax(_attenuate_borders(master, opts["border_attenuation"]))
    master = _minmax(_matlab_gauss_blur(master, max(lattice) * opts["blur_frac"]))
    return _minmax(_resize(master, size))


# --------------------------------------------------------------------------------------- BMS


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


# ------------------------------------------------------------------------------- centre bias


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


METHODS = {"gbvs": gbvs, "bms": bms, "center-bias": center_bias}

MODEL_ID = "baselines"
OPTION_DEFAULTS = {"gbvs": GBVS_DEFAULTS, "bms": BMS_DEFAULTS, "center-bias": CENTER_BIAS_DEFAULTS}


def baseline_dataset(
    images: dict[str, Path],
    size: int,
    options: dict[str, dict[str, Any]] | None = None,
    progress: bool = True,
    image_size: int | None = None,
):
    """The baselines attention store (images must be image_size x image_size when it is given):
    `maps` (method, image, y, x) float32 at size x size for
    each method of METHODS and each image (id -> file), `map_type` on `method` (the plain method
    names), attrs `model_id`, `arch`, `weights` and `settings` (every option used, defaults
    filled in). `options` maps a method name to overrides of its defaults."""
    import xarray as xr
    from tqdm import tqdm

    options = options or {}
    unknown = set(options) - set(METHODS)
    if unknown:
        raise InputError(f"baselines: options for unknown methods {sorted(unknown)}")
    settings = {m: _options(OPTION_DEFAULTS[m], options.get(m, {}), m) for m in METHODS}
    maps = np.zeros((len(METHODS), len(images), size, size), dtype=np.float32)
    for j, path in enumerate(tqdm(images.values(), desc="baselines", disable=not progress)):
        image = read_image(path, image_size)
        for i, (name, fn) in enumerate(METHODS.items()):
            maps[i, j] = fn(image, out_size=size, where=f"{path}", **settings[name])
    return xr.Dataset(
        {"maps": (("method", "image", "y", "x"), maps)},
        coords={
            "method": list(METHODS),
            "map_type": ("method", list(METHODS)),
            "image": list(images),
        },
        attrs={
            "model_id": MODEL_ID,
            "arch": MODEL_ID,
            "weights": "none",
            "settings": {"size": size, **settings},
        },
    )
