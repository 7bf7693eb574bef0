"""Map type names: what architecture, attention method, training set and method family a name
such as `effnetlite0-SGBP-I` stands for (the naming contract of the attention stores), and the
column check shared by every reader of tidy tables. Light on imports: the report uses it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import pandas as pd

from lib.errors import InputError

METHODS = ("GBP", "GBPxIM", "SGBP", "GradCAM", "ScoreCAM", "CAMERAS", "active")
FAMILY_OF_METHOD = {
    "GBP": "GBP", "GBPxIM": "GBP", "SGBP": "GBP",
    "GradCAM": "CAM", "ScoreCAM": "CAM", "CAMERAS": "CAM",
    "active": "active",
}
ANN_FAMILIES = ("GBP", "CAM", "active")  # the order families are compared in
BASELINES = ("gbvs", "bms", "center-bias")
BASELINE_FAMILY = "baseline"
TRAINING_SETS = {"I": "ImageNet", "C": "CIFAR-100", "P": "Places365", "R": "random"}
FACTORS = ("method", "arch", "training")

_PASSIVE = re.compile(r"^(?P<arch>.+)-(?P<method>GBP|GBPxIM|SGBP|GradCAM|ScoreCAM|CAMERAS)-(?P<training>[ICPR])$")
_ACTIVE = re.compile(r"^(?P<module>[^-]+)-(?P<arch>.+)-active-(?P<training>[ICPR])$")


def parse_map_type(name: str) -> dict[str, str]:
    """{arch, method, training, family} of a map type name.

    `<arch>-<METHOD>-<I|C|P|R>` (passive), `<module>-<arch>-active-<I|C>` (active attention: arch
    is `<module>-<arch>`, since the attention module is part of the network) and the plain
    baselines `gbvs`, `bms`, `center-bias` (arch and training `none`, family `baseline`).
    """
    if name in BASELINES:
        return {"arch": "none", "method": name, "training": "none", "family": BASELINE_FAMILY}
    if match := _PASSIVE.match(name):
        method = match["method"]
        return {"arch": match["arch"], "method": method, "training": match["training"],
                "family": FAMILY_OF_METHOD[method]}
    if match := _ACTIVE.match(name):
        return {"arch": f"{match['module']}-{match['arch']}", "method": "active",
                "training": match["training"], "family": "active"}
    raise InputError(
        f"map type {name!r}: expected <arch>-<METHOD>-<I|C|P|R> with METHOD in "
        f"{', '.join(METHODS[:-1])}, <module>-<arch>-active-<I|C>, or one of {', '.join(BASELINES)}"
    )


def annotate(table: pd.DataFrame) -> pd.DataFrame:
    """A copy of `table` (with a `map_type` column) with `arch, method, training, family` filled
    in from the map type names wherever those columns are absent."""
    check_columns(table, ("map_type",), "annotate")
    out = table.copy()
    missing = [c for c in ("arch", "method", "training", "family") if c not in out.columns]
    if missing:
        parts = {name: parse_map_type(name) for name in out["map_type"].unique()}
        for column in missing:
            out[column] = out["map_type"].map(lambda name, c=column: parts[name][c])
    return out


def check_columns(table: pd.DataFrame, required: Sequence[str], where: str) -> None:
    """InputError naming `where` and the absent columns when `table` lacks any of `required`."""
    absent = [c for c in required if c not in table.columns]
    if absent:
        raise InputError(f"{where}: missing column(s) {absent}; has {list(table.columns)}")
