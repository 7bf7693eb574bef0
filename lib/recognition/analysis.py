"""Analysis of the speeded recognition experiment (METHOD.md, recognition_human).

Responses (one row per trial, as the experiment page saves them) are checked against the design,
participants below `min_accuracy` are excluded, and for every map type, condition and image a
d' = Z(hit) - Z(false alarm) is computed from label-set choices, pooled over participants:
hit = P(choose image i's labels | image i shown), false alarm = P(choose image i's labels | another
image of the same set shown), both within one map type and condition. Rates use the log-linear
correction (k + 0.5) / (n + 1), so 0 and 1 stay finite; a cell with no signal or no noise trials
is NaN. Paired t-tests across images compare conditions and map types (Bonferroni over all of
them); percentile intervals come from resampling response rows with replacement.

The same d' per participant (`participant_dprime_table`), pooled over the images of a map type and
condition, is what stats pairs over when `stats.dprime_unit` is `participant`: each trial is one
signal trial for the cell and one noise trial for each of the other options, so hits + false
alarms = trials and a participant's cell has (trials x (options - 1)) noise trials.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import product
from pathlib import Path

import numpy as np
import pandas as pd
import pingouin as pg
from scipy.stats import norm

from lib.errors import InputError
from lib.recognition.design import CONDITIONS
from lib.recognition.experiment import design_id
from lib.recognition.jspsych_data import is_jspsych, response_rows
from lib.tabular import line_of, read_table_file

REQUIRED = ["participant", "set", "trial", "stimulus", "response"]


def _load(path: Path, trials: pd.DataFrame) -> list[dict]:
    """One responses file as rows {participant, set, trial, stimulus, response, where}: jsPsych
    data from the experiment page (lib.recognition.jspsych_data), or a plain table with the
    REQUIRED columns, one row per trial (a row with only a participant lists one without trials)."""
    table = read_table_file(path, "responses file", text=True)
    if is_jspsych(table):
        return response_rows(path, table, trials, design_id(trials))
    missing = [c for c in REQUIRED if c not in table.columns]
    if missing:
        raise InputError(f"{path}: missing column(s) {missing} (need {REQUIRED}, or jsPsych data "
                         "saved by experiment.html)")
    return [dict(zip(REQUIRED, (str(v).strip() for v in rec), strict=True))
            | {"where": f"{path} line {line_of(table, k) or k + 2}"}
            for k, rec in enumerate(table[REQUIRED].itertuples(index=False))]


def read_responses(path: Path, trials: pd.DataFrame) -> pd.DataFrame:
    """The responses checked against the design's trial table, joined with it: columns
    participant, set, trial, stimulus, response, image, condition, map_type, options (list),
    correct. `path` is one file or a folder of *.csv files (e.g. one jsPsych file per
    participant). InputError naming the file and line for missing values, unknown stimuli, trials
    that the design does not have, responses that were not options, repeated trials, participants
    listed without any trials or in two sets, and (jsPsych data) files from another experiment or
    design, truncated files and missing trials."""
    path = Path(path)
    if path.is_dir():
        files = sorted(path.glob("*.csv"))
        if not files:
            raise InputError(f"{path}: no responses files (*.csv)")
    elif path.is_file():
        files = [path]
    else:
        raise InputError(f"{path}: responses file not found")
    # Every file is read (and its format checked) before the design is consulted.
    records = [r for f in files for r in _load(f, trials)]
    by_slot = {(int(r.set), int(r.trial)): r for r in trials.itertuples()}
    stimuli = set(trials["stimulus"])
    rows, seen, empty, sets = [], {}, {}, {}
    for rec in records:
        where = rec["where"]
        participant, set_, trial, stimulus, response = (
            str(rec[c]).strip() for c in REQUIRED)
        if not participant:
            raise InputError(f"{where}: no participant")
        if not (set_ or trial or stimulus or response):
            empty.setdefault(participant, where)  # a participant row without a trial
            continue
        for name, value in zip(REQUIRED[1:], (set_, trial, stimulus, response), strict=True):
            if not value:
                raise InputError(f"{where}: participant {participant}: no {name}")
        if stimulus not in stimuli:
            raise InputError(f"{where}: unknown stimulus {stimulus!r}")
        try:
            slot = (int(set_), int(trial))
        except ValueError as err:
            raise InputError(f"{where}: set and trial must be integers, got "
                             f"{set_!r}, {trial!r}") from err
        first_set, first_where = sets.setdefault(participant, (slot[0], where))
        if slot[0] != first_set:
            raise InputError(f"{where}: participant {participant} also did set {slot[0]} (set "
                             f"{first_set} at {first_where}); each participant does one set")
        design = by_slot.get(slot)
        if design is None or design.stimulus != stimulus:
            raise InputError(f"{where}: stimulus {stimulus} was not shown as set "
                             f"{slot[0]} trial {slot[1]}")
        options = design.options.split(";")
        if response not in options:
            raise InputError(f"{where}: response {response!r} was not an option "
                             f"({';'.join(options)})")
        key = (participant, *slot)
        if key in seen:
            raise InputError(f"{where}: participant {participant} answered set "
                             f"{slot[0]} trial {slot[1]} already at {seen[key]}")
        seen[key] = where
        rows.append({"participant": participant, "set": slot[0], "trial": slot[1],
                     "stimulus": stimulus, "response": response, "image": design.image,
                     "condition": design.condition, "map_type": design.map_type,
                     "options": options, "correct": response == design.image})
    with_trials = {p for p, *_ in seen}
    for participant, where in empty.items():
        if participant not in with_trials:
            raise InputError(f"{where}: participant {participant} has no trials")
    if not rows:
        raise InputError(f"{path}: no responses")
    return pd.DataFrame(rows)


def exclude(responses: pd.DataFrame, min_accuracy: float) -> tuple[pd.DataFrame, list[str]]:
    """(responses of participants with accuracy >= min_accuracy, the excluded participants)."""
    accuracy = responses.groupby("participant")["correct"].mean()
    out = sorted(accuracy.index[accuracy < min_accuracy])
    return responses[~responses["participant"].isin(out)].reset_index(drop=True), out


@dataclass(frozen=True)
class _Cells:
    """Each response row's contributions to the per-cell counts (cell = map type, condition,
    image), so the counts under any row weights are a few bincounts."""
    n_cells: int
    signal: np.ndarray  # (rows,) cell of the shown image
    hit: np.ndarray  # (rows,) response was the shown image
    false_alarm: np.ndarray  # (rows,) cell of the chosen image when wrong, else -1
    noise: np.ndarray  # (rows * (options-1),) cells of the other options
    noise_row: np.ndarray  # their rows

    def counts(self, w: np.ndarray) -> tuple[np.ndarray, ...]:
        n = self.n_cells
        wrong = self.false_alarm >= 0
        return (np.bincount(self.signal, w, n), np.bincount(self.signal, w * self.hit, n),
                np.bincount(self.noise, w[self.noise_row], n),
                np.bincount(self.false_alarm[wrong], w[wrong], n))


def _cells(responses: pd.DataFrame, map_types: Sequence[str], images: Sequence[str]) -> _Cells:
    mt = {m: k for k, m in enumerate(map_types)}
    im = {i: k for k, i in enumerate(images)}
    cond = {c: k for k, c in enumerate(CONDITIONS)}

    def cell(m: str, c: str, i: str) -> int:
        return (mt[m] * len(CONDITIONS) + cond[c]) * len(images) + im[i]

    signal, hit, fa, noise, noise_row = [], [], [], [], []
    for k, r in enumerate(responses.itertuples()):
        signal.append(cell(r.map_type, r.condition, r.image))
        hit.append(r.response == r.image)
        fa.append(-1 if r.response == r.image else cell(r.map_type, r.condition, r.response))
        for o in r.options:
            if o != r.image:
                noise.append(cell(r.map_type, r.condition, o))
                noise_row.append(k)
    return _Cells(len(map_types) * len(CONDITIONS) * len(images), np.array(signal),
                  np.array(hit, dtype=np.float64), np.array(fa), np.array(noise, dtype=np.int64),
                  np.array(noise_row, dtype=np.int64))


def _dprime(n_signal, hits, n_noise, fas) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    hit_rate = (hits + 0.5) / (n_signal + 1)
    fa_rate = (fas + 0.5) / (n_noise + 1)
    d = norm.ppf(hit_rate) - norm.ppf(fa_rate)
    return hit_rate, fa_rate, np.where((n_signal > 0) & (n_noise > 0), d, np.nan)


def dprime_table(responses: pd.DataFrame, map_types: Sequence[str], images: Sequence[str]
                 ) -> pd.DataFrame:
    """d' per mask type (the ANN map type that made the masks), masking (condition) and image,
    with its counts and corrected rates; columns named as lib.stats' d' tables."""
    cells = _cells(responses, map_types, images)
    n_signal, hits, n_noise, fas = cells.counts(np.ones(len(cells.signal)))
    hit_rate, fa_rate, d = _dprime(n_signal, hits, n_noise, fas)
    keys = list(product(map_types, CONDITIONS, images))
    return pd.DataFrame({
        "mask_type": [k[0] for k in keys], "masking": [k[1] for k in keys],
        "image": [k[2] for k in keys], "n_signal": n_signal.astype(int), "hits": hits.astype(int),
        "n_noise": n_noise.astype(int), "false_alarms": fas.astype(int),
        "hit_rate": hit_rate, "fa_rate": fa_rate, "dprime": d,
    })


def participant_dprime_table(responses: pd.DataFrame, map_types: Sequence[str]) -> pd.DataFrame:
    """d' per participant, mask type and masking, pooled over images, with its counts and
    log-linear-corrected rates; cells a participant has no trials in are left out."""
    frame = responses.assign(n_noise=responses["options"].map(len) - 1,
                             hit=responses["correct"].astype(int))
    counts = (frame.groupby(["participant", "map_type", "condition"], sort=True)
              .agg(n_signal=("hit", "size"), hits=("hit", "sum"), n_noise=("n_noise", "sum"))
              .reset_index())
    counts["false_alarms"] = counts["n_signal"] - counts["hits"]
    hit_rate, fa_rate, d = _dprime(*(counts[c].to_numpy(dtype=np.float64) for c in
                                     ("n_signal", "hits", "n_noise", "false_alarms")))
    order = {m: k for k, m in enumerate(map_types)}
    table = counts.rename(columns={"map_type": "mask_type", "condition": "masking"}).assign(
        hit_rate=hit_rate, fa_rate=fa_rate, dprime=d)
    table = table.sort_values(["participant", "mask_type", "masking"],
                              key=lambda c: c.map(order) if c.name == "mask_type" else c)
    return table[["participant", "mask_type", "masking", "n_signal", "hits", "n_noise",
                  "false_alarms", "hit_rate", "fa_rate", "dprime"]].reset_index(drop=True)


def _wide(dp: pd.DataFrame) -> pd.DataFrame:
    """d' as (image) x (mask_type, masking), plus each mask type's correct - incorrect effect."""
    wide = dp.pivot_table(index="image", columns=["mask_type", "masking"], values="dprime",
                          dropna=False, sort=False)
    for m in dp["mask_type"].drop_duplicates():
        wide[(m, "effect")] = wide[(m, "correct")] - wide[(m, "incorrect")]
    return wide


def _plan(map_types: Sequence[str]) -> list[tuple[str, tuple[str, str], tuple[str, str]]]:
    """The comparisons: correct vs incorrect d' per mask type; the first mask type against each
    other one on correct d' and on the masking effect."""
    plan = [(f"{m} correct vs incorrect", (m, "correct"), (m, "incorrect")) for m in map_types]
    ref = map_types[0]
    for m in map_types[1:]:
        plan.append((f"{ref} vs {m}: correct d'", (ref, "correct"), (m, "correct")))
        plan.append((f"{ref} vs {m}: masking effect", (ref, "effect"), (m, "effect")))
    return plan


