"""The params schema: every key `params.yaml` (and a preset over it) may hold, with its type, range
and allowed values, plus the rules that tie keys together. `lib.params.load_params` checks a params
file against it before any stage does work, so a typo or an out-of-range value stops the run with
one line naming the key instead of reaching torch or pandas.

pydantic does the type and range checks (a declared schema rather than checks scattered over the
stages). The models are strict (no "1" for 1, no true for 1) and forbid unknown keys; an unknown
key's error names the nearest known one. Cross-key rules (CROSS_KEY_RULES) run after the per-key
checks. docs/params.md is generated from this module (`python -m lib.params_schema`;
tests/test_params_schema.py checks it is current).

Allowed values that lib modules also define (methods, rules) are repeated here as Literals so that
checking params does not import torch; a test checks both lists agree.
"""

from __future__ import annotations

import difflib
import sys
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from lib.errors import InputError

MEASURES = ("patch", "dprime", "spatial", "free", "saliency", "object")
METHODS = ("GBP", "GBPxIM", "SGBP", "GradCAM", "ScoreCAM", "CAMERAS")

Measure = Literal["patch", "dprime", "spatial", "free", "saliency", "object"]
Method = Literal["GBP", "GBPxIM", "SGBP", "GradCAM", "ScoreCAM", "CAMERAS"]
PositiveInt = Annotated[int, Field(ge=1)]
NonNegativeInt = Annotated[int, Field(ge=0)]
PositiveFloat = Annotated[float, Field(gt=0)]
Fraction = Annotated[float, Field(gt=0, le=1)]
# `cpu`, `cuda` or `cuda:<index>` (extraction also takes `auto`); `gpu` is not a torch device name.
Device = Annotated[str, Field(pattern=r"^(auto|cpu|cuda(:\d+)?)$")]
TorchDevice = Annotated[str, Field(pattern=r"^(cpu|cuda(:\d+)?)$")]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def _has_default(value: dict[str, int]) -> dict[str, int]:
    if "default" not in value:
        raise ValueError("a value given per architecture needs a `default` entry")
    return value


# {default: 8, effnetlite0: 4}: architecture names as in model ids (`<arch>-<I|C|P|R>`).
PerArchInt = Annotated[dict[str, PositiveInt], AfterValidator(_has_default)]


class PerDeviceBatch(_Section):
    cpu: PositiveInt | PerArchInt
    cuda: PositiveInt | PerArchInt


class PerDeviceBool(_Section):
    cpu: bool
    cuda: bool


Autocast = Literal["none", "bfloat16", "float16"]


class PerDeviceAutocast(_Section):
    cpu: Autocast
    cuda: Autocast


class Data(_Section):
    images: list[Annotated[str, Field(pattern=r"^img\d+$")]] = Field(
        min_length=1, description="study image ids (`img<N>`); at least one")
    # A 1x1 grid has no variance to correlate; 4 is the smallest grid the blur and PCA make sense on.
    grid: int = Field(ge=4, le=1024, description="analysis grid: every map resized to grid x grid")
    measures: list[Measure] = Field(min_length=1, description="human measures in the analysis")
    human_pc: str = Field(min_length=1, description="id of the Human PC among the human maps (not a measure)")
    seed: NonNegativeInt = Field(description="seed of every random choice that has no seed of its own")


class PatchTrials(_Section):
    sigma_px: PositiveFloat


class DprimeTrials(_Section):
    correction: Literal["loglinear", "half"]
    sigma_px: PositiveFloat


class SpatialTrials(_Section):
    iteration: PositiveInt
    sigma_x_px: PositiveFloat
    sigma_y_px: PositiveFloat


class FixationTrials(_Section):
    sigma_x_px: PositiveFloat
    sigma_y_px: PositiveFloat


class Trials(_Section):
    patch: PatchTrials
    dprime: DprimeTrials
    spatial: SpatialTrials
    fixations: FixationTrials


class EstimateHuman(_Section):
    sources: dict[Measure, str] = Field(
        description="per measure: `published` or a .csv/.parquet trial file path")
    trials: Trials


class HumanPC(_Section):
    fixation_measures: list[Measure]
    fixation_weight: Annotated[float, Field(gt=0, le=1)]


class Sgbp(_Section):
    samples: PositiveInt
    noise_frac: Annotated[float, Field(gt=0, le=1)]
    noise_rule: Literal["paper", "study-code"]


