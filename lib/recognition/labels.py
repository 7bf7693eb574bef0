"""Label sets for the speeded recognition task: a short set of terms per image (data/labels.csv).

Participants choose, after each flash, among the label sets of the ten images in their set, so no
two images in a set may share a term. The shipped labels are provisional (written from viewing the
images) until a labelling experiment replaces them; the file's columns are `image,labels[,...]`
with the terms separated by commas.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from lib.errors import InputError
from lib.tabular import line_of, read_table_file


def load_labels(path: Path, image_ids: Sequence[str]) -> dict[str, str]:
    """{image: label set text} for every id in `image_ids`; InputError naming the line otherwise."""
    path = Path(path)
    table = read_table_file(path, "labels file", text=True)
    missing = {"image", "labels"} - set(table.columns)
    if missing:
        raise InputError(f"{path}: missing column(s) {sorted(missing)}")
    labels: dict[str, str] = {}
    for row, (image, text) in enumerate(zip(table["image"], table["labels"], strict=True)):
        line = line_of(table, row) or row + 1
        if image in labels:
            raise InputError(f"{path} line {line}: image {image} labelled twice")
        if not terms(text):
            raise InputError(f"{path} line {line}: image {image} has no label terms")
        labels[image.strip()] = " ".join(text.split())
    absent = [i for i in image_ids if i not in labels]
    if absent:
        raise InputError(f"{path}: no labels for images {absent}")
    return {i: labels[i] for i in image_ids}


def terms(text: str) -> frozenset[str]:
    """The comma-separated terms of a label set, lower-cased and whitespace-normalised."""
    return frozenset(" ".join(t.split()).lower() for t in str(text).split(",") if t.strip())


def conflicts(labels: Mapping[str, str]) -> dict[str, frozenset[str]]:
    """{image: the other images whose label sets share a term with it}."""
    t = {i: terms(text) for i, text in labels.items()}
    return {i: frozenset(j for j in t if j != i and t[i] & t[j]) for i in t}
