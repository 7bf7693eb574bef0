"""Reading `params.yaml`: one section per stage plus the shared `data` section."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from lib.errors import InputError
from lib.paths import PARAMS


def load_params(path: Path = PARAMS) -> dict[str, Any]:
    """The parsed params file, checked against lib.params_schema (types, ranges, unknown keys,
    cross-key rules) before any stage does work; InputError naming the key otherwise."""
    from lib.params_schema import validate

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: params file not found")
    try:
        with path.open() as f:
            params = yaml.safe_load(f)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        raise InputError(f"{path}{line}: not valid YAML ({getattr(err, 'problem', err)})") from None
    if not isinstance(params, dict):
        raise InputError(f"{path}: expected a mapping at the top level")
    validate(params, path.name)
    return params


def get(params: dict[str, Any], dotted: str, kind: type | tuple[type, ...] | None = None) -> Any:
    """The value at a dotted key (`"smoothing.max_sigma"`), type-checked when `kind` is given."""
    node: Any = params
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            raise InputError(f"params.yaml: missing key `{dotted}`")
        node = node[part]
    # bool is an int subclass; a True where an int is wanted is a typo, not a number.
    if kind is not None and (not isinstance(node, kind) or (kind is int and isinstance(node, bool))):
        expected = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise InputError(f"params.yaml: `{dotted}` must be {expected}, got {node!r}")
    return node


def per_device(params: dict[str, Any], key: str, device: str, kind: type, arch: str | None = None) -> Any:
    """A setting given per device kind (`{cpu: 8, cuda: 64}`) or as one value, for `device`
    (`cpu`, `cuda`, `cuda:1`). A device's value may itself be given per architecture
    (`{default: 8, effnetlite0: 4}`): `arch`'s entry, else `default`."""
    value = get(params, key)
    if isinstance(value, dict):
        kind_key = f"{key}.{device.split(':')[0]}"
        value = get(params, kind_key)
        if isinstance(value, dict):
            if "default" not in value:
                raise InputError(f"params.yaml: `{kind_key}` given per architecture needs a `default` entry")
            value = value.get(arch, value["default"]) if arch is not None else value["default"]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise InputError(f"params.yaml: `{key}` must be {kind.__name__} or a per-device mapping")
    return value
