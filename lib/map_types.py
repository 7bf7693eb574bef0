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

# A map type's role decides whether it competes (METHOD.md's statistics are over trained
# networks) or bounds the models' scores as a control. Every stage and page asks `role`.
ROLES = ("model", "random", "reference")
ROLE_LABELS = {"model": "trained network", "random": "random-weight control", "reference": "non-ANN reference"}
CONTROL_ROLES = ("random", "reference")
REFERENCE_STORE = "baselines"  # the attention store of the non-ANN reference maps

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


def _role_of_training(training: str, what: str) -> str:
    if training == "none":
        return "reference"
    if training == "R":
        return "random"
    if training in TRAINING_SETS:
        return "model"
    raise InputError(f"{what}: cannot tell its role from training set {training!r}")


def role(name: str) -> str:
    """`model` (trained weights), `random` (random weights, `-R`) or `reference` (gbvs, bms,
    center-bias) for a map type name; InputError for a name that is none of these."""
    return _role_of_training(parse_map_type(name)["training"], f"map type {name!r}")


def model_role(model_id: str) -> str:
    """The role of every map type a model's store holds: `reference` for the baselines store,
    `random` for `<arch>-R`, `model` for `<arch>-<I|C|P>`; InputError otherwise."""
    if model_id == REFERENCE_STORE:
        return "reference"
    match = re.match(r"^.+-(?P<training>[A-Za-z]+)$", model_id)
    if not match:
        raise InputError(f"model id {model_id!r}: expected <arch>-<I|C|P|R> (or {REFERENCE_STORE!r}), "
                         "so its role (trained model or random-weight control) cannot be determined")
    return _role_of_training(match["training"], f"model id {model_id!r}")


def is_control(name: str) -> bool:
    return role(name) in CONTROL_ROLES


def of_role(names: Sequence[str], wanted: str) -> list[str]:
    """The names in `names` (map types) whose role is `wanted`, in their order."""
    if wanted not in ROLES:
        raise InputError(f"role {wanted!r}: expected one of {ROLES}")
    return [n for n in names if role(n) == wanted]


def models_of_role(model_ids: Sequence[str], wanted: str, key: str = "extract_attention.models") -> list[str]:
    """The model ids in `model_ids` (params `key`) whose role is `wanted`, in their order; an
    InputError naming `key` for an id whose role cannot be determined."""
    out = []
    for model_id in model_ids:
        try:
            if model_role(model_id) == wanted:
                out.append(model_id)
        except InputError as err:
            raise InputError(f"params.yaml: {key}: {err}") from None
    return out


def require_models(names: Sequence[str], key: str) -> list[str]:
    """`names` (map types) when every one is a trained model's; else an InputError naming the
    params `key` and the controls it lists (controls bound the models, they are not contenders)."""
    controls = [n for n in names if role(n) != "model"]
    if controls:
        raise InputError(f"params.yaml: {key} must name trained map types; {controls} "
                         f"{'is a control' if len(controls) == 1 else 'are controls'} "
                         f"({', '.join(ROLE_LABELS[role(n)] for n in controls)})")
    return list(names)


def random_counterpart(name: str) -> str | None:
    """The same architecture and method with random weights (`...-R`) for a passive map type of
    a trained network, else None."""
    match = _PASSIVE.match(name)
    if not match or match["training"] == "R":
        return None
    return f"{match['arch']}-{match['method']}-R"


def annotate(table: pd.DataFrame) -> pd.DataFrame:
    """A copy of `table` (with a `map_type` column) with `arch, method, training, family, role`
    filled in from the map type names wherever those columns are absent."""
    check_columns(table, ("map_type",), "annotate")
    out = table.copy()
    missing = [c for c in ("arch", "method", "training", "family", "role") if c not in out.columns]
    if missing:
        parts = {name: parse_map_type(name) | {"role": role(name)} for name in out["map_type"].unique()}
        for column in missing:
            out[column] = out["map_type"].map(lambda name, c=column: parts[name][c])
    return out


def check_columns(table: pd.DataFrame, required: Sequence[str], where: str) -> None:
    """InputError naming `where` and the absent columns when `table` lacks any of `required`."""
    absent = [c for c in required if c not in table.columns]
    if absent:
        raise InputError(f"{where}: missing column(s) {absent}; has {list(table.columns)}")
