"""Figures for the report: plain functions of stage outputs that return matplotlib figures.

The report only calls these; nothing here computes a result that a stage does not already store.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from PIL import Image

from lib.map_types import annotate
from lib.measures import MEASURE_LABELS
from lib.paths import image_file


def human_maps_grid(targets, image_ids: list[str]):
    """One row per image: the image, then each human map (DataArray human_map, image, y, x)."""
    names = [str(h) for h in targets["human_map"].values]
    fig, axes = plt.subplots(
        len(image_ids), len(names) + 1, figsize=(1.6 * (len(names) + 1), 1.6 * len(image_ids)),
        squeeze=False,
    )
    for row, image_id in zip(axes, image_ids, strict=True):
        row[0].imshow(Image.open(image_file(image_id)))
        row[0].set_ylabel(image_id, fontsize=8)
        for ax, name in zip(row[1:], names, strict=True):
            ax.imshow(targets.sel(image=image_id, human_map=name).values, cmap="inferno")
    for ax, title in zip(axes[0], ["image", *[MEASURE_LABELS.get(n, n).split(" (")[0] for n in names]], strict=True):
        ax.set_title(title, fontsize=8)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig


def correlation_matrix(matrix: dict[str, dict[str, float]], title: str = ""):
    """Heatmap of a {row: {col: r}} matrix with the values written in."""
    labels = list(matrix)
    values = np.array([[matrix[a][b] for b in labels] for a in labels])
    fig, ax = plt.subplots(figsize=(4.6, 4))
    image = ax.imshow(values, vmin=-1, vmax=1, cmap="RdBu_r")
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    for i in range(len(labels)):
        for j in range(len(labels)):
            ax.text(j, i, f"{values[i, j]:.2f}", ha="center", va="center", fontsize=8,
                    color="white" if abs(values[i, j]) > 0.6 else "black")
    fig.colorbar(image, ax=ax, shrink=0.8, label="mean per-image r")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def explained_variance_bars(explained: list[float], loadings: dict[str, float]):
    """PCA scree plot beside the first component's loadings."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(8, 3))
    left.bar(range(1, len(explained) + 1), np.array(explained) * 100, color="0.4")
    left.set_xlabel("component")
    left.set_ylabel("variance explained (%)")
    right.barh(list(loadings)[::-1], list(loadings.values())[::-1], color="tab:orange")
    right.set_xlabel("loading on the first component")
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------------------
# Comparison of ANN map types with the human maps. Inputs are the tidy tables of lib.outputs.

FAMILY_COLOURS = {"GBP": "tab:blue", "CAM": "tab:orange", "active": "tab:green", "baseline": "0.6"}
FAMILY_LABELS = {"GBP": "GBP family", "CAM": "CAM family", "active": "active attention", "baseline": "baseline"}


def _family_colour(family: str) -> str:
    return FAMILY_COLOURS.get(family, "tab:purple")


def _family_legend(fig, families) -> None:
    from matplotlib.patches import Patch

    present = [f for f in FAMILY_COLOURS if f in set(families)]
    handles = [Patch(color=_family_colour(f), label=FAMILY_LABELS[f]) for f in present]
    fig.legend(handles=handles, loc="upper center", ncol=len(handles), frameon=False,
               bbox_to_anchor=(0.5, 1.0), fontsize=9)


def _panel_grid(n: int, ncols: int, width: float, height: float, **kwargs):
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=False, **kwargs)
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    return fig, axes.ravel()[:n]


def _label(human_map: str) -> str:
    return "Human PC" if human_map == "pc" else MEASURE_LABELS.get(human_map, human_map).split(" (")[0]


