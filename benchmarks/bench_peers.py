"""This project's GBP, SGBP, Grad-CAM and Score-CAM against captum, pytorch-grad-cam and torchcam.

    .venv/bin/pip install -e '.[bench]'      # the peers (captum is already a dependency)
    .venv/bin/python -m benchmarks.bench_peers                       # AlexNet-R, EffNet-Lite0-I
    .venv/bin/python -m benchmarks.bench_peers --nets alexnet-R --methods SGBP --reps 3

Every method runs on the same network object, the same study images and the same targets (each
image's top-1 class), with the extraction's own settings from params.yaml (batch sizes, layout,
SGBP samples and noise) and the peers given the same batch size where they take one. The calls
are interleaved within each repetition (ours, peer 1, peer 2, then rotated) so that a neighbour's
load on a shared machine falls on all of them alike; the median over repetitions is printed with
the ratio peer time / our time (> 1: ours is faster). The network is warmed up by the pass that
picks the targets. Defaults (one image, three repetitions) keep the run to a few minutes on 2
cores; Score-CAM, a forward pass per channel, is most of it.

Where a peer computes the same map the maps are compared, so a speed-up cannot come from computing
something else: GBP exactly on ReLU networks (captum guides `nn.ReLU` modules only, so on ReLU6
networks it returns the plain gradient and the check says so); SGBP by correlation (the noise
draws differ); Grad-CAM after each library's own normalisation (pytorch-grad-cam min-max scales
and resizes with OpenCV, torchcam returns the layer-resolution map). The CAM libraries' Score-CAM
weights channels by a softmax over channels of the target logit rather than the target's
probability, a different map at the same cost (one forward pass per channel), so it is timed only.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import warnings
from collections.abc import Callable

# pytorch-grad-cam's Score-CAM draws a tqdm bar per image; tqdm reads this at import.
os.environ.setdefault("TQDM_DISABLE", "1")
# captum warns on every call that it set requires_grad and hooks on ReLUs.
warnings.filterwarnings("ignore", category=UserWarning, module="captum")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from lib.attention.cam import grad_cam, score_cam  # noqa: E402
from lib.attention.extract import ExtractOptions, _image_seed, sgbp_noise_rule  # noqa: E402
from lib.attention.gbp import gbp, noise_sd, sgbp  # noqa: E402
from lib.attention.models import load_model, preprocess  # noqa: E402
from lib.images import read_images  # noqa: E402
from lib.params import get, load_params  # noqa: E402

METHODS = ("GBP", "SGBP", "GradCAM", "ScoreCAM")


def _pearson(a: torch.Tensor, b: torch.Tensor) -> float:
    """Mean over images of the Pearson r between two map batches (N, H, W)."""
    rs = [float(np.corrcoef(x.flatten().double(), y.flatten().double())[0, 1])
          for x, y in zip(a.cpu(), b.cpu(), strict=True)]  # fmt: skip
    return float(np.mean(rs))


def _rel_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.detach(), b.detach()
    return float((a - b).abs().max() / b.abs().max().clamp_min(1e-30))


def _reduce(attr: torch.Tensor) -> torch.Tensor:
    return attr.detach().abs().sum(1).float()


def _upsampled(cams: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    return F.interpolate(cams[:, None].float(), size=size, mode="bilinear",
                         align_corners=False)[:, 0]  # fmt: skip


def _contenders(method: str, model, layer_name: str, x, t, ids, o: ExtractOptions, arch: str):
    """{name: fn() -> maps (N, H, W)} for one method, ours first, and how each peer is compared."""
    layer = model.get_submodule(layer_name)
    size = tuple(x.shape[-2:])
    targets = t.tolist()
    out: dict[str, Callable[[], torch.Tensor]] = {}
    check: dict[str, str] = {}
    if method == "GBP":
        from captum.attr import GuidedBackprop

        out["ours"] = lambda: gbp(model, x, t, smooth_rule=o.smooth_rule, batch_size=o.batch_size)
        out["captum"] = lambda: torch.cat([
            _reduce(GuidedBackprop(model).attribute(x[i : i + o.batch_size],
                                                    target=t[i : i + o.batch_size]))
            for i in range(0, len(x), o.batch_size)
        ])  # fmt: skip
        check["captum"] = "exact"
    elif method == "SGBP":
        from captum.attr import GuidedBackprop, NoiseTunnel

        rule = sgbp_noise_rule(o.sgbp_noise_rule, arch)
        sd = noise_sd(x, o.sgbp_noise_frac, rule)
        seeds = [_image_seed(o.seed, i) for i in ids]
        out["ours"] = lambda: sgbp(
            model, x, t, smooth_rule=o.smooth_rule, n_samples=o.sgbp_samples,
            noise_frac=o.sgbp_noise_frac, noise_rule=rule, batch_size=o.batch_size, seed=seeds,
        )  # fmt: skip

        def captum_sgbp() -> torch.Tensor:
            # captum's noise sd is one number per call, so one image per call (ours is per image).
            nt = NoiseTunnel(GuidedBackprop(model))
            return torch.cat([
                _reduce(nt.attribute(x[i : i + 1], target=t[i : i + 1], nt_type="smoothgrad",
                                     nt_samples=o.sgbp_samples, stdevs=float(sd[i]),
                                     nt_samples_batch_size=o.batch_size))
                for i in range(len(x))
            ])  # fmt: skip

        out["captum"] = captum_sgbp
        check["captum"] = "r"
    elif method == "GradCAM":
        from captum.attr import LayerAttribution, LayerGradCam
        from pytorch_grad_cam import GradCAM
        from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
        from torchcam.methods import GradCAM as TorchcamGradCAM

        out["ours"] = lambda: grad_cam(model, x, t, layer=layer)

        def captum_gc() -> torch.Tensor:
            cam = LayerGradCam(model, layer).attribute(x, target=t, relu_attributions=True)
            return LayerAttribution.interpolate(cam, size, interpolate_mode="bilinear")[:, 0]

        # The loaded networks' weights are frozen: these two need an input that requires grad.
        xg = x.detach().requires_grad_(True)

        def pgc_gc() -> torch.Tensor:
            with GradCAM(model, [layer]) as cam:
                maps = cam(xg, [ClassifierOutputTarget(c) for c in targets])
            return torch.from_numpy(maps)

        def torchcam_gc() -> torch.Tensor:
            with TorchcamGradCAM(model, layer_name) as extractor:
                with torch.enable_grad():
                    scores = model(xg)
                    cams = extractor(targets, scores)[0]
            return _upsampled(cams.detach(), size)

        out.update({"captum": captum_gc, "pytorch-grad-cam": pgc_gc, "torchcam": torchcam_gc})
        check.update({"captum": "exact", "pytorch-grad-cam": "r", "torchcam": "r"})
    elif method == "ScoreCAM":
        from pytorch_grad_cam import ScoreCAM
        from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
        from torchcam.methods import ScoreCAM as TorchcamScoreCAM

        bs = o.score_cam_batch_size
        out["ours"] = lambda: score_cam(model, x, t, layer=layer, batch_size=bs)

        def pgc_sc() -> torch.Tensor:
            with ScoreCAM(model, [layer]) as cam:
                cam.batch_size = bs  # read by its get_cam_weights (default 16)
                maps = cam(x, [ClassifierOutputTarget(c) for c in targets])
            return torch.from_numpy(maps)

        def torchcam_sc() -> torch.Tensor:
            with TorchcamScoreCAM(model, layer_name, batch_size=bs,
                                  input_shape=tuple(x.shape[1:])) as extractor:  # fmt: skip
                with torch.no_grad():
                    scores = model(x)
                cams = extractor(targets, scores)[0]
            return _upsampled(cams, size)

        out.update({"pytorch-grad-cam": pgc_sc, "torchcam": torchcam_sc})
        check.update({"pytorch-grad-cam": "timed only", "torchcam": "timed only"})
    return out, check


def _agreement(kind: str, ours: torch.Tensor, peer: torch.Tensor) -> str:
    if kind == "exact":
        diff = _rel_diff(peer, ours)
        # captum guides nn.ReLU modules only: through ReLU6/SiLU it is the plain gradient.
        note = "  DIFFERENT MAP (the peer does not guide this network's activations)"
        return f"max rel diff {diff:.1e}" + (note if diff > 1e-3 else "")
    if kind == "r":
        return f"map r {_pearson(ours, peer):.4f}"
    return "different map (timed only)"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nets", nargs="+", default=["alexnet-R", "effnetlite0-I"])
    ap.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    ap.add_argument("--images", type=int, default=1, help="study images (the first of data.images)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()

    params = load_params()
    ids = [str(i) for i in get(params, "data.images", list)[: args.images]]
    print(f"{len(ids)} images, {args.reps} reps, {torch.get_num_threads()} threads, {args.device}")
    for net in args.nets:
        loaded = load_model(net)
        options = ExtractOptions.from_params(params, args.device, loaded.arch)  # batch sizes per arch
        print(f"{net}: batch {options.batch_size}, Score-CAM batch {options.score_cam_batch_size}, "
              f"SGBP {options.sgbp_samples} samples, channels_last {options.channels_last}")  # fmt: skip
        model = loaded.model.eval().to(args.device)
        fmt = torch.channels_last if options.channels_last else torch.contiguous_format
        model.to(memory_format=fmt)
        x = preprocess(read_images(ids), loaded).to(args.device).contiguous(memory_format=fmt)
        with torch.no_grad():
            t = model(x).argmax(1)
        for method in args.methods:
            fns, check = _contenders(method, model, loaded.target_layer, x, t, ids, options,
                                     loaded.arch)  # fmt: skip
            names = list(fns)
            maps: dict[str, torch.Tensor] = {}
            times: dict[str, list[float]] = {name: [] for name in fns}
            for rep in range(args.reps):
                # The order rotates, so no contender is always the first after a model change.
                for name in names[rep % len(names):] + names[: rep % len(names)]:
                    start = time.perf_counter()
                    out = fns[name]()
                    if args.device.startswith("cuda"):
                        torch.cuda.synchronize()
                    times[name].append(time.perf_counter() - start)
                    maps.setdefault(name, out)
            med = {name: statistics.median(ts) for name, ts in times.items()}
            print(f"{net:14s} {method:8s} ours {med['ours']:7.2f} s")
            for name in fns:
                if name == "ours":
                    continue
                agree = _agreement(check[name], maps["ours"], maps[name])
                print(f"{'':14s} {'':8s} {name:16s} {med[name]:7.2f} s  ratio "
                      f"{med[name] / med['ours']:5.2f}x  {agree}")  # fmt: skip
            fastest = min(v for k, v in med.items() if k != "ours")
            print(f"{'':14s} {'':8s} fastest peer / ours: {fastest / med['ours']:.2f}x", flush=True)


if __name__ == "__main__":
    main()
