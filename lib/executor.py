"""Where the heavy stages' tasks run: in this process (`executor.kind: local`, the default) or on a
Dask cluster (`dask`): a running scheduler (`executor.dask.address`), a `dask-jobqueue` cluster
on a lab's batch scheduler (SLURM, PBS, LSF, SGE, HTCondor) or a LocalCluster
(`executor.dask.cluster`).

A stage splits its work into tasks that are pure functions of their arguments (the images of one
chunk, a block of map types), so where a task runs cannot change what it returns: seeds come from
image ids, and a task batches its inputs exactly as the in-process path does. `run_tasks` submits
them with Dask's own retries, shows one progress bar, and fails naming the task that failed.
`store_by_tasks` has tasks write disjoint image regions of one Zarr store (`ResumableStore`), so
that a rerun after a failure computes only the regions still missing.

Dask does the scheduling (the project's labelled arrays are xarray/Zarr, whose parallel engine it
is); nothing here schedules.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from lib.atomic import remove_path, writing
from lib.errors import InputError

KINDS = ("local", "dask")
# dask-jobqueue's cluster classes by the `executor.dask.cluster.kind` that names them.
JOBQUEUE_CLUSTERS = {
    "slurm": "SLURMCluster",
    "pbs": "PBSCluster",
    "lsf": "LSFCluster",
    "sge": "SGECluster",
    "htcondor": "HTCondorCluster",
}


@dataclass(frozen=True)
class Executor:
    """params `executor` (lib.params_schema.Executor documents each key)."""

    kind: str = "local"
    images_per_task: int | None = None  # None: the network's guided-pass batch size
    address: str | None = None
    cluster: dict[str, Any] = field(default_factory=dict)
    retries: int = 2
    connect_timeout_s: float = 10.0
    threads_per_task: int | None = None  # None: the cores this process may use (a local run's count)

    @classmethod
    def from_params(cls, params: dict) -> Executor:
        section = params.get("executor") or {}
        dask = section.get("dask") or {}
        kind = section.get("kind", "local")
        if kind not in KINDS:
            raise InputError(f"params.yaml: executor.kind must be one of {list(KINDS)}, got {kind!r}")
        return cls(
            kind=kind,
            images_per_task=section.get("images_per_task"),
            address=dask.get("address"),
            cluster=dict(dask.get("cluster") or {}),
            retries=int(dask.get("retries", 2)),
            connect_timeout_s=float(dask.get("connect_timeout_s", 10.0)),
            threads_per_task=section.get("threads_per_task"),
        )

    @property
    def distributed(self) -> bool:
        return self.kind == "dask"

    @property
    def gpus_per_task(self) -> int:
        return int(self.cluster.get("gpus", 0))

    @property
    def threads(self) -> int:
        """Threads each task's torch and BLAS use. By default as many as a local run of this
        process uses: EfficientNet's kernels (and torch's bilinear resize) round differently with
        another thread count, so only equal counts give byte-identical maps."""
        if self.threads_per_task:
            return self.threads_per_task
        if self.cluster.get("kind") not in (None, "local"):
            return int(self.cluster.get("cores", 1))
        return len(os.sched_getaffinity(0))


LOCAL = Executor()  # the default: every task in this process


@contextlib.contextmanager
def dask_client(executor: Executor) -> Iterator[Any]:
    """A connected `distributed.Client` for `executor`; an unreachable scheduler is an InputError
    within `connect_timeout_s`, before any work is submitted. A cluster started here is closed
    on exit."""
    from distributed import Client

    if executor.address and executor.cluster:
        raise InputError("params.yaml: executor.dask: give `address` or `cluster`, not both")
    if executor.address:
        try:
            client = Client(executor.address, timeout=f"{executor.connect_timeout_s}s")
        except (OSError, TimeoutError) as err:
            raise InputError(
                f"params.yaml: executor.dask.address {executor.address}: no Dask scheduler answered within "
                f"{executor.connect_timeout_s:g} s ({type(err).__name__}); start one (`dask scheduler`) or "
                "use executor.kind: local"
            ) from err
        with client:
            yield client
        return
    if not executor.cluster:
        raise InputError("params.yaml: executor.kind is dask but executor.dask has neither `address` nor `cluster`")
    cluster = make_cluster(executor.cluster)
    with cluster, Client(cluster, timeout=f"{executor.connect_timeout_s}s") as client:
        yield client


def make_cluster(spec: dict[str, Any]) -> Any:
    """A Dask cluster from `executor.dask.cluster`: `kind: local` (LocalCluster of `jobs`
    single-threaded worker processes) or a dask-jobqueue kind, whose `jobs` batch jobs each run
    one worker with `cores` cores, `memory` and `gpus` GPUs (advertised as the Dask resource GPU,
    which GPU tasks request)."""
    jobs = int(spec.get("jobs", 1))
    if spec.get("kind") == "local":
        from distributed import LocalCluster

        gpus = int(spec.get("gpus", 0))
        return LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True, dashboard_address=None,
                            resources={"GPU": gpus} if gpus else None)
    cluster = jobqueue_cluster(spec)
    cluster.scale(jobs=jobs)
    return cluster


def jobqueue_cluster(spec: dict[str, Any]) -> Any:
    """The dask-jobqueue cluster of `executor.dask.cluster` (without `jobs`), no job submitted yet
    (`.job_script()` shows what each job will run)."""
    spec = dict(spec)
    kind = spec.pop("kind", None)
    gpus = int(spec.pop("gpus", 0))
    spec.pop("jobs", None)
    if kind not in JOBQUEUE_CLUSTERS:
        raise InputError(f"params.yaml: executor.dask.cluster.kind must be `local` or one of "
                         f"{sorted(JOBQUEUE_CLUSTERS)}, got {kind!r}")
    import dask_jobqueue

    cls = getattr(dask_jobqueue, JOBQUEUE_CLUSTERS[kind])
    # One worker process per job running one task at a time (`--nthreads 1`, after jobqueue's own
    # --nthreads, wins): a task is one network's maps of a few images, and uses the job's cores
    # through torch (executor.threads_per_task, by default the job's `cores`).
    extra = [*spec.pop("worker_extra_args", []), "--nthreads", "1"]
    if gpus:
        extra += ["--resources", f"GPU={gpus}"]
    spec = {k: v for k, v in spec.items() if v not in (None, [])}
    return cls(processes=1, worker_extra_args=extra, **spec)


def run_tasks(
    fn: Callable[..., Any],
    tasks: Sequence[tuple],
    names: Sequence[str],
    executor: Executor,
    desc: str,
    gpu: bool = False,
    client: Any = None,
    shared: tuple = (),
) -> list[Any]:
    """`[fn(*shared, *task) for task in tasks]`, in order, run where `executor` says (on `client`,
    a connected Dask client, when given; else one is connected for these tasks). `shared`: the
    arguments every task takes first (under Dask sent to each worker once). Under Dask each
    task is retried `executor.retries` times, a task whose worker died is rerun on another as
    Dask's `allowed-failures` permits; a task that still fails raises InputError naming it
    (`names[i]`) once the others have finished."""
    if not executor.distributed:
        return [fn(*shared, *task) for task in tqdm(tasks, desc=desc, unit="task", disable=len(tasks) < 2)]
    if client is None:
        with dask_client(executor) as client:
            return run_tasks(fn, tasks, names, executor, desc, gpu, client, shared)
    from distributed import as_completed

    resources = {"GPU": 1} if gpu else None
    shared = tuple(client.scatter(list(shared), broadcast=True)) if shared else ()
    futures = [
        client.submit(_with_threads, executor.threads, fn, *shared, *_scatter_large(client, task),
                      key=f"{desc}-{i}-{_digest(names[i])}", retries=executor.retries, resources=resources, pure=False)
        for i, task in enumerate(tasks)
    ]
    index = {f.key: i for i, f in enumerate(futures)}
    results: list[Any] = [None] * len(tasks)
    failed: list[tuple[int, BaseException]] = []
    with tqdm(total=len(tasks), desc=f"{desc} (dask)", unit="task") as bar:
        for future in as_completed(futures):
            i = index[future.key]
            if future.status == "error":
                failed.append((i, future.exception()))
            else:
                results[i] = future.result()
            bar.update()
    if failed:
        from distributed import KilledWorker

        i, err = min(failed, key=lambda f: f[0])
        how = ("its worker died each time it ran it" if isinstance(err, KilledWorker)
               else f"it failed {executor.retries + 1} times: {type(err).__name__}: {err}")
        raise InputError(f"{desc}: task {names[i]} did not complete ({how})") from err
    return results


def _scatter_large(client: Any, task: tuple, limit: int = 1 << 20) -> list:
    """A task's arguments, arrays over `limit` bytes sent to the workers ahead (Dask warns about,
    and is slowed by, large data embedded in the task graph)."""
    return [client.scatter(a) if getattr(a, "nbytes", 0) > limit else a for a in task]


def _with_threads(threads: int, fn: Callable[..., Any], *args: Any) -> Any:
    """fn(*args) with torch's and the BLAS libraries' thread pools at `threads` (a worker runs one
    task at a time, so setting its process-wide pools is safe)."""
    from threadpoolctl import threadpool_limits

    torch = sys.modules.get("torch")
    before = torch.get_num_threads() if torch else None
    if torch:
        torch.set_num_threads(threads)
    try:
        with threadpool_limits(limits=threads):
            return fn(*args)
    finally:
        if torch:
            torch.set_num_threads(before)


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:8]


class ResumableStore:
    """A Zarr store filled region by region by tasks, kept across failed runs so that a rerun
    computes only the regions still missing.

    It lives beside the stage output it becomes (`<output>.partial-tasks`, ignored by git and DVC),
    with a folder of done markers (`<output>.partial-tasks-done`) naming the fingerprint of the
    work (a rerun with other params or code starts afresh) and each finished region. `claim`
    moves the completed store to where the stage's transaction commits it (lib.atomic), so the
    output appears only when every task has succeeded."""

    def __init__(self, output: Path, fingerprint: dict) -> None:
        self.output = Path(output)
        self.path = self.output.with_name(f"{self.output.name}.partial-tasks")
        self.done = self.output.with_name(f"{self.output.name}.partial-tasks-done")
        self.fingerprint = hashlib.sha256(json.dumps(fingerprint, sort_keys=True, default=str).encode()).hexdigest()

    def open(self, create: Callable[[Path], None]) -> None:
        """Reuse the store of an interrupted run of the same work, or lay out a new one."""
        stamp = self.done / "fingerprint"
        if self.path.exists() and stamp.exists() and stamp.read_text() == self.fingerprint:
            return
        self.discard()
        self.done.mkdir(parents=True)
        create(self.path)
        stamp.write_text(self.fingerprint)

    def finished(self, region: str) -> bool:
        return (self.done / region).exists()

    def mark(self, region: str, result: Any) -> None:
        """Record `region` as written, with the task's small JSON-able result."""
        tmp = self.done / f"{region}.tmp"
        tmp.write_text(json.dumps(result))
        tmp.replace(self.done / region)

    def result(self, region: str) -> Any:
        return json.loads((self.done / region).read_text())

    def claim(self, destination: Path) -> None:
        """Move the completed store to `destination` and forget the markers."""
        remove_path(destination)
        self.path.rename(destination)
        remove_path(self.done)

    def discard(self) -> None:
        for p in (self.path, self.done):
            remove_path(p)