def bootstrap_samples(responses: pd.DataFrame, map_types: Sequence[str], images: Sequence[str],
                      n_resamples: int, seed: int) -> np.ndarray:
    """d' (resample, mask type, masking, image) over `n_resamples` resamples of the response
    rows with replacement; masking index 2 is the effect (correct - incorrect)."""
    cells = _cells(responses, map_types, images)
    rng = np.random.default_rng(seed)
    rows = len(cells.signal)
    shape = (len(map_types), len(CONDITIONS), len(images))
    out = np.empty((n_resamples, len(map_types), len(CONDITIONS) + 1, len(images)))
    for b in range(n_resamples):
        w = np.bincount(rng.integers(0, rows, rows), minlength=rows).astype(np.float64)
        d = _dprime(*cells.counts(w))[2].reshape(shape)
        out[b, :, :2] = d
        out[b, :, 2] = d[:, 0] - d[:, 1]
    return out


def _interval(samples: np.ndarray, level: float) -> tuple[float, float]:
    """Percentile interval over resamples of the mean over images (axis -1, NaN skipped)."""
    alpha = (1 - level) / 2
    with warnings.catch_warnings():  # images (or cells) without trials: skipped, or NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        lo, hi = np.nanquantile(np.nanmean(samples, axis=-1), [alpha, 1 - alpha])
    return float(lo), float(hi)


