"""Stage extract_attention: one model's passive attention maps for the study images.

Usage: python -m stages.extract_attention <model_id>   (dvc.yaml runs it `foreach` model id in
params `extract_attention.models`); writes data/attention/<model_id>.zarr.
"""

import sys

import torch

from lib.attention.extract import ExtractOptions, extract, resolve_device
from lib.attention.models import check_weights, input_statistics, load_model
from lib.attention.provenance import sha256, top1_changes
from lib.images import read_images
from lib.params import get, load_params
from lib.paths import ROOT, attention_store
from lib.store import write_dataset
from stages._run import run


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: python -m stages.extract_attention <model_id>")
    model_id = sys.argv[1]
    params = load_params()
    p = "extract_attention"
    seed = get(params, "data.seed", int)
    device = resolve_device(get(params, f"{p}.device", str))
    normalisation = get(params, f"{p}.normalisation", str)
    layers = get(params, f"{p}.target_layers", dict)
    # Weights are found (or MissingWeightsError raised) before any image is read.
    weights_dir = ROOT / get(params, f"{p}.weights_dir", str)
    loaded = load_model(
        model_id,
        weights_dir=weights_dir,
        device=device,
        normalisation=normalisation,
        seed=seed,
        target_layer=layers.get(model_id),
    )
    options = ExtractOptions.from_params(params, device, loaded.arch)
    images = get(params, "data.images", list)
    pixels = read_images(images)
    torch.manual_seed(seed)
    ds = extract(loaded, pixels, images, options)
    # Provenance the methods page quotes: the weights' checksum, and how many targets (top-1
    # classes) the other normalisation choice would change for this network.
    other = "study" if normalisation == "weights" else "weights"
    mean, std = input_statistics(model_id, other)
    ds.attrs["settings"] |= {
        "weights_sha256": sha256(check_weights(model_id, weights_dir)),
        f"top1_changed_by_{other}_normalisation": top1_changes(
            loaded, pixels, ds["top1"].values, mean, std, options.batch_size),
    }
    write_dataset(ds, attention_store(model_id))
    top = ", ".join(f"{i}: {lab} ({p:.2f})" for i, lab, p in zip(
        images[:5], ds["top1_label"].values, ds["top1_prob"].values, strict=False))  # fmt: skip
    print(f"{model_id}: {len(ds['method'])} methods x {len(images)} images; top-1 {top}, ...")


if __name__ == "__main__":
    run(main)
