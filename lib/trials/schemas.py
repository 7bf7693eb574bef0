"""Raw-trial files: one file per procedure, their columns, reading and validation.

Coordinates. Every `x`, `y` in every schema is a position in pixels of the 405x405 study image:
x to the right from the left edge, y down from the top edge, continuous, so the image covers
[0, 405] x [0, 405] and the top-left pixel's centre is (0.5, 0.5). Values outside that square are
an error.

Schemas (extra columns are allowed and ignored; id columns are read as text):

- `patch`, one row per rating: image, participant, x, y (the patch centre), rating (integer 1-6).
- `dprime`, one row per 2AFC trial: image, participant, x, y (the probe location), condition
  (`same`/`shifted`: what was shown), response (`same`/`shifted`: what the participant answered).
- `spatial`, one row per reproduction: image, chain, iteration (integer >= 0; 0 may hold the seed
  stimulus), x, y (the reproduced position).
- `fixations`, one row per fixation: image, participant, task (`free`/`saliency`/`object`), x, y.

`image` is an id from `params.yaml: data.images` (`img<N>`). `participant` ids are shared across
images when the same person saw several. `chain` ids are per image. Files are `.csv` (header row,
comma separated) or `.parquet`.

Bad input raises InputError naming the file, the row (1-based data row; for CSV also the line) and
the problem, before anything is computed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from lib.errors import InputError
from lib.tabular import read_table_file

IMAGE_SIZE = 405  # the study images are 405x405; trial coordinates are in their pixels

PROCEDURES = ("patch", "dprime", "spatial", "fixations")
FIXATION_TASKS = ("free", "saliency", "object")
# Which procedure's trials each measure is estimated from; fixation measures select their `task`.
PROCEDURE_OF_MEASURE: dict[str, str] = {
    "patch": "patch",
    "dprime": "dprime",
    "spatial": "spatial",
    "free": "fixations",
    "saliency": "fixations",
    "object": "fixations",
}
CHOICES = ("same", "shifted")

# Column -> kind: "id" (text), "float" (coordinate), "int" (integer), or a tuple of allowed words.
SCHEMAS: dict[str, dict[str, object]] = {
    "patch": {"image": "id", "participant": "id", "x": "float", "y": "float", "rating": "int"},
    "dprime": {
        "image": "id",
        "participant": "id",
        "x": "float",
        "y": "float",
        "condition": CHOICES,
        "response": CHOICES,
    },
    "spatial": {"image": "id", "chain": "id", "iteration": "int", "x": "float", "y": "float"},
    "fixations": {
        "image": "id",
        "participant": "id",
        "task": FIXATION_TASKS,
        "x": "float",
        "y": "float",
    },
}
RATING_RANGE = (1, 6)


@dataclass(frozen=True)
class TrialSet:
    """Validated trials of one procedure: `frame` has exactly the schema's columns, ids and words
    as categoricals of str (choices lower-cased), coordinates float64, integers int64.
    `path`/`md5` name the source file (None if in memory)."""

    procedure: str
    frame: pd.DataFrame
    path: Path | None = None
    md5: str | None = None

    @property
    def name(self) -> str:
        return str(self.path) if self.path is not None else f"<{self.procedure} trials>"


def _where(name: str, index: int, csv: bool, lines: list[int] | None = None) -> str:
    """Row `index` of a trial table; for a CSV also its file line (from lib.tabular's reader; a
    frame built in memory has one header line and no blank lines)."""
    row = index + 1
    if not csv:
        return f"{name}: row {row}"
    return f"{name}: row {row} (line {lines[index] if lines is not None else row + 1})"


def _read(path: Path) -> pd.DataFrame:
    # Everything as text first: ids keep leading zeros, bad numbers are reported by row.
    return read_table_file(path, "trial file", text=True)


def validate_trials(
    frame: pd.DataFrame,
    procedure: str,
    image_ids: list[str] | tuple[str, ...],
    name: str = "<trials>",
    csv: bool = False,
) -> pd.DataFrame:
    """The schema's columns of `frame`, typed and checked; InputError naming `name`, the row and the
    problem on the first bad value (missing column, unknown image, coordinate outside the image,
    rating outside 1-6, a word not allowed, a duplicate reproduction, no rows)."""
    if procedure not in SCHEMAS:
        raise InputError(f"{name}: unknown trial procedure {procedure!r} (one of {PROCEDURES})")
    schema = SCHEMAS[procedure]
    missing = [c for c in schema if c not in frame.columns]
    if missing:
        raise InputError(
            f"{name}: missing columns {missing} for {procedure} trials (expects {list(schema)})"
        )
    if len(frame) == 0:
        raise InputError(f"{name}: no trials (the file has a header but no rows)")
    lines = frame.attrs.get("lines")
    frame = frame.reset_index(drop=True)
    out: dict[str, np.ndarray] = {}
    known = set(image_ids)
    for column, kind in schema.items():
        raw = frame[column]
        if kind == "id" or isinstance(kind, tuple):
            # Check each distinct value once (files hold few distinct ids and words, many rows).
            codes, uniques = pd.factorize(raw, use_na_sentinel=True)
            text = pd.Index(uniques).astype(str).str.strip().to_numpy(dtype=object)
            blank = (codes < 0) | (text == "")[np.maximum(codes, 0)]
            if blank.any():
                i = int(np.argmax(blank))
                raise InputError(f"{_where(name, i, csv, lines)}: `{column}` is empty")
            if kind == "id":
                is_image = column == "image"
                allowed = np.isin(text, list(known)) if is_image else np.ones(len(text), bool)
                problem = "unknown image id {!r} (not in params.yaml data.images)"
            else:
                text = np.array([t.lower() for t in text], dtype=object)
                allowed = np.isin(text, list(kind))
                problem = f"`{column}` is {{!r}}, expected one of {list(kind)}"
            bad = ~allowed[codes]
            if bad.any():
                i = int(np.argmax(bad))
                raise InputError(f"{_where(name, i, csv, lines)}: " + problem.format(raw.iloc[i]))
            # Distinct raw values may coincide once stripped/lower-cased (" Same", "same").
            categories, merged = np.unique(text.astype(str), return_inverse=True)
            out[column] = pd.Categorical.from_codes(merged.ravel()[codes], categories=categories)
        else:
            numbers = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
            bad = ~np.isfinite(numbers)
            if bad.any():
                i = int(np.argmax(bad))
                raise InputError(
                    f"{_where(name, i, csv, lines)}: `{column}` is {raw.iloc[i]!r}, not a number"
                )
            if kind == "float":
                bad = (numbers < 0) | (numbers > IMAGE_SIZE)
                if bad.any():
                    i = int(np.argmax(bad))
                    raise InputError(
                        f"{_where(name, i, csv, lines)}: `{column}` = {numbers[i]:g} is outside the image "
                        f"(coordinates are pixels of the {IMAGE_SIZE}x{IMAGE_SIZE} image, "
                        f"0 to {IMAGE_SIZE})"
                    )
                out[column] = numbers
            else:
                bad = numbers != np.round(numbers)
                if bad.any():
                    i = int(np.argmax(bad))
                    raise InputError(
                        f"{_where(name, i, csv, lines)}: `{column}` = {numbers[i]:g} is not an integer"
                    )
                out[column] = numbers.astype(np.int64)
    clean = pd.DataFrame(out)
    if procedure == "patch":
        lo, hi = RATING_RANGE
        bad = (clean["rating"] < lo) | (clean["rating"] > hi)
        if bad.any():
            i = int(np.argmax(bad.to_numpy()))
            raise InputError(
                f"{_where(name, i, csv, lines)}: rating {clean['rating'].iloc[i]} is outside {lo}-{hi}"
            )
    if procedure == "spatial":
        bad = clean["iteration"] < 0
        if bad.any():
            i = int(np.argmax(bad.to_numpy()))
            raise InputError(
                f"{_where(name, i, csv, lines)}: iteration {clean['iteration'].iloc[i]} is negative"
            )
        dup = clean.duplicated(["image", "chain", "iteration"]).to_numpy()
        if dup.any():
            i = int(np.argmax(dup))
            r = clean.iloc[i]
            raise InputError(
                f"{_where(name, i, csv, lines)}: second row for image {r['image']} chain {r['chain']} "
                f"iteration {r['iteration']}"
            )
    return clean


def load_trials(path: Path, procedure: str, image_ids: list[str] | tuple[str, ...]) -> TrialSet:
    """The validated trials of `procedure` in the `.csv`/`.parquet` file at `path`."""
    path = Path(path)
    frame = _read(path)
    clean = validate_trials(
        frame, procedure, image_ids, str(path), csv=path.suffix.lower() == ".csv"
    )
    return TrialSet(procedure, clean, path, hashlib.md5(path.read_bytes()).hexdigest())


def write_trials(trials: TrialSet | pd.DataFrame, path: Path) -> None:
    """Write trials as `.csv` or `.parquet` (by suffix), deterministically, atomically."""
    frame = trials.frame if isinstance(trials, TrialSet) else trials
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise InputError(f"{path}: unknown trial file type {suffix!r} (use .csv or .parquet)")
    from lib.atomic import writing

    with writing(path) as partial:
        if suffix == ".csv":
            frame.to_csv(partial, index=False, float_format="%.2f", lineterminator="\n")
        else:
            frame.to_parquet(partial, index=False, compression="zstd")
