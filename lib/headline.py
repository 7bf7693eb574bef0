"""The run's headline: the couple of dozen numbers `dvc exp show` and `dvc exp diff` display.

Every value is read from the detailed JSON files the stages write (metrics/*.json); nothing is
computed anew except differences and shares of what they hold. Keys are short (they are column
headers of `dvc exp show`) and flat (DVC makes a column of every nested value). A value the run
did not produce (no trained network, no recognition stage output) is left out rather than
written as a placeholder; `status` appears only when there is no answer, and says why.

Roles come from lib.map_types: the best map type is the best trained one (the stats stage's
answer); `control_r` is the highest-scoring control (random weights or non-ANN reference),
shown beside it, never ranked with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lib.map_types import is_control

# Column order of `dvc exp show`: the answer first, so the values that matter most stay visible
# when a narrow terminal collapses the columns on the right. Short names: they are the headers.
KEYS = (
    "best", "r", "sigma", "r_lo", "r_hi", "test_r", "gap", "control_r", "random_r", "pc_var",
    "pc_study", "gbp_cam_t", "method_eta", "mask_gain", "mask_F", "mask_p", "rand_pass", "n_models",
    "status",
)  # fmt: skip
# What each key holds, for the README and docs.
MEANINGS = {
    "best": "the best trained map type (highest mean r with the Human PC at its fitted sigma)",
    "r": "its mean Pearson r with the Human PC over the images",
    "sigma": "its fitted blur sigma (pixels of the 100x100 grid)",
    "r_lo": "lower end of its bootstrap interval",
    "r_hi": "upper end of its bootstrap interval",
    "test_r": "its cross-validated test r (sigma fitted on the training images)",
    "gap": "its r minus the r of shuffled image pairings (how much is image-specific)",
    "control_r": "the highest r of any control (random-weight network or non-ANN reference)",
    "random_r": "the r of the best type's random-weight counterpart",
    "pc_var": "share of variance the Human PC explains among the six z-scored measures",
    "pc_study": "mean r of this run's Human PC maps with the study's published ones",
    "gbp_cam_t": "paired t of the GBP family against the CAM family (per-image means)",
    "method_eta": "share of variance in map-type scores explained by the attention method",
    "mask_gain": "ANN recognition (inverse rank) with own-image Human PC masks minus other images'",
    "mask_F": "F of the masking main effect (ANN recognition ANOVA, all networks)",
    "mask_p": "its p value",
    "rand_pass": "share of (network, method) pairs passing the cascading randomisation check",
    "n_models": "number of trained map types ranked",
    "status": "present only when there is no answer: why",
}


def _get(data: Mapping | None, *path: str) -> Any:
    for key in path:
        if not isinstance(data, Mapping) or key not in data:
            return None
        data = data[key]
    return data


def headline(stats: Mapping, human_pc: Mapping, crossval: Mapping, fit: Mapping,
             recognition_ann: Mapping, randomisation: Mapping) -> dict[str, Any]:
    """The headline dict (keys in KEYS order, absent values left out) from the parsed metrics
    files: stats.json, human_pc.json, crossval.json, fit_smoothing.json, recognition_ann.json
    and randomisation.json."""
    answer = _get(stats, "answer") or {}
    target = answer.get("human_map", "pc")
    best = answer.get("best") if answer.get("status") == "ok" else None
    out: dict[str, Any] = {}
    if best is None:
        out["status"] = answer.get("status", "no answer in stats.json")
    else:
        out.update(best=best, r=answer.get("r"), sigma=answer.get("sigma"), r_lo=answer.get("lo"),
                   r_hi=answer.get("hi"), test_r=_get(crossval, best, target, "test_r"),
                   gap=answer.get("gap"), random_r=_get(answer, "random", "r"),
                   n_models=answer.get("n_models"))
    controls = [_get(fit, name, target, "r") for name in fit if is_control(name)]
    controls = [r for r in controls if r is not None]
    if controls:
        out["control_r"] = max(controls)
    explained = _get(human_pc, "explained_variance")
    if explained:
        out["pc_var"] = explained[0]
    out["pc_study"] = _get(human_pc, "published_pc_r", "mean")
    out["gbp_cam_t"] = _get(stats, "family_tests", target, "GBP vs CAM", "t")
    out["method_eta"] = _get(stats, "variance_shares", "method", "eta_sq")
    correct, incorrect = (_get(recognition_ann, target, c) for c in ("correct", "incorrect"))
    if correct is not None and incorrect is not None:
        out["mask_gain"] = round(correct - incorrect, 6)  # inverse rank, own minus other masks
    out["mask_F"] = _get(stats, "recognition_anova", "all models", "masking", "F")
    out["mask_p"] = _get(stats, "recognition_anova", "all models", "masking", "p")
    verdicts = [cell.get("passes") for network in (randomisation or {}).values() if isinstance(network, Mapping)
                for cell in network.values() if isinstance(cell, Mapping) and "passes" in cell]
    if verdicts:
        out["rand_pass"] = round(sum(bool(v) for v in verdicts) / len(verdicts), 6)
    return {key: out[key] for key in KEYS if out.get(key) is not None}
