"""Score-CAM batched against one masked input at a time, in one run; prints the speed ratio.

    .venv/bin/python benchmarks/bench_scorecam.py                  # EfficientNet-Lite0, 1 image
    .venv/bin/python benchmarks/bench_scorecam.py --arch alexnet --batch-sizes 8 32 64
    .venv/bin/python benchmarks/bench_scorecam.py --channels-last --batch-sizes 4 8 16

Random weights (nothing downloads): the cost of Score-CAM does not depend on the weights, only on
the architecture, the target layer's channel count and the input size. Both runs use the same
network and images, and the maps they give are compared, so a speed-up cannot come from computing
something else.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lib.attention.cam import score_cam  # noqa: E402

# Target layers as METHOD.md names them: EfficientNet's last block, AlexNet's features[11].
ARCHS = {"efficientnet_lite0": "blocks.6", "alexnet": "features.11"}


def build(arch: str) -> torch.nn.Module:
    if arch == "alexnet":
        import torchvision

        return torchvision.models.alexnet(weights=None)
    import timm

    return timm.create_model(arch, pretrained=False)


def timed(fn) -> tuple[float, torch.Tensor]:
    start = time.perf_counter()
    out = fn()
    if out.is_cuda:
        torch.cuda.synchronize()
    return time.perf_counter() - start, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", choices=sorted(ARCHS), default="efficientnet_lite0")
    ap.add_argument("--images", type=int, default=1)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--batch-sizes", type=int, nargs="+", default=[64])
    ap.add_argument("--channels-last", action="store_true")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    torch.manual_seed(0)
    model = build(args.arch).eval().to(args.device)
    images = torch.randn(args.images, 3, args.size, args.size, device=args.device)
    if args.channels_last:
        model = model.to(memory_format=torch.channels_last)
        images = images.contiguous(memory_format=torch.channels_last)
    layer = model.get_submodule(ARCHS[args.arch])
    with torch.no_grad():
        targets = model(images).argmax(1)  # also warms up the model
        channels = []
        h = layer.register_forward_hook(lambda m, i, o: channels.append(o.shape[1]))
        model(images[:1])
        h.remove()
    print(f"{args.arch} target {ARCHS[args.arch]} ({channels[0]} channels), {args.images} image(s) "
          f"{args.size}px, {'channels_last' if args.channels_last else 'contiguous'}, "
          f"{args.device}, {torch.get_num_threads()} threads")

    t_one, ref = timed(lambda: score_cam(model, images, targets, layer=layer, batch_size=1))
    n_pass = args.images * channels[0]
    print(f"one at a time : {t_one:7.2f} s  ({1000 * t_one / n_pass:.1f} ms per masked input)")
    for bs in args.batch_sizes:
        t_b, maps = timed(lambda bs=bs: score_cam(model, images, targets, layer=layer,
                                                   batch_size=bs))
        diff = ((maps - ref).abs().max() / ref.abs().max().clamp_min(1e-30)).item()
        print(f"batch size {bs:3d}: {t_b:7.2f} s  ({1000 * t_b / n_pass:.1f} ms per masked input)"
              f"  ratio {t_one / t_b:.2f}x  max rel diff {diff:.1e}")


if __name__ == "__main__":
    main()
