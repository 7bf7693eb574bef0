"""Benchmark: the vectorised fit_smoothing against a straightforward loop over
(map type, human map, sigma, image) that blurs one map per comparison, on the same subsample;
also times the blur backends the choice in lib/compare/blur.py rests on.

    .venv/bin/python -m benchmarks.bench_fit_smoothing [--types 3] [--sigma-step 3]

Synthetic maps on the 100 x 100 analysis grid, 25 images, 7 human maps: the study's shapes.
The loop is subsampled (few map types, every `sigma-step`-th sigma) to stay well under a minute.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F
from scipy.ndimage import correlate1d

from lib.compare.blur import blur_maps, gaussian_kernel
from lib.compare.fit import correlation_table


def blur_scipy(maps: np.ndarray, sigma: float) -> np.ndarray:
    """imgaussfilt via scipy: explicit kernel, mode='nearest' (= replicate padding)."""
    if sigma == 0:
        return np.array(maps, dtype=np.float64)
    k = gaussian_kernel(sigma)
    return correlate1d(correlate1d(maps, k, axis=-1, mode="nearest"), k, axis=-2, mode="nearest")


def blur_torch(maps: np.ndarray, sigma: float) -> np.ndarray:
    """imgaussfilt via torch: replicate pad, two 1D float64 convolutions."""
    if sigma == 0:
        return np.array(maps, dtype=np.float64)
    k = torch.from_numpy(gaussian_kernel(sigma))
    r = (len(k) - 1) // 2
    x = torch.from_numpy(np.ascontiguousarray(maps, dtype=np.float64)).reshape(
        -1, 1, *maps.shape[-2:]
    )
    x = F.pad(x, (r, r, r, r), mode="replicate")
    x = F.conv2d(F.conv2d(x, k.view(1, 1, 1, -1)), k.view(1, 1, -1, 1))
    return x.numpy().reshape(maps.shape)


def loop_fit(maps: np.ndarray, targets: np.ndarray, sigmas: np.ndarray) -> np.ndarray:
    """The straightforward version: blur each map for each comparison, np.corrcoef per pair."""
    r = np.empty((maps.shape[0], targets.shape[0], len(sigmas), maps.shape[1]))
    for t in range(maps.shape[0]):
        for k in range(targets.shape[0]):
            for s, sigma in enumerate(sigmas):
                for n in range(maps.shape[1]):
                    blurred = blur_scipy(maps[t, n], sigma)
                    r[t, k, s, n] = np.corrcoef(blurred.ravel(), targets[k, n].ravel())[0, 1]
    return r


def loop_fit_reuse(maps: np.ndarray, targets: np.ndarray, sigmas: np.ndarray) -> np.ndarray:
    """A loop over (map type, sigma, image) that blurs each map once and correlates it with
    every human map: the loop with the vectorised version's blur count."""
    r = np.empty((maps.shape[0], targets.shape[0], len(sigmas), maps.shape[1]))
    for t in range(maps.shape[0]):
        for s, sigma in enumerate(sigmas):
            for n in range(maps.shape[1]):
                blurred = blur_scipy(maps[t, n], sigma).ravel()
                for k in range(targets.shape[0]):
                    r[t, k, s, n] = np.corrcoef(blurred, targets[k, n].ravel())[0, 1]
    return r


def timed(fn, *args):
    """(wall seconds, CPU seconds of this process over all threads, result). CPU time is the
    fairer figure on a shared machine, where wall time depends on what else is running."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn(*args)
    return time.perf_counter() - wall, time.process_time() - cpu, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--types", type=int, default=3, help="map types in the subsample")
    parser.add_argument("--sigma-step", type=int, default=3, help="use every n-th sigma of 0..30")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    maps = rng.random((args.types, 25, 100, 100))
    targets = blur_maps(rng.random((7, 25, 100, 100)), 4.0)
    sigmas = np.arange(0, 31, args.sigma_step, dtype=float)

    wall_loop, cpu_loop, r_loop = timed(loop_fit, maps, targets, sigmas)
    wall_reuse, cpu_reuse, r_reuse = timed(loop_fit_reuse, maps, targets, sigmas)
    wall_vec, cpu_vec, (r_vec, _) = timed(correlation_table, maps, targets, sigmas)
    assert np.allclose(r_loop, r_vec, atol=1e-10), "vectorised and loop disagree"
    assert np.allclose(r_reuse, r_vec, atol=1e-10), "vectorised and loop disagree"
    print(f"subsample: {args.types} map types x 7 human maps x {len(sigmas)} sigmas x 25 images")
    print(f"loop (blur per comparison, np.corrcoef): wall {wall_loop:.2f} s, CPU {cpu_loop:.2f} s")
    print(
        f"vectorised (blur once per sigma; matched and shuffled): wall {wall_vec:.3f} s, "
        f"CPU {cpu_vec:.3f} s"
    )
    print(
        f"ratio loop / vectorised: wall {wall_loop / wall_vec:.0f}x, CPU {cpu_loop / cpu_vec:.0f}x"
    )
    print(
        f"loop over (map, sigma, image), one blur per map and sigma: wall {wall_reuse:.2f} s, "
        f"CPU {cpu_reuse:.2f} s; ratio wall {wall_reuse / wall_vec:.1f}x, "
        f"CPU {cpu_reuse / cpu_vec:.1f}x"
    )

    stack = rng.random((100, 100, 100))
    print("blur backends on (100, 100, 100), CPU seconds [max abs difference to the matrix form]:")
    for sigma in (1.0, 10.0, 30.0):
        _, ref_cpu, ref = timed(blur_maps, stack, sigma)
        line = f"  sigma {sigma:4.0f}: matrix {ref_cpu:.3f}"
        for name, fn in (("scipy correlate1d", blur_scipy), ("torch conv2d", blur_torch)):
            _, cpu, out = timed(fn, stack, sigma)
            line += f" | {name} {cpu:.3f} [{np.abs(out - ref).max():.1e}]"
        print(line)


if __name__ == "__main__":
    main()
