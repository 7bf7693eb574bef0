"""The benchmark: every map type scored against every human map with the saliency field's standard
metrics (lib.compare.saliency_metrics) at its fitted sigma, the versioned benchmark record that
says whether two runs' scores are comparable, and the leaderboard rows the report shows.

Scores are per image, then averaged over images with an image-bootstrap percentile interval
(the bootstrap stage's resampling scheme, at the fixed fitted sigma). Map-based metrics (CC, SIM,
KL) are computed for every human map; fixation metrics (NSS, AUC-Judd, shuffled AUC, information
gain) for the fixation measures only, whose published maps are fixation densities.
"""

from __future__ import annotations

import hashlib
import warnings

import numpy as np
import pandas as pd
import xarray as xr

from lib.compare import saliency_metrics as sm
from lib.compare.blur import blur_maps
from lib.compare.resample import bootstrap_indices
from lib.compare.screen import ExcludedMapTypeWarning
from lib.errors import InputError
from lib.map_types import ROLES, role

# Bump whenever anything that changes a score changes: a metric's definition or regulariser
# default, the density conversion, the interval, the blur, the human maps' preparation (docs/benchmark.md).
VERSION = 1

MAP_METRICS = ("CC", "SIM", "KL")
FIXATION_METRICS = ("NSS", "AUC_Judd", "sAUC", "IG")
METRICS = MAP_METRICS + FIXATION_METRICS
# Lower is better only for KL; the leaderboard sorts and the page says so.
LOWER_IS_BETTER = ("KL",)
# The params that change a score (benchmark.json records them; a difference means "not comparable").
SCORE_PARAMS = (
    "data.images", "data.grid", "data.human_pc", "data.measures", "estimate_human", "human_pc",
    "extract_attention.models", "extract_attention.methods", "extract_attention.normalisation",
    "extract_attention.smooth_rule", "extract_attention.sgbp", "extract_attention.cameras_resolutions",
    "extract_attention.target_layers", "extract_baselines", "smoothing", "bootstrap.n", "bootstrap.seed",
    "benchmark",
)


def check_settings(settings: dict) -> dict:
    """The `benchmark` params section, validated: kl_eps, ig_eps (regularisers, > 0),
    centre_bias_sigma_frac (> 0) and interval (a coverage in (0, 1))."""
    if not isinstance(settings, dict):
        raise InputError("params.yaml: `benchmark` must be a mapping")
    out = {}
    for key, low, high in (("kl_eps", 0, 1), ("ig_eps", 0, 1), ("centre_bias_sigma_frac", 0, 10),
                           ("interval", 0, 1)):
        value = settings.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low < value < high:
            raise InputError(f"params.yaml: `benchmark.{key}` must be a number in ({low}, {high}), got {value!r}")
        out[key] = float(value)
    return out


def _negative_densities(density: np.ndarray) -> np.ndarray:
    """(N, P) per image: the mean density of the other N-1 images (shuffled AUC's negatives)."""
    total = density.sum(axis=0, keepdims=True)
    return (total - density) / (len(density) - 1)


def fixation_histograms(sources: dict, fixation_measures: list[str], images: list[str], grid: int,
                        root=None) -> dict[str, np.ndarray]:
    """{measure: (N, grid, grid) fixation counts} for each fixation measure whose
    `estimate_human.sources` entry is a raw-trial file (a path from the repository root; the
    `fixations` schema, rows of that `task`): the real fixations the fixation metrics then use
    instead of the density map. A fixation at image px (x, y) counts in the grid pixel covering it
    (pixel j covers [j, j+1) * 405 / grid, as lib.trials._grid lays maps over the image)."""
    from lib.paths import ROOT

    out: dict[str, np.ndarray] = {}
    loaded: dict[str, pd.DataFrame] = {}
    for measure in fixation_measures:
        source = sources.get(measure, "published")
        if source == "published":
            continue
        from lib.trials.schemas import IMAGE_SIZE, load_trials  # seconds to import; only when trials are used

        if source not in loaded:
            loaded[source] = load_trials((root or ROOT) / source, "fixations", images).frame
        frame = loaded[source]
        frame = frame[frame["task"] == measure]
        counts = np.zeros((len(images), grid, grid))
        for n, image in enumerate(images):
            rows = frame[frame["image"] == image]
            ys, xs = ((np.clip(np.floor(rows[c].to_numpy(dtype=float) * grid / IMAGE_SIZE), 0, grid - 1))
                      for c in ("y", "x"))
            counts[n] = sm.fixation_histogram(ys, xs, (grid, grid))
        out[measure] = counts
    return out


