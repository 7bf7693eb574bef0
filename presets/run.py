"""Run the pipeline with a preset's params: `python presets/run.py <name> [--dry-run]`.

A preset (presets/<name>.yaml) overrides some keys of params.yaml. This checks that every model
it lists has its weights in place (MissingWeightsError lines name each missing file, where to get
it and where to put it, before anything runs), then runs `dvc exp run` with those keys set, so the
run is recorded as a DVC experiment (`dvc exp show`; `dvc exp apply` keeps it).
"""

from __future__ import annotations

import argparse
import copy
import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lib.attention.models import MissingWeightsError, check_weights  # noqa: E402
from lib.errors import InputError  # noqa: E402
from lib.params_schema import validate  # noqa: E402


def _flatten(node: dict, prefix: str = "") -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in node.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(_flatten(value, dotted + "."))
        else:
            out[dotted] = value
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("name", help="preset name: presets/<name>.yaml")
    ap.add_argument("--dry-run", action="store_true", help="check weights, print the command")
    args = ap.parse_args()
    path = ROOT / "presets" / f"{args.name}.yaml"
    if not path.is_file():
        sys.exit(f"error: {path} not found")
    overrides = _flatten(yaml.safe_load(path.read_text()) or {})
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    unknown = [k for k in overrides if not _has(params, k)]
    if unknown:
        sys.exit(f"error: {path}: keys not in params.yaml: {unknown}")
    # The run's params as the stages will see them, checked against the schema before anything runs.
    merged = copy.deepcopy(params)
    for key, value in overrides.items():
        *parents, last = key.split(".")
        node = merged
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    try:
        validate(merged, f"params.yaml with {path.name}")
    except InputError as err:
        sys.exit(f"error: {err}")
    weights_dir = ROOT / str(overrides.get("extract_attention.weights_dir",
                                           params["extract_attention"]["weights_dir"]))  # fmt: skip
    missing = []
    for model_id in overrides.get("extract_attention.models", []):
        try:
            check_weights(str(model_id), weights_dir)
        except MissingWeightsError as err:
            missing.append(str(err))
        except InputError as err:
            sys.exit(f"error: {path}: {err}")
    if missing:
        sys.exit("error: weights missing, nothing was run:\n" + "\n".join(missing))
    cmd = ["dvc", "exp", "run"]
    for key, value in overrides.items():
        flow = yaml.safe_dump(value, default_flow_style=True, width=10**6).strip()
        cmd += ["-S", f"{key}={flow.removesuffix(chr(10) + '...').strip()}"]
    if args.dry_run:
        print(" ".join(f"'{c}'" if " " in c else c for c in cmd))
        return
    # Stage commands call `python`: make it this interpreter's environment (as the Makefile does).
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    sys.exit(subprocess.call(cmd, cwd=ROOT, env=env))


def _has(params: dict, dotted: str) -> bool:
    node: object = params
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


if __name__ == "__main__":
    main()
