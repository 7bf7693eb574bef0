"""Stage headline: the run's headline values (lib.headline) from the detailed metrics files, to
metrics/headline.json, the one file dvc.yaml declares under `metrics:` so that `dvc exp show`
and `dvc exp diff` fit a terminal. An absent input leaves its values out."""

import json

from lib import paths
from lib.headline import headline
from lib.outputs import read_json
from stages._run import run


def main() -> None:
    inputs = [paths.STATS_METRICS, paths.METRICS / "human_pc.json", paths.CROSSVAL, paths.FIT_SMOOTHING,
              paths.RECOGNITION_ANN_METRICS, paths.RANDOMISATION_METRICS]
    values = headline(*((read_json(path) or {}) for path in inputs))
    paths.HEADLINE_METRICS.write_text(json.dumps(values, indent=2) + "\n")
    print(json.dumps(values))


if __name__ == "__main__":
    run(main)
