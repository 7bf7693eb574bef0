"""SGBP: batched noisy copies (channels_last) against the study's one-image-one-sample loop.

Usage: .venv/bin/python benchmarks/bench_sgbp.py [--model effnetlite0-I] [--images 2]
       [--samples 30] [--batch-size 8]
Both runs draw the same noise (per-image seeds), so their maps must agree; the script prints the
time per noisy sample of each (fastest of --rounds alternating rounds) and the speed-up ratio.
Two images keep it under a minute on 2 cores.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lib.attention.gbp import sgbp  # noqa: E402
from lib.attention.models import load_model, preprocess  # noqa: E402
from lib.images import read_images  # noqa: E402
from lib.params import get, load_params  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="effnetlite0-I")
    ap.add_argument("--images", type=int, default=2)
    ap.add_argument("--samples", type=int, default=30)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()

    ids = get(load_params(), "data.images", list)[: args.images]
    loaded = load_model(args.model)
    model = loaded.model
    x = preprocess(read_images(ids), loaded)
    with torch.no_grad():
        targets = model(x).argmax(1)
    seeds = list(range(len(ids)))
    n = len(ids) * args.samples

    def loop() -> torch.Tensor:
        # The study's way: contiguous (NCHW) layout, one image and one noisy sample per pass.
        model.to(memory_format=torch.contiguous_format)
        return torch.cat([
            sgbp(model, x[i : i + 1], targets[i : i + 1], n_samples=args.samples, batch_size=1,
                 seed=seeds[i : i + 1])
            for i in range(len(ids))
        ])  # fmt: skip

    def batched() -> torch.Tensor:
        # Noisy copies of all images `batch_size` at a time, channels_last layout.
        model.to(memory_format=torch.channels_last)
        xc = x.contiguous(memory_format=torch.channels_last)
        return sgbp(model, xc, targets, n_samples=args.samples, batch_size=args.batch_size,
                    seed=seeds)  # fmt: skip

    # Rounds alternate the two, and the fastest round of each counts: on a machine shared with
    # other jobs this measures the code rather than the neighbours.
    t_loop = t_batch = math.inf
    for _ in range(args.rounds):
        start = time.perf_counter()
        loop_maps = loop()
        t_loop = min(t_loop, time.perf_counter() - start)
        start = time.perf_counter()
        batch_maps = batched()
        t_batch = min(t_batch, time.perf_counter() - start)
    diff = float((loop_maps - batch_maps).abs().max() / loop_maps.abs().max())
    print(f"{args.model}, {len(ids)} images x {args.samples} samples, {torch.get_num_threads()} "
          f"threads")  # fmt: skip
    print(f"one image, one sample per pass (NCHW): {1000 * t_loop / n:7.1f} ms/sample")
    print(f"batched {args.batch_size} (channels_last):        {1000 * t_batch / n:7.1f} ms/sample")
    print(f"speed-up: {t_loop / t_batch:.2f}x   (max relative map difference {diff:.1e})")


if __name__ == "__main__":
    main()
