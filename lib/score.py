"""Put one model on the benchmark (`make score MODEL=<id>`, `python -m stages.score <id>`): check
its id and weights before any work, add it to the zoo for this experiment only with
`dvc exp run -S` (the experiment is kept under the model's name, so `dvc exp show` compares it
with other runs), then return its leaderboard rows, one per attention method."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd
import yaml

from lib.errors import InputError

TARGET = "benchmark"  # the stage whose outputs (and upstream) the experiment reproduces


def check_model(model_id: str, weights_dir: Path) -> None:
    """InputError (unknown id, non-classifier timm weights) or MissingWeightsError (its message
    says where to get the file and where to put it) before anything runs."""
    from lib.attention.models import check_weights

    if not isinstance(model_id, str) or not model_id:
        raise InputError("score: give a model id, e.g. `make score MODEL=effnetlite1-R`")
    check_weights(model_id, weights_dir)


def experiment_name(model_id: str) -> str:
    """A git-ref-safe experiment name for the model: `score-<id>` with other characters as '-'."""
    return "score-" + re.sub(r"[^A-Za-z0-9_-]+", "-", model_id).strip("-")


def exp_run_command(model_id: str, models: Sequence[str]) -> list[str]:
    """`dvc exp run` adding `model_id` to `models` (params extract_attention.models) for this
    experiment only, named after the model, reproducing the benchmark stage and its upstream."""
    zoo = list(models) + ([] if model_id in models else [model_id])
    listed = yaml.safe_dump(zoo, default_flow_style=True, width=10_000).strip()
    return [sys.executable, "-m", "dvc", "exp", "run", "-n", experiment_name(model_id),
            "-S", f"extract_attention.models={listed}", TARGET]


def model_rows(board: pd.DataFrame, map_types: Sequence[str]) -> pd.DataFrame:
    """The leaderboard rows of the given map types (a model's methods), in leaderboard order."""
    rows = board[board["map_type"].isin(list(map_types))]
    if rows.empty:
        raise InputError(f"leaderboard: no rows for {list(map_types)} (were they excluded? see benchmark.json)")
    return rows


def score_model(model_id: str, params: dict, run: Callable[..., subprocess.CompletedProcess] = subprocess.run
                ) -> pd.DataFrame:
    """Check, run the experiment, and return the model's leaderboard rows."""
    from lib import paths
    from lib.outputs import read_table
    from lib.params import get
    from lib.store import read_dataset

    check_model(model_id, paths.ROOT / get(params, "extract_attention.weights_dir", str))
    command = exp_run_command(model_id, get(params, "extract_attention.models", list))
    print("+ dvc " + " ".join(command[3:]), flush=True)
    # The stages' commands call `python`: make it this interpreter's, as the Makefile does.
    env = os.environ | {"PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}
    if run(command, cwd=paths.ROOT, env=env).returncode != 0:
        raise InputError(f"score: `{' '.join(command)}` failed (its output above says why)")
    board = read_table(paths.BENCHMARK_LEADERBOARD, ("map_type", "role", "r"))
    if board is None:
        raise InputError(f"{paths.BENCHMARK_LEADERBOARD}: not written by the experiment")
    store = read_dataset(paths.attention_store(model_id))
    return model_rows(board, [str(t) for t in store["map_type"].values])
