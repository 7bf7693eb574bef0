"""Every path the pipeline reads or writes, built from the repository root (one home for them)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PARAMS = ROOT / "params.yaml"

DATA = ROOT / "data"
RAW = DATA / "raw"
RAW_IMAGES = RAW / "images"
RAW_HUMAN_MAPS = RAW / "human-maps"

HUMAN = DATA / "human"
HUMAN_MAPS = HUMAN / "maps.zarr"
HUMAN_PC = HUMAN / "pc.zarr"

# Raw human trials (lib.trials): a lab's own files, and the simulated example set.
TRIALS = DATA / "trials"
EXAMPLE_TRIALS = DATA / "examples" / "trials"

ATTENTION = DATA / "attention"
# Pretrained weights files (params `extract_attention.weights_dir` may point elsewhere).
WEIGHTS = ROOT / "weights"

# fit_smoothing, bootstrap and crossval (lib.compare)
COMPARE = DATA / "compare"
COMPARE_CURVES = COMPARE / "curves.zarr"  # the per-image table and everything fitted from it
PARTICIPANT_BOOTSTRAP = COMPARE / "participant_bootstrap.csv"  # the study's error bars (raw trials only)
COMPARE_SUMMARY = COMPARE / "summary.csv"  # one row per map type x human map
COMPARE_PEAKS = COMPARE / "peaks.csv"  # per-image r at the fitted sigma
COMPARE_PLOT = COMPARE / "curves.csv"  # mean r over sigma: plot data for `dvc plots`
COMPARE_EXCLUDED = COMPARE / "excluded.csv"
BOOTSTRAP_STORE = COMPARE / "bootstrap.zarr"
BOOTSTRAP_TABLE = COMPARE / "bootstrap.csv"
CROSSVAL_TABLE = COMPARE / "crossval.csv"

METRICS = ROOT / "metrics"
REPORT = ROOT / "report"


def image_file(image_id: str) -> Path:
    """The study image `img<N>` as `data/raw/images/image_r_<N>.jpg`."""
    return RAW_IMAGES / f"image_r_{image_id.removeprefix('img')}.jpg"


def attention_store(model_id: str) -> Path:
    """The Zarr store holding one model's raw attention maps."""
    return ATTENTION / f"{model_id}.zarr"


# Outputs of the comparison stages as stats and the report read them (column contracts in
# lib/outputs.py): the same files as above, named for what the readers take from them.
FIT_SMOOTHING = METRICS / "fit_smoothing.json"  # {map_type: {human_map: {"r", "sigma", ...}}}
FIT_CONTROLS = METRICS / "fit_smoothing_controls.json"  # noise ceilings, excluded map types
CROSSVAL = METRICS / "crossval.json"  # {map_type: {human_map: {"train_r", "test_r", "test_sd"}}}
COMPARE_PER_IMAGE = COMPARE_PEAKS  # r per map type, human map, image at the fitted sigma
SMOOTHING_CURVES = COMPARE_PLOT  # mean r per map type, human map and sigma
BOOTSTRAP = BOOTSTRAP_TABLE  # spread of the peak mean r over image resamples
CONTROLS = COMPARE_SUMMARY  # r with the own images against shuffled images, ceilings
LABELS = DATA / "labels.csv"  # provisional label set per image (see docs/recognition.md)
RECOGNITION = DATA / "recognition"
RECOGNITION_ANN_TABLE = RECOGNITION / "ann.csv"
RECOGNITION_ANN_METRICS = METRICS / "recognition_ann.json"  # {mask_type: {"correct", "incorrect"}}
CASCADE = DATA / "randomisation" / "cascade.zarr"  # cascading weight randomisation, per network
RANDOMISATION_METRICS = METRICS / "randomisation.json"
RECOGNITION_HUMAN = RECOGNITION / "human"  # experiment design: stimuli/, trials.csv, ...
RECOGNITION_DPRIME = RECOGNITION_HUMAN / "dprime.csv"  # per image; only when responses were analysed
RECOGNITION_DPRIME_PARTICIPANT = RECOGNITION_HUMAN / "dprime_participant.csv"  # per participant
NODE_MODULES = ROOT / "node_modules"  # `npm ci`: jsPsych for the human experiment's page
RESPONSES = DATA / "responses"  # where a lab puts recognition_human response files

# benchmark (lib.benchmark): the standard saliency metrics, versioned, and the leaderboard rows
BENCHMARK = DATA / "benchmark"
BENCHMARK_SCORES = BENCHMARK / "scores.csv"  # map_type, role, human_map, metric, value, lo, hi
BENCHMARK_RECORD = BENCHMARK / "benchmark.json"  # version, human maps md5, params, weights
BENCHMARK_LEADERBOARD = BENCHMARK / "leaderboard.csv"  # one row per map type (Human PC)

# stats
STATS = DATA / "stats"
STATS_METRICS = METRICS / "stats.json"
# The couple of dozen values `dvc exp show` displays (lib.headline); the only DVC metrics file.
HEADLINE_METRICS = METRICS / "headline.json"
