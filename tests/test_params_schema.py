"""The params schema: the committed params and presets pass, docs/params.md is current, its
allowed values match the lib modules', and bad values are named by key."""

import copy

import pytest
import yaml

from lib.errors import InputError
from lib.params_schema import DOCS, MEASURES, METHODS, Params, markdown, validate
from lib.paths import PARAMS, ROOT


@pytest.fixture(scope="module")
def params() -> dict:
    return yaml.safe_load(PARAMS.read_text())


def _merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in over.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def test_params_yaml_and_every_preset_pass(params):
    validate(params)
    for preset in sorted((ROOT / "presets").glob("*.yaml")):
        validate(_merge(params, yaml.safe_load(preset.read_text()) or {}), preset.name)


def test_docs_page_is_generated_from_the_schema():
    assert DOCS.read_text() == markdown(), "run `python -m lib.params_schema` to regenerate docs/params.md"


# Keys whose values are free mappings (by measure, model or device), not sections of named keys.
MAPPINGS = ("sources", "reliability", "target_layers", "channel_weights", "batch_size", "channels_last",
            "score_cam_autocast", "score_cam_batch_size")


def test_docs_page_names_every_key_of_params_yaml(params):
    def keys(node, prefix=""):
        for k, v in node.items():
            yield f"{prefix}{k}"
            if isinstance(v, dict) and k not in MAPPINGS:
                yield from keys(v, f"{prefix}{k}.")

    page = DOCS.read_text()
    missing = [k for k in keys(params) if f"`{k}`" not in page]
    assert not missing


def test_allowed_values_match_the_lib_modules():
    from lib.attention.extract import METHODS as EXTRACT_METHODS
    from lib.attention.extract import SGBP_NOISE_RULES
    from lib.attention.gbp import SMOOTH_RULES
    from lib.attention.models import NORMALISATIONS
    from lib.human_maps import MEASURE_FILES
    from lib.outputs import ERROR_BARS
    from lib.trials.settings import DPRIME_CORRECTIONS

    def allowed(section, key):
        import typing

        return set(typing.get_args(Params.model_fields[section].annotation.model_fields[key].annotation))

    assert set(METHODS) == set(EXTRACT_METHODS)
    assert set(MEASURES) == set(MEASURE_FILES)
    assert allowed("extract_attention", "smooth_rule") == set(SMOOTH_RULES)
    assert allowed("extract_attention", "normalisation") == set(NORMALISATIONS)
    assert allowed("bootstrap", "error_bar") == set(ERROR_BARS)
    from lib.params_schema import DprimeTrials, Sgbp

    assert set(typing_args(Sgbp, "noise_rule")) == set(SGBP_NOISE_RULES)
    assert set(typing_args(DprimeTrials, "correction")) == set(DPRIME_CORRECTIONS)


def typing_args(model, key):
    import typing

    return typing.get_args(model.model_fields[key].annotation)


