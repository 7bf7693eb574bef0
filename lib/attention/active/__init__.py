"""Active attention: networks whose forward pass computes and applies its own spatial attention
map (LTPA, ABN), the study's four such models as registry data, their checkpoint loader, and the
extractor that exposes each map through the passive methods' contract.

    spec = ACTIVE_MODELS["abn-resnet110-C"]
    model = load_active_checkpoint(spec, weights_dir / spec.checkpoint)
    maps = active_attention(model, images)        # (N, H, W), stored as spec.map_type
"""

from lib.attention.active.abn import ABNDenseNetCifar, ABNResNetCifar, ABNResNetImageNet
from lib.attention.active.base import (
    ActiveAttentionModel,
    ActiveOutput,
    AttentionOverride,
    active_attention,
)
from lib.attention.active.ltpa import LTPAVGG
from lib.attention.active.zoo import (
    ACTIVE_METHOD,
    ACTIVE_MODELS,
    ActiveSpec,
    load_active_checkpoint,
    read_checkpoint,
)

__all__ = [
    "ACTIVE_METHOD",
    "ACTIVE_MODELS",
    "ABNDenseNetCifar",
    "ABNResNetCifar",
    "ABNResNetImageNet",
    "ActiveAttentionModel",
    "ActiveOutput",
    "ActiveSpec",
    "AttentionOverride",
    "LTPAVGG",
    "active_attention",
    "load_active_checkpoint",
    "read_checkpoint",
]
