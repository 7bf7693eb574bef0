"""The study's answer with the controls that bound it: the best trained map type for a human map
(by peak mean r), its bootstrap interval and fitted sigma, the same method on the same
architecture with random weights, the non-ANN references, and its shuffled-image score.

One home for what the results page's first paragraph and `metrics/stats.json` say, so both read
the same numbers. Inputs are lib.outputs's tidy tables; pure functions of them.
"""

from __future__ import annotations

import pandas as pd

from lib.map_types import BASELINES, annotate, random_counterpart

__all__ = ["answer"]


def _row(table: pd.DataFrame | None, map_type: str, human_map: str) -> pd.Series | None:
    if table is None:
        return None
    rows = table[(table["map_type"] == map_type) & (table["human_map"] == human_map)]
    return None if rows.empty else rows.iloc[0]


def _random_control(names: set[str], best: str) -> str | None:
    """The random-weight map type of the best one's architecture and method; else the same method
    on any random-weight network in the run (named, so the text can say which)."""
    own = random_counterpart(best)
    if own in names:
        return own
    method = best.rsplit("-", 2)[-2]
    others = sorted(n for n in names if n.endswith(f"-{method}-R"))
    return others[0] if others else None


def answer(fit: pd.DataFrame | None, human_map: str, boot: pd.DataFrame | None = None,
           controls: pd.DataFrame | None = None) -> dict:
    """{status, best, r, lo, hi, sd, sigma, shuffled_r, gap, random: {map_type, r, own_arch},
    references: {name: r}, controls_at_least_best: [names]} for `human_map`.

    fit: map_type, human_map, r, sigma (lib.outputs.fit_smoothing); boot: map_type, human_map,
    sd, lo, hi; controls: map_type, human_map, r_shuffled, gap. `status` is `ok`, `no trained
    network` (only controls were scored) or `no scores` (nothing for this human map).
    """
    if fit is None or human_map not in set(fit["human_map"]):
        return {"status": "no scores"}
    rows = annotate(fit[fit["human_map"] == human_map]).reset_index(drop=True)
    models = rows[rows["role"] == "model"]
    if models.empty:
        return {"status": "no trained network"}
    best_row = models.sort_values(["r", "map_type"], ascending=[False, True]).iloc[0]
    best = str(best_row["map_type"])
    out: dict = {"status": "ok", "best": best, "r": float(best_row["r"]), "sigma": float(best_row["sigma"]),
                 "n_models": int(len(models))}
    spread = _row(boot, best, human_map)
    if spread is not None:
        out |= {"sd": float(spread["sd"]), "lo": float(spread["lo"]), "hi": float(spread["hi"])}
    shuffled = _row(controls, best, human_map)
    if shuffled is not None:
        out |= {"shuffled_r": float(shuffled["r_shuffled"]), "gap": float(shuffled["gap"])}
    names = set(rows["map_type"])
    random = _random_control(names, best)
    r_of = rows.set_index("map_type")["r"]
    if random is not None:
        out["random"] = {"map_type": random, "r": float(r_of[random]), "own_arch": random == random_counterpart(best)}
    out["references"] = {name: float(r_of[name]) for name in BASELINES if name in names}
    control_rows = rows[rows["role"] != "model"]
    out["controls_at_least_best"] = sorted(control_rows.loc[control_rows["r"] >= out["r"], "map_type"].astype(str))
    return out
