"""`python -m stages.score <model id>` (what `make score MODEL=<id>` runs): one model on the
benchmark as a kept DVC experiment, then its leaderboard rows (lib.score)."""

import sys

from lib.errors import InputError
from lib.params import load_params
from lib.score import experiment_name, score_model
from stages._run import run


def main() -> None:
    if len(sys.argv) != 2:
        raise InputError("usage: python -m stages.score <model id>  (e.g. effnetlite1-R, timm.convnext_tiny.fb_in1k-I)")
    model_id = sys.argv[1]
    rows = score_model(model_id, load_params())
    print(f"\n{model_id} on the benchmark (experiment {experiment_name(model_id)}; `dvc exp show` compares):")
    print(rows.to_string(index=False))


if __name__ == "__main__":
    run(main)