def _ranked_bars(ax, rows, value: str = "r", xerr=None) -> np.ndarray:
    """Horizontal bars of `rows` (map_type, family, role, `value`): trained map types ranked at
    the top, coloured by family; below a rule, the controls in grey, hatched (random weights) or
    plain (references), labelled as controls, so no reader takes them for contenders. Returns the
    y position of each row of `rows` (for overlays)."""
    rows = annotate(rows)
    models = rows[rows["role"] == "model"].sort_values(value, ascending=False)
    control = rows[rows["role"] != "model"].sort_values(["role", value], ascending=[True, False])
    order = list(models.index) + list(control.index)
    gap = 1 if len(models) and len(control) else 0
    positions = {idx: -(k + (gap if k >= len(models) else 0)) for k, idx in enumerate(order)}
    y = np.array([positions[i] for i in rows.index], dtype=float)
    err = None if xerr is None else np.asarray(xerr, dtype=float)
    for part, face in ((models, None), (control, "0.75")):
        if part.empty:
            continue
        ys = [positions[i] for i in part.index]
        colours = [_family_colour(f) for f in part["family"]] if face is None else face
        hatch = None if face is None else ["//" if r == "random" else "" for r in part["role"]]
        bars = ax.barh(ys, part[value], color=colours, edgecolor="0.35" if face else None, linewidth=0.4,
                       xerr=None if err is None else err[[rows.index.get_loc(i) for i in part.index]],
                       error_kw={"elinewidth": 0.8, "ecolor": "0.2"})
        if hatch is not None:
            for bar, h in zip(bars, hatch, strict=True):
                bar.set_hatch(h)
    if gap:
        rule = -(len(models) + 0.5)
        ax.axhline(rule, color="0.2", lw=0.8)
        ax.text(1.0, rule - 0.1, "controls", transform=ax.get_yaxis_transform(), ha="right", va="top",
                fontsize=6, color="0.3", style="italic")
    ax.set_yticks([positions[i] for i in order], rows.loc[order, "map_type"], fontsize=6)
    for tick, idx in zip(ax.get_yticklabels(), order, strict=True):
        if rows.loc[idx, "role"] != "model":
            tick.set_color("0.4")
    ax.axvline(0, color="0.3", lw=0.6)
    return y


def _role_legend(fig, families, roles) -> None:
    """Family colours of the trained map types plus the two control styles present."""
    from matplotlib.patches import Patch

    present = [f for f in FAMILY_COLOURS if f in set(families) and f != "baseline"]
    handles = [Patch(color=_family_colour(f), label=FAMILY_LABELS[f]) for f in present]
    if "random" in set(roles):
        handles.append(Patch(facecolor="0.75", edgecolor="0.35", hatch="//", label="random-weight control"))
    if "reference" in set(roles):
        handles.append(Patch(facecolor="0.75", edgecolor="0.35", label="non-ANN reference"))
    fig.legend(handles=handles, loc="upper center", ncol=len(handles), frameon=False,
               bbox_to_anchor=(0.5, 1.0), fontsize=8)


def peak_r_bars(fit, human_maps: list[str], errors=None, ncols: int = 4):
    """One panel per human map: the trained map types' peak r (fit_smoothing table: map_type,
    human_map, r, family), ranked and coloured by family, then the controls apart (grey); error
    bars from `errors` (map_type, human_map, sd) where given."""
    fit = annotate(fit)
    n_types = fit["map_type"].nunique()
    fig, axes = _panel_grid(len(human_maps), ncols, 3.6, 0.17 * n_types + 1.4)
    sd = errors.set_index(["map_type", "human_map"])["sd"] if errors is not None else None
    for ax, human_map in zip(axes, human_maps, strict=True):
        rows = fit[fit["human_map"] == human_map]
        xerr = None if sd is None else [sd.get((m, human_map), np.nan) for m in rows["map_type"]]
        _ranked_bars(ax, rows, "r", xerr)
        ax.set_title(_label(human_map), fontsize=9)
        ax.set_xlabel("peak mean r", fontsize=8)
        ax.tick_params(axis="x", labelsize=7)
    _role_legend(fig, fit["family"], fit["role"])
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    return fig