@pytest.mark.parametrize("change, message", [
    (("extract_attention", "methods", []), "`extract_attention.methods` = []"),
    (("data", "images", []), "`data.images` = []"),
    (("data", "images", ["img10", "image32"]), "`data.images[1]` = 'image32'"),
    (("data", "grid", 1), "`data.grid` = 1"),
    (("data", "grid", -3), "`data.grid` = -3"),
    (("extract_attention", "smooth_rule", "clen"), "`extract_attention.smooth_rule` = 'clen'"),
    (("extract_attention", "device", "gpu"), "`extract_attention.device` = 'gpu'"),
    (("extract_attention", "cameras_resolutions", []), "`extract_attention.cameras_resolutions`"),
    (("extract_attention", "batch_size", {"cpu": 0, "cuda": 64}), "`extract_attention.batch_size.cpu` = 0"),
    (("extract_attention", "score_cam_batch_size", {"cpu": {"effnetlite0": 4}, "cuda": 256}),
     "`extract_attention.score_cam_batch_size.cpu` = {'effnetlite0': 4}: Value error, a value given per "
     "architecture needs a `default` entry"),
    (("extract_attention", "batch_size", {"cpu": {"default": 8, "alexnet": 0}, "cuda": 64}),
     "`extract_attention.batch_size.cpu.alexnet` = 0"),
    (("data", "human_pc", "patch"), "`data.human_pc` 'patch' names a measure"),
    (("smoothing", "max_sigma", 100000), "`smoothing.max_sigma` = 100000"),
    (("smoothing", "sigma_stp", 2), "unknown key `smoothing.sigma_stp`; did you mean `smoothing.sigma_step`?"),
    (("smoothing", "sigma_step", 7), "`smoothing.sigma_step` 7 does not divide"),
    (("crossval", "n_train", 25), "`crossval.n_train` 25 must be below the number of images (25"),
    (("bootstrap", "n", True), "`bootstrap.n` = True"),
    (("stats", "alpha", "0.05"), "`stats.alpha` = '0.05'"),
    (("extract_attention", "methods", ["GBP", "Gradcam"]), "`extract_attention.methods[1]` = 'Gradcam'"),
    (("recognition_human", "mask_style", "blurry"), "`recognition_human.mask_style` = 'blurry'"),
    (("recognition_human", "set_size", 7), "`recognition_human.set_size` = 7"),
    (("randomisation", "methods", ["SGBP"]), "`randomisation.methods` lists ['SGBP']"),
    (("executor", "kind", "dask"), "`executor.kind` dask needs exactly one of `executor.dask.address` and"),
    (("executor", "kind", "slurm"), "`executor.kind` = 'slurm'"),
    (("executor", "dask", {"address": "head-node:8786"}), "`executor.dask.address` = 'head-node:8786'"),
    (("executor", "dask", {"cluster": {"kind": "slurm", "gpu": 1}}),
     "unknown key `executor.dask.cluster.gpu`; did you mean `executor.dask.cluster.gpus`?"),
])
def test_bad_values_are_named_by_key(params, change, message):
    section, key, value = change
    bad = copy.deepcopy(params)
    if section == "randomisation":
        bad["extract_attention"]["methods"] = ["GBP", "GradCAM"]
    bad[section][key] = value
    with pytest.raises(InputError) as err:
        validate(bad)
    text = str(err.value)
    assert message in text and "\n" not in text


def test_extension_keys_are_accepted(params):
    ok = copy.deepcopy(params)
    ok["recognition_human"]["mask_style"] = "binary"
    ok["recognition_ann"]["forward"] = "eager"
    ok["extract_attention"]["score_cam_autocast"] = "bfloat16"
    validate(ok)
    ok["extract_attention"]["batch_size"] = 4
    validate(ok)


def test_a_missing_key_is_named(params):
    bad = copy.deepcopy(params)
    del bad["extract_attention"]["sgbp"]["samples"]
    with pytest.raises(InputError, match=r"missing key `extract_attention.sgbp.samples`"):
        validate(bad)


def test_batch_sizes_resolve_per_device_and_architecture(params):
    from lib.attention.extract import ExtractOptions
    from lib.params import per_device

    ok = copy.deepcopy(params)
    ok["extract_attention"]["score_cam_batch_size"] = {"cpu": {"default": 8, "alexnet": 32}, "cuda": 256}
    validate(ok)
    key = "extract_attention.score_cam_batch_size"
    assert per_device(ok, key, "cpu", int, "alexnet") == 32
    assert per_device(ok, key, "cpu", int, "effnetlite2") == 8  # no entry: the default
    assert per_device(ok, key, "cpu", int) == 8
    assert per_device(ok, key, "cuda:1", int, "alexnet") == 256
    assert ExtractOptions.from_params(ok, "cpu", "alexnet").score_cam_batch_size == 32
    ok["extract_attention"]["score_cam_batch_size"] = {"cpu": {"alexnet": 32}, "cuda": 256}
    with pytest.raises(InputError, match=r"`extract_attention.score_cam_batch_size.cpu` given per "
                                         r"architecture needs a `default` entry"):
        per_device(ok, key, "cpu", int, "alexnet")
