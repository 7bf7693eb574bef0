"""Stage crossval: random train/test splits of the images; sigma fitted on the training images,
scored on the test images, from fit_smoothing's per-image table."""

from lib.compare.crossval import crossval_dataset
from lib.compare.tables import nested_metrics, replicate_frame, write_outputs
from lib.params import get, load_params
from lib.paths import COMPARE_CURVES, CROSSVAL_TABLE, METRICS
from lib.store import read_dataset
from stages._run import run

COLUMNS = ["train_r_mean", "train_r_sd", "sigma_mean", "sigma_sd", "test_r_mean", "test_r_sd"]


def main() -> None:
    params = load_params()
    ds = crossval_dataset(
        read_dataset(COMPARE_CURVES),
        get(params, "crossval.n_splits", int),
        get(params, "crossval.n_train", int),
        get(params, "crossval.seed", int),
    )
    metrics = nested_metrics(
        ds, {"train_r": "train_r_mean", "test_r": "test_r_mean", "test_sd": "test_r_sd"}
    )
    write_outputs(
        {CROSSVAL_TABLE: replicate_frame(ds, COLUMNS)}, {METRICS / "crossval.json": metrics}
    )
    print(f"crossval: {ds.sizes['split']} splits, {ds.attrs['n_train']} training images")


if __name__ == "__main__":
    run(main)
