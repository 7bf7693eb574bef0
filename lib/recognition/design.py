"""The speeded recognition experiment's design (METHOD.md, recognition_human).

`n_sets` sets of `set_size` trials; each set shows `set_size` distinct images, no two sharing a
label term, half with their own mask (correct) and half with another image's rotated mask
(incorrect); every image appears equally often, as often correct as incorrect, and its trials are
spread over the map types as evenly as counts allow. Everything is drawn from one seeded generator.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lib.errors import InputError

CONDITIONS = ("correct", "incorrect")
TRIAL_COLUMNS = ["set", "trial", "image", "condition", "map_type", "mask_image", "rotation",
                 "r_correct", "stimulus", "options"]


@dataclass(frozen=True)
class DesignSpec:
    map_types: tuple[str, ...]
    n_sets: int = 200
    set_size: int = 10
    r_max: float = 0.4  # incorrect masks must correlate below this with the correct one
    rotations: tuple[int, ...] = (0, 90, 180, 270)  # degrees, multiples of 90
    seed: int = 0
    max_restarts: int = 200  # attempts at drawing the sets before giving up


def appearances(n_images: int, spec: DesignSpec) -> int:
    """How many sets each image appears in; InputError when the counts cannot balance."""
    total = spec.n_sets * spec.set_size
    if spec.set_size % 2 or spec.set_size < 2:
        raise InputError(f"params.yaml: recognition_human.set_size {spec.set_size} must be even "
                         "(half correct, half incorrect)")
    if spec.set_size > n_images:
        raise InputError(f"params.yaml: recognition_human.set_size {spec.set_size} exceeds the "
                         f"{n_images} images")
    if total % n_images or (total // n_images) % 2:
        raise InputError(f"params.yaml: recognition_human n_sets x set_size = {total} must be an "
                         f"even multiple of the {n_images} images so every image appears equally "
                         "often, as often correct as incorrect")
    return total // n_images


def build_sets(image_ids: Sequence[str], conflicts: Mapping[str, frozenset[str]],
               spec: DesignSpec, rng: np.random.Generator) -> list[list[str]]:
    """`n_sets` sets of `set_size` distinct, mutually non-conflicting images, each image in exactly
    `appearances` sets. Greedy by remaining quota, then by how rarely an image has met those
    already chosen, restarted up to `max_restarts` times; InputError if no draw succeeds."""
    quota0 = appearances(len(image_ids), spec)
    for i in image_ids:
        # Two images sharing a term never meet, so their appearances must fit in n_sets.
        for j in sorted(conflicts.get(i, ())):
            if 2 * quota0 > spec.n_sets:
                raise InputError(f"labels: {i} and {j} share a label term but must each appear in "
                                 f"{quota0} of only {spec.n_sets} sets")
    for _ in range(spec.max_restarts):
        quota = dict.fromkeys(image_ids, quota0)
        together = {(i, j): 0 for i in image_ids for j in image_ids}
        sets: list[list[str]] = []
        for _ in range(spec.n_sets):
            noise = dict(zip(image_ids, rng.random(len(image_ids)), strict=True))
            chosen: list[str] = []
            while len(chosen) < spec.set_size:
                # Most sets still owed first; among equals, the images least often seen with
                # those already chosen (varied option lists), then the most constrained, then
                # chance.
                free = [i for i in image_ids if quota[i] and i not in chosen
                        and not any(j in conflicts.get(i, ()) for j in chosen)]
                if not free:
                    break
                chosen.append(min(free, key=lambda i: (
                    -quota[i], sum(together[i, j] for j in chosen),
                    -len(conflicts.get(i, ())), noise[i])))
            if len(chosen) < spec.set_size:
                break
            for i in chosen:
                quota[i] -= 1
                for j in chosen:
                    together[i, j] += 1
            sets.append(chosen)
        if len(sets) == spec.n_sets:
            return sets
    raise InputError(f"labels: could not draw {spec.n_sets} sets of {spec.set_size} images without "
                     f"shared label terms in {spec.max_restarts} attempts; relabel the images or "
                     "change recognition_human.n_sets/set_size")


def split_conditions(sets: Sequence[Sequence[str]], rng: np.random.Generator) -> list[list[str]]:
    """A condition per (set, image), half of each set and half of each image's appearances
    correct. The set-image incidence graph is bipartite with even degrees, so colouring the edges of
    its Euler circuits alternately balances every vertex exactly."""
    images = sorted({i for s in sets for i in s})
    index = {i: len(sets) + k for k, i in enumerate(images)}
    edges = [(s, index[i]) for s, members in enumerate(sets) for i in members]
    adjacency: list[list[int]] = [[] for _ in range(len(sets) + len(images))]
    for e, (a, b) in enumerate(edges):
        adjacency[a].append(e)
        adjacency[b].append(e)
    if any(len(a) % 2 for a in adjacency):
        raise InputError("design: every set and image needs an even number of trials")
    for a in adjacency:
        rng.shuffle(a)
    used = np.zeros(len(edges), dtype=bool)
    pointer = [0] * len(adjacency)
    colour = np.full(len(edges), -1)
    for start in range(len(adjacency)):
        stack: list[tuple[int, int]] = [(start, -1)]
        circuit: list[int] = []
        while stack:  # Hierholzer: `circuit` collects one closed trail's edges
            vertex, via = stack[-1]
            adj = adjacency[vertex]
            while pointer[vertex] < len(adj) and used[adj[pointer[vertex]]]:
                pointer[vertex] += 1
            if pointer[vertex] == len(adj):
                stack.pop()
                if via >= 0:
                    circuit.append(via)
            else:
                e = adj[pointer[vertex]]
                used[e] = True
                a, b = edges[e]
                stack.append((b if a == vertex else a, e))
        for t, e in enumerate(circuit):
            colour[e] = t % 2
    out: list[list[str]] = [[] for _ in sets]
    for e, (s, _) in enumerate(edges):
        out[s].append(CONDITIONS[colour[e]])
    return out


def assign_map_types(sets: Sequence[Sequence[str]], conditions: Sequence[Sequence[str]],
                     map_types: Sequence[str], rng: np.random.Generator) -> list[list[str]]:
    """A map type per (set, image): within each image x condition cell the trials cycle through
    the map types in random order, so the counts differ by at most one; which types get the
    extra trial rotates from cell to cell, balancing the totals too."""
    cells: dict[tuple[str, str], list[tuple[int, int]]] = {}
    for s, (members, conds) in enumerate(zip(sets, conditions, strict=True)):
        for k, (i, c) in enumerate(zip(members, conds, strict=True)):
            cells.setdefault((i, c), []).append((s, k))
    out = [[""] * len(m) for m in sets]
    for offset, key in enumerate(sorted(cells)):
        slots = cells[key]
        for n, pick in enumerate(rng.permutation(len(slots))):
            s, k = slots[pick]
            out[s][k] = map_types[(offset + n) % len(map_types)]
    return out


def rotation_correlations(masks: np.ndarray, rotations: Sequence[int]) -> np.ndarray:
    """r[i, j, k]: Pearson r between mask i and mask j rotated by rotations[k] degrees
    (counter-clockwise), masks (n, S, S)."""
    m = np.asarray(masks, dtype=np.float64)
    n, h, w = m.shape
    if h != w:
        raise InputError(f"design: masks must be square to rotate, got {h}x{w}")
    def z(a):
        flat = a.reshape(len(a), -1)
        flat = flat - flat.mean(axis=1, keepdims=True)
        return flat / np.linalg.norm(flat, axis=1, keepdims=True)
    target = z(m)
    out = np.empty((n, n, len(rotations)))
    for k, deg in enumerate(rotations):
        if deg % 90:
            raise InputError(f"params.yaml: recognition_human.rotations: {deg} is not a multiple "
                             "of 90 degrees")
        out[:, :, k] = target @ z(np.rot90(m, deg // 90, axes=(1, 2))).T
    return out


def choose_incorrect(image: int, r: np.ndarray, r_max: float, rng: np.random.Generator,
                     where: str) -> tuple[int, int, float]:
    """(donor index, rotation index, r) drawn uniformly from the other images' rotated masks that
    correlate below `r_max` with image `image`'s own mask, r from `rotation_correlations`. All
    candidates are scored up front, so there is no open-ended redrawing: no candidate means an
    InputError naming `where`."""
    ok = r[image] < r_max
    ok[image] = False
    candidates = np.argwhere(ok)
    if not len(candidates):
        best = np.delete(r[image], image, axis=0).min()
        raise InputError(f"{where}: no other image's mask at any allowed rotation correlates below "
                         f"{r_max} with the own mask (lowest r {best:.3f})")
    donor, rot = candidates[rng.integers(len(candidates))]
    return int(donor), int(rot), float(r[image, donor, rot])


def stimulus_id(image: str, map_type: str, donor: str, rotation: int) -> str:
    if donor == image:
        return f"{image}__{map_type}__own"
    return f"{image}__{map_type}__{donor}__rot{rotation}"


def make_design(image_ids: Sequence[str], conflicts: Mapping[str, frozenset[str]],
                masks: Mapping[str, np.ndarray], spec: DesignSpec) -> pd.DataFrame:
    """The trial table (TRIAL_COLUMNS), one row per trial, sets and trials numbered from 0.

    masks: {map_type: (n, S, S) half masks, mask k of image_ids[k]}; options is the set's images in
    the order the choice screen lists them, separated by ';'.
    """
    missing = [m for m in spec.map_types if m not in masks]
    if missing or not spec.map_types:
        raise InputError(f"recognition_human: no masks for map types {missing or '(none given)'}")
    rng = np.random.default_rng(spec.seed)
    sets = build_sets(list(image_ids), conflicts, spec, rng)
    conditions = split_conditions(sets, rng)
    types = assign_map_types(sets, conditions, spec.map_types, rng)
    r = {m: rotation_correlations(masks[m], spec.rotations) for m in spec.map_types}
    index = {i: k for k, i in enumerate(image_ids)}
    rows = []
    for s, members in enumerate(sets):
        for t, k in enumerate(rng.permutation(len(members))):
            image, cond, mtype = members[k], conditions[s][k], types[s][k]
            if cond == "correct":
                donor, rotation, r_c = image, 0, 1.0
            else:
                d, rot, r_c = choose_incorrect(index[image], r[mtype], spec.r_max, rng,
                                               f"recognition_human: image {image}, {mtype}")
                donor, rotation = image_ids[d], spec.rotations[rot]
            options = [members[o] for o in rng.permutation(len(members))]
            rows.append({"set": s, "trial": t, "image": image, "condition": cond,
                         "map_type": mtype, "mask_image": donor, "rotation": rotation,
                         "r_correct": round(r_c, 6),
                         "stimulus": stimulus_id(image, mtype, donor, rotation),
                         "options": ";".join(options)})
    return pd.DataFrame(rows, columns=TRIAL_COLUMNS)