class ExtractAttention(_Section):
    models: list[str] = Field(min_length=1, description="model ids (lib/attention/models.py)")
    methods: list[Method] = Field(min_length=1, description="passive attention methods; at least one")
    weights_dir: str
    device: Device
    normalisation: Literal["weights", "study"]
    smooth_rule: Literal["clean", "study"]
    sgbp: Sgbp
    cameras_resolutions: list[Annotated[int, Field(ge=32, le=4096)]] = Field(min_length=1)
    batch_size: PositiveInt | PerDeviceBatch = Field(
        description="images or noisy copies per backward pass; a device's value may be {default: N, <arch>: N}")
    channels_last: bool | PerDeviceBool
    score_cam_batch_size: PositiveInt | PerDeviceBatch = Field(
        description="masked inputs per forward pass; a device's value may be {default: N, <arch>: N}")
    score_cam_autocast: Autocast | PerDeviceAutocast = Field(
        "none", description="torch.autocast dtype of Score-CAM's masked passes (none: float32)")
    target_layers: dict[str, str] = Field(description="optional {model_id: dotted layer}")


class Smoothing(_Section):
    # The study's grid is 0..30; beyond a few hundred the blur is wider than any analysis grid and
    # the fit runs for minutes without telling anything new.
    max_sigma: Annotated[int, Field(ge=0, le=200)] = Field(description="largest blur sigma (grid px)")
    sigma_step: PositiveInt = Field(description="sigma grid step; must divide max_sigma")
    reliability: dict[str, Fraction] = Field(description="split-half reliability per measure")
    spearman_brown: bool


class Participants(_Section):
    n: PositiveInt
    seed: NonNegativeInt


class Bootstrap(_Section):
    n: Annotated[int, Field(ge=2)]
    seed: NonNegativeInt
    error_bar: Literal["fixed_sigma", "refitted_sigma"]
    participants: Participants


class Crossval(_Section):
    n_splits: PositiveInt
    n_train: PositiveInt = Field(description="training images per split; fewer than data.images")
    seed: NonNegativeInt


class Stats(_Section):
    alpha: Annotated[float, Field(gt=0, lt=1)]
    compare_controls: bool
    recognition_mask_source: str
    dprime_unit: Literal["participant", "image"]


class RecognitionAnn(_Section):
    size: Annotated[int, Field(ge=8, le=4096)]
    batch_size: PositiveInt
    device: TorchDevice
    forward: Literal["eager", "folded", "compiled"] = Field(
        "folded", description="how the network runs (lib.recognition.ann.FORWARD_MODES)")


class Benchmark(_Section):
    kl_eps: Annotated[float, Field(gt=0, lt=1e-3)]
    ig_eps: Annotated[float, Field(gt=0, lt=1e-3)]
    centre_bias_sigma_frac: Annotated[float, Field(gt=0, le=2)]
    interval: Annotated[float, Field(gt=0, lt=1)]


class RecognitionHuman(_Section):
    map_types: list[str] = Field(min_length=1)
    size: Annotated[int, Field(ge=8, le=4096)]
    n_sets: PositiveInt
    set_size: Annotated[int, Field(ge=2, multiple_of=2)] = Field(description="even: half correct, half incorrect")
    r_max: Annotated[float, Field(gt=-1, le=1)]
    rotations: list[Literal[0, 90, 180, 270]] = Field(min_length=1)
    max_restarts: PositiveInt
    fixation_ms: NonNegativeInt
    flash_ms: PositiveInt
    iti_ms: NonNegativeInt
    responses: str | None = Field(description="responses CSV (repo-relative) or null")
    min_accuracy: Annotated[float, Field(ge=0, le=1)]
    n_resamples: PositiveInt
    mask_style: Literal["graded", "binary"] = Field(
        "graded", description="graded masks (the map's values) or binary (thresholded)")


class Gbvs(_Section):
    salmap_max_size: PositiveInt
    levels: list[PositiveInt] = Field(min_length=1)
    gabor_angles: list[Annotated[float, Field(ge=0, lt=360)]] = Field(min_length=1)
    sigma_frac_act: PositiveFloat
    norm_power: PositiveFloat
    tol: PositiveFloat
    border_attenuation: NonNegativeInt
    blur_frac: Annotated[float, Field(ge=0)]
    channel_weights: dict[Literal["dkl", "intensity", "orientation"], Annotated[float, Field(ge=0)]]
    min_size: PositiveInt


class Bms(_Section):
    max_dim: PositiveInt
    step: Annotated[int, Field(ge=1, le=255)]
    dilation_width_1: NonNegativeInt
    dilation_width_2: NonNegativeInt
    blur_std: Annotated[float, Field(ge=0)]
    blur_max_width: PositiveInt
    whitening: bool
    median_width: NonNegativeInt


