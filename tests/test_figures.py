"""Figures: panel titles of the example-stimuli grid stay apart."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from lib.figures import _panel_title, image_grid  # noqa: E402


def _overlapping_titles(fig) -> list[tuple[int, int]]:
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = [ax.title.get_window_extent(renderer) for ax in fig.axes if ax.get_visible()]
    return [(i, j) for i in range(len(boxes)) for j in range(i + 1, len(boxes)) if boxes[i].overlaps(boxes[j])]


def test_stimulus_titles_do_not_overlap(tmp_path):
    # Stimulus ids as the recognition_human stage names them (lib.recognition.design.stimulus_id).
    ids = [f"img{k}__effnetlite0-SGBP-I__img{k + 100}__rot{90 * (k % 4)}" for k in range(8)]
    ids += ["img10__effnetlite0-GradCAM-I__own", "img18__effnetlite0-ScoreCAM-I__own"]
    files = []
    for k, name in enumerate(ids):
        files.append(tmp_path / f"{name}.png")
        Image.fromarray(np.full((20, 20), 20 * k, np.uint8)).save(files[-1])
    fig = image_grid(files)
    assert len(fig.axes) == 10
    assert _overlapping_titles(fig) == []
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[0] == "img0\neffnetlite0-SGBP-I\nimg100\nrot0"
    # The same ids on one line each, as the grid titled them before, do run into each other:
    # the check above can fail.
    for ax, name in zip(fig.axes, ids, strict=True):
        ax.set_title(name, fontsize=7)
    assert _overlapping_titles(fig)


def test_panel_title_wraps_long_parts_and_keeps_every_character():
    title = _panel_title("a" * 10 + "-" + "b" * 30 + "__x")
    assert all(len(line) <= 24 for line in title.splitlines())
    assert title.replace("\n", "") == "a" * 10 + "-" + "b" * 30 + "x"