def bootstrap(dp: pd.DataFrame, samples: np.ndarray, map_types: Sequence[str],
              level: float = 0.95) -> pd.DataFrame:
    """Mean d' over images per mask type and masking (and the masking effect, masking "effect")
    with its percentile interval from `bootstrap_samples`."""
    point = _wide(dp).mean()
    out = []
    for k, m in enumerate(map_types):
        for c, cond in enumerate((*CONDITIONS, "effect")):
            lo, hi = _interval(samples[:, k, c], level)
            out.append({"mask_type": m, "masking": cond, "mean": float(point[(m, cond)]),
                        "ci_low": lo, "ci_high": hi})
    return pd.DataFrame(out)


def paired_tests(dp: pd.DataFrame, map_types: Sequence[str], samples: np.ndarray | None = None,
                 min_images: int = 3, level: float = 0.95) -> list[dict]:
    """Paired t-tests across images (see `_plan`), Bonferroni over every test run; a comparison
    with fewer than `min_images` complete images is listed with null statistics. With bootstrap
    `samples`, each test also gets the percentile interval of its mean difference: per-image d'
    share each cell's false alarms, so their sampling errors are correlated and the t-test,
    which treats images as independent, can be too liberal; the interval is not."""
    wide = _wide(dp)
    slot = {(m, c): (k, j) for k, m in enumerate(map_types)
            for j, c in enumerate((*CONDITIONS, "effect"))}
    tests = []
    for name, a, b in _plan(map_types):
        pair = wide[[a, b]].dropna()
        entry = {"test": name, "n_images": len(pair), "mean_diff": None, "t": None, "dof": None,
                 "p": None, "p_bonferroni": None, "cohen_d": None, "ci": None}
        if len(pair) >= min_images and (pair[a] - pair[b]).std() > 0:
            res = pg.ttest(pair[a].to_numpy(), pair[b].to_numpy(), paired=True).iloc[0]
            p = float(res["p_val"] if "p_val" in res else res["p-val"])
            entry.update(mean_diff=float((pair[a] - pair[b]).mean()), t=float(res["T"]),
                         dof=float(res["dof"]), p=p, cohen_d=float(res["cohen_d"]))
            if samples is not None:
                cols = [wide.index.get_loc(i) for i in pair.index]
                diff = samples[:, *slot[a], :][:, cols] - samples[:, *slot[b], :][:, cols]
                entry["ci"] = list(_interval(diff, level))
        tests.append(entry)
    ran = sum(t["p"] is not None for t in tests)
    for t in tests:
        if t["p"] is not None:
            t["p_bonferroni"] = min(1.0, t["p"] * ran)
    return tests


