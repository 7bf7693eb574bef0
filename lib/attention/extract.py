"""extract_attention: every passive method's raw maps for one model, as one labelled Dataset.

Target class: the model's top-1 class for the unmasked image (METHOD.md). Maps are raw (no
smoothing or normalisation), non-negative, at the model's input resolution.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import xarray as xr
from tqdm import tqdm

from lib.attention.gbp import gbp, gbp_x_input, sgbp
from lib.attention.models import LoadedModel, preprocess
from lib.attention.tokens import TokenGrid
from lib.errors import InputError

__all__ = ["METHODS", "ExtractOptions", "extract", "extracted_methods", "resolve_device", "top1"]

METHODS = ("GBP", "GBPxIM", "SGBP", "GradCAM", "ScoreCAM", "CAMERAS")
ACTIVE = "active"  # the map a network with built-in attention computes itself (lib.attention.active)


@dataclass(frozen=True)
class ExtractOptions:
    """What the methods are run with (params `extract_attention`; recorded in the store)."""

    methods: tuple[str, ...] = METHODS
    device: str = "cpu"
    batch_size: int = 8  # images (or noisy copies) per backward pass
    channels_last: bool = True
    smooth_rule: str = "clean"
    sgbp_samples: int = 30
    sgbp_noise_frac: float = 0.10
    sgbp_noise_rule: str = "paper"  # paper | study-code (lib.attention.extract.sgbp_noise_rule)
    score_cam_batch_size: int = 64
    score_cam_autocast: str = "none"  # none | bfloat16 | float16: dtype of the masked passes
    cameras_resolutions: tuple[int, ...] = (224, 324, 424, 524, 624, 724, 824, 924)
    seed: int = 0
    extra: dict = field(default_factory=dict)  # anything else worth recording (normalisation)

    @classmethod
    def from_params(cls, params: dict, device: str, arch: str | None = None) -> ExtractOptions:
        """The options params `extract_attention` (and `data.seed`) give on `device` for the
        architecture `arch` (batch sizes may be set per architecture): what every stage that
        extracts maps uses, so a randomisation step runs exactly as extraction did."""
        from lib.params import get, per_device

        p = "extract_attention"
        return cls(
            methods=tuple(get(params, f"{p}.methods", list)),
            device=device,
            batch_size=per_device(params, f"{p}.batch_size", device, int, arch),
            channels_last=per_device(params, f"{p}.channels_last", device, bool),
            smooth_rule=get(params, f"{p}.smooth_rule", str),
            sgbp_samples=get(params, f"{p}.sgbp.samples", int),
            sgbp_noise_frac=get(params, f"{p}.sgbp.noise_frac", float),
            sgbp_noise_rule=get(params, f"{p}.sgbp.noise_rule", str),
            score_cam_batch_size=per_device(params, f"{p}.score_cam_batch_size", device, int, arch),
            score_cam_autocast=per_device(params, f"{p}.score_cam_autocast", device, str),
            cameras_resolutions=tuple(get(params, f"{p}.cameras_resolutions", list)),
            seed=get(params, "data.seed", int),
            extra={"normalisation": get(params, f"{p}.normalisation", str)},
        )


def resolve_device(name: str) -> str:
    """`auto` -> "cuda" when a CUDA device is present, else "cpu"; other names pass through."""
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise InputError(f"params.yaml: extract_attention.device is {name!r} but CUDA is absent")
    return name


AUTOCAST_DTYPES = {"none": None, "bfloat16": torch.bfloat16, "float16": torch.float16}


def autocast_dtype(name: str) -> torch.dtype | None:
    """The torch dtype of params `extract_attention.score_cam_autocast` (None for `none`)."""
    if name not in AUTOCAST_DTYPES:
        raise InputError(f"params.yaml: extract_attention.score_cam_autocast must be one of "
                         f"{list(AUTOCAST_DTYPES)}, got {name!r}")
    return AUTOCAST_DTYPES[name]


SGBP_NOISE_RULES = ("paper", "study-code")
# In the study's released code, AlexNet and VGG maps came from the upstream SmoothGrad, the other
# networks' from a patched copy (lib.attention.gbp.noise_sd explains both noise rules).
_UPSTREAM_SMOOTHGRAD = ("alexnet", "vgg")


def sgbp_noise_rule(rule: str, arch: str) -> str:
    """The noise rule of lib.attention.gbp.noise_sd for params `extract_attention.sgbp.noise_rule`
    and an architecture: `paper` everywhere, or the study code's per-architecture choice."""
    if rule not in SGBP_NOISE_RULES:
        raise InputError(f"params.yaml: extract_attention.sgbp.noise_rule must be one of "
                         f"{SGBP_NOISE_RULES}, got {rule!r}")
    if rule == "paper":
        return "paper"
    return "inverse-squared" if arch.startswith(_UPSTREAM_SMOOTHGRAD) else "squared"


