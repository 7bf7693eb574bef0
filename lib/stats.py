"""The study's statistics (METHOD.md, stats) as pure functions of tidy pandas tables.

Column contracts of the inputs (extra columns are ignored):

- per-image scores (`PER_IMAGE_COLUMNS`): one row per map type, human map and image, `r` being the
  Pearson r of that image's ANN map, blurred with the map type's fitted sigma for that human map,
  with the image's human map. Optional `arch, method, training, family`; `annotate` derives them
  from the map type name where absent.
- recognition_ann (`RECOGNITION_COLUMNS`): one row per model, mask type, image and mask image,
  `inverse_rank` the model's inverse rank of the image's unmasked top-1 class under that mask;
  `mask_source` says whose map made the mask (`human` for the six measures and the Human PC).
  Correct masking is `image == mask_image`; a `condition` column, when present, must agree.
- human recognition d' (`DPRIME_COLUMNS`): one row per unit (participant by default), mask type
  and masking (`correct`/`incorrect`), `dprime` that unit's d' in that cell.

Every test table has the same columns (`TEST_COLUMNS`): what was compared (`a` against `b`, with
their means), the paired t statistic, its degrees of freedom, the uncorrected p, the Bonferroni p
over the `m` comparisons of its family of tests, Cohen's d (pingouin's paired d, signed as
mean a - mean b) and `significant` (Bonferroni p below alpha).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import pandas as pd
import pingouin as pg
import statsmodels.formula.api as smf
from statsmodels.stats.anova import anova_lm
from statsmodels.stats.multitest import multipletests

from lib.errors import InputError
from lib.map_types import (
    ANN_FAMILIES,
    FACTORS,
    annotate,
    check_columns,
)

PER_IMAGE_COLUMNS = ("map_type", "human_map", "image", "r")
RECOGNITION_COLUMNS = ("model", "mask_source", "mask_type", "image", "mask_image", "inverse_rank")
DPRIME_COLUMNS = ("mask_type", "masking", "dprime")
TEST_COLUMNS = ["test", "human_map", "a", "b", "n", "mean_a", "mean_b", "statistic", "dof", "p",
                "p_bonferroni", "m", "cohen_d", "significant"]
ANOVA_COLUMNS = ["analysis", "effect", "F", "df1", "df2", "p", "p_gg", "eta_p", "eta_g"]
VARIANCE_COLUMNS = ["factor", "levels", "n", "eta_sq", "F", "df1", "df2", "p", "joint_share", "status"]


# ---------------------------------------------------------------------------------------------
# Input checks


def check_per_image(table: pd.DataFrame, where: str = "per-image scores") -> pd.DataFrame:
    """The per-image table annotated, after checking its columns, values and duplicates."""
    check_columns(table, PER_IMAGE_COLUMNS, where)
    r = pd.to_numeric(table["r"], errors="coerce")
    bad = table.index[~np.isfinite(r) | (r.abs() > 1 + 1e-9)]
    if len(bad):
        raise InputError(f"{where}: r must be a finite correlation in [-1, 1]; rows {list(bad[:5])}")
    dup = table.duplicated(["map_type", "human_map", "image"])
    if dup.any():
        row = table[dup].iloc[0]
        raise InputError(f"{where}: duplicate row for map type {row['map_type']!r}, human map "
                         f"{row['human_map']!r}, image {row['image']!r}")
    return annotate(table.assign(r=r.astype(float)))


def _wide(table: pd.DataFrame, columns: str, values: str, where: str) -> pd.DataFrame:
    """image x `columns` matrix; InputError when some cell is missing (pairing needs all)."""
    wide = table.pivot(index="image", columns=columns, values=values)
    if wide.isna().any().any():
        holes = wide.isna().stack()
        image, column = holes[holes].index[0]
        raise InputError(f"{where}: no value for {columns} {column!r} on image {image!r}; paired "
                         "tests need every image for every map type")
    return wide.sort_index()


# ---------------------------------------------------------------------------------------------
# Tests


def bonferroni(p: Sequence[float]) -> np.ndarray:
    """Bonferroni-corrected p values: min(1, p * m) for m tests (statsmodels)."""
    p = np.asarray(p, dtype=float)
    if p.size == 0:
        return p
    return multipletests(p, method="bonferroni")[1]


def paired_ttest(a: Sequence[float], b: Sequence[float]) -> dict[str, float]:
    """Paired t-test of a against b (pingouin): n, means, t, dof, two-sided p, Cohen's d signed as
    mean(a) - mean(b). Identical samples give t = 0 and p = 1 rather than NaN."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if a.shape != b.shape or a.ndim != 1 or a.size < 2:
        raise InputError(f"paired t-test: need two equal-length samples of at least 2, got {a.shape}, {b.shape}")
    diff = a - b
    out = {"n": int(a.size), "mean_a": float(a.mean()), "mean_b": float(b.mean())}
    if np.allclose(diff, diff[0], rtol=0, atol=1e-15):
        # pingouin divides by a zero standard deviation here; a constant difference has no
        # sampling spread, so report the degenerate case plainly.
        equal = abs(diff[0]) <= 1e-15
        return out | {"statistic": 0.0 if equal else np.sign(diff[0]) * np.inf, "dof": float(a.size - 1),
                      "p": 1.0 if equal else 0.0, "cohen_d": 0.0 if equal else np.sign(diff[0]) * np.inf}
    result = _normalise(pg.ttest(a, b, paired=True)).iloc[0]
    d = float(pg.compute_effsize(a, b, paired=True, eftype="cohen"))
    return out | {"statistic": float(result["T"]), "dof": float(result["dof"]),
                  "p": float(result["p_val"]), "cohen_d": d}


