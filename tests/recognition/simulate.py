"""Simulated responses for testing the analysis: a known probability of choosing the shown image's
label set per masking condition, otherwise a uniform guess among the other options. For tests
only; the pipeline never invents responses."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy.stats import norm


def simulate(trials: pd.DataFrame, p_correct: Mapping, participants_per_set: int,
             rng: np.random.Generator, accuracy_override: Mapping[str, float] | None = None
             ) -> pd.DataFrame:
    """Rows (participant, set, trial, stimulus, response, correct): each set done by
    `participants_per_set` participants. `p_correct` maps a condition, or a (map type, condition)
    pair (which wins), to the probability of naming the shown image; `accuracy_override`
    {participant: p} replaces it for chosen participants."""
    rows = []
    for s, block in trials.sort_values(["set", "trial"]).groupby("set"):
        for k in range(participants_per_set):
            participant = f"s{s}p{k}"
            for t in block.itertuples():
                p = p_correct.get((t.map_type, t.condition)) or p_correct[t.condition]
                p = (accuracy_override or {}).get(participant, p)
                options = t.options.split(";")
                if rng.random() < p:
                    response = t.image
                else:
                    others = [o for o in options if o != t.image]
                    response = others[rng.integers(len(others))]
                rows.append({"participant": participant, "set": s, "trial": t.trial,
                             "stimulus": t.stimulus, "response": response,
                             "correct": int(response == t.image)})
    return pd.DataFrame(rows)


def true_dprime(p: float, n_options: int) -> float:
    """d' of the simulation: hit rate p; false alarm (1 - p) / (n_options - 1)."""
    return float(norm.ppf(p) - norm.ppf((1 - p) / (n_options - 1)))