def pc_vs_measures(fit, measures: list[str], pc: str = "pc"):
    """The study's scatter: each map type's peak r with the Human PC (x) against its peak r with
    each single measure (y), one panel per measure, identity line dashed."""
    wide = fit.pivot(index="map_type", columns="human_map", values="r")
    family = fit.drop_duplicates("map_type").set_index("map_type")["family"]
    fig, axes = _panel_grid(len(measures), 3, 3.0, 2.9, sharex=True, sharey=True)
    lo = float(np.nanmin(wide.values)) - 0.05
    hi = float(np.nanmax(wide.values)) + 0.05
    for ax, measure in zip(axes, measures, strict=True):
        if measure not in wide or pc not in wide:
            ax.set_title(f"{_label(measure)}: not available", fontsize=9)
            continue
        ax.plot([lo, hi], [lo, hi], ls="--", color="0.6", lw=0.8)
        ax.scatter(wide[pc], wide[measure], s=18, c=[_family_colour(family[m]) for m in wide.index])
        ax.set_title(_label(measure), fontsize=9)
        ax.set_xlim(lo, hi)
        ax.set_ylim(lo, hi)
    for ax in axes[-3:]:
        ax.set_xlabel("r with the Human PC", fontsize=8)
    for ax in axes[::3]:
        ax.set_ylabel("r with the measure", fontsize=8)
    _family_legend(fig, fit["family"])
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    return fig


def smoothing_curves(curves, fit, human_maps: list[str], ncols: int = 4):
    """Mean r against blur sigma, one line per map type coloured by family, one panel per human
    map, the fitted sigma (the peak) marked with a dot."""
    fig, axes = _panel_grid(len(human_maps), ncols, 3.2, 2.5, sharex=True)
    peaks = fit.set_index(["map_type", "human_map"]) if fit is not None else None
    for ax, human_map in zip(axes, human_maps, strict=True):
        rows = curves[curves["human_map"] == human_map]
        for map_type, line in rows.groupby("map_type", sort=True):
            line = line.sort_values("sigma")
            colour = _family_colour(line["family"].iloc[0])
            ax.plot(line["sigma"], line["r"], color=colour, lw=0.9, alpha=0.7)
            if peaks is not None and (map_type, human_map) in peaks.index:
                peak = peaks.loc[(map_type, human_map)]
                ax.plot(peak["sigma"], peak["r"], "o", ms=3, color=colour)
        ax.set_title(_label(human_map), fontsize=9)
        ax.set_xlabel("sigma (pixels of the 100x100 grid)", fontsize=8)
        ax.set_ylabel("mean r", fontsize=8)
        ax.tick_params(labelsize=7)
    _family_legend(fig, curves["family"])
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    return fig


def map_panels(image_ids: list[str], columns: list[tuple[str, np.ndarray]]):
    """One row per image: the image, then each (title, maps (image, y, x)) column in order."""
    fig, axes = plt.subplots(len(image_ids), len(columns) + 1,
                             figsize=(1.7 * (len(columns) + 1), 1.75 * len(image_ids)), squeeze=False)
    for i, (row, image_id) in enumerate(zip(axes, image_ids, strict=True)):
        row[0].imshow(Image.open(image_file(image_id)))
        row[0].set_ylabel(image_id, fontsize=8)
        for ax, (_, maps) in zip(row[1:], columns, strict=True):
            ax.imshow(maps[i], cmap="inferno")
    for ax, title in zip(axes[0], ["image", *[t for t, _ in columns]], strict=True):
        ax.set_title(title, fontsize=7)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig


def crossval_scatter(cv, human_maps: list[str], ncols: int = 4):
    """Cross-validation: each map type's training peak r (x) against its test r at the sigma fitted
    on the training images (y), one panel per human map, identity line dashed; controls as
    hollow grey circles."""
    fig, axes = _panel_grid(len(human_maps), ncols, 2.8, 2.7, sharex=True, sharey=True)
    lo = float(min(cv["train"].min(), cv["test"].min())) - 0.03
    hi = float(max(cv["train"].max(), cv["test"].max())) + 0.03
    for ax, human_map in zip(axes, human_maps, strict=True):
        rows = cv[cv["human_map"] == human_map]
        ax.plot([lo, hi], [lo, hi], ls="--", color="0.6", lw=0.8)
        roles = annotate(rows)["role"]
        trained = rows[roles == "model"]
        control = rows[roles != "model"]
        ax.scatter(trained["train"], trained["test"], s=16, c=[_family_colour(f) for f in trained["family"]])
        ax.scatter(control["train"], control["test"], s=16, facecolors="none", edgecolors="0.5", lw=0.8)
        ax.set_title(_label(human_map), fontsize=9)
        ax.set_xlabel("train r", fontsize=8)
        ax.set_ylabel("test r", fontsize=8)
        ax.tick_params(labelsize=7)
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    _family_legend(fig, cv["family"])
    fig.tight_layout(rect=(0, 0, 1, 0.94))
    return fig