def _normalise(frame: pd.DataFrame) -> pd.DataFrame:
    """pingouin renamed columns between versions (`p-val` -> `p_val`); use the underscore form."""
    return frame.rename(columns=lambda c: str(c).replace("-", "_"))


def _test_table(rows: list[dict], alpha: float) -> pd.DataFrame:
    """Rows of paired tests -> the tidy test table, Bonferroni over all rows given."""
    if not rows:
        return pd.DataFrame(columns=TEST_COLUMNS)
    table = pd.DataFrame(rows)
    table["p_bonferroni"] = bonferroni(table["p"])
    table["m"] = len(table)
    table["significant"] = table["p_bonferroni"] < alpha
    return table[TEST_COLUMNS]


def best_vs_others(per_image: pd.DataFrame, alpha: float = 0.05, compare_controls: bool = True) -> pd.DataFrame:
    """Per human map: the best trained map type (highest mean r over images; ties by name)
    against every other trained map type, paired over images, Bonferroni within that family
    (`test` = "best vs model"); then, as a separate Bonferroni family ("best vs control"), against
    each control (random-weight and reference map types) unless `compare_controls` is False.

    Only trained map types compete (lib.map_types.role): a control is never the best. A human map
    with no trained map type gives no rows.
    """
    table = check_per_image(per_image)
    frames = []
    for human_map, group in table.groupby("human_map", sort=False):
        wide = _wide(group, "map_type", "r", f"per-image scores ({human_map})")
        roles = group.drop_duplicates("map_type").set_index("map_type")["role"]
        models = [m for m in wide.columns if roles[m] == "model"]
        if not models:
            continue
        means = wide.mean()
        best = sorted(models, key=lambda m: (-means[m], m))[0]
        controls = [m for m in wide.columns if roles[m] != "model"] if compare_controls else []
        for test, others in (("best vs model", [m for m in models if m != best]), ("best vs control", controls)):
            others = sorted(others, key=lambda m: (-means[m], m))
            rows = [{"test": test, "human_map": human_map, "a": best, "b": other}
                    | paired_ttest(wide[best].to_numpy(), wide[other].to_numpy()) for other in others]
            frames.append(_test_table(rows, alpha))
    return _concat(frames, TEST_COLUMNS)


