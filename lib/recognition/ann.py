"""recognition_ann: does masking an image with a human (or ANN) map help an ANN recognise it?

Every image is shown to the model with its own mask (correct) and with each other image's mask of
the same type (incorrect). The score is the inverse rank N / (r + N) of the class the model picks
for the unmasked image, r its 0-based rank among the N classes for the masked image: 1 when the
masked image keeps the prediction, falling towards 1/2 as r approaches N.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
import torch
import xarray as xr
from tqdm import tqdm

from lib.errors import InputError
from lib.map_types import models_of_role, of_role
from lib.recognition.masks import ann_mask, area_resize, to_grid_maps, to_uint8
from lib.recognition.sources import ann_map_types, fitted_sigma, human_mask_maps, raw_ann_maps

TABLE_COLUMNS = ["model", "mask_source", "mask_type", "image", "mask_image", "condition",
                 "rank", "inverse_rank"]


def trained_models(model_ids: Sequence[str]) -> list[str]:
    """The ids among `model_ids` with trained weights (role `model`): random networks recognise
    nothing."""
    return models_of_role(model_ids, "model")


def inverse_rank(logits: torch.Tensor | np.ndarray, reference: Sequence[int] | np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    """(rank, inverse rank) of class `reference[k]` in row k of `logits` (N_images, N_classes).

    rank = number of classes scored strictly higher (0 for the top class; ties count in the
    reference's favour); inverse rank = N / (rank + N).
    """
    scores = torch.as_tensor(logits, dtype=torch.float64)
    ref = torch.as_tensor(np.asarray(reference), dtype=torch.long)
    if scores.ndim != 2 or ref.shape != (scores.shape[0],):
        raise InputError(f"inverse_rank: logits {tuple(scores.shape)} and reference "
                         f"{tuple(ref.shape)} do not match")
    own = scores.gather(1, ref[:, None])
    rank = (scores > own).sum(dim=1).numpy()
    n = scores.shape[1]
    return rank, n / (rank + n)


def select_ann_mask_types(fit: Mapping[str, Mapping], candidates: Sequence[str], target: str
                          ) -> dict[str, str]:
    """{"ann-best": map type, "ann-worst": map type}: the ANN map types among `candidates` whose
    fitted peak r with the `target` human map (fit_smoothing.json) is highest and lowest. One
    candidate gives only "ann-best"."""
    scores = {}
    for map_type in candidates:
        try:
            scores[map_type] = float(fit[map_type][target]["r"])
        except (KeyError, TypeError, ValueError) as err:
            raise InputError(f"fit_smoothing.json: no peak r for map type {map_type!r} and human "
                             f"map {target!r} ({err!r})") from err
    if not scores:
        raise InputError("recognition_ann: no ANN map types to take baseline masks from")
    best = max(scores, key=lambda m: (scores[m], m))
    worst = min(scores, key=lambda m: (scores[m], m))
    return {"ann-best": best} if best == worst else {"ann-best": best, "ann-worst": worst}


# How recognise runs the network: "eager" the module as given (the reference path); "folded" a
# copy with batch norms folded into the convolutions, channels_last; "compiled" that copy compiled
# by torch.compile (lib.attention.inference). Ranks agree to float noise (benchmarks/bench_recognition_ann.py).
FORWARD_MODES = ("eager", "folded", "compiled")


def _logits(forward: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, pad_to: int | None
            ) -> torch.Tensor:
    """forward(x) as float64 on the CPU. With `pad_to`, a short batch is padded (repeating its
    first input) to that size first, so a compiled network always sees one shape."""
    n = x.shape[0]
    if pad_to is not None and n < pad_to:
        x = torch.cat([x, x[:1].expand(pad_to - n, *x.shape[1:])])
    with torch.inference_mode():
        return forward(x)[:n].detach().to("cpu", torch.float64)


def recognise(
    model: torch.nn.Module,
    prep: Callable[[np.ndarray], torch.Tensor],
    images: np.ndarray,
    masks: Mapping[tuple[str, str], np.ndarray],
    image_ids: Sequence[str],
    batch_size: int = 125,
    desc: str = "",
    forward: str = "eager",
) -> pd.DataFrame:
    """Inverse ranks of every image under every mask of every type, for one model.

    images: uint8 (n, S, S, 3) on the mask grid; masks: {(mask_source, mask_type): (n, S, S) in
    [0, 1]}, mask k belonging to image k; prep turns uint8 (b, S, S, 3) into the model's input.
    The reference class of image i is the model's top-1 for the unmasked image i, on the same grid
    and through the same preprocessing and network, so a mask of ones leaves every inverse rank
    at 1. forward: one of FORWARD_MODES.
    Returns the table (without the model column) in order mask type, image, mask image.
    """
    n = len(image_ids)
    if images.shape[0] != n or images.dtype != np.uint8 or images.ndim != 4:
        raise InputError(f"recognise: expected uint8 images ({n}, S, S, 3), got "
                         f"{images.dtype} {images.shape}")
    if forward not in FORWARD_MODES:
        raise InputError(f"recognition_ann.forward must be one of {list(FORWARD_MODES)}, "
                         f"got {forward!r}")
    batch_size = int(batch_size)
    if batch_size < 1:
        raise InputError(f"recognition_ann.batch_size must be >= 1, got {batch_size}")
    pad_to = None
    net: Callable[[torch.Tensor], torch.Tensor] = model
    if forward != "eager":
        from lib.attention.inference import forward_only

        example = prep(images[np.arange(batch_size) % n])
        net = forward_only(model, example, compile=forward == "compiled")
        pad_to = batch_size
    reference = np.concatenate([
        _logits(net, prep(images[k:k + batch_size]), pad_to).argmax(dim=1).numpy()
        for k in range(0, n, batch_size)])
    pairs = [(i, j) for i in range(n) for j in range(n)]  # image i under image j's mask
    frames = []
    for (source, mask_type), mask in tqdm(masks.items(), desc=desc, unit="mask type", disable=not desc):
        if mask.shape != images.shape[:3]:
            raise InputError(f"recognise: {mask_type} masks have shape {mask.shape}, "
                             f"images {images.shape[:3]}")
        ranks = np.empty(len(pairs), dtype=np.int64)
        inv = np.empty(len(pairs))
        for start in range(0, len(pairs), batch_size):
            chunk = pairs[start:start + batch_size]
            img = np.array([i for i, _ in chunk])
            msk = np.array([j for _, j in chunk])
            # float32: a batch of 125 masked 250x250 RGB images is 94 MB, not 188.
            masked = to_uint8(mask[msk].astype(np.float32)[..., None] * images[img])
            r, q = inverse_rank(_logits(net, prep(masked), pad_to), reference[img])
            ranks[start:start + len(chunk)] = r
            inv[start:start + len(chunk)] = q
        frames.append(pd.DataFrame({
            "mask_source": source,
            "mask_type": mask_type,
            "image": [image_ids[i] for i, _ in pairs],
            "mask_image": [image_ids[j] for _, j in pairs],
            "condition": ["correct" if i == j else "incorrect" for i, j in pairs],
            "rank": ranks,
            "inverse_rank": inv,
        }))
    return pd.concat(frames, ignore_index=True)


def summarise(table: pd.DataFrame) -> dict[str, dict[str, float]]:
    """{mask_type: {"correct": mean, "incorrect": mean}} of inverse rank over models and images
    (incorrect: over all 24 other masks per image), mask types in table order."""
    means = table.groupby(["mask_type", "condition"], sort=False)["inverse_rank"].mean()
    return {
        mask_type: {cond: round(float(means[(mask_type, cond)]), 6)
                    for cond in ("correct", "incorrect")}
        for mask_type in table["mask_type"].drop_duplicates()
    }


def mask_sources(
    human: xr.DataArray,
    stores: Mapping[str, xr.Dataset],
    fit: Mapping[str, Mapping],
    image_ids: Sequence[str],
    grid: int,
    size: int,
    target: str,
    native: Mapping[str, np.ndarray] | None = None,
) -> dict[tuple[str, str], np.ndarray]:
    """Every recognition_ann mask, {(mask_source, mask_type): (n, size, size) in [0, 1]}.

    human: (human_map, image, y, x) on the analysis grid (the six measures and the Human PC), each
    a "human" source; `native` ({measure: (n, H, W)}, lib.recognition.sources.native_human_maps)
    replaces a measure's grid maps with its native-resolution ones, as the study made its masks.
    Baselines: the ANN map types of `stores` that fit `target` (the Human PC)
    best and worst in `fit`, resized to the grid and blurred at that fitted sigma. Every map is
    then area-resized to size x size and turned into a mask by `ann_mask`.
    """
    grid_maps: dict[tuple[str, str], np.ndarray] = human_mask_maps(human, native or {}, image_ids)
    # Only trained map types compete for ann-best / ann-worst (controls are not contenders).
    candidates = of_role(list(ann_map_types(stores)), "model")
    for source, map_type in select_ann_mask_types(fit, candidates, target).items():
        raw = raw_ann_maps(stores, map_type, image_ids)
        grid_maps[(source, map_type)] = to_grid_maps(raw, grid, fitted_sigma(fit, map_type, target))
    return {key: ann_mask(area_resize(maps, size), where=f"{key[1]} masks", names=image_ids)
            for key, maps in grid_maps.items()}
