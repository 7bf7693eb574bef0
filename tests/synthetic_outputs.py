"""Synthetic outputs of every stage the report reads, in the contracts of lib.outputs, so the
report and the stats stage can be exercised end to end before (or without) the real stages.

`write(root, images)` fills `root` (a copy of the repository) with plausible numbers: two models
with six passive methods each and the three baselines, GBP-family map types scoring highest.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from PIL import Image

from lib.store import write_dataset

MODELS = {"effnetlite0-I": ("effnetlite0", "I"), "effnetlite1-I": ("effnetlite1", "I"),
          "effnetlite0-R": ("effnetlite0", "R"), "alexnet-R": ("alexnet", "R")}
METHODS = {"GBP": 0.05, "GBPxIM": 0.03, "SGBP": 0.1, "GradCAM": 0.0, "ScoreCAM": -0.02, "CAMERAS": 0.01}
BASELINES = {"gbvs": 0.02, "bms": -0.05, "center-bias": 0.0}
HUMAN_MAPS = ["patch", "dprime", "spatial", "free", "saliency", "object", "pc"]
MAX_SIGMA = 30


def map_types() -> dict[str, float]:
    """{map type: planted effect on r}."""
    out = {}
    for arch, weights in MODELS.values():
        for method, effect in METHODS.items():
            # A random-weight control beats every trained type on GBP, as alexnet-GBP-R does in
            # the real data: the pages must still name a trained map type as the best.
            bonus = 0.1 if weights == "I" else (0.3 if (arch, method) == ("alexnet", "GBP") else -0.1)
            out[f"{arch}-{method}-{weights}"] = effect + bonus + (0.01 if arch == "effnetlite1" else 0.0)
    return out | BASELINES


def write(root: Path, images: list[str], seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    root = Path(root)
    for folder in ("metrics", "data/compare", "data/recognition/human/stimuli", "data/attention"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    types = map_types()
    level = {h: rng.normal(0.3, 0.08, len(images)) for h in HUMAN_MAPS}

    per_image, curves, fit, boot, cv, controls = [], [], {}, [], {}, []
    for map_type, effect in types.items():
        best_sigma = int(rng.integers(3, 20))
        for human_map in HUMAN_MAPS:
            r = np.clip(level[human_map] + effect + rng.normal(0, 0.05, len(images)), -1, 1)
            per_image += [{"map_type": map_type, "human_map": human_map, "sigma": best_sigma, "image": i,
                           "r": v, "r_shuffled": v - 0.15} for i, v in zip(images, r, strict=True)]
            peak = float(r.mean())
            for sigma in range(MAX_SIGMA + 1):
                curves.append({"map_type": map_type, "human_map": human_map, "sigma": sigma,
                               "r": peak - 0.0008 * (sigma - best_sigma) ** 2})
            fit.setdefault(map_type, {})[human_map] = {"r": round(peak, 6), "sigma": best_sigma}
            sd = float(r.std(ddof=1) / 5)
            boot.append({"map_type": map_type, "human_map": human_map, "peak_r_sd": sd, "fixed_r_sd": sd * 0.8,
                         "peak_r_lo": peak - 2 * sd, "peak_r_hi": peak + 2 * sd})
            cv.setdefault(map_type, {})[human_map] = {"train_r": round(peak + 0.01, 6),
                                                      "test_r": round(peak - 0.01, 6), "test_sd": 0.02}
            controls.append({"map_type": map_type, "human_map": human_map, "sigma": best_sigma, "r": peak,
                             "shuffled_r": peak - 0.15 - 0.05 * rng.random(),
                             "profile_r": peak - 0.1, "removed_r": peak - 0.2})
    pd.DataFrame(per_image).to_csv(root / "data/compare/peaks.csv", index=False)
    pd.DataFrame(curves).to_csv(root / "data/compare/curves.csv", index=False)
    pd.DataFrame(boot).to_csv(root / "data/compare/bootstrap.csv", index=False)
    pd.DataFrame(controls).to_csv(root / "data/compare/summary.csv", index=False)
    participants = pd.DataFrame([{"map_type": b["map_type"], "human_map": b["human_map"], "r": c["r"],
                                  "sd": b["fixed_r_sd"] * 1.5, "lo": c["r"] - 0.05, "hi": c["r"] + 0.05}
                                 for b, c in zip(boot, controls, strict=True)])
    participants.to_csv(root / "data/compare/participant_bootstrap.csv", index=False)
    (root / "metrics/participant_bootstrap.json").write_text(json.dumps(
        {"status": "ok", "n": 100, "resampled": ["patch"], "sd_pc": {}}))
    ceilings = {h: {"reliability": c**2, "ceiling": c}
                for h, c in zip(HUMAN_MAPS, np.linspace(0.6, 0.8, len(HUMAN_MAPS)), strict=True)}
    (root / "metrics/fit_smoothing_controls.json").write_text(json.dumps({"noise_ceiling": ceilings, "excluded": {}}))
    (root / "metrics/fit_smoothing.json").write_text(json.dumps(fit, indent=1))
    (root / "metrics/crossval.json").write_text(json.dumps(cv, indent=1))

    rows = []
    mask_types = [("human", h) for h in HUMAN_MAPS] + [("ann", "ann-best"), ("ann", "ann-worst")]
    for source, mask_type in mask_types:
        gain = 0.2 if mask_type == "pc" else 0.1
        for i in images:
            for j in images:
                value = 0.7 + (gain if i == j else 0.0) + rng.normal(0, 0.05)
                rows.append({"model": "effnetlite0-I", "mask_source": source, "mask_type": mask_type, "image": i,
                             "mask_image": j, "condition": "correct" if i == j else "incorrect",
                             "inverse_rank": min(value, 1.0)})
    table = pd.DataFrame(rows)
    table.to_csv(root / "data/recognition/ann.csv", index=False)
    means = table.groupby(["mask_type", "condition"], sort=False)["inverse_rank"].mean()
    (root / "metrics/recognition_ann.json").write_text(json.dumps(
        {t: {c: round(float(means[(t, c)]), 6) for c in ("correct", "incorrect")} for _, t in mask_types}))

    trials = [{"set": s, "trial": t, "image": images[(s + t) % len(images)],
               "condition": "correct" if t < 5 else "incorrect", "mask_type": "alexnet-SGBP-I",
               "stimulus": f"stimuli/s{s}_t{t}.png"} for s in range(4) for t in range(10)]
    pd.DataFrame(trials).to_csv(root / "data/recognition/human/trials.csv", index=False)
    for k in range(3):
        pixels = (rng.random((64, 64)) * 255).astype(np.uint8)
        Image.fromarray(pixels).save(root / f"data/recognition/human/stimuli/s0_t{k}.png")

    for model, (arch, weights) in MODELS.items():
        names = [f"{arch}-{m}-{weights}" for m in METHODS]
        write_dataset(_store(rng, list(METHODS), names, images, {"model_id": model, "arch": arch,
                                                                   "weights": weights}),
                      root / f"data/attention/{model}.zarr")
    write_dataset(_store(rng, list(BASELINES), list(BASELINES), images, {"model_id": "baselines"}),
                  root / "data/attention/baselines.zarr")
    _cascade(rng, root, images)
    _benchmark(rng, root, types, pd.DataFrame(controls), pd.DataFrame(boot))


def _benchmark(rng, root: Path, types: dict[str, float], controls: pd.DataFrame, boot: pd.DataFrame) -> None:
    """The benchmark stage's outputs: planted metric values that follow each map type's effect,
    the leaderboard built from them by lib.benchmark as the stage builds it."""
    from lib.benchmark import FIXATION_METRICS, MAP_METRICS, VERSION, leaderboard
    from lib.map_types import role

    fixation = ["free", "saliency", "object"]
    base = {"CC": 0.3, "SIM": 0.6, "KL": 0.5, "NSS": 0.8, "AUC_Judd": 0.7, "sAUC": 0.6, "IG": -0.2}
    rows = []
    for map_type, effect in types.items():
        for human_map in HUMAN_MAPS:
            metrics = MAP_METRICS + (FIXATION_METRICS if human_map in fixation else ())
            for metric in metrics:
                value = base[metric] + (-effect if metric == "KL" else effect) + rng.normal(0, 0.01)
                rows.append({"map_type": map_type, "role": role(map_type), "human_map": human_map,
                             "metric": metric, "value": value, "lo": value - 0.05, "hi": value + 0.05})
    scores = pd.DataFrame(rows)
    summary = controls.assign(gap=controls["r"] - controls["shuffled_r"], share_of_ceiling=controls["r"] / 0.8)
    randomisation = json.loads((root / "metrics/randomisation.json").read_text())
    board = leaderboard(scores, summary, "pc", fixation, bootstrap=boot, randomisation=randomisation)
    folder = root / "data/benchmark"
    folder.mkdir(parents=True, exist_ok=True)
    scores.to_csv(folder / "scores.csv", index=False)
    board.to_csv(folder / "leaderboard.csv", index=False)
    (folder / "benchmark.json").write_text(json.dumps({
        "version": VERSION, "human_maps_md5": "0" * 32, "params": {},
        "weights_sha256": {"effnetlite0-I": "ab" * 32, "effnetlite1-I": "cd" * 32},
        "excluded": [{"map_type": "bms", "human_map": "free", "metric": "NSS", "images": ["img10"]}],
        "best": None}))


def _cascade(rng, root: Path, images: list[str]) -> None:
    """A cascade where GradCAM decorrelates with randomisation and GBP does not (as in real data)."""
    from lib.attention.randomisation import headline

    networks = [m for m, (_, w) in MODELS.items() if w == "I"]
    methods, steps = ["GBP", "GBPxIM", "GradCAM"], [0, 1, 6, 10]
    decay = {"GBP": 0.03, "GBPxIM": 0.05, "GradCAM": 0.1}
    sim = np.array([[[[1.0 - decay[m] * k + rng.normal(0, 0.01) * (k > 0) for _ in images] for k in steps]
                     for m in methods] for _ in networks])
    r = rng.uniform(0.3, 0.5, (len(networks), len(methods), len(steps), len(HUMAN_MAPS)))
    ds = xr.Dataset(
        {"spearman": (("network", "method", "step", "image"), sim),
         "ssim": (("network", "method", "step", "image"), sim * 0.9),
         "r": (("network", "method", "step", "human_map"), r),
         "r_shuffled": (("network", "method", "step", "human_map"), r - 0.1),
         "sample_maps": (("network", "method", "step", "sample", "y", "x"),
                         rng.random((len(networks), len(methods), len(steps), 2, 8, 8)).astype(np.float32))},
        coords={"network": networks, "method": methods, "step": range(len(steps)), "image": images,
                "human_map": HUMAN_MAPS, "sample": images[:2], "blocks_randomised": ("step", steps),
                "n_blocks": 10},
    )
    (root / "data/randomisation").mkdir(parents=True, exist_ok=True)
    write_dataset(ds, root / "data/randomisation/cascade.zarr")
    metrics = {n: headline(ds.sel(network=n), "pc", 0.5) for n in networks}
    (root / "metrics/randomisation.json").write_text(json.dumps(metrics, indent=2))


def _store(rng, methods: list[str], names: list[str], images: list[str], attrs: dict) -> xr.Dataset:
    size = 32
    yy, xx = np.mgrid[:size, :size]
    maps = np.empty((len(methods), len(images), size, size), dtype=np.float32)
    for k in range(len(methods)):
        for i in range(len(images)):
            cy, cx = rng.uniform(8, 24, 2)
            maps[k, i] = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 30) + 0.3 * rng.random((size, size))
    return xr.Dataset(
        {"maps": (("method", "image", "y", "x"), maps)},
        coords={"method": methods, "map_type": ("method", names), "image": images},
        attrs=attrs | {"settings": {"note": "synthetic"}},
    )