def analyse(path: Path, trials: pd.DataFrame, map_types: Sequence[str], images: Sequence[str],
            min_accuracy: float, n_resamples: int, seed: int) -> tuple[dict, dict[str, pd.DataFrame]]:
    """(metrics, tables) for a responses file and its design; tables `dprime` (per image),
    `dprime_participant` and `bootstrap`, named as recognition_human writes them."""
    responses = read_responses(path, trials)
    kept, excluded = exclude(responses, min_accuracy)
    if kept.empty:
        raise InputError(f"{path}: every participant is below {min_accuracy:.0%} accuracy")
    dp = dprime_table(kept, map_types, images)
    samples = bootstrap_samples(kept, map_types, images, n_resamples, seed)
    boot = bootstrap(dp, samples, map_types)
    tests = paired_tests(dp, map_types, samples)
    metrics = {
        "participants": int(responses["participant"].nunique()),
        "excluded": excluded,
        "trials": int(len(kept)),
        "accuracy": round(float(kept["correct"].mean()), 6),
        "dprime": {m: {r.masking: {"mean": _r(r.mean), "ci": [_r(r.ci_low), _r(r.ci_high)]}
                       for r in boot[boot["mask_type"] == m].itertuples()} for m in map_types},
        "tests": [{k: ([_r(x) for x in v] if isinstance(v, list) else _r(v))
                   for k, v in t.items()} for t in tests],
    }
    tables = {"dprime": dp, "dprime_participant": participant_dprime_table(kept, map_types),
              "bootstrap": boot}
    return metrics, tables


def _r(value):
    """JSON-friendly rounding: floats to 6 places, NaN to null, anything else unchanged."""
    if isinstance(value, float | np.floating):
        return None if not np.isfinite(value) else round(float(value), 6)
    return value