def controls_figure(controls, human_map: str, centre_bias: float | None = None, ceiling: float | None = None):
    """For one human map: each map type's r with its own images (bars; trained types ranked, the
    controls apart in grey) and with shuffled images (black ticks), the centre-bias baseline
    (dashed) and the noise ceiling (dotted)."""
    rows = annotate(controls[controls["human_map"] == human_map])
    fig, ax = plt.subplots(figsize=(6.5, 0.2 * len(rows) + 1.6))
    y = _ranked_bars(ax, rows, "r")
    ax.plot(rows["r_shuffled"], y, "|", color="k", ms=9, mew=1.5, label="shuffled images")
    if centre_bias is not None:
        ax.axvline(centre_bias, ls="--", color="0.3", lw=1, label="centre bias")
    if ceiling is not None:
        ax.axvline(ceiling, ls=":", color="tab:red", lw=1.4, label="noise ceiling")
    ax.tick_params(axis="y", labelsize=7)
    ax.set_xlabel(f"mean r with the {_label(human_map)}", fontsize=8)
    ax.legend(fontsize=7, loc="lower right", title="bars: r with own images", title_fontsize=7)
    _role_legend(fig, rows["family"], rows["role"])
    fig.tight_layout(rect=(0, 0, 1, 0.94))
    return fig


