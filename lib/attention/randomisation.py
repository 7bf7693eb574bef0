"""Cascading model-parameter randomisation (Adebayo et al. 2018, "Sanity checks for saliency
maps"), tied to alignment with human maps.

A method whose maps barely change when a trained network's weights are replaced by random ones is
not reading what the network learnt. For each trained network the parameters are re-initialised
cumulatively from the top (the classifier first, then each registered top-level block down to the
stem); at each step every method's maps are extracted again, explaining the trained network's
top-1 classes. Per step and method: the similarity of the step's maps to the trained maps
(Spearman rank correlation and SSIM, per image on the analysis grid; every method's maps here are
non-negative, so the absolute value changes nothing) and the step's alignment with each human map
(mean r at the trained map type's fitted sigma) with its shuffled-image score.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np
import torch
import xarray as xr
from scipy.stats import rankdata
from skimage.metrics import structural_similarity

from lib.attention.extract import ExtractOptions, extract
from lib.attention.extract_tasks import ModelSpec, worker_model
from lib.attention.models import LoadedModel, model_blocks
from lib.compare.fit import correlation_table
from lib.errors import InputError
from lib.executor import LOCAL, Executor, run_tasks
from lib.maps import pearson_per_image, resize_maps

__all__ = ["cascade_cuts", "randomise_top", "similarity_per_image", "ssim_per_image", "cascade",
           "headline"]

MEASURES = ("spearman", "pearson")


def similarity_per_image(a: np.ndarray, b: np.ndarray, measure: str = "spearman") -> np.ndarray:
    """Per-image similarity (N,) of maps a and b (N, H, W); Spearman ranks all pixels first."""
    if measure not in MEASURES:
        raise InputError(f"randomisation: similarity measure must be one of {MEASURES}")
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if measure == "spearman":
        # Average ranks for ties (zero-gradient pixels are common), as scipy.stats.spearmanr.
        a = rankdata(a.reshape(len(a), -1), axis=1).reshape(a.shape)
        b = rankdata(b.reshape(len(b), -1), axis=1).reshape(b.shape)
    return pearson_per_image(a, b)


def ssim_per_image(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """SSIM (scikit-image) per image of maps a and b (N, H, W), each scaled to [0, 1] first (as
    Adebayo et al. compare normalised maps); a constant map scales to zeros."""
    def unit(x):
        x = np.asarray(x, dtype=np.float64)
        lo = x.min(axis=(-2, -1), keepdims=True)
        span = x.max(axis=(-2, -1), keepdims=True) - lo
        return np.where(span > 0, (x - lo) / np.where(span > 0, span, 1), 0.0)

    a, b = unit(a), unit(b)
    return np.array([structural_similarity(x, y, data_range=1.0) for x, y in zip(a, b, strict=True)])


def cascade_cuts(n_blocks: int, steps: int) -> list[int]:
    """How many blocks (from the top) are randomised at each of `steps` cut points: evenly spaced
    from 1 (the classifier) to all of them, without repeats."""
    if steps < 1:
        raise InputError("params.yaml: randomisation.steps must be at least 1")
    return sorted({int(round(k)) for k in np.linspace(1, n_blocks, min(steps, n_blocks))})


def randomise_top(model: torch.nn.Module, blocks: Sequence[Sequence[str]], k: int, seed: int) -> torch.nn.Module:
    """A copy of `model` whose top `k` blocks are re-initialised (each module's own
    `reset_parameters`, batch-norm running statistics included), seeded by `seed` and the block,
    so a block gets the same random weights at every step it is randomised in."""
    out = copy.deepcopy(model)
    for index, names in enumerate(blocks[:k]):
        torch.manual_seed(int(seed) * 1000 + index)
        for name in names:
            for module in out.get_submodule(name).modules():
                if hasattr(module, "reset_parameters"):
                    module.reset_parameters()
                if hasattr(module, "reset_running_stats"):
                    module.reset_running_stats()
    return out.eval().requires_grad_(False)


def _alignment(maps: np.ndarray, targets: np.ndarray, sigmas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean r and shuffled-image r (K,) of maps (N, G, G) with each human map k (K, N, G, G) at
    its own sigma sigmas[k]."""
    r = np.empty(len(targets))
    shuffled = np.empty(len(targets))
    for k, sigma in enumerate(sigmas):
        per, per_shuffled = correlation_table(maps[None], targets[k : k + 1], np.array([sigma]), desc="randomisation")
        r[k] = float(np.nanmean(per[0, 0, 0]))
        shuffled[k] = float(np.nanmean(per_shuffled[0, 0, 0]))
    return r, shuffled


def _randomised_maps(source: LoadedModel | ModelSpec, blocks: Sequence[Sequence[str]], seed: int,
                     options: ExtractOptions, grid: int, images: np.ndarray, ids: list[str], classes: np.ndarray,
                     k: int) -> dict[str, np.ndarray]:
    """One step of the cascade: the maps {method: (image, grid, grid)} of the network with its top
    `k` blocks randomised, explaining the trained network's classes."""
    loaded = source if isinstance(source, LoadedModel) else worker_model(source)
    step = dataclasses.replace(loaded, model=randomise_top(loaded.model, blocks, k, seed))
    ds = extract(step, images, ids, options, progress=False, targets=classes)
    return {m: resize_maps(ds["maps"].sel({"method": m}).values, grid) for m in options.methods}


