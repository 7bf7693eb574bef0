"""Per-method extraction time for each network of the zoo, in one run; prints times, ratios and the
projection to the full image set.

    .venv/bin/python benchmarks/bench_extract.py                       # zoo archs, 3 images
    .venv/bin/python benchmarks/bench_extract.py --models effnetlite0-R --images 2 --methods ScoreCAM

Random weights (-R ids, nothing downloads): a method's cost depends on the architecture, the target
layer and the input size, not on the weights, so effnetlite1-R stands for effnetlite1-I. Images are
the study's first N (data.images); settings are params `extract_attention` as the stage reads them.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lib.attention.extract import ExtractOptions, extract  # noqa: E402
from lib.attention.models import load_model  # noqa: E402
from lib.images import read_images  # noqa: E402
from lib.params import get, load_params  # noqa: E402
from lib.paths import ROOT  # noqa: E402

ZOO = ["effnetlite0-R", "effnetlite1-R", "effnetlite2-R", "alexnet-R"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=ZOO)
    ap.add_argument("--images", type=int, default=3)
    ap.add_argument("--methods", nargs="+", default=None)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    params = load_params()
    p = "extract_attention"
    methods = tuple(args.methods or get(params, f"{p}.methods", list))
    n_all = len(get(params, "data.images", list))
    ids = get(params, "data.images", list)[: args.images]
    pixels = read_images(ids)
    print(f"{args.images} images, projected to {n_all}; {torch.get_num_threads()} threads")
    grand = 0.0
    for mid in args.models:
        lm = load_model(mid, weights_dir=ROOT / "weights", device="cpu",
                        normalisation=get(params, f"{p}.normalisation", str), seed=0)
        # Extraction's own CPU settings for this architecture (batch sizes are set per arch).
        opts = replace(ExtractOptions.from_params(params, "cpu", lm.arch), methods=methods)
        times = {}
        for m in opts.methods:
            if m in lm.excluded_methods:
                continue
            start = time.perf_counter()
            extract(lm, pixels, ids, replace(opts, methods=(m,)), progress=False)
            times[m] = time.perf_counter() - start
        total = sum(times.values())
        grand += total * n_all / len(ids)
        print(f"{mid}: total {total:.1f} s for {len(ids)} -> {total * n_all / len(ids) / 60:.1f} min "
              f"for {n_all}")
        for m, t in times.items():
            print(f"  {m:9s} {t:7.2f} s  {t / len(ids):6.2f} s/img  {t / total:5.1%}  "
                  f"-> {t * n_all / len(ids) / 60:5.2f} min")
    print(f"projected extraction, these models: {grand / 60:.1f} min")


if __name__ == "__main__":
    main()