def trained_only(per_image: pd.DataFrame) -> pd.DataFrame:
    """The rows of trained map types (role `model`): what family tests and variance shares use."""
    table = check_per_image(per_image)
    return table[table["role"] == "model"].reset_index(drop=True)


def family_means(per_image: pd.DataFrame) -> pd.DataFrame:
    """Per human map and image, the mean r over the trained map types of each ANN method family
    present (columns human_map, image, family, r, n_map_types). Controls are not averaged in."""
    table = trained_only(per_image)
    out = (table.groupby(["human_map", "image", "family"], sort=False)["r"]
           .agg(r="mean", n_map_types="count").reset_index())
    # Human maps in the order they come in, families in ANN_FAMILIES order, images sorted.
    maps = {h: i for i, h in enumerate(table["human_map"].unique())}
    families = {f: i for i, f in enumerate(ANN_FAMILIES)}
    key = {"human_map": maps, "family": families}
    return out.sort_values(["human_map", "family", "image"], key=lambda s: s.map(key[s.name]) if s.name in key else s,
                           kind="stable").reset_index(drop=True)


def family_tests(per_image: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Per human map, paired t-tests between the per-image means (over trained map types) of every
    two ANN method families present (GBP, CAM, active, in that order), Bonferroni over the pairs of
    that human map."""
    means = family_means(per_image)
    frames = []
    for human_map, group in means.groupby("human_map", sort=False):
        wide = _wide(group, "family", "r", f"family means ({human_map})")
        present = [f for f in ANN_FAMILIES if f in wide.columns]
        rows = [{"test": "family", "human_map": human_map, "a": a, "b": b}
                | paired_ttest(wide[a].to_numpy(), wide[b].to_numpy())
                for a, b in itertools.combinations(present, 2)]
        frames.append(_test_table(rows, alpha))
    return _concat(frames, TEST_COLUMNS)


def _concat(frames: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


# ---------------------------------------------------------------------------------------------
# Variance explained by method, architecture and training set


def map_type_scores(per_image: pd.DataFrame, human_maps: Sequence[str]) -> pd.DataFrame:
    """One row per map type: `score`, its mean r (over images, then over `human_maps`, the six
    measures in the study), with arch, method, training and family. A map type lacking one of
    `human_maps` is an InputError."""
    table = check_per_image(per_image)
    table = table[table["human_map"].isin(list(human_maps))]
    per_map = table.groupby(["map_type", "human_map"], sort=False)["r"].mean().unstack("human_map")
    absent = [h for h in human_maps if h not in per_map.columns]
    if absent or per_map.isna().any().any():
        raise InputError(f"per-image scores: the mean over {list(human_maps)} needs every map type "
                         f"scored on each (absent: {absent or 'some map type'})")
    scores = per_map[list(human_maps)].mean(axis=1).rename("score").reset_index()
    return annotate(scores).sort_values("map_type").reset_index(drop=True)


def variance_shares(scores: pd.DataFrame, factors: Sequence[str] = FACTORS) -> pd.DataFrame:
    """Share of the variance in `score` across trained map types explained by each factor.

    `eta_sq`: from a one-way OLS ANOVA of score on that factor alone (SS_factor / SS_total), with
    its F test. `joint_share`: what the factor explains beyond the others, the drop in residual
    sum of squares when it leaves the OLS model with all estimable factors, over SS_total (its
    type-II share; see `_joint_shares` for confounded designs). A factor with a single level is
    reported `not estimable`, a one-way model with no residual degrees of freedom (every map type
    its own level) `saturated` (eta_sq 1, no F test). Controls (random-weight and reference map
    types) are excluded, so `training` is estimable only when trained networks differ in it.
    """
    check_columns(scores, ("map_type", "score"), "variance shares")
    data = annotate(scores)
    data = data[data["role"] == "model"].reset_index(drop=True)
    y = data["score"].to_numpy(dtype=float)
    ss_total = float(((y - y.mean()) ** 2).sum()) if len(y) else 0.0
    rows = []
    usable = []
    for factor in factors:
        check_columns(data, (factor,), "variance shares")
        levels = int(data[factor].nunique())
        row = {"factor": factor, "levels": levels, "n": len(data), "eta_sq": np.nan, "F": np.nan,
               "df1": np.nan, "df2": np.nan, "p": np.nan, "joint_share": np.nan}
        if levels < 2 or ss_total == 0:
            rows.append(row | {"status": "not estimable: " + (
                f"a single {factor} level" if levels < 2 else "scores do not vary")})
            continue
        usable.append(factor)
        fit = smf.ols(f"score ~ C({factor})", data=data).fit()
        if fit.df_resid <= 0:
            rows.append(row | {"eta_sq": 1.0, "df1": levels - 1, "df2": 0,
                               "status": "saturated: one map type per level"})
            continue
        aov = anova_lm(fit, typ=2)
        term = f"C({factor})"
        rows.append(row | {"eta_sq": float(aov.loc[term, "sum_sq"] / ss_total), "F": float(aov.loc[term, "F"]),
                           "df1": float(aov.loc[term, "df"]), "df2": float(aov.loc["Residual", "df"]),
                           "p": float(aov.loc[term, "PR(>F)"]), "status": "ok"})
    table = pd.DataFrame(rows)
    joint = _joint_shares(data, usable, ss_total)
    for factor, (share, note) in joint.items():
        index = table.index[table["factor"] == factor][0]
        table.loc[index, "joint_share"] = share
        if note and table.loc[index, "status"] == "ok":
            table.loc[index, "status"] = f"ok; joint share: {note}"
    return table[VARIANCE_COLUMNS]


def _joint_shares(data: pd.DataFrame, factors: list[str], ss_total: float) -> dict[str, tuple[float, str]]:
    """{factor: (unique share, note)}: the drop in residual sum of squares when the factor is
    removed from the OLS model with all `factors` (its type-II sum of squares where the design is
    of full rank), over SS_total. Levels that coincide with another factor's (active attention
    exists only in its own architectures) count towards neither: the rank of the design, not its
    column count, decides, so a fully confounded factor gets a unique share of 0 and a note."""
    if len(factors) < 2:
        return {}
    rank_full, rss_full = _ols_rank_rss(data, factors)
    notes = []
    if rank_full >= len(data):
        notes.append("joint model saturated")
    out = {}
    for factor in factors:
        others = [f for f in factors if f != factor]
        rank_without, rss_without = _ols_rank_rss(data, others)
        note = list(notes)
        if rank_without == rank_full:
            note.append("fully confounded with the other factors")
        elif rank_full - rank_without < data[factor].nunique() - 1:
            note.append("partly confounded with the other factors")
        out[factor] = (max(rss_without - rss_full, 0.0) / ss_total, "; ".join(note))
    return out


def _ols_rank_rss(data: pd.DataFrame, factors: list[str]) -> tuple[int, float]:
    """(rank of the design, residual sum of squares) of the OLS fit of score on dummy-coded
    `factors` (least squares via the pseudo-inverse, so a rank-deficient design is fine)."""
    design = pd.get_dummies(data[factors].astype(str), drop_first=True, dtype=float)
    x = np.column_stack([np.ones(len(data)), design.to_numpy()])
    y = data["score"].to_numpy(dtype=float)
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    residual = y - x @ beta
    return int(np.linalg.matrix_rank(x)), float(residual @ residual)


# ---------------------------------------------------------------------------------------------
# Recognition


def masking_of(table: pd.DataFrame) -> pd.Series:
    """`correct` where an image was masked with its own map, else `incorrect`; checked against a
    `condition` column when the table has one."""
    masking = pd.Series(np.where(table["image"] == table["mask_image"], "correct", "incorrect"), index=table.index)
    if "condition" in table.columns and not (table["condition"].astype(str) == masking).all():
        row = table.index[table["condition"].astype(str) != masking][0]
        raise InputError(f"recognition table: row {row}: condition {table.loc[row, 'condition']!r} "
                         "disagrees with image/mask_image")
    return masking


def recognition_cells(table: pd.DataFrame, mask_source: str | None = "human", model: str | None = None) -> pd.DataFrame:
    """Per image, mask type and masking: the mean inverse rank over models (or `model` only) and,
    for incorrect masking, over the other images' masks. Columns image, mask_type, masking,
    inverse_rank. `mask_source` None keeps every source."""
    check_columns(table, RECOGNITION_COLUMNS, "recognition table")
    data = table
    if mask_source is not None:
        data = data[data["mask_source"] == mask_source]
    if model is not None:
        data = data[data["model"] == model]
    if data.empty:
        raise InputError(f"recognition table: no rows for mask_source={mask_source!r}, model={model!r}")
    data = data.assign(masking=masking_of(data), inverse_rank=pd.to_numeric(data["inverse_rank"], errors="coerce"))
    if not np.isfinite(data["inverse_rank"]).all():
        raise InputError("recognition table: inverse_rank must be finite numbers")
    return (data.groupby(["image", "mask_type", "masking"], sort=True)["inverse_rank"].mean().reset_index())


def recognition_anova(cells: pd.DataFrame, analysis: str = "all models") -> pd.DataFrame:
    """Repeated-measures ANOVA (pingouin.rm_anova) of inverse rank with masking (correct,
    incorrect) and mask type as within factors and images as units, from `recognition_cells`.

    Rows: `masking`, `mask_type`, `masking x mask_type` (F, df1, df2, p, Greenhouse-Geisser p
    where pingouin gives it, partial and generalised eta squared). With one mask type only
    masking is tested. Images lacking a cell are an InputError (the design is complete).
    """
    check_columns(cells, ("image", "mask_type", "masking", "inverse_rank"), "recognition cells")
    n_types = cells["mask_type"].nunique()
    counts = cells.groupby("image").size()
    expected = n_types * cells["masking"].nunique()
    if (counts != expected).any() or cells["masking"].nunique() != 2:
        image = counts.index[counts != expected][0] if (counts != expected).any() else "all images"
        raise InputError(f"recognition cells: image {image!r} lacks a masking x mask type cell "
                         f"(needs correct and incorrect for each of {n_types} mask types)")
    within = ["masking", "mask_type"] if n_types > 1 else "masking"
    aov = _normalise(pg.rm_anova(data=cells, dv="inverse_rank", within=within, subject="image", detailed=True))
    aov = aov[aov["Source"] != "Error"]
    names = {"masking": "masking", "mask_type": "mask type", "masking * mask_type": "masking x mask type"}
    rows = []
    for _, row in aov.iterrows():
        df1 = float(row.get("ddof1", row.get("DF", np.nan)))
        df2 = float(row["ddof2"]) if "ddof2" in row else float(cells["image"].nunique() - 1) * df1
        f = float(row["F"])
        rows.append({
            "analysis": analysis,
            "effect": names.get(row["Source"], row["Source"]),
            "F": f, "df1": df1, "df2": df2, "p": float(row["p_unc"]),
            "p_gg": float(row["p_GG_corr"]) if "p_GG_corr" in row and pd.notna(row["p_GG_corr"]) else np.nan,
            "eta_p": f * df1 / (f * df1 + df2) if np.isfinite(f) else np.nan,
            "eta_g": float(row["ng2"]) if "ng2" in row else np.nan,
        })
    return pd.DataFrame(rows, columns=ANOVA_COLUMNS)


def dprime_tests(table: pd.DataFrame, unit: str = "participant", alpha: float = 0.05) -> pd.DataFrame:
    """Human recognition d': within each mask type, correct against incorrect masking; and, on
    correct masking, every two mask types against each other. Paired over `unit` (participants,
    or images), only units with both cells; Bonferroni over all these tests together."""
    check_columns(table, (unit, *DPRIME_COLUMNS), "d' table")
    data = table.assign(dprime=pd.to_numeric(table["dprime"], errors="coerce"))
    data = data[np.isfinite(data["dprime"])]
    cells = data.groupby([unit, "mask_type", "masking"], sort=True)["dprime"].mean()
    rows = []

    def pair(a_key, b_key, a_name, b_name, test):
        a = cells.xs(a_key, level=("mask_type", "masking"))
        b = cells.xs(b_key, level=("mask_type", "masking"))
        both = a.index.intersection(b.index)
        if len(both) >= 2:
            rows.append({"test": test, "human_map": "", "a": a_name, "b": b_name}
                        | paired_ttest(a[both].to_numpy(), b[both].to_numpy()))

    keys = set(cells.index.droplevel(0))
    types = sorted({t for t, _ in keys})
    for t in types:
        if {(t, "correct"), (t, "incorrect")} <= keys:
            pair((t, "correct"), (t, "incorrect"), f"{t} correct", f"{t} incorrect", "d' masking")
    correct = [t for t in types if (t, "correct") in keys]
    for a, b in itertools.combinations(correct, 2):
        pair((a, "correct"), (b, "correct"), f"{a} correct", f"{b} correct", "d' mask type")
    return _test_table(rows, alpha)


# ---------------------------------------------------------------------------------------------
# The compact summary in metrics/stats.json


def _round(value, digits: int = 6):
    if isinstance(value, (float, np.floating)):
        return None if not np.isfinite(value) else round(float(value), digits)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.bool_,)):
        return bool(value)
    return value


def summarise_best(tests: pd.DataFrame) -> dict[str, dict]:
    """{human_map: {best, r, n_models_compared, n_models_beaten, n_controls_compared,
    n_controls_beaten, controls_not_beaten, controls_scoring_higher}} from `best_vs_others`;
    `controls_scoring_higher` names the controls whose mean r exceeds the best trained type's."""
    out = {}
    for human_map, group in tests.groupby("human_map", sort=False):
        models = group[group["test"] == "best vs model"]
        controls = group[group["test"] == "best vs control"]
        entry = {
            "best": str(group["a"].iloc[0]),
            "r": _round(group["mean_a"].iloc[0]),
            "n_models_compared": len(models),
            "n_models_beaten": int(models["significant"].sum()),
            "n_controls_compared": len(controls),
            "n_controls_beaten": int(controls["significant"].sum()),
            "controls_not_beaten": [str(b) for b in controls.loc[~controls["significant"].astype(bool), "b"]],
            "controls_scoring_higher": [str(b) for b in controls.loc[controls["mean_b"] > controls["mean_a"], "b"]],
        }
        out[str(human_map)] = entry
    return out