def per_image_scores(
    maps: xr.DataArray, targets: xr.DataArray, sigma: xr.DataArray, fixation_measures: list[str], settings: dict,
    fixations: dict[str, np.ndarray] | None = None,
) -> xr.DataArray:
    """Every metric per (map_type, human_map, image): maps (map_type, image, y, x) blurred at
    sigma (map_type, human_map), the fitted sigma, against targets (human_map, image, y, x).
    Fixation metrics are NaN for human maps not in `fixation_measures`; any other NaN is a metric
    undefined for that map (the caller excludes it). `fixations` ({measure: (N, y, x) counts},
    `fixation_histograms`) replaces a measure's density in the fixation metrics by its real
    fixations (the sampled metrics exactly); an image without fixations gets NaN there. Each map
    type is blurred once per distinct fitted sigma, and all its human maps at that sigma are
    scored in one vectorised call."""
    maps = maps.transpose("map_type", "image", "y", "x")
    targets = targets.transpose("human_map", "image", "y", "x")
    human = [str(h) for h in targets["human_map"].values]
    sigma = sigma.sel(map_type=maps["map_type"], human_map=human)
    n_images, grid = targets.sizes["image"], targets.sizes["y"]
    if n_images < 2:
        raise InputError("benchmark: need at least two images (shuffled AUC draws from the others)")
    fix = [k for k, h in enumerate(human) if h in fixation_measures]
    human_values = targets.values
    fixations = fixations or {}
    # What the fixation metrics draw fixations from: real fixations where given, else the density map.
    positives = {k: np.asarray(fixations[human[k]], dtype=np.float64) if human[k] in fixations else human_values[k]
                 for k in fix}
    densities = {k: sm.to_density(positives[k]) for k in fix}  # (N, P)
    negatives = {k: _negative_densities(np.nan_to_num(densities[k])) for k in fix}
    baseline = sm.centre_bias(grid, settings["centre_bias_sigma_frac"])
    out = np.full((maps.sizes["map_type"], len(human), len(METRICS), n_images), np.nan)
    for t in range(maps.sizes["map_type"]):
        raw = maps.values[t]
        for s in np.unique(sigma.values[t]):
            ks = np.flatnonzero(sigma.values[t] == s)
            blurred = blur_maps(raw, float(s))[None]  # (1, N, H, W)
            out[t, ks, 0] = sm.cc(blurred, human_values[ks])
            out[t, ks, 1] = sm.sim(blurred, human_values[ks])
            out[t, ks, 2] = sm.kl_divergence(blurred, human_values[ks], settings["kl_eps"])
            for k in (k for k in ks if k in fix):
                m, h = blurred[0], positives[k]
                out[t, k, 3] = sm.nss(m, h)
                # AUC-Judd (negatives: every pixel alike) and shuffled AUC share one sort of the maps
                out[t, k, 4:6] = sm.weighted_aucs(m.reshape(n_images, -1), densities[k], [1.0, negatives[k]])
                out[t, k, 6] = sm.information_gain(m, h, baseline, settings["ig_eps"])
    return xr.DataArray(
        out, dims=("map_type", "human_map", "metric", "image"),
        coords={"map_type": maps["map_type"].values, "human_map": human, "metric": list(METRICS),
                "image": targets["image"].values},
    )


