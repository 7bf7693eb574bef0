"""Extraction batch sizes against each other, interleaved in one run; prints each size's best time,
the ratio to the first size and how far the maps move.

    .venv/bin/python benchmarks/bench_batch_sizes.py                                  # the defaults below
    .venv/bin/python benchmarks/bench_batch_sizes.py --model alexnet-R --method SGBP --sizes 8 16 32
    .venv/bin/python benchmarks/bench_batch_sizes.py --model effnetlite2-I --sizes 8 4 --images 3

On CPU the best batch follows how much memory a network's activations take (docs/performance.md),
which is why `extract_attention.batch_size` and `score_cam_batch_size` may be set per architecture.
Settings other than the batch are params.yaml's for the network's architecture; the sizes run in
rotation within each round, so a neighbour's load on a shared machine falls on all of them alike.
SGBP and the GBP family take `batch_size`, Score-CAM `score_cam_batch_size`.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lib.attention.extract import METHODS, ExtractOptions, extract  # noqa: E402
from lib.attention.models import load_model  # noqa: E402
from lib.images import read_images  # noqa: E402
from lib.params import get, load_params  # noqa: E402
from lib.paths import ROOT  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="effnetlite0-I")
    ap.add_argument("--method", default="ScoreCAM", choices=METHODS)
    ap.add_argument("--sizes", type=int, nargs="+", default=[8, 4])
    ap.add_argument("--images", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    if any(s < 1 for s in args.sizes):
        ap.error("--sizes must be >= 1")
    params = load_params()
    ids = get(params, "data.images", list)[: args.images]
    pixels = read_images(ids)
    loaded = load_model(args.model, weights_dir=ROOT / get(params, "extract_attention.weights_dir", str),
                        normalisation=get(params, "extract_attention.normalisation", str))
    key = "score_cam_batch_size" if args.method == "ScoreCAM" else "batch_size"
    base = replace(ExtractOptions.from_params(params, "cpu", loaded.arch), methods=(args.method,))
    times: dict[int, list[float]] = {s: [] for s in args.sizes}
    maps: dict[int, np.ndarray] = {}
    for r in range(args.rounds):
        for s in args.sizes[r % len(args.sizes):] + args.sizes[: r % len(args.sizes)]:
            start = time.perf_counter()
            ds = extract(loaded, pixels, ids, replace(base, **{key: s}), progress=False)
            times[s].append(time.perf_counter() - start)
            maps[s] = ds["maps"].values
    first = args.sizes[0]
    print(f"{args.model} {args.method}, {len(ids)} images, {key} (params: {getattr(base, key)}), "
          f"best of {args.rounds} rounds")
    for s in args.sizes:
        moved = float(np.abs(maps[s] - maps[first]).max() / np.abs(maps[first]).max())
        print(f"  {s:4d}: {min(times[s]):7.2f} s  x{min(times[first]) / min(times[s]):5.2f} vs {first}  "
              f"max |d map| / max {moved:.1e}")


if __name__ == "__main__":
    main()
