"""extract_attention's work for one network, written to its store: in this process, or as tasks
of a few images each on a Dask cluster (lib.executor) that write disjoint regions of the store.

Both paths give the same bytes on CPU. A task's images are a multiple of the guided passes' batch
size (by default exactly one batch), so every forward and backward pass sees the same inputs as in
the one-process run; SGBP's noise is seeded by image id (lib.attention.extract); each method's
other passes (Score-CAM, CAMERAS, SGBP) take one image at a time in both paths.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import xarray as xr

from lib.attention.extract import ExtractOptions, extract, extracted_methods
from lib.attention.models import LoadedModel, check_weights, input_statistics, load_model
from lib.attention.provenance import sha256, top1_changes
from lib.errors import InputError
from lib.executor import LOCAL, Executor, store_by_tasks
from lib.images import read_images
from lib.store import write_dataset


@dataclass(frozen=True)
class ModelSpec:
    """How to load one network (the arguments of lib.attention.models.load_model): small and
    picklable, so a task carries it to a worker, which loads the network once (`worker_model`)."""

    model_id: str
    weights_dir: str
    device: str
    normalisation: str
    seed: int
    target_layer: str | None = None

    def load(self) -> LoadedModel:
        return load_model(self.model_id, weights_dir=Path(self.weights_dir), device=self.device,
                          normalisation=self.normalisation, seed=self.seed, target_layer=self.target_layer)

    @property
    def other_normalisation(self) -> str:
        return "study" if self.normalisation == "weights" else "weights"

    def other_statistics(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """(mean, std) the other normalisation choice would feed the network."""
        return input_statistics(self.model_id, self.other_normalisation)

    def weights_sha256(self) -> str:
        return sha256(check_weights(self.model_id, Path(self.weights_dir)))


def task_device(name: str, executor: Executor) -> str:
    """The torch device the tasks run on, for params `extract_attention.device` `name`. In this
    process: `auto` is CUDA when present. On a Dask cluster the workers decide, not this machine
    (a login node may have no GPU): `auto` is CUDA when the cluster spec asks for GPUs, and an
    explicit `cuda` is taken as given (a worker without CUDA fails its task)."""
    from lib.attention.extract import resolve_device

    if not executor.distributed:
        return resolve_device(name)
    if name == "auto":
        return "cuda" if executor.gpus_per_task else resolve_device(name)
    return name


def local_copy(spec: ModelSpec) -> LoadedModel:
    """The network of `spec` loaded here on the CPU: what this process needs to lay out a store
    whose tasks run elsewhere (methods, input size, classes), and the weights found before any
    task is submitted."""
    return dataclasses.replace(spec, device="cpu").load()


@dataclass(frozen=True)
class StudyImages:
    """Where a task reads its images' pixels: the study images by id (lib.images.read_images; on a
    cluster, a file system the workers share). A benchmark or another image set passes its own
    object with the same `read`."""

    def read(self, image_ids: Sequence[str]) -> np.ndarray:
        return read_images(image_ids)


@functools.lru_cache(maxsize=2)
def worker_model(spec: ModelSpec) -> LoadedModel:
    """The network of `spec`, loaded once per (worker) process."""
    return spec.load()


def _provenance(spec: ModelSpec, changed: int) -> dict:
    # Provenance the methods page quotes: the weights' checksum, and how many targets (top-1
    # classes) the other normalisation choice would change for this network.
    return {"weights_sha256": spec.weights_sha256(),
            f"top1_changed_by_{spec.other_normalisation}_normalisation": changed}


def _changed_top1(loaded: LoadedModel, spec: ModelSpec, pixels: np.ndarray, top1: np.ndarray,
                  batch_size: int) -> int:
    mean, std = spec.other_statistics()
    return top1_changes(loaded, pixels, top1, mean, std, batch_size)


def extract_to_store(
    spec: ModelSpec,
    image_ids: Sequence[str],
    options: ExtractOptions,
    output: Path,
    executor: Executor = LOCAL,
    loaded: LoadedModel | None = None,
    source: StudyImages = StudyImages(),
) -> xr.Dataset:
    """Extract every method's maps of `image_ids` for the network `spec` and write its store at
    `output` (committed with the stage's other outputs, lib.atomic). Returns the per-image top-1
    variables (top1, top1_prob, top1_label). `loaded`: the network already loaded (local path);
    `source`: where the pixels come from."""
    ids = [str(i) for i in image_ids]
    if not executor.distributed:
        loaded = loaded or spec.load()
        pixels = source.read(ids)
        torch.manual_seed(spec.seed)
        ds = extract(loaded, pixels, ids, options)
        changed = _changed_top1(loaded, spec, pixels, ds["top1"].values, options.batch_size)
        ds.attrs["settings"] |= _provenance(spec, changed)
        write_dataset(ds, output)
        return ds[["top1", "top1_prob", "top1_label"]]
    return _extract_with_dask(spec, ids, options, Path(output), executor, loaded or spec.load(), source)


def task_chunks(n_images: int, executor: Executor, batch_size: int) -> list[slice]:
    """Image ranges of the tasks: `executor.images_per_task` images (default: one guided-pass batch).
    A size that is not a multiple of the batch size would batch the guided passes differently
    from the one-process run (maps equal to ~1e-7, not to the byte): refused."""
    size = executor.images_per_task or batch_size
    if size % batch_size and size < n_images:
        raise InputError(f"params.yaml: executor.images_per_task {size} must be a multiple of the network's "
                         f"extract_attention.batch_size {batch_size} (or null)")
    return [slice(i, min(i + size, n_images)) for i in range(0, n_images, size)]


def _template(loaded: LoadedModel, ids: list[str], options: ExtractOptions) -> xr.Dataset:
    import dask.array as da

    methods = extracted_methods(loaded, options)
    n, size = len(ids), loaded.input_size
    return xr.Dataset(
        {
            "maps": (("method", "image", "y", "x"),
                     da.zeros((len(methods), n, size, size), dtype=np.float32, chunks=(len(methods), 1, size, size))),
            "top1": ("image", da.zeros(n, dtype=np.int64, chunks=1)),
            "top1_prob": ("image", da.zeros(n, dtype=np.float64, chunks=1)),
            # Strings cannot be lazy (xarray would compute them to find their type): empty labels,
            # which Zarr does not even write (the fill value), replaced by every task's own.
            "top1_label": ("image", np.full(n, "", dtype=object)),
        },
        coords={
            "method": methods,
            "image": np.array(ids, dtype=object),
            "map_type": ("method", [f"{loaded.arch}-{m}-{loaded.weights}" for m in methods]),
        },
    )


def _extract_images(spec: ModelSpec, options: ExtractOptions, source: StudyImages,
                    ids: list[str]) -> tuple[xr.Dataset, int]:
    """One task: the maps of images `ids`, and how many of their top-1 classes the other
    normalisation would change."""
    loaded = worker_model(spec)
    pixels = source.read(ids)
    torch.manual_seed(spec.seed)
    ds = extract(loaded, pixels, ids, options, progress=False)
    return ds, _changed_top1(loaded, spec, pixels, ds["top1"].values, options.batch_size)


def _extract_with_dask(spec: ModelSpec, ids: list[str], options: ExtractOptions, output: Path,
                       executor: Executor, loaded: LoadedModel, source: StudyImages) -> xr.Dataset:
    from lib.store import open_store

    def finish(attrs: dict, changed: list[int]) -> dict:
        attrs["settings"] |= _provenance(spec, sum(changed))
        return attrs

    path = store_by_tasks(
        output, lambda: _template(loaded, ids, options), functools.partial(_extract_images, spec, options, source), ids,
        task_chunks(len(ids), executor, options.batch_size), executor, desc=f"{spec.model_id} extract",
        fingerprint={"spec": dataclasses.asdict(spec), "options": dataclasses.asdict(options), "source": repr(source)},
        finish=finish,
        gpu=options.device.startswith("cuda"),
    )
    # Only the top-1 variables are read back: the maps stay on disk for the stages that need them.
    with open_store(path) as ds:
        return ds[["top1", "top1_prob", "top1_label"]].load()