def summarise(scores: xr.DataArray, fixation_measures: list[str], n_resamples: int, seed: int,
              coverage: float) -> tuple[pd.DataFrame, list[dict]]:
    """The tidy scores table (map_type, role, human_map, metric, value, lo, hi): mean over images
    and the image-bootstrap percentile interval of that mean at `coverage`; and the excluded
    entries [{map_type, human_map, metric, images}] where a metric is undefined for some image's
    map (each reported with a warning; the entry gets no score rather than a mean over a subset)."""
    values = scores.values
    indices = bootstrap_indices(scores.sizes["image"], n_resamples, seed)
    counts = np.stack([np.bincount(row, minlength=scores.sizes["image"]) for row in indices])
    counts = counts / scores.sizes["image"]
    images = [str(i) for i in scores["image"].values]
    rows, excluded = [], []
    tail = (1 - coverage) / 2 * 100
    for t, map_type in enumerate(scores["map_type"].values):
        for k, human_map in enumerate(scores["human_map"].values):
            for m, metric in enumerate(METRICS):
                if metric in FIXATION_METRICS and str(human_map) not in fixation_measures:
                    continue
                cell = values[t, k, m]
                bad = ~np.isfinite(cell)
                if bad.any():
                    which = [images[i] for i in np.flatnonzero(bad)]
                    excluded.append({"map_type": str(map_type), "human_map": str(human_map),
                                     "metric": metric, "images": which})
                    warnings.warn(f"benchmark: {metric} of {map_type} against {human_map} excluded: "
                                  f"undefined for {len(which)} image(s) ({', '.join(which[:3])})",
                                  ExcludedMapTypeWarning, stacklevel=2)
                    continue
                resampled = counts @ cell
                lo, hi = np.percentile(resampled, [tail, 100 - tail])
                rows.append({"map_type": str(map_type), "role": role(str(map_type)), "human_map": str(human_map),
                             "metric": metric, "value": cell.mean(), "lo": lo, "hi": hi})
    table = pd.DataFrame(rows, columns=["map_type", "role", "human_map", "metric", "value", "lo", "hi"])
    for column in ("value", "lo", "hi"):
        table[column] = table[column].round(6) + 0.0
    return table, excluded


def leaderboard(scores: pd.DataFrame, summary: pd.DataFrame, pc_id: str, fixation_measures: list[str],
                bootstrap: pd.DataFrame | None = None, crossval: pd.DataFrame | None = None,
                randomisation: dict | None = None) -> pd.DataFrame:
    """One row per map type for the Human PC: role, sigma, r (with the bootstrap stage's interval),
    cross-validated test r, gap over the shuffled-image control, share of the noise ceiling, CC,
    SIM, KL against the Human PC and the fixation metrics averaged over the fixation measures (each
    at its own fitted sigma), and the rank similarity of the map with the fully randomised
    network's (randomisation stage; lower = more weight-dependent) when that stage has run.
    Trained models first, sorted by r, then the controls (random weights, references)."""
    pc = summary[summary["human_map"] == pc_id].set_index("map_type")
    board = pd.DataFrame({"map_type": pc.index, "role": [role(t) for t in pc.index]}).set_index("map_type")
    board["sigma"] = pc["sigma"]
    board["r"] = pc["r"]
    if bootstrap is not None:
        b = bootstrap[bootstrap["human_map"] == pc_id].set_index("map_type")
        board["r_lo"], board["r_hi"] = b["peak_r_lo"], b["peak_r_hi"]
    if crossval is not None:
        board["test_r"] = crossval[crossval["human_map"] == pc_id].set_index("map_type")["test_r_mean"]
    board["gap"] = pc["gap"]
    board["share_of_ceiling"] = pc["share_of_ceiling"]
    on_pc = scores[scores["human_map"] == pc_id].pivot(index="map_type", columns="metric", values="value")
    for metric in MAP_METRICS:
        board[metric] = on_pc.get(metric)
    fix = scores[scores["human_map"].isin(fixation_measures) & scores["metric"].isin(FIXATION_METRICS)]
    # A map type missing a metric for one fixation measure gets no average (not one over fewer).
    complete = fix.groupby(["map_type", "metric"])["value"].agg(["mean", "count"])
    complete = complete[complete["count"] == len(fixation_measures)]["mean"].unstack()
    for metric in FIXATION_METRICS:
        board[metric] = complete.get(metric)
    if randomisation:
        board["randomised_similarity"] = pd.Series(_randomisation_similarity(randomisation))
    board = board.reset_index()
    order = {r: i for i, r in enumerate(ROLES)}
    board["_role"] = board["role"].map(order)
    board = board.sort_values(["_role", "r"], ascending=[True, False], kind="stable").drop(columns="_role")
    return board.reset_index(drop=True).round(6)


