"""Stage randomisation: cascading weight randomisation of every trained network in the zoo, tied
to alignment with the human maps (lib.attention.randomisation).

Writes data/randomisation/cascade.zarr (network, method, step, ...) and metrics/randomisation.json
{network: {method: {similarity_full, gap_kept, passes, ...}}}.
"""

import json

import torch
import xarray as xr
from tqdm import tqdm

from lib import paths
from lib.atomic import write_json
from lib.attention.extract import ExtractOptions
from lib.attention.extract_tasks import ModelSpec, local_copy, task_device
from lib.attention.randomisation import cascade, headline
from lib.errors import InputError
from lib.executor import Executor
from lib.human_pc import load_human_targets
from lib.images import read_images
from lib.map_types import models_of_role
from lib.params import get, load_params
from lib.recognition.sources import load_fit
from lib.store import read_dataset, write_dataset
from stages._run import run


def main() -> None:
    params = load_params()
    p = "randomisation"
    networks = models_of_role(get(params, "extract_attention.models", list), "model")
    methods = get(params, f"{p}.methods", list)
    extracted = get(params, "extract_attention.methods", list)
    absent = [m for m in methods if m not in extracted]
    if absent:
        raise InputError(f"params.yaml: randomisation.methods lists {absent}, not in extract_attention.methods "
                         f"{extracted}")
    pc_id = get(params, "data.human_pc", str)
    seed = get(params, "data.seed", int)
    executor = Executor.from_params(params)
    device = task_device(get(params, "extract_attention.device", str), executor)
    targets = load_human_targets(paths.HUMAN_MAPS, paths.HUMAN_PC, pc_id=pc_id)
    ids = get(params, "data.images", list)
    images = read_images(ids)
    fit = load_fit(paths.FIT_SMOOTHING)
    sigmas = {t: {h: v["sigma"] for h, v in cells.items()} for t, cells in fit.items()}
    results, metrics = {}, {}
    weights_dir = paths.ROOT / get(params, "extract_attention.weights_dir", str)
    for network in tqdm(networks, desc="cascading randomisation", unit="network"):
        spec = ModelSpec(model_id=network, weights_dir=str(weights_dir), device=device, seed=seed,
                         normalisation=get(params, "extract_attention.normalisation", str))
        loaded = local_copy(spec) if executor.distributed else spec.load()
        options = ExtractOptions.from_params(params, device, loaded.arch)
        torch.manual_seed(seed)
        ds = cascade(loaded, read_dataset(paths.attention_store(network)), images, ids, targets, sigmas,
                     methods, options, get(params, f"{p}.steps", int), seed, get(params, "data.grid", int),
                     get(params, f"{p}.sample_images", int), executor=executor, spec=spec)
        results[network] = ds
        metrics[network] = headline(ds, pc_id, get(params, f"{p}.pass_below", float))
    out = paths.CASCADE
    if results:
        # Networks differ in their number of blocks: steps are labelled by position (0 = trained).
        aligned = [ds.assign_coords(step=range(ds.sizes["step"])).expand_dims(network=[n])
                   for n, ds in results.items()]
        write_dataset(xr.concat(aligned, dim="network", coords="different", compat="equals",
                                combine_attrs="drop"), out)
    else:
        metrics = {"status": "no trained network in extract_attention.models: nothing to randomise"}
        write_dataset(xr.Dataset(attrs=metrics), out)
    write_json(paths.RANDOMISATION_METRICS, metrics)
    print(json.dumps(metrics))


if __name__ == "__main__":
    run(main)
