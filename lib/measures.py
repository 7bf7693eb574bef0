"""The study's six human measures: their names, published file suffixes, native sizes and labels.

The one home of these facts, below both lib.human_maps (which reads the published maps) and
lib.trials (which estimates maps of the same native sizes from raw trials).
"""

from __future__ import annotations

# File suffix and native size of each published map (METHOD.md, Data).
MEASURE_FILES: dict[str, str] = {
    "patch": "patchRate",
    "dprime": "discr",
    "spatial": "chainKDE",
    "free": "freeFIX",
    "saliency": "salFIX",
    "object": "objFIX",
}
PUBLISHED_PC_FILE = "humanPC"
NATIVE_SHAPES: dict[str, tuple[int, int]] = {
    "patch": (250, 250),
    "dprime": (251, 251),
    "spatial": (251, 251),
    "free": (251, 251),
    "saliency": (251, 251),
    "object": (251, 251),
    "pc_published": (100, 100),
}
MEASURE_LABELS: dict[str, str] = {
    "patch": "PATCH (patch ratings)",
    "dprime": "D-PRIME (change sensitivity)",
    "spatial": "SPATIAL (serial reproduction)",
    "free": "FREE (free-viewing fixations)",
    "saliency": "SALIENCY (saliency-search fixations)",
    "object": "OBJECT (object-search fixations)",
    "pc": "Human PC",
}