def summarise_tests(tests: pd.DataFrame) -> dict[str, dict]:
    """{human_map or test: {"a vs b": {t, dof, p, p_bonferroni, d}}} for a small test table."""
    out: dict[str, dict] = {}
    for _, row in tests.iterrows():
        key = str(row["human_map"]) or str(row["test"])
        out.setdefault(key, {})[f"{row['a']} vs {row['b']}"] = {
            "mean_a": _round(row["mean_a"]), "mean_b": _round(row["mean_b"]),
            "t": _round(row["statistic"]), "dof": _round(row["dof"]), "p": _round(row["p"]),
            "p_bonferroni": _round(row["p_bonferroni"]), "d": _round(row["cohen_d"]),
        }
    return out


def summarise_variance(shares: pd.DataFrame) -> dict[str, dict]:
    return {str(row["factor"]): {"levels": int(row["levels"]), "eta_sq": _round(row["eta_sq"]),
                                 "p": _round(row["p"]), "joint_share": _round(row["joint_share"]),
                                 "status": str(row["status"])}
            for _, row in shares.iterrows()}


def summarise_anova(anova: pd.DataFrame) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for _, row in anova.iterrows():
        out.setdefault(str(row["analysis"]), {})[str(row["effect"])] = {
            "F": _round(row["F"]), "df1": _round(row["df1"]), "df2": _round(row["df2"]),
            "p": _round(row["p"]), "eta_p": _round(row["eta_p"]),
        }
    return out