def _randomisation_similarity(data: dict) -> dict[str, float]:
    """{map_type: rank similarity at full randomisation} from metrics/randomisation.json
    ({model_id: {method: {"similarity_full", ...}}})."""
    out = {}
    for model_id, methods in data.items():
        if not isinstance(methods, dict):
            continue
        arch, _, letter = model_id.rpartition("-")
        for method, entry in methods.items():
            if isinstance(entry, dict) and "similarity_full" in entry:
                out[f"{arch}-{method}-{letter}"] = entry["similarity_full"]
    return out


def maps_md5(targets: xr.DataArray) -> str:
    """md5 of the human maps as scored (float64 bytes, human_map x image order, with their names)."""
    digest = hashlib.md5()
    digest.update(repr([str(h) for h in targets["human_map"].values]).encode())
    digest.update(repr([str(i) for i in targets["image"].values]).encode())
    digest.update(np.ascontiguousarray(targets.values, dtype=np.float64).tobytes())
    return digest.hexdigest()


def record(params: dict, targets: xr.DataArray, weights: dict[str, str], excluded: list[dict],
           board: pd.DataFrame, fixations: dict[str, np.ndarray] | None = None) -> dict:
    """benchmark.json: the version, the md5 of the human maps, the score-affecting params, the
    weights SHA-256 per model, the excluded entries, which fixation measures were scored on real
    fixations (with their count), and the best trained map type's row (what `dvc exp show`
    displays)."""
    from lib.params import get

    chosen = {}
    for key in SCORE_PARAMS:
        try:
            chosen[key] = get(params, key)
        except InputError:
            chosen[key] = None
    models = board[board["role"] == "model"]
    best = None
    if len(models):
        row = models.iloc[0]
        best = {k: (None if pd.isna(v) else (v if isinstance(v, str) else float(v))) for k, v in row.items()}
    return {"version": VERSION, "human_maps_md5": maps_md5(targets), "params": chosen,
            "weights_sha256": dict(sorted(weights.items())), "excluded": excluded,
            "real_fixations": {m: int(c.sum()) for m, c in sorted((fixations or {}).items())}, "best": best}


def comparable(a: dict, b: dict) -> list[str]:
    """Why two benchmark records' scores are not comparable (empty: they are): a different
    version, human maps, score-affecting param, or weights of a model both scored."""
    reasons = []
    if a.get("version") != b.get("version"):
        reasons.append(f"benchmark version {a.get('version')} vs {b.get('version')}")
    if a.get("human_maps_md5") != b.get("human_maps_md5"):
        reasons.append("different human maps")
    pa, pb = a.get("params", {}), b.get("params", {})
    for key in sorted(set(pa) | set(pb)):
        if key != "extract_attention.models" and pa.get(key) != pb.get(key):
            reasons.append(f"params `{key}` differ")
    wa, wb = a.get("weights_sha256", {}), b.get("weights_sha256", {})
    reasons += [f"weights of {m} differ" for m in sorted(set(wa) & set(wb)) if wa[m] != wb[m]]
    return reasons
