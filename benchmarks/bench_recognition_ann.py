"""recognition_ann's forward paths in one run, each a forward mode at a batch size: by default the
stage's path before it was tuned (eager, the network as extraction runs it, batches of 125) against
the path params.yaml sets (recognition_ann.forward and batch_size), on the same masked images;
prints the time of each, the ratio to the first, and how many ranks differ from the first's.

    .venv/bin/python benchmarks/bench_recognition_ann.py                      # effnetlite0-I, 2 mask types
    .venv/bin/python benchmarks/bench_recognition_ann.py --mask-types 7 --model effnetlite2-I
    .venv/bin/python benchmarks/bench_recognition_ann.py --paths eager:125 folded:125 folded:8 compiled:8

Masks: the human maps' recognition_ann masks (native measures and the Human PC; run
`dvc repro human_pc` first), so no attention store is needed. Compile time is included in the
compiled path's time, as the stage pays it.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lib.attention.models import load_model, preprocess  # noqa: E402
from lib.human_pc import load_human_targets  # noqa: E402
from lib.images import read_images  # noqa: E402
from lib.params import get, load_params  # noqa: E402
from lib.paths import HUMAN_MAPS, HUMAN_PC, ROOT  # noqa: E402
from lib.recognition.ann import FORWARD_MODES, recognise  # noqa: E402
from lib.recognition.masks import ann_mask, area_resize, to_uint8  # noqa: E402
from lib.recognition.sources import human_mask_maps, native_human_maps  # noqa: E402
from lib.store import read_dataset  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="effnetlite0-I")
    ap.add_argument("--mask-types", type=int, default=2, help="how many of the 7 human mask types")
    ap.add_argument("--paths", nargs="+", type=_path, metavar="MODE:BATCH",
                    help=f"forward paths to time, MODE one of {list(FORWARD_MODES)} "
                         "(default: eager:125 and params.yaml's)")
    args = ap.parse_args()
    params = load_params()
    ids = get(params, "data.images", list)
    size = get(params, "recognition_ann.size", int)
    paths = args.paths or [("eager", 125), (get(params, "recognition_ann.forward", str),
                                            get(params, "recognition_ann.batch_size", int))]
    human = load_human_targets(HUMAN_MAPS, HUMAN_PC, get(params, "data.human_pc", str))
    sources = human_mask_maps(human, native_human_maps(read_dataset(HUMAN_MAPS), ids), ids)
    masks = {k: ann_mask(area_resize(v, size)) for k, v in list(sources.items())[: args.mask_types]}
    images = to_uint8(area_resize(read_images(ids), size, channels_last=True))
    loaded = load_model(args.model, weights_dir=ROOT / get(params, "extract_attention.weights_dir", str),
                        normalisation=get(params, "extract_attention.normalisation", str))
    n_pass = len(masks) * len(ids) ** 2
    print(f"{args.model}: {len(masks)} mask types x {len(ids)}^2 = {n_pass} masked images")
    tables, times = {}, {}
    for mode, batch in paths:
        start = time.perf_counter()
        tables[mode, batch] = recognise(loaded.model, lambda x: preprocess(x, loaded), images, masks,
                                        ids, batch, forward=mode)
        times[mode, batch] = time.perf_counter() - start
    ref = paths[0]
    for path in paths:
        differ = int((tables[path]["rank"].to_numpy() != tables[ref]["rank"].to_numpy()).sum())
        dq = float(np.abs(tables[path]["inverse_rank"] - tables[ref]["inverse_rank"]).max())
        label = f"{path[0]}:{path[1]}"
        print(f"  {label:13s} {times[path]:8.1f} s  {times[path] / n_pass * 1e3:6.1f} ms/image  "
              f"x{times[ref] / times[path]:5.2f} vs {ref[0]}:{ref[1]}  ranks differing: "
              f"{differ}/{n_pass} (max |d inverse rank| {dq:.2e})")


def _path(text: str) -> tuple[str, int]:
    mode, _, batch = text.partition(":")
    if mode not in FORWARD_MODES or not batch.isdigit() or int(batch) < 1:
        raise argparse.ArgumentTypeError(f"expected MODE:BATCH with MODE one of {list(FORWARD_MODES)} "
                                         f"and BATCH >= 1, got {text!r}")
    return mode, int(batch)


if __name__ == "__main__":
    main()
