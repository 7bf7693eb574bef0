"""GBVS, Graph-Based Visual Saliency (Harel, Koch & Perona, NIPS 2006), written from the paper
and the defaults of the authors' MATLAB release (`makeGBVSParams`: 32-node-wide graph, DKL colour
+ intensity + orientation channels at pyramid levels 2-4, sigma 0.15 of the map width in the
activation graph, normalisation by raising to the power 1.5, 4-node border attenuation, final blur
of 0.02 of the map width)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
from scipy import ndimage
from threadpoolctl import threadpool_limits

from lib.attention.baselines._common import _check_image, _minmax, _options, _out_size, _resize

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
