"""Comparing attention maps with human maps: imgaussfilt-style blur, the smoothing fit with its
controls (shuffled images, noise ceiling), bootstrap error bars and cross-validation."""

from lib.compare.blur import blur_maps, blur_matrix, gaussian_kernel, sigma_grid
from lib.compare.ceiling import (
    composite_reliability,
    human_ceilings,
    noise_ceilings,
    reliabilities,
)
from lib.compare.crossval import crossvalidate, random_splits
from lib.compare.fit import correlation_table, fit_smoothing, peak_index, summarise_table
from lib.compare.inputs import load_map_types, store_paths
from lib.compare.resample import (
    bootstrap_indices,
    image_bootstrap,
    replicate_target_peaks,
    summarise_replicates,
)
from lib.compare.screen import ExcludedMapTypeWarning, screen_map_types

__all__ = [
    "ExcludedMapTypeWarning",
    "blur_maps",
    "blur_matrix",
    "bootstrap_indices",
    "composite_reliability",
    "correlation_table",
    "crossvalidate",
    "fit_smoothing",
    "gaussian_kernel",
    "human_ceilings",
    "image_bootstrap",
    "load_map_types",
    "noise_ceilings",
    "peak_index",
    "random_splits",
    "reliabilities",
    "replicate_target_peaks",
    "screen_map_types",
    "sigma_grid",
    "store_paths",
    "summarise_replicates",
    "summarise_table",
]
