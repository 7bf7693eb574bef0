"""Extraction in this process against a Dask LocalCluster, in one run: throughput, ratio, the
per-task overhead, and whether the stores agree.

    .venv/bin/python benchmarks/bench_executor.py                       # 200 synthetic images, AlexNet-R
    .venv/bin/python benchmarks/bench_executor.py --images 40 --workers 2 --methods GBP SGBP ScoreCAM

Synthetic images (seeded noise per image id) and a random-weight network need no data or weights
file. The contenders run one after another in the order given by --paths; `dask:T` is a
LocalCluster of --workers single-task worker processes whose tasks use T torch threads (`dask:0`:
the default, as many as this process, which gives the local run's bytes). The cluster starts
before the timing (its start-up is printed apart). The per-task overhead is the wall time of
--overhead-tasks empty tasks through the same cluster, divided by their number: what a task costs
beyond its work, for extrapolating to a cluster.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lib.attention.extract import METHODS, ExtractOptions  # noqa: E402
from lib.attention.extract_tasks import ModelSpec, StudyImages, extract_to_store  # noqa: E402
from lib.executor import LOCAL, Executor, run_tasks  # noqa: E402
from lib.params import load_params  # noqa: E402
from lib.store import read_dataset  # noqa: E402


@dataclass(frozen=True)
class SyntheticImages(StudyImages):
    """Smooth random images (224 px), the same pixels for an id wherever they are read."""

    size: int = 224

    def read(self, image_ids):
        out = np.empty((len(image_ids), self.size, self.size, 3), dtype=np.uint8)
        for n, image in enumerate(image_ids):
            rng = np.random.default_rng(zlib.crc32(str(image).encode()))
            coarse = rng.random((self.size // 16, self.size // 16, 3))
            out[n] = (np.kron(coarse, np.ones((16, 16, 1))) * 255).astype(np.uint8)
        return out


def _noop(x: int) -> int:
    return x


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="alexnet-R")
    ap.add_argument("--methods", nargs="+", default=["GBP", "GradCAM", "SGBP"], choices=METHODS)
    ap.add_argument("--images", type=int, default=200)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--sgbp-samples", type=int, default=10)
    ap.add_argument("--batch-size", type=int, default=8, help="guided-pass batch = images per task")
    ap.add_argument("--paths", nargs="+", default=["local", "dask:1", "dask:0"])
    ap.add_argument("--overhead-tasks", type=int, default=200)
    args = ap.parse_args()

    import distributed
    import torch

    params = load_params()
    spec = ModelSpec(model_id=args.model, weights_dir="weights", device="cpu",
                     normalisation=params["extract_attention"]["normalisation"], seed=0)
    options = ExtractOptions(methods=tuple(args.methods), batch_size=args.batch_size, sgbp_samples=args.sgbp_samples,
                             score_cam_batch_size=32, extra={"normalisation": spec.normalisation})
    ids = [f"syn{i:04d}" for i in range(args.images)]
    source = SyntheticImages()
    loaded = spec.load()
    print(f"{args.model}, {args.methods}, {args.images} synthetic images, tasks of {args.batch_size} images, "
          f"this process {torch.get_num_threads()} threads, {args.workers} workers")
    t0 = time.perf_counter()
    cluster = distributed.LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    print(f"cluster start-up: {time.perf_counter() - t0:.1f} s")
    tmp = Path(tempfile.mkdtemp(prefix="bench-executor-"))
    times, stores = {}, {}
    try:
        for path in args.paths:
            if path == "local":
                executor = LOCAL
            else:
                threads = int(path.split(":")[1])
                executor = Executor(kind="dask", address=cluster.scheduler_address, threads_per_task=threads or None)
            out = tmp / path.replace(":", "-") / "store.zarr"
            start = time.perf_counter()
            extract_to_store(spec, ids, options, out, executor, loaded if path == "local" else None, source)
            times[path] = time.perf_counter() - start
            stores[path] = out
        executor = Executor(kind="dask", address=cluster.scheduler_address)
        start = time.perf_counter()
        run_tasks(_noop, [(i,) for i in range(args.overhead_tasks)], [str(i) for i in range(args.overhead_tasks)],
                  executor, desc="empty tasks")
        overhead = (time.perf_counter() - start) / args.overhead_tasks
    finally:
        cluster.close()
    base = args.paths[0]
    reference = read_dataset(stores[base])["maps"].values
    print(f"\n| path | wall s | images/s | ratio to {base} | maps vs {base} |")
    print("|---|---|---|---|---|")
    for path in args.paths:
        maps = read_dataset(stores[path])["maps"].values
        same = _same_bytes(stores[path], stores[base])
        diff = float(np.abs(maps - reference).max() / np.abs(reference).max())
        agree = "identical bytes" if same else f"max rel. diff {diff:.1e}"
        print(f"| {path} | {times[path]:.1f} | {args.images / times[path]:.2f} | "
              f"{times[base] / times[path]:.2f}x | {agree} |")
    print(f"\nper-task overhead (empty tasks through the cluster): {overhead * 1000:.1f} ms")
    shutil.rmtree(tmp)


def _same_bytes(a: Path, b: Path) -> bool:
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    return files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file()) and all(
        (a / f).read_bytes() == (b / f).read_bytes() for f in files)


if __name__ == "__main__":
    main()
