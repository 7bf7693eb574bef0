"""Stage extract_attention: one model's passive attention maps for the study images.

Usage: python -m stages.extract_attention <model_id>   (dvc.yaml runs it `foreach` model id in
params `extract_attention.models`); writes data/attention/<model_id>.zarr.
"""

import sys

import torch

from lib.attention.extract import ExtractOptions, extract, resolve_device
from lib.attention.models import check_weights, load_model
from lib.attention.provenance import sha256, top1_changes
from lib.errors import InputError
from lib.images import read_images
from lib.params import get, load_params
from lib.paths import ROOT, attention_store
from lib.store import write_dataset
from stages._run import run


def _per_device(params: dict, key: str, device: str, kind: type):
    """A setting given per device kind ({cpu: 8, cuda: 64}) or as one value."""
    value = get(params, key)
    if isinstance(value, dict):
        value = get(params, f"{key}.{device.split(':')[0]}", kind)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise InputError(f"params.yaml: `{key}` must be {kind.__name__} or a per-device mapping")
    return value


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
    options = ExtractOptions(
        methods=tuple(get(params, f"{p}.methods", list)),
        device=device,
        batch_size=_per_device(params, f"{p}.batch_size", device, int),
        channels_last=_per_device(params, f"{p}.channels_last", device, bool),
        smooth_rule=get(params, f"{p}.smooth_rule", str),
        sgbp_samples=get(params, f"{p}.sgbp.samples", int),
        sgbp_noise_frac=get(params, f"{p}.sgbp.noise_frac", float),
        sgbp_noise_rule=get(params, f"{p}.sgbp.noise_rule", str),
        score_cam_batch_size=_per_device(params, f"{p}.score_cam_batch_size", device, int),
        cameras_resolutions=tuple(get(params, f"{p}.cameras_resolutions", list)),
        seed=seed,
        extra={"normalisation": normalisation},
    )
    images = get(params, "data.images", list)
    pixels = read_images(images)
    torch.manual_seed(seed)
    ds = extract(loaded, pixels, images, options)
    # Provenance the methods page quotes: the weights' checksum, and how many targets (top-1
    # classes) the other normalisation choice would change for this network.
    other = "study" if normalisation == "weights" else "weights"
    alternative = load_model(model_id, weights_dir=weights_dir, device=device, normalisation=other, seed=seed,
                             target_layer=layers.get(model_id))
    ds.attrs["settings"] |= {
        "weights_sha256": sha256(check_weights(model_id, weights_dir)),
        f"top1_changed_by_{other}_normalisation": top1_changes(
            loaded, pixels, ds["top1"].values, alternative.mean, alternative.std, options.batch_size),
    }
    write_dataset(ds, attention_store(model_id))
    top = ", ".join(f"{i}: {lab} ({p:.2f})" for i, lab, p in zip(
        images[:5], ds["top1_label"].values, ds["top1_prob"].values, strict=False))  # fmt: skip
    print(f"{model_id}: {len(ds['method'])} methods x {len(images)} images; top-1 {top}, ...")


if __name__ == "__main__":
    run(main)
