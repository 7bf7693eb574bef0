"""Stage randomisation: the model-parameter randomisation check, one number per method.

Reads the attention stores of a trained model and of the same architecture with random weights
(params `randomisation.trained` / `randomisation.randomised`) and writes metrics/randomisation.json
{method: mean per-image similarity of the two models' maps on the analysis grid}.
"""

import json
import math

from lib.attention.randomisation import randomisation_similarity
from lib.params import get, load_params
from lib.paths import METRICS, attention_store
from lib.store import read_dataset
from stages._run import run


def main() -> None:
    params = load_params()
    trained = read_dataset(attention_store(get(params, "randomisation.trained", str)))
    randomised = read_dataset(attention_store(get(params, "randomisation.randomised", str)))
    values = randomisation_similarity(
        trained,
        randomised,
        grid=get(params, "data.grid", int),
        measure=get(params, "randomisation.measure", str),
    )
    # NaN (a constant map) is not JSON: write null.
    values = {k: None if math.isnan(v) else round(v, 6) for k, v in values.items()}
    METRICS.mkdir(exist_ok=True)
    (METRICS / "randomisation.json").write_text(json.dumps(values, indent=2) + "\n")
    print(json.dumps(values))


if __name__ == "__main__":
    run(main)