def store_by_tasks(
    output: Path,
    template: Callable[[], Any],
    compute: Callable[[list[str]], tuple[Any, Any]],
    image_ids: Sequence[str],
    chunks: Sequence[slice],
    executor: Executor,
    desc: str,
    fingerprint: dict,
    finish: Callable[[dict, list[Any]], dict],
    gpu: bool = False,
) -> Path:
    """Write the stage output `output`, a store of `image_ids` laid out by `template()` (a Dataset
    whose data may be lazy), as one task per image range of `chunks`: `compute(ids)` returns the
    Dataset of those images and a small JSON-able extra; the task writes the Dataset's region
    itself. Once every task has succeeded, `finish(attrs, extras)` gives the store's attributes
    from the tasks' common attributes and their extras, and the store is handed to the stage's
    transaction (lib.atomic). Returns the store's path until the stage commits."""
    from lib.store import create_store, finish_store

    ids = [str(i) for i in image_ids]
    regions = [f"images-{c.start}-{c.stop}" for c in chunks]
    store = ResumableStore(output, {**fingerprint, "ids": ids, "regions": regions})
    with dask_client(executor) as client:  # connected (or refused) before any work
        store.open(lambda path: create_store(template(), path))
        todo = [(c, r) for c, r in zip(chunks, regions, strict=True) if not store.finished(r)]
        run_tasks(_region_task, [(compute, ids[c], c.start, store, r) for c, r in todo],
                  [f"{ids[c.start]}..{ids[c.stop - 1]}" for c, _ in todo], executor, desc=desc, gpu=gpu,
                  client=client)
    results = [store.result(r) for r in regions]
    attrs = results[0]["attrs"]
    if any(r["attrs"] != attrs for r in results[1:]):
        raise InputError(f"{desc}: tasks recorded different settings (workers running other code or params?); "
                         "rerun with executor.kind: local")
    finish_store(store.path, finish(attrs, [r["extra"] for r in results]))
    with writing(output) as destination:
        store.claim(destination)
    return destination if destination.exists() else output  # moved already outside a stage


def _region_task(compute: Callable[[list[str]], tuple[Any, Any]], ids: list[str], start: int,
                 store: ResumableStore, region: str) -> None:
    from lib.store import write_region

    ds, extra = compute(ids)
    write_region(ds, store.path, start)
    store.mark(region, {"attrs": dict(ds.attrs), "extra": extra})
