"""The heavy stages' tasks on a Dask LocalCluster (two single-threaded worker processes): the same
bytes as in this process, a failing or dying task leaves no output and names its images, a rerun
computes only what is missing, an unreachable scheduler fails fast."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from lib.attention.extract import ExtractOptions
from lib.attention.extract_tasks import ModelSpec, extract_to_store, task_chunks
from lib.attention.models import LoadedModel
from lib.compare.fit import correlation_table, fit_smoothing
from lib.errors import InputError
from lib.executor import Executor
from lib.params import get, load_params
from lib.store import read_dataset, write_dataset

distributed = pytest.importorskip("distributed")

pytestmark = [pytest.mark.slow, pytest.mark.data]

IMAGES = get(load_params(), "data.images", list)[:5]
OPTIONS = ExtractOptions(sgbp_samples=3, batch_size=2, cameras_resolutions=(16, 24), score_cam_batch_size=5,
                         extra={"normalisation": "study"})


class TinySpec(ModelSpec):
    """A small convolutional network (input 16 px) standing in for a registry network: loads in
    milliseconds on every worker, same weights everywhere (seeded)."""

    def load(self) -> LoadedModel:
        torch.manual_seed(self.seed)
        model = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 6, 3, padding=1, stride=2), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, 4),
        ).eval()  # fmt: skip
        return LoadedModel(id=self.model_id, arch="tiny", weights="R", model=model, input_size=16,
                           mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25), class_names=["a", "b", "c", "d"],
                           target_layer="2")  # fmt: skip

    def other_statistics(self):
        return (0.45, 0.45, 0.45), (0.3, 0.3, 0.3)

    def weights_sha256(self) -> str:
        return "random weights: no file"


SPEC = TinySpec(model_id="tiny-R", weights_dir="weights", device="cpu", normalisation="study", seed=3)


class FailOn(distributed.WorkerPlugin):
    """Makes extraction (or a fit block) on the workers raise, or kill the worker, on one image."""

    name = "fail-on"

    def __init__(self, image: str, how: str = "raise") -> None:
        self.image, self.how = image, how

    def setup(self, worker) -> None:
        import lib.attention.extract_tasks as tasks

        real = tasks.extract
        image, how = self.image, self.how

        def faulty(loaded, pixels, ids, *args, **kwargs):
            if image in ids:
                if how == "exit":
                    os._exit(1)
                raise RuntimeError(f"injected failure on {image}")
            return real(loaded, pixels, ids, *args, **kwargs)

        tasks.extract = faulty


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as c:
        yield c


def _dask(cluster, **kw) -> Executor:
    return Executor(kind="dask", address=cluster.scheduler_address, **kw)


def _files(store: Path) -> dict[str, bytes]:
    return {p.relative_to(store).as_posix(): p.read_bytes() for p in sorted(store.rglob("*")) if p.is_file()}


def test_task_chunks_follow_the_guided_batch():
    assert task_chunks(5, Executor(), 2) == [slice(0, 2), slice(2, 4), slice(4, 5)]
    assert task_chunks(5, Executor(images_per_task=4), 2) == [slice(0, 4), slice(4, 5)]
    with pytest.raises(InputError, match="multiple of the network's extract_attention.batch_size 2"):
        task_chunks(5, Executor(images_per_task=3), 2)


def test_dask_extraction_writes_the_same_bytes_as_local(tmp_path, cluster):
    local, dask = tmp_path / "local" / "tiny-R.zarr", tmp_path / "dask" / "tiny-R.zarr"
    extract_to_store(SPEC, IMAGES, OPTIONS, local)
    top = extract_to_store(SPEC, IMAGES, OPTIONS, dask, _dask(cluster))
    assert _files(dask) == _files(local)
    assert [str(v) for v in top["top1_label"].values] == [str(v) for v in read_dataset(local)["top1_label"].values]
    # nothing beside the store: no scratch store, no markers
    assert sorted(p.name for p in dask.parent.iterdir()) == ["tiny-R.zarr"]
    # readers take only the images they ask for
    two = read_dataset(dask, images=IMAGES[3:1:-1])
    assert [str(i) for i in two["image"].values] == IMAGES[3:1:-1]
    np.testing.assert_array_equal(two["maps"].values, read_dataset(local)["maps"].values[:, [3, 2]])


def test_a_registry_network_gives_the_same_bytes_on_the_cluster(tmp_path, cluster):
    """A random-weight AlexNet at 224 px, every method (CAMERAS resamples the input to 256 px), two
    images in two tasks."""
    spec = ModelSpec(model_id="alexnet-R", weights_dir="weights", device="cpu", normalisation="weights", seed=0)
    options = ExtractOptions(sgbp_samples=4, batch_size=1, cameras_resolutions=(224, 256), score_cam_batch_size=32,
                             extra={"normalisation": "weights"})
    local, dask = tmp_path / "local" / "a.zarr", tmp_path / "dask" / "a.zarr"
    extract_to_store(spec, IMAGES[:2], options, local)
    extract_to_store(spec, IMAGES[:2], options, dask, _dask(cluster))
    assert _files(dask) == _files(local)


def test_reference_maps_on_the_cluster_give_the_same_bytes(tmp_path, cluster):
    from lib.attention.baselines import baseline_store
    from lib.images import STUDY_IMAGE_SIZE

    options = {"bms": {"max_dim": 128}}
    baseline_store(IMAGES[:3], 32, options, STUDY_IMAGE_SIZE, tmp_path / "local.zarr")
    baseline_store(IMAGES[:3], 32, options, STUDY_IMAGE_SIZE, tmp_path / "dask.zarr", _dask(cluster, images_per_task=2))
    assert _files(tmp_path / "dask.zarr") == _files(tmp_path / "local.zarr")


def test_a_failed_task_leaves_no_store_and_a_rerun_computes_only_what_is_missing(tmp_path, cluster):
    out = tmp_path / "tiny-R.zarr"
    with distributed.Client(cluster.scheduler_address) as client:
        client.register_plugin(FailOn(IMAGES[4]))
        try:
            with pytest.raises(InputError, match=rf"tiny-R extract: task {IMAGES[4]}\.\.{IMAGES[4]} did not complete "
                                                 r"\(it failed 2 times: RuntimeError: injected failure"):
                extract_to_store(SPEC, IMAGES, OPTIONS, out, _dask(cluster, retries=1))
        finally:
            client.unregister_worker_plugin("fail-on")
            client.restart()  # workers without the patched extract
    assert not out.exists()
    scratch = out.with_name(out.name + ".partial-tasks")
    written = scratch / "maps" / "c" / "0" / "0" / "0" / "0"  # image 0, from the first task
    stamp = written.stat().st_mtime_ns
    extract_to_store(SPEC, IMAGES, OPTIONS, out, _dask(cluster))
    assert (out / "maps" / "c" / "0" / "0" / "0" / "0").stat().st_mtime_ns == stamp  # not recomputed
    assert not scratch.exists()
    local = tmp_path / "local" / "tiny-R.zarr"
    extract_to_store(SPEC, IMAGES, OPTIONS, local)
    assert _files(out) == _files(local)


def test_a_worker_that_dies_is_replaced_then_the_task_is_named(tmp_path):
    import dask

    out = tmp_path / "tiny-R.zarr"
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}), distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with distributed.Client(cluster.scheduler_address) as client:
            client.register_plugin(FailOn(IMAGES[2], how="exit"))
            with pytest.raises(InputError, match=rf"task {IMAGES[2]}\.\.{IMAGES[3]} did not complete \(its worker "
                                                 "died each time"):
                extract_to_store(SPEC, IMAGES, OPTIONS, out, _dask(cluster, retries=0))
    assert not out.exists()


def test_an_unreachable_scheduler_fails_within_seconds_before_any_work(tmp_path):
    out = tmp_path / "tiny-R.zarr"
    start = time.monotonic()
    with pytest.raises(InputError, match=r"executor.dask.address tcp://127.0.0.1:9: no Dask scheduler answered "
                                         r"within 2 s"):
        extract_to_store(SPEC, IMAGES, OPTIONS, out,
                         Executor(kind="dask", address="tcp://127.0.0.1:9", connect_timeout_s=2))
    assert time.monotonic() - start < 10
    assert list(tmp_path.iterdir()) == []


def test_a_cluster_spec_starts_and_stops_its_own_cluster(tmp_path):
    out, local = tmp_path / "d" / "tiny-R.zarr", tmp_path / "l" / "tiny-R.zarr"
    extract_to_store(SPEC, IMAGES[:3], OPTIONS, out, Executor(kind="dask", cluster={"kind": "local", "jobs": 2}))
    extract_to_store(SPEC, IMAGES[:3], OPTIONS, local)
    assert _files(out) == _files(local)


def test_fit_smoothing_on_the_cluster_gives_the_same_bytes(tmp_path, cluster, rng):
    import xarray as xr

    n_types, n_images, grid = 45, 25, 16  # 20 map types per block at 25 images: 3 tasks
    names = [f"net{t}-GBP-I" for t in range(n_types)]
    maps = xr.DataArray(rng.random((n_types, n_images, grid, grid)), dims=("map_type", "image", "y", "x"),
                        coords={"map_type": names, "image": [f"img{i}" for i in range(n_images)]})
    targets = xr.DataArray(rng.random((2, n_images, grid, grid)), dims=("human_map", "image", "y", "x"),
                           coords={"human_map": ["pc", "patch"], "image": [f"img{i}" for i in range(n_images)]})
    sigmas = np.arange(0, 6, 2.0)
    local = fit_smoothing(maps, targets, sigmas)
    dask = fit_smoothing(maps, targets, sigmas, _dask(cluster))
    for ds in (local, dask):
        ds.attrs.pop("excluded")
    write_dataset(local, tmp_path / "local.zarr")
    write_dataset(dask, tmp_path / "dask.zarr")
    assert _files(tmp_path / "dask.zarr") == _files(tmp_path / "local.zarr")


class FailSmallBlocks(distributed.WorkerPlugin):
    """Makes the workers' blur fail on blocks of fewer than 20 map types (the last block)."""

    name = "fail-small-blocks"

    def setup(self, worker) -> None:
        import lib.compare.fit as fit

        real = fit.blur_maps

        def faulty(block, sigma):
            if len(block) < 20:
                raise MemoryError("injected failure")
            return real(block, sigma)

        fit.blur_maps = faulty


