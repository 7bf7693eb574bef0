"""Stage extract_baselines: GBVS, BMS and centre-bias maps of the study images, stored like an
attention model's maps in data/attention/baselines.zarr."""

from lib.attention.baselines import MODEL_ID, baseline_dataset
from lib.images import STUDY_IMAGE_SIZE
from lib.params import get, load_params
from lib.paths import attention_store, image_file
from lib.store import write_dataset
from stages._run import run


def main() -> None:
    params = load_params()
    image_ids = get(params, "data.images", list)
    options = {
        "gbvs": get(params, "extract_baselines.gbvs", dict),
        "bms": get(params, "extract_baselines.bms", dict),
        "center-bias": get(params, "extract_baselines.center_bias", dict),
    }
    ds = baseline_dataset(
        {image_id: image_file(image_id) for image_id in image_ids},
        size=get(params, "extract_baselines.size", int),
        options=options,
        image_size=STUDY_IMAGE_SIZE,
    )
    path = attention_store(MODEL_ID)
    write_dataset(ds, path)
    print(f"wrote {path}: {dict(ds.sizes)}")


if __name__ == "__main__":
    run(main)
