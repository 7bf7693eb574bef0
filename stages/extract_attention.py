"""Stage extract_attention: one model's passive attention maps for the study images.

Usage: python -m stages.extract_attention <model_id>   (dvc.yaml runs it `foreach` model id in
params `extract_attention.models`); writes data/attention/<model_id>.zarr, in this process or as
tasks on a Dask cluster (params `executor`).
"""

import sys

from lib.attention.extract import ExtractOptions, extracted_methods
from lib.attention.extract_tasks import ModelSpec, extract_to_store, local_copy, task_device
from lib.executor import Executor
from lib.params import get, load_params
from lib.paths import ROOT, attention_store
from stages._run import run


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: python -m stages.extract_attention <model_id>")
    model_id = sys.argv[1]
    params = load_params()
    p = "extract_attention"
    executor = Executor.from_params(params)
    spec = ModelSpec(
        model_id=model_id,
        weights_dir=str(ROOT / get(params, f"{p}.weights_dir", str)),
        device=task_device(get(params, f"{p}.device", str), executor),
        normalisation=get(params, f"{p}.normalisation", str),
        seed=get(params, "data.seed", int),
        target_layer=get(params, f"{p}.target_layers", dict).get(model_id),
    )
    # Weights are found (or MissingWeightsError raised) before any image is read.
    loaded = local_copy(spec) if executor.distributed else spec.load()
    options = ExtractOptions.from_params(params, spec.device, loaded.arch)
    images = get(params, "data.images", list)
    top = extract_to_store(spec, images, options, attention_store(model_id), executor, loaded)
    first = ", ".join(f"{i}: {lab} ({p:.2f})" for i, lab, p in zip(
        images[:5], top["top1_label"].values, top["top1_prob"].values, strict=False))  # fmt: skip
    print(f"{model_id}: {len(extracted_methods(loaded, options))} methods x {len(images)} images; top-1 {first}, ...")


if __name__ == "__main__":
    run(main)