def _image_seed(seed: int, image_id: str) -> int:
    # Per-image noise seeds from the image id: a map does not depend on the other images in the
    # run, on their order or on the batch size.
    return (int(seed) * 1_000_003 + zlib.crc32(image_id.encode())) % 2**63


def top1(model: torch.nn.Module, x: torch.Tensor, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-1 class (N,) and its softmax probability (N,) for inputs x."""
    idx, prob = [], []
    with torch.no_grad():
        for i in range(0, x.shape[0], batch_size):
            p = model(x[i : i + batch_size]).float().softmax(dim=1)
            best = p.max(dim=1)
            idx.append(best.indices.cpu())
            prob.append(best.values.cpu())
    return torch.cat(idx).numpy().astype(np.int64), torch.cat(prob).numpy().astype(np.float64)


def _run(
    method: str,
    lm: LoadedModel,
    x: torch.Tensor,
    t: torch.Tensor,
    ids: list[str],
    o: ExtractOptions,
) -> torch.Tensor:
    """One method's maps (n, H, W) for inputs x (n, 3, H, W) and targets t (n,)."""
    if method == "GBP":
        return gbp(lm.model, x, t, smooth_rule=o.smooth_rule, batch_size=o.batch_size)
    if method == "GBPxIM":
        return gbp_x_input(lm.model, x, t, smooth_rule=o.smooth_rule, batch_size=o.batch_size)
    if method == "SGBP":
        return sgbp(
            lm.model, x, t,
            smooth_rule=o.smooth_rule,
            n_samples=o.sgbp_samples,
            noise_frac=o.sgbp_noise_frac,
            noise_rule=sgbp_noise_rule(o.sgbp_noise_rule, lm.arch),
            batch_size=o.batch_size,
            seed=[_image_seed(o.seed, i) for i in ids],
        )  # fmt: skip
    if method == ACTIVE:
        from lib.attention.active import active_attention

        return active_attention(lm.model, x)
    # Imported here: the CAM family lives in its own module (lib/attention/cam.py).
    from lib.attention.cam import cameras, grad_cam, score_cam

    model, layer = lm.model, lm.target_layer
    if lm.token_prefix:  # ViT: class token dropped, patch tokens as a (K, h, w) map
        model, layer = TokenGrid(model, layer, lm.token_prefix), "grid"
    if method == "GradCAM":
        return grad_cam(model, x, t, layer=layer)
    if method == "ScoreCAM":
        return score_cam(model, x, t, layer=layer, batch_size=o.score_cam_batch_size,
                         autocast=autocast_dtype(o.score_cam_autocast))  # fmt: skip
    if method == "CAMERAS":
        return cameras(model, x, t, layer=layer, resolutions=o.cameras_resolutions)
    raise InputError(f"params.yaml: unknown method {method!r}; known: {list(METHODS)}")


# Images per call: the GBP family batches inside (noisy copies included); the CAM methods get a few
# images at a time so that each call's memory stays bounded (CAMERAS up to 924 px).
_CHUNK = {"GBP": None, "GBPxIM": None, "SGBP": 1, "GradCAM": None, "ScoreCAM": 1, "CAMERAS": 1, ACTIVE: None}


def extracted_methods(loaded: LoadedModel, options: ExtractOptions) -> list[str]:
    """The methods of a store of `loaded`'s maps: those of `options` the architecture defines, and
    `active` for a network with built-in attention."""
    from lib.attention.active import ActiveAttentionModel

    methods = [m for m in options.methods if m not in loaded.excluded_methods]
    if isinstance(loaded.model, ActiveAttentionModel):  # its own attention map beside the passive ones
        methods.append(ACTIVE)
    return methods


def extract(
    loaded: LoadedModel,
    images: np.ndarray,
    image_ids: Sequence[str],
    options: ExtractOptions,
    progress: bool = True,
    targets: np.ndarray | None = None,
) -> xr.Dataset:
    """Every method's raw maps for `images` (uint8 (N, H, W, 3)) as the attention store Dataset.

    Variables: maps (method, image, y, x) float32; top1, top1_prob, top1_label (image); coordinate
    map_type (method); attrs model_id, arch, weights, settings. Methods the architecture does not
    define (loaded.excluded_methods) are left out; networks with built-in attention add `active`.
    `targets` (N,) replaces the top-1 classes as the classes explained (cascading randomisation
    explains the trained network's classes); top1 still records the network's own prediction.
    """
    autocast_dtype(options.score_cam_autocast)  # a bad value fails before any work
    unknown = [m for m in options.methods if m not in METHODS]
    if unknown:
        raise InputError(f"params.yaml: unknown methods {unknown}; known: {list(METHODS)}")
    ids = [str(i) for i in image_ids]
    methods = extracted_methods(loaded, options)
    model = loaded.model
    fmt = torch.channels_last if options.channels_last else torch.contiguous_format
    model.to(memory_format=fmt)
    x = preprocess(images, loaded).contiguous(memory_format=fmt)
    cls, prob = top1(model, x, options.batch_size)
    given = targets is not None
    explained = cls if targets is None else np.asarray(targets, dtype=np.int64)
    if explained.shape != cls.shape:
        raise InputError(f"{loaded.id}: {explained.shape[0]} targets for {cls.shape[0]} images")
    targets = torch.from_numpy(explained).to(x.device)

    maps = np.zeros((len(methods), len(ids), x.shape[-2], x.shape[-1]), dtype=np.float32)
    for m, method in enumerate(methods):
        step = _CHUNK[method] or options.batch_size
        if method == "SGBP":  # as many images as fill a batch with their noisy copies
            step = max(1, options.batch_size // options.sgbp_samples)
        bar = tqdm(total=len(ids), desc=f"{loaded.id} {method}", disable=not progress, unit="img")
        for i in range(0, len(ids), step):
            sl = slice(i, i + step)
            out = _run(method, loaded, x[sl], targets[sl], ids[sl], options)
            maps[m, sl] = out.detach().float().cpu().numpy()
            bar.update(len(ids[sl]))
        bar.close()
    if not np.isfinite(maps).all():
        raise InputError(f"{loaded.id}: non-finite values in the maps of {methods}")

    settings = {
        **{k: v for k, v in asdict(options).items() if k != "extra"},
        **options.extra,
        "methods": methods,
        "cameras_resolutions": list(options.cameras_resolutions),
        "input_size": loaded.input_size,
        "mean": list(loaded.mean),
        "std": list(loaded.std),
        "target_layer": loaded.target_layer,
        "weights_file": loaded.weights_file,
        "target": "given classes" if given else "top-1 class of the unmasked image",
    }
    # Variable-length strings (object): a store laid out before any task has run (lib.store.
    # create_store) cannot know the longest label.
    labels = np.array([loaded.class_names[c] for c in cls], dtype=object)
    return xr.Dataset(
        {
            "maps": (("method", "image", "y", "x"), maps),
            "top1": ("image", cls),
            "top1_prob": ("image", prob),
            "top1_label": ("image", labels),
        },
        coords={
            "method": methods,
            "image": ids,
            "map_type": ("method", [f"{loaded.arch}-{m}-{loaded.weights}" for m in methods]),
        },
        attrs={
            "model_id": loaded.id,
            "arch": loaded.arch,
            "weights": loaded.weights,
            "settings": settings,
        },
    )
