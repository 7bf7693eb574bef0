"""Figures for the report: plain functions of stage outputs that return matplotlib figures.

The report only calls these; nothing here computes a result that a stage does not already store.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from PIL import Image

from lib.human_maps import MEASURE_LABELS
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