class CenterBias(_Section):
    sigma_frac: PositiveFloat


class ExtractBaselines(_Section):
    size: Annotated[int, Field(ge=8, le=4096)]
    gbvs: Gbvs
    bms: Bms
    center_bias: CenterBias


class Randomisation(_Section):
    methods: list[Method] = Field(min_length=1, description="a subset of extract_attention.methods")
    steps: PositiveInt
    pass_below: Annotated[float, Field(gt=-1, le=1)]
    sample_images: NonNegativeInt = Field(description="at most the number of images")


class DaskCluster(_Section):
    kind: Literal["local", "slurm", "pbs", "lsf", "sge", "htcondor"] = Field(
        description="local: a LocalCluster on this machine; else a dask-jobqueue cluster of that batch scheduler")
    jobs: PositiveInt = Field(1, description="batch jobs (workers) to start; local: worker processes")
    cores: PositiveInt = Field(1, description="cores per job (dask-jobqueue)")
    memory: str = Field("8GiB", description="memory per job (dask-jobqueue), e.g. 16GiB")
    gpus: NonNegativeInt = Field(0, description="GPUs per job, advertised as the Dask resource GPU")
    queue: str | None = Field(None, description="the scheduler's queue / partition")
    account: str | None = Field(None, description="the account / project jobs are charged to")
    walltime: str | None = Field(None, description="wall-clock limit per job, e.g. 02:00:00")
    job_extra_directives: list[str] = Field([], description="extra scheduler directives, e.g. --gres=gpu:1")
    job_script_prologue: list[str] = Field([], description="shell lines run before the worker starts")


class Dask(_Section):
    address: Annotated[str, Field(pattern=r"^(tcp|tls|inproc|ws|wss)://")] | None = Field(
        None, description="a running Dask scheduler, e.g. tcp://head-node:8786")
    cluster: DaskCluster | None = Field(None, description="a cluster this run starts (and stops)")
    retries: NonNegativeInt = Field(2, description="Dask retries of a failed task before the stage fails")
    connect_timeout_s: PositiveFloat = Field(10.0, description="how long to wait for the scheduler")


class Executor(_Section):
    kind: Literal["local", "dask"] = Field("local", description="where the heavy stages' tasks run")
    images_per_task: PositiveInt | None = Field(
        None, description="images per extraction task; null: one guided-pass batch (extract_attention.batch_size)")
    threads_per_task: PositiveInt | None = Field(
        None, description="torch/BLAS threads of each task; null: this machine's cores (a local run's count), or "
                          "a jobqueue cluster's `cores`. Maps are byte-identical to a local run only at equal counts")
    dask: Dask = Dask()


class Params(_Section):
    data: Data
    estimate_human: EstimateHuman
    human_pc: HumanPC
    extract_attention: ExtractAttention
    smoothing: Smoothing
    bootstrap: Bootstrap
    crossval: Crossval
    stats: Stats
    recognition_ann: RecognitionAnn
    recognition_human: RecognitionHuman
    extract_baselines: ExtractBaselines
    randomisation: Randomisation
    # A section another stage is adding; free-form until its keys settle.
    benchmark: Benchmark
    # Where work runs, not what it computes (outputs are the same bytes): not a stage dependency.
    executor: Executor = Executor()


# ---------------------------------------------------------------------------------------------
# Cross-key rules: (what the rule says, a check returning the message of a violation or None).


def _sigma_step(p: Params) -> str | None:
    s = p.smoothing
    if s.max_sigma % s.sigma_step:
        return f"`smoothing.sigma_step` {s.sigma_step} does not divide `smoothing.max_sigma` {s.max_sigma}"
    return None


def _n_train(p: Params) -> str | None:
    n = len(p.data.images)
    if p.crossval.n_train >= n:
        return f"`crossval.n_train` {p.crossval.n_train} must be below the number of images ({n} in data.images)"
    return None


def _pc_not_measure(p: Params) -> str | None:
    if p.data.human_pc in MEASURES:
        return f"`data.human_pc` {p.data.human_pc!r} names a measure; it is the Human PC's own id (e.g. pc)"
    return None


def _unique(p: Params) -> str | None:
    for key, values in (("data.images", p.data.images), ("data.measures", p.data.measures),
                        ("extract_attention.models", p.extract_attention.models),
                        ("extract_attention.methods", p.extract_attention.methods)):
        repeated = sorted({v for v in values if values.count(v) > 1})
        if repeated:
            return f"`{key}` lists {repeated} more than once"
    return None


