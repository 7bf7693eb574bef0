"""The model registry: string ids to networks with their preprocessing, classes and CAM layer.

An id is `<arch>-<W>`: W is the weights, `I` ImageNet, `C` CIFAR-100, `P` Places365, `R` random
initialisation (seeded) of the architecture's first-registered variant. The study's zoo and the
default run's networks are registered in `zoo` with `@register_model` (timm's and brain-score's
pattern); each registration keeps its CAM target layer as data beside the factory. Any other
torchvision or timm classifier resolves too: `tv.<name>-I|R` (torchvision's default weights) and
`timm.<name>[.<tag>]-I|R`.

One concept per module: `registry` (ids, resolution, loading and preprocessing), `weights`
(where each weights file is looked for, and reading it: nothing downloads) and `zoo` (every
hand-registered architecture).
"""

from lib.attention.models.registry import (
    CIFAR_MEAN,
    CIFAR_STD,
    IMAGENET_MEAN,
    IMAGENET_STD,
    NORMALISATIONS,
    LoadedModel,
    check_weights,
    input_statistics,
    load_model,
    model_blocks,
    preprocess,
    register_model,
    registered_ids,
)
from lib.attention.models.weights import MissingWeightsError
from lib.attention.models.zoo import STUDY_ZOO

__all__ = [
    "CIFAR_MEAN",
    "CIFAR_STD",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "NORMALISATIONS",
    "LoadedModel",
    "MissingWeightsError",
    "check_weights",
    "input_statistics",
    "load_model",
    "model_blocks",
    "preprocess",
    "register_model",
    "registered_ids",
    "STUDY_ZOO",
]