def cascade(
    loaded: LoadedModel,
    trained: xr.Dataset,
    images: np.ndarray,
    image_ids: Sequence[str],
    targets: xr.DataArray,
    sigmas: Mapping[str, Mapping[str, float]],
    methods: Sequence[str],
    options: ExtractOptions,
    steps: int,
    seed: int,
    grid: int,
    sample_images: int = 3,
    blocks: Sequence[Sequence[str]] | None = None,
    executor: Executor = LOCAL,
    spec: ModelSpec | None = None,
) -> xr.Dataset:
    """The cascade of one trained network: `trained` is its attention store (step 0), `targets`
    the human maps (human_map, image, y, x) on the grid, `sigmas` {map_type: {human_map: fitted
    sigma}}. Dataset over (method, step, image): spearman, ssim; (method, step, human_map): r,
    r_shuffled; (method, step, sample, y, x): maps of the first `sample_images` images.
    `blocks`: the network's blocks from the top (default: the registry's). Under `executor.kind:
    dask` the steps are tasks, whose workers load the network from `spec`."""
    stored = [str(m) for m in trained["method"].values]
    absent = [m for m in methods if m not in stored]
    if absent:
        raise InputError(f"params.yaml: randomisation.methods lists {absent}, not extracted for {loaded.id} "
                         f"(extract_attention.methods gives {stored})")
    blocks = model_blocks(loaded.id) if blocks is None else [tuple(b) for b in blocks]
    cuts = cascade_cuts(len(blocks), steps)
    ids = [str(i) for i in image_ids]
    store_ids = [str(i) for i in trained["image"].values]
    order = [store_ids.index(i) for i in ids]
    classes = trained["top1"].values[order]
    human = targets.sel(image=ids).transpose("human_map", "image", "y", "x")
    human_maps = [str(h) for h in human["human_map"].values]
    map_type = dict(zip(stored, (str(t) for t in trained["map_type"].values), strict=True))
    reference = {m: resize_maps(trained["maps"].sel({"method": m}).values[order], grid) for m in methods}
    step_options = dataclasses.replace(options, methods=tuple(methods))
    # Every step randomises the trained network afresh (seeded per block), so steps are
    # independent tasks; on a Dask cluster each worker loads the network from `spec`.
    source = spec if executor.distributed else loaded
    if source is None:
        raise InputError(f"{loaded.id}: the randomisation cascade on a Dask cluster needs the network's ModelSpec")
    computed = run_tasks(
        _randomised_maps, [(k,) for k in cuts], [f"{loaded.id} top {k} blocks" for k in cuts], executor,
        desc=f"{loaded.id} cascade", shared=(source, blocks, seed, step_options, grid, images, ids, classes),
        gpu=options.device.startswith("cuda"),
    )
    step_maps = {0: reference, **dict(zip(cuts, computed, strict=True))}
    labels = [0, *cuts]
    names = ["trained"] + [f"top {k} of {len(blocks)} blocks (down to {blocks[k - 1][0]})" for k in cuts]
    shape = (len(methods), len(labels))
    spearman = np.empty((*shape, len(ids)))
    ssim = np.empty_like(spearman)
    r = np.empty((*shape, len(human_maps)))
    r_shuffled = np.empty_like(r)
    n_sample = min(sample_images, len(ids))
    sample = np.empty((*shape, n_sample, grid, grid), dtype=np.float32)
    for i, method in enumerate(methods):
        fitted = np.array([float(sigmas[map_type[method]][h]) for h in human_maps])
        for j, k in enumerate(labels):
            maps = step_maps[k][method]
            spearman[i, j] = similarity_per_image(maps, reference[method])
            ssim[i, j] = ssim_per_image(maps, reference[method])
            r[i, j], r_shuffled[i, j] = _alignment(maps, human.values, fitted)
            sample[i, j] = maps[:n_sample]
    return xr.Dataset(
        {"spearman": (("method", "step", "image"), spearman), "ssim": (("method", "step", "image"), ssim),
         "r": (("method", "step", "human_map"), r), "r_shuffled": (("method", "step", "human_map"), r_shuffled),
         "sample_maps": (("method", "step", "sample", "y", "x"), sample)},
        coords={"method": list(methods), "step": labels, "step_name": ("step", names), "image": ids,
                "human_map": human_maps, "sample": ids[:n_sample],
                "blocks_randomised": ("step", labels), "n_blocks": len(blocks)},
    )


def headline(ds: xr.Dataset, human_map: str, pass_below: float) -> dict[str, dict[str, float | bool | None]]:
    """{method: {similarity_full, ssim_full, gap_trained, gap_full, gap_kept, passes}} of one
    network's cascade (a `cascade` Dataset): rank similarity to the trained maps at full
    randomisation, and how much of the image-specific alignment with `human_map` (r minus
    shuffled r) survives it. A method passes when its similarity falls below `pass_below`."""
    out = {}
    last = ds["step"].values[-1]
    for method in ds["method"].values:
        cell = ds.sel({"method": method})
        sim = float(cell["spearman"].sel(step=last).mean())
        gap = (cell["r"] - cell["r_shuffled"]).sel(human_map=human_map)
        trained_gap, full_gap = float(gap.sel(step=0)), float(gap.sel(step=last))
        out[str(method)] = {
            "similarity_full": round(sim, 6),
            "ssim_full": round(float(cell["ssim"].sel(step=last).mean()), 6),
            "gap_trained": round(trained_gap, 6),
            "gap_full": round(full_gap, 6),
            "gap_kept": round(full_gap / trained_gap, 6) if trained_gap > 0 else None,
            "passes": bool(sim < pass_below),
        }
    return out