def _sources(p: Params) -> str | None:
    missing = [m for m in p.data.measures if m not in p.estimate_human.sources]
    if missing:
        return f"`estimate_human.sources` has no entry for {missing} (data.measures)"
    for measure, source in p.estimate_human.sources.items():
        if source != "published" and Path(source).suffix.lower() not in (".csv", ".parquet"):
            return (f"`estimate_human.sources.{measure}` {source!r} is neither `published` nor a .csv "
                    "or .parquet file")
    return None


def _subsets(p: Params) -> str | None:
    absent = [m for m in p.randomisation.methods if m not in p.extract_attention.methods]
    if absent:
        return f"`randomisation.methods` lists {absent}, not in extract_attention.methods"
    outside = [m for m in p.human_pc.fixation_measures if m not in p.data.measures]
    if outside:
        return f"`human_pc.fixation_measures` lists {outside}, not in data.measures"
    unrated = [m for m in p.data.measures if m not in p.smoothing.reliability]
    if unrated:
        return f"`smoothing.reliability` has no value for {unrated} (data.measures)"
    return None


def _sample_images(p: Params) -> str | None:
    if p.randomisation.sample_images > len(p.data.images):
        return (f"`randomisation.sample_images` {p.randomisation.sample_images} exceeds the "
                f"{len(p.data.images)} images in data.images")
    return None


def _dask_target(p: Params) -> str | None:
    d = p.executor.dask
    if p.executor.kind == "dask" and (d.address is None) == (d.cluster is None):
        return "`executor.kind` dask needs exactly one of `executor.dask.address` and `executor.dask.cluster`"
    return None


CROSS_KEY_RULES: tuple[tuple[str, Callable[[Params], str | None]], ...] = (
    ("`smoothing.sigma_step` divides `smoothing.max_sigma`", _sigma_step),
    ("`crossval.n_train` is below the number of images", _n_train),
    ("`data.human_pc` is not a measure name", _pc_not_measure),
    ("images, measures, models and methods are each listed once", _unique),
    ("`estimate_human.sources` covers every measure, each `published` or a .csv/.parquet file", _sources),
    ("`randomisation.methods` within `extract_attention.methods`; `human_pc.fixation_measures` "
     "within `data.measures`; `smoothing.reliability` covers every measure", _subsets),
    ("`randomisation.sample_images` is at most the number of images", _sample_images),
    ("`executor.kind` dask names a scheduler address or a cluster, not both", _dask_target),
)


# ---------------------------------------------------------------------------------------------
# Checking


def validate(params: Any, where: str = "params.yaml") -> Params:
    """`params` checked against the schema and the cross-key rules; InputError (one line naming
    `where` and the dotted key) at the first problem."""
    try:
        model = Params.model_validate(params)
    except ValidationError as err:
        raise InputError(f"{where}: {_describe(err, params)}") from None
    for _, rule in CROSS_KEY_RULES:
        problem = rule(model)
        if problem:
            raise InputError(f"{where}: {problem}")
    return model


def _describe(err: ValidationError, params: Any) -> str:
    errors = err.errors()
    first = errors[0]
    # A union (a value or a per-device mapping) reports one error per alternative; the deepest is
    # the one about the value the user wrote, and at equal depth a rule's own message (a mapping
    # without its `default`) says more than "should be a valid integer".
    head = _key(first, params)[:2]
    same_key = [e for e in errors if _key(e, params)[:2] == head]
    chosen = max(same_key, key=lambda e: (len(_key(e, params)), e["type"] == "value_error"))
    parts = _key(chosen, params)
    dotted = ".".join(parts)
    if chosen["type"] == "extra_forbidden":
        known = list(_fields_at(parts[:-1]))
        close = difflib.get_close_matches(parts[-1], known, n=1)
        hint = f"; did you mean `{'.'.join([*parts[:-1], close[0]])}`?" if close else \
            f"; known keys here: {', '.join(known)}"
        return f"unknown key `{dotted}`{hint}"
    if chosen["type"] == "missing":
        return f"missing key `{dotted}`"
    value = chosen.get("input")
    return f"`{dotted}` = {value!r}: {chosen['msg']}"


def _key(error: dict, params: Any) -> list[str]:
    """The error's location as the keys and list positions of `params` (pydantic inserts the
    names of union alternatives, which are not), plus a final missing or unknown key."""
    loc = error["loc"]
    parts, node = [], params
    for i, step in enumerate(loc):
        if isinstance(node, dict) and step in node:
            parts.append(str(step))
            node = node[step]
        elif isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node):
            parts[-1] = f"{parts[-1]}[{step}]" if parts else f"[{step}]"
            node = node[step]
        elif i == len(loc) - 1 and error["type"] in ("missing", "extra_forbidden"):
            parts.append(str(step))
    return parts


