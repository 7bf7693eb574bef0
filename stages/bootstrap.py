"""Stage bootstrap: error bars for every peak score by resampling images with replacement, from
fit_smoothing's per-image table (sigma refitted in each resample)."""

from lib.compare.resample import bootstrap_dataset
from lib.compare.tables import nested_metrics, replicate_frame, write_outputs
from lib.params import get, load_params
from lib.paths import BOOTSTRAP_STORE, BOOTSTRAP_TABLE, COMPARE_CURVES, METRICS
from lib.store import read_dataset, write_dataset
from stages._run import run

COLUMNS = [
    "r",
    "sigma",
    "peak_r_sd",
    "peak_r_lo",
    "peak_r_hi",
    "fixed_r_sd",
    "sigma_lo",
    "sigma_hi",
    "gap_lo",
    "gap_hi",
]


def main() -> None:
    params = load_params()
    curves = read_dataset(COMPARE_CURVES)
    ds = bootstrap_dataset(
        curves, get(params, "bootstrap.n", int), get(params, "bootstrap.seed", int)
    )
    write_dataset(ds, BOOTSTRAP_STORE)
    metrics = nested_metrics(
        ds,
        {
            "r": "r",
            "sd": "peak_r_sd",
            "lo": "peak_r_lo",
            "hi": "peak_r_hi",
            "sd_fixed_sigma": "fixed_r_sd",
        },
    )
    write_outputs(
        {BOOTSTRAP_TABLE: replicate_frame(ds, COLUMNS)}, {METRICS / "bootstrap.json": metrics}
    )
    print(f"bootstrap: {ds.sizes['resample']} resamples of {ds.sizes['image']} images")


if __name__ == "__main__":
    run(main)
