"""Stage extract_baselines: GBVS, BMS and centre-bias maps of the study images, stored like an
attention model's maps in data/attention/baselines.zarr."""

from lib.attention.baselines import MODEL_ID, baseline_store
from lib.executor import Executor
from lib.images import STUDY_IMAGE_SIZE
from lib.params import get, load_params
from lib.paths import attention_store
from stages._run import run


def main() -> None:
    params = load_params()
    image_ids = get(params, "data.images", list)
    options = {
        "gbvs": get(params, "extract_baselines.gbvs", dict),
        "bms": get(params, "extract_baselines.bms", dict),
        "center-bias": get(params, "extract_baselines.center_bias", dict),
    }
    size = get(params, "extract_baselines.size", int)
    path = attention_store(MODEL_ID)
    baseline_store(image_ids, size, options, STUDY_IMAGE_SIZE, path, Executor.from_params(params))
    print(f"wrote {path}: {len(options)} methods x {len(image_ids)} images at {size} px")


if __name__ == "__main__":
    run(main)