def _section_model(annotation: Any) -> type[_Section] | None:
    """The section model inside an annotation (`Sgbp`, `PositiveInt | PerDeviceBatch`, ...)."""
    if isinstance(annotation, type) and issubclass(annotation, _Section):
        return annotation
    for arg in typing.get_args(annotation):
        found = _section_model(arg)
        if found is not None:
            return found
    return None


def _fields_at(parts: list[str]) -> dict[str, Any]:
    """The fields of the section at the dotted path `parts` (list positions stripped)."""
    model: type[_Section] | None = Params
    for part in parts:
        field = model.model_fields.get(part.split("[")[0]) if model else None
        model = _section_model(field.annotation) if field else None
    return dict(model.model_fields) if model else {}


# ---------------------------------------------------------------------------------------------
# The reference page


_LIMITS = (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<"), ("multiple_of", "a multiple of"),
           ("pattern", "matching"), ("min_length", "at least"))


def _limits(metadata: list) -> list[str]:
    """Readable constraints from pydantic/annotated-types metadata (Ge, Gt, MinLen, pattern ...)."""
    out = []
    for m in metadata:
        for inner in getattr(m, "metadata", None) or [m]:
            for name, sign in _LIMITS:
                value = getattr(inner, name, None)
                if value is not None:
                    # A `|` inside a table cell would end the cell.
                    text = f"`{value}`".replace("|", "\\|") if name == "pattern" else str(value)
                    out.append(f"{sign} {text}")
    return out


def _type_text(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is Annotated:
        limits = _limits(list(args[1:]))
        text = _type_text(args[0])
        return f"{text} ({', '.join(limits)})" if limits else text
    if origin is Literal:
        return "one of " + ", ".join(f"`{a}`" for a in args)
    if origin in (Union, types.UnionType):
        return " or ".join(_type_text(a) for a in args)
    if origin is list:
        return f"list of {_type_text(args[0])}"
    if origin is dict:
        return f"mapping {_type_text(args[0])} -> {_type_text(args[1])}"
    if annotation is type(None):
        return "null"
    if isinstance(annotation, type) and issubclass(annotation, _Section):
        if annotation.__name__.startswith("PerDevice"):
            field = next(iter(annotation.model_fields.values()))
            inner = _type_text(field.annotation)
            limits = _limits(field.metadata)
            return f"{{cpu, cuda}} mapping of {inner}" + (f" ({', '.join(limits)})" if limits else "")
        return "section"
    return getattr(annotation, "__name__", str(annotation))


def _rows(model: type[_Section], prefix: str) -> list[str]:
    rows = []
    for name, field in model.model_fields.items():
        dotted = f"{prefix}{name}"
        required = "required" if field.is_required() else f"optional (default `{field.default}`)"
        if isinstance(field.annotation, type) and issubclass(field.annotation, _Section):
            rows.append(f"| `{dotted}` | section | {required} | |")
            rows += _rows(field.annotation, dotted + ".")
            continue
        type_text = _type_text(field.annotation)
        limits = _limits(field.metadata)
        if limits:
            type_text += f" ({', '.join(limits)})"
        rows.append(f"| `{dotted}` | {type_text} | {required} | {field.description or ''} |")
    return rows


def markdown() -> str:
    """docs/params.md: every key with its type, range and allowed values, and the cross-key rules."""
    lines = [
        "# Params reference",
        "",
        "Generated from `lib/params_schema.py` by `python -m lib.params_schema`; do not edit by hand",
        "(tests/test_params_schema.py fails when this page is out of date). What each key means is",
        "commented in `params.yaml`; this page says what values are accepted. Every stage checks the",
        "whole file before it does any work: an unknown key (the nearest known name is suggested), a",
        "wrong type or a value out of range ends the stage with one line and exit status 2.",
        "",
        "Values are checked strictly: an integer is accepted where a float is wanted, but `true` is",
        "never a number and `\"1\"` (a quoted string) never an integer.",
        "",
        "| key | type | | note |",
        "|---|---|---|---|",
        *_rows(Params, ""),
        "",
        "## Rules across keys",
        "",
        *[f"- {text}" for text, _ in CROSS_KEY_RULES],
        "",
    ]
    return "\n".join(lines)


DOCS = Path(__file__).resolve().parents[1] / "docs" / "params.md"

if __name__ == "__main__":
    DOCS.parent.mkdir(exist_ok=True)
    DOCS.write_text(markdown())
    print(f"wrote {DOCS}", file=sys.stderr)