def masking_bars(means):
    """Mean inverse rank with correct and incorrect masking, per mask type (table mask_type,
    masking, inverse_rank; optional sd for error bars)."""
    wide = means.pivot(index="mask_type", columns="masking", values="inverse_rank")
    wide = wide.loc[list(dict.fromkeys(means["mask_type"]))]
    x = np.arange(len(wide))
    fig, ax = plt.subplots(figsize=(max(4.0, 0.75 * len(wide) + 1.5), 3.2))
    for offset, masking, colour in ((-0.2, "correct", "tab:green"), (0.2, "incorrect", "0.6")):
        ax.bar(x + offset, wide[masking], width=0.4, color=colour, label=masking)
    ax.set_xticks(x, [_label(m) if m in MEASURE_LABELS or m == "pc" else m for m in wide.index],
                  rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("mean inverse rank")
    low = float(np.nanmin(wide.values))
    ax.set_ylim(max(0.0, low - 0.1), 1.0)
    ax.legend(title="masking", fontsize=8)
    fig.tight_layout()
    return fig


def _panel_title(text: str, width: int = 24) -> str:
    """A title that fits a 2-inch panel: one line per `__`-separated part of a stimulus id
    (`img10__alexnet-SGBP-I__img18__rot90`), long parts wrapped."""
    import textwrap

    parts = [p for p in text.split("__") if p]
    return "\n".join(line for part in parts for line in textwrap.wrap(part, width, break_on_hyphens=True))


def image_grid(files: list, titles: list[str] | None = None, ncols: int = 5):
    """The given image files in a grid (e.g. example stimuli), titled (stimulus ids one part a
    line, so neighbouring titles never run into each other)."""
    labels = [_panel_title(t) for t in (titles or [Path(f).stem for f in files])]
    lines = max((label.count("\n") + 1 for label in labels), default=1)
    fig, axes = _panel_grid(len(files), ncols, 2.0, 2.0 + 0.14 * lines)
    for ax, file, label in zip(axes, files, labels, strict=True):
        ax.imshow(Image.open(file), cmap="gray")
        ax.set_title(label, fontsize=7)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------------------
# Sanity checks: cascading randomisation and the image-agnostic profile


METHOD_COLOURS = {"GBP": "tab:blue", "GBPxIM": "tab:cyan", "SGBP": "tab:purple", "GradCAM": "tab:orange",
                  "ScoreCAM": "tab:red", "CAMERAS": "tab:brown"}


def cascade_curves(ds, measure: str = "spearman"):
    """Adebayo et al.'s figure 2 for this zoo: mean similarity (`measure`) of each step's maps to
    the trained maps against the randomisation step, one line per method, a panel per network."""
    networks = [str(n) for n in ds["network"].values]
    fig, axes = _panel_grid(len(networks), 3, 3.4, 2.8, sharey=True)
    for ax, network in zip(axes, networks, strict=True):
        cell = ds.sel(network=network)
        steps = np.arange(cell.sizes["step"])
        for method in cell["method"].values:
            values = cell[measure].sel({"method": method}).mean("image").values
            ax.plot(steps, values, "o-", color=METHOD_COLOURS.get(str(method), "0.3"), label=str(method), ms=4)
        n_blocks = int(np.asarray(cell["n_blocks"].values).ravel()[0])
        ax.set_xticks(steps, ["trained"] + [f"{int(k)}/{n_blocks}" for k in cell["blocks_randomised"].values[1:]],
                      fontsize=7)
        ax.axhline(0, color="0.6", lw=0.6)
        ax.set_ylim(-0.2, 1.05)
        ax.set_title(network, fontsize=9)
        ax.set_xlabel("blocks randomised (from the logits)", fontsize=7)
        ax.tick_params(axis="y", labelsize=7)
    axes[0].set_ylabel(f"{'rank correlation' if measure == 'spearman' else 'SSIM'} with trained map", fontsize=8)
    axes[0].legend(fontsize=7, frameon=False)
    fig.tight_layout()
    return fig


def cascade_maps(ds, network: str, image: str):
    """One image's maps along one network's cascade: a row per method, a column per step."""
    cell = ds.sel(network=network)
    methods = [str(m) for m in cell["method"].values]
    steps = cell.sizes["step"]
    fig, axes = plt.subplots(len(methods), steps, figsize=(1.6 * steps, 1.6 * len(methods)), squeeze=False)
    for i, method in enumerate(methods):
        for j in range(steps):
            ax = axes[i, j]
            ax.imshow(cell["sample_maps"].sel({"method": method, "sample": image}).values[j], cmap="inferno")
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title("trained" if j == 0 else f"top {int(cell['blocks_randomised'].values[j])}", fontsize=7)
            if j == 0:
                ax.set_ylabel(method, fontsize=7)
    fig.suptitle(f"{network}, {image}", fontsize=8)
    fig.tight_layout()
    return fig


def sanity_plane(points, references: dict[str, float] | None = None):
    """x = how much a map depends on the weights (1 - rank similarity at full randomisation),
    y = its image-specific alignment with the Human PC (r - shuffled r); one point per trained
    map type (points: map_type, method, dependence, gap), references as horizontal lines."""
    fig, ax = plt.subplots(figsize=(5.6, 4.2))
    for _, row in points.iterrows():
        ax.scatter(row["dependence"], row["gap"], color=METHOD_COLOURS.get(row["method"], "0.3"), s=30)
        ax.annotate(row["map_type"], (row["dependence"], row["gap"]), fontsize=6, xytext=(3, 2),
                    textcoords="offset points")
    for k, (name, value) in enumerate((references or {}).items()):
        ax.axhline(value, ls=("--", ":", "-.")[k % 3], color="0.45", lw=1, label=f"{name} (reference)")
    ax.axhline(0, color="0.7", lw=0.6)
    ax.set_xlabel("dependence on the weights: 1 - rank similarity at full randomisation", fontsize=8)
    ax.set_ylabel("image-specific alignment with the Human PC: r - shuffled r", fontsize=8)
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], marker="o", ls="", color=METHOD_COLOURS.get(m, "0.3"), label=m)
               for m in dict.fromkeys(points["method"])]
    ax.legend(handles=handles + ax.get_legend_handles_labels()[0], fontsize=7, frameon=False, loc="best")
    ax.tick_params(labelsize=7)
    fig.tight_layout()
    return fig