def test_a_failed_fit_block_is_named(rng):
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as c:
        with distributed.Client(c.scheduler_address) as client:
            client.register_plugin(FailSmallBlocks())
            with pytest.raises(InputError, match=r"fit_smoothing: task map types t40\.\.t44 did not complete "
                                                 r"\(it failed 1 times: MemoryError"):
                correlation_table(rng.random((45, 25, 8, 8)), rng.random((1, 25, 8, 8)), np.array([0.0, 1.0]),
                                  _dask(c, retries=0), [f"t{i}" for i in range(45)], desc="fit_smoothing")


def test_the_randomisation_cascade_on_the_cluster_gives_the_same_result(cluster):
    import xarray as xr

    from lib.attention.extract import extract
    from lib.attention.randomisation import cascade

    loaded = SPEC.load()
    images = np.random.default_rng(2).integers(0, 256, size=(4, 16, 16, 3), dtype=np.uint8)
    ids = ["a", "b", "c", "d"]
    options = ExtractOptions(methods=("GBP", "GradCAM"), batch_size=4, extra={"normalisation": "study"})
    trained = extract(loaded, images, ids, options, progress=False)
    human = xr.DataArray(np.random.default_rng(3).random((2, 4, 8, 8)), dims=("human_map", "image", "y", "x"),
                         coords={"human_map": ["patch", "pc"], "image": ids})
    sigmas = {t: {"patch": 1.0, "pc": 2.0} for t in trained["map_type"].values}
    blocks = [("6",), ("2",), ("0",)]  # the linear head, then the convolutions from the top

    def run(executor):
        return cascade(loaded, trained, images, ids, human, sigmas, ["GBP", "GradCAM"], options, steps=3, seed=0,
                       grid=8, sample_images=2, blocks=blocks, executor=executor, spec=SPEC)

    local, dask = run(Executor()), run(_dask(cluster))
    assert dask.sizes["step"] == 4
    assert float(local["spearman"].isel(step=-1).mean()) < 0.99  # the steps did randomise the network
    xr.testing.assert_identical(dask, local)
    for name in local.data_vars:
        assert local[name].values.tobytes() == dask[name].values.tobytes(), name


def test_a_slurm_spec_gives_one_single_task_gpu_worker_per_job():
    from lib.executor import jobqueue_cluster

    cluster = jobqueue_cluster({"kind": "slurm", "jobs": 4, "cores": 8, "memory": "32GiB", "gpus": 1, "queue": "gpu",
                                "walltime": "02:00:00", "account": None, "job_extra_directives": ["--gres=gpu:1"],
                                "job_script_prologue": ["cd /path/to/repo"]})
    try:
        script = cluster.job_script()
    finally:
        cluster.close()
    for line in ("#SBATCH -p gpu", "#SBATCH --cpus-per-task=8", "#SBATCH -t 02:00:00", "#SBATCH --gres=gpu:1",
                 "cd /path/to/repo"):
        assert line in script, line
    worker = next(line for line in script.splitlines() if "distributed.cli.dask_worker" in line)
    # jobqueue's own --nthreads 8 comes first; the later --nthreads 1 is the one the worker takes
    assert worker.index("--nthreads 8") < worker.index("--nthreads 1")
    assert "--resources GPU=1" in worker and "--nworkers" not in worker
    assert Executor(kind="dask", cluster={"kind": "slurm", "cores": 8}).threads == 8
