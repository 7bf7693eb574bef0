import numpy as np
import pandas as pd
import pytest
import scipy.stats

from lib import stats
from lib.errors import InputError
from lib.map_types import parse_map_type

IMAGES = [f"img{i}" for i in range(25)]
METHODS = ["GBP", "GBPxIM", "SGBP", "GradCAM", "ScoreCAM", "CAMERAS"]


def _per_image(rng, effects: dict[str, float], human_maps=("patch", "pc"), noise=0.05) -> pd.DataFrame:
    """Per-image r for each map type: a shared per-image level (images differ, as in the study),
    the map type's planted effect, and independent noise."""
    rows = []
    for human_map in human_maps:
        level = rng.normal(0.3, 0.1, len(IMAGES))
        for map_type, effect in effects.items():
            r = level + effect + rng.normal(0, noise, len(IMAGES))
            rows += [{"map_type": map_type, "human_map": human_map, "image": i, "r": v}
                     for i, v in zip(IMAGES, r, strict=True)]
    return pd.DataFrame(rows)


def test_map_type_names_give_arch_method_training_family():
    assert parse_map_type("effnetlite0-SGBP-I") == {
        "arch": "effnetlite0", "method": "SGBP", "training": "I", "family": "GBP"}
    assert parse_map_type("vit-s16-GradCAM-R")["arch"] == "vit-s16"
    assert parse_map_type("alexnet-CAMERAS-P")["family"] == "CAM"
    assert parse_map_type("ABN-resnet110-active-C") == {
        "arch": "ABN-resnet110", "method": "active", "training": "C", "family": "active"}
    assert parse_map_type("center-bias")["family"] == "baseline"
    for bad in ("alexnet-Saliency-I", "alexnet-GBP-X", "GBP"):
        with pytest.raises(InputError, match=bad):
            parse_map_type(bad)


def test_bonferroni_is_min_one_p_times_m():
    p = np.array([0.001, 0.02, 0.3, 0.9])
    assert np.allclose(stats.bonferroni(p), np.minimum(1, p * 4))


def test_paired_ttest_matches_scipy_and_signs_cohens_d(rng):
    a = rng.normal(0.5, 0.1, 25)
    b = a - 0.05 + rng.normal(0, 0.05, 25)
    out = stats.paired_ttest(a, b)
    ref = scipy.stats.ttest_rel(a, b)
    assert out["statistic"] == pytest.approx(ref.statistic)
    assert out["p"] == pytest.approx(ref.pvalue)
    assert out["dof"] == 24
    # pingouin's paired d: mean difference over the average of the two standard deviations.
    expected_d = (a.mean() - b.mean()) / np.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2)
    assert out["cohen_d"] == pytest.approx(expected_d)
    assert stats.paired_ttest(b, a)["cohen_d"] == pytest.approx(-expected_d)
    assert stats.paired_ttest(a, a)["p"] == 1.0


def test_planted_best_map_type_wins_and_a_null_comparison_does_not(rng):
    effects = {f"alexnet-{m}-I": 0.0 for m in METHODS}
    effects["alexnet-SGBP-I"] = 0.15  # built to beat the others
    effects["gbvs"] = 0.3  # a control scoring higher must not count as the best
    effects["alexnet-GBP-R"] = 0.4
    table = stats.best_vs_others(_per_image(rng, effects))
    for _, group in table.groupby("human_map"):
        assert set(group["a"]) == {"alexnet-SGBP-I"}
        models = group[group["test"] == "best vs model"]
        controls = group[group["test"] == "best vs control"]
        # Two Bonferroni families: the other trained types, then the controls.
        assert len(models) == len(METHODS) - 1 and (models["m"] == len(models)).all()
        assert set(controls["b"]) == {"gbvs", "alexnet-GBP-R"} and (controls["m"] == 2).all()
        assert np.allclose(models["p_bonferroni"], np.minimum(1, models["p"] * len(models)))
        assert models["significant"].all() and (models["statistic"] > 0).all() and (models["cohen_d"] > 0).all()
        assert (controls["statistic"] < 0).all()
    summary = stats.summarise_best(table)["pc"]
    assert summary["best"] == "alexnet-SGBP-I" and summary["n_models_beaten"] == len(METHODS) - 1
    assert sorted(summary["controls_scoring_higher"]) == ["alexnet-GBP-R", "gbvs"]
    assert summary["n_controls_compared"] == 2

    # Two map types with the same effect: the best one against its twin is a null comparison.
    twins = {"alexnet-SGBP-I": 0.1, "alexnet-GBP-I": 0.1, "alexnet-GradCAM-I": 0.0, "bms": 0.0}
    table = stats.best_vs_others(_per_image(rng, twins), compare_controls=False)
    assert "bms" not in set(table["b"])
    pair = table[table["b"].isin(["alexnet-SGBP-I", "alexnet-GBP-I"])]
    assert len(pair) == 2 and not pair["significant"].any()
    assert table[table["b"] == "alexnet-GradCAM-I"]["significant"].all()


def test_controls_never_enter_the_ranking_family_tests_or_variance_shares(rng):
    # Synthetic table where every control beats every trained type by far.
    effects = {f"effnetlite{n}-{m}-I": 0.01 * n for n in range(3) for m in METHODS}
    effects |= {f"alexnet-{m}-R": 0.3 for m in METHODS} | {"gbvs": 0.35, "bms": 0.35, "center-bias": 0.35}
    data = _per_image(rng, effects)
    best = stats.best_vs_others(data)
    assert all(parse_map_type(m)["training"] == "I" for m in best["a"])
    means = stats.family_means(data)
    assert (means["n_map_types"] == 9).all()  # 3 networks x 3 methods per family, no -R
    plain = stats.family_means(data[data["map_type"].str.endswith("-I")])
    assert np.allclose(means["r"], plain["r"])
    scores = stats.map_type_scores(data, ["patch"])
    shares = stats.variance_shares(scores).set_index("factor")
    assert (shares["n"] == 18).all()
    assert shares.loc["training", "status"].startswith("not estimable")
    assert shares.loc["arch", "status"].startswith("ok") and shares.loc["method", "status"].startswith("ok")


def test_no_trained_network_gives_no_best(rng):
    data = _per_image(rng, {"alexnet-GBP-R": 0.1, "gbvs": 0.2})
    assert stats.best_vs_others(data).empty
    assert stats.family_means(data).empty


def test_paired_tests_need_every_image(rng):
    table = _per_image(rng, {"alexnet-GBP-I": 0.0, "alexnet-SGBP-I": 0.0}).iloc[1:]
    with pytest.raises(InputError, match="img0"):
        stats.best_vs_others(table)
    with pytest.raises(InputError, match="missing column"):
        stats.best_vs_others(table.drop(columns="r"))


def test_families_compare_only_those_present(rng):
    effects = {f"alexnet-{m}-I": (0.1 if m in ("GBP", "GBPxIM", "SGBP") else 0.0) for m in METHODS}
    effects["center-bias"] = 0.3  # baselines are not a method family
    data = _per_image(rng, effects)
    means = stats.family_means(data)
    assert set(means["family"]) == {"GBP", "CAM"} and (means["n_map_types"] == 3).all()
    tests = stats.family_tests(data)
    assert list(tests["a"] + " " + tests["b"]) == ["GBP CAM", "GBP CAM"]
    assert tests["significant"].all() and (tests["mean_a"] > tests["mean_b"]).all()

    effects["LTPA-vgg-active-C"] = 0.1  # same as the GBP family: a null comparison
    tests = stats.family_tests(_per_image(rng, effects))
    assert (tests["m"] == 3).all()
    by_pair = tests[tests["human_map"] == "pc"].set_index(["a", "b"])
    assert not by_pair.loc[("GBP", "active"), "significant"]
    assert by_pair.loc[("GBP", "CAM"), "significant"] and by_pair.loc[("CAM", "active"), "significant"]


def test_variance_shares_find_the_planted_factor(rng):
    rows = []
    for arch in ("alexnet", "effnetlite0", "vgg16bn"):
        for method in METHODS:
            for training in ("I", "P"):
                score = 0.3 + (0.2 if training == "I" else 0.0) + rng.normal(0, 0.01)
                rows.append({"map_type": f"{arch}-{method}-{training}", "score": score})
    rows.append({"map_type": "gbvs", "score": 5.0})  # excluded: controls do not compete
    rows.append({"map_type": "alexnet-GBP-R", "score": 5.0})
    table = stats.variance_shares(pd.DataFrame(rows)).set_index("factor")
    assert table.loc["training", "eta_sq"] > 0.95 and table.loc["training", "p"] < 1e-10
    assert table.loc["method", "eta_sq"] < 0.1 and table.loc["arch", "eta_sq"] < 0.1
    assert table.loc["training", "joint_share"] == pytest.approx(table.loc["training", "eta_sq"], abs=0.01)
    assert (table["n"] == 36).all() and (table["status"] == "ok").all()
    # Balanced design: one-way and joint shares agree.
    assert np.allclose(table["eta_sq"], table["joint_share"])


def test_variance_shares_with_a_single_level_or_confounding_do_not_crash(rng):
    rows = [{"map_type": f"alexnet-{m}-I", "score": 0.3 + 0.05 * i} for i, m in enumerate(METHODS)]
    table = stats.variance_shares(pd.DataFrame(rows)).set_index("factor")
    assert table.loc["arch", "status"].startswith("not estimable") and np.isnan(table.loc["arch", "eta_sq"])
    assert table.loc["training", "status"].startswith("not estimable")
    assert table.loc["method", "status"].startswith("saturated") and table.loc["method", "eta_sq"] == 1.0
    # Active attention only exists in its own architecture: method and arch are partly confounded.
    rows += [{"map_type": f"effnetlite0-{m}-I", "score": 0.2 + rng.normal(0, 0.01)} for m in METHODS]
    rows.append({"map_type": "LTPA-vgg-active-I", "score": 0.25})
    table = stats.variance_shares(pd.DataFrame(rows)).set_index("factor")
    assert "partly confounded" in table.loc["method", "status"]
    assert 0 <= table.loc["arch", "joint_share"] <= table.loc["arch", "eta_sq"] + 1e-12


def test_map_type_scores_average_over_the_measures(rng):
    data = _per_image(rng, {"alexnet-GBP-I": 0.0, "alexnet-SGBP-I": 0.1}, human_maps=("patch", "free", "pc"))
    scores = stats.map_type_scores(data, ["patch", "free"]).set_index("map_type")
    expected = data[data["human_map"] != "pc"].groupby("map_type")["r"].mean()
    assert np.allclose(scores["score"], expected[scores.index])
    with pytest.raises(InputError, match="object"):
        stats.map_type_scores(data, ["patch", "object"])


def _recognition(rng, interaction: float, n_images: int = 12) -> pd.DataFrame:
    """Inverse ranks with a masking main effect, a mask type main effect and a planted
    masking x mask type interaction (correct masking helps `pc` masks by `interaction` more)."""
    images = IMAGES[:n_images]
    rows = []
    for model in ("alexnet-I", "effnetlite0-I"):
        for k, mask_type in enumerate(("patch", "free", "pc")):
            for i in images:
                for j in images:
                    value = 0.6 + 0.02 * k + (0.1 if i == j else 0.0)
                    value += interaction if i == j and mask_type == "pc" else 0.0
                    rows.append({"model": model, "mask_source": "human", "mask_type": mask_type, "image": i,
                                 "mask_image": j, "inverse_rank": value + rng.normal(0, 0.03)})
    rows.append({"model": "alexnet-I", "mask_source": "ann", "mask_type": "ann-best", "image": images[0],
                 "mask_image": images[0], "inverse_rank": 0.1})  # another source: left out
    return pd.DataFrame(rows)


def test_recognition_anova_recovers_a_planted_interaction(rng):
    cells = stats.recognition_cells(_recognition(rng, interaction=0.15))
    assert set(cells["mask_type"]) == {"patch", "free", "pc"} and len(cells) == 12 * 3 * 2
    table = stats.recognition_anova(cells).set_index("effect")
    assert list(table.index) == ["masking", "mask type", "masking x mask type"]
    assert table.loc["masking x mask type", "p"] < 1e-6
    assert (table.loc["masking x mask type", "df1"], table.loc["masking x mask type", "df2"]) == (2, 22)
    assert table.loc["masking", "p"] < 1e-6 and table.loc["masking", "df1"] == 1

    null = stats.recognition_anova(stats.recognition_cells(_recognition(rng, interaction=0.0))).set_index("effect")
    assert null.loc["masking x mask type", "p"] > 0.01 and null.loc["masking", "p"] < 1e-6


def test_recognition_cells_average_models_and_masks():
    rows = [{"model": m, "mask_source": "human", "mask_type": "pc", "image": i, "mask_image": j,
             "inverse_rank": v} for m, v0 in (("a", 1.0), ("b", 0.5))
            for i in ("x", "y", "z") for j, v in zip(("x", "y", "z"), (v0, v0 / 2, v0 / 4), strict=True)]
    cells = stats.recognition_cells(pd.DataFrame(rows)).set_index(["image", "masking"])["inverse_rank"]
    # image x: own mask 1.0 and 0.5 over the two models; other masks (0.5, 0.25) and (0.25, 0.125)
    assert cells[("x", "correct")] == pytest.approx(0.75)
    assert cells[("x", "incorrect")] == pytest.approx((0.5 + 0.25 + 0.25 + 0.125) / 4)
    one = stats.recognition_anova(stats.recognition_cells(pd.DataFrame(rows)))
    assert list(one["effect"]) == ["masking"]


def test_recognition_rejects_a_condition_that_disagrees():
    table = pd.DataFrame([{"model": "m", "mask_source": "human", "mask_type": "pc", "image": "x",
                           "mask_image": "y", "condition": "correct", "inverse_rank": 1.0}])
    with pytest.raises(InputError, match="condition"):
        stats.recognition_cells(table)


def test_dprime_tests_masking_and_mask_types(rng):
    rows = []
    for p in range(20):
        skill = rng.normal(1.0, 0.3)
        for mask_type, gain in (("alexnet-SGBP-I", 0.8), ("alexnet-GradCAM-I", 0.8), ("alexnet-ScoreCAM-I", 0.0)):
            rows.append({"participant": p, "mask_type": mask_type, "masking": "correct",
                         "dprime": skill + gain + rng.normal(0, 0.2)})
            rows.append({"participant": p, "mask_type": mask_type, "masking": "incorrect",
                         "dprime": skill + rng.normal(0, 0.2)})
    table = stats.dprime_tests(pd.DataFrame(rows)).set_index("a")
    assert len(table) == 3 + 3 and (table["m"] == 6).all()
    assert np.allclose(table["p_bonferroni"], np.minimum(1, table["p"] * 6))
    masking = table[table["test"] == "d' masking"]
    assert masking.loc["alexnet-SGBP-I correct", "significant"]
    assert not masking.loc["alexnet-ScoreCAM-I correct", "significant"]  # no planted gain
    types = table[table["test"] == "d' mask type"].set_index("b", append=True)
    assert not types.loc[("alexnet-GradCAM-I correct", "alexnet-SGBP-I correct"), "significant"]
    assert types.loc[("alexnet-GradCAM-I correct", "alexnet-ScoreCAM-I correct"), "significant"]
    assert stats.dprime_tests(pd.DataFrame(columns=["participant", "mask_type", "masking", "dprime"])).empty


def test_stats_stage_with_controls_only_completes_and_ranks_nothing(rng, tmp_path, monkeypatch):
    import json

    import stages.stats as stage

    controls_only = _per_image(rng, {"alexnet-GBP-R": 0.1, "effnetlite0-SGBP-R": 0.0, "gbvs": 0.2})
    monkeypatch.setattr(stage.outputs, "per_image", lambda: controls_only)
    monkeypatch.setattr(stage.outputs, "recognition_ann", lambda: pd.DataFrame(columns=stats.RECOGNITION_COLUMNS))
    monkeypatch.setattr(stage.outputs, "dprime", lambda unit: None)
    fit = controls_only.groupby(["map_type", "human_map"], as_index=False)["r"].mean().assign(sigma=2.0)
    monkeypatch.setattr(stage.outputs, "fit_smoothing", lambda: fit)
    monkeypatch.setattr(stage.outputs, "bootstrap", lambda error_bar: None)
    monkeypatch.setattr(stage.outputs, "controls", lambda: None)
    monkeypatch.setattr(stage, "STATS", tmp_path / "stats")
    monkeypatch.setattr(stage, "STATS_METRICS", tmp_path / "metrics" / "stats.json")
    stage.main()
    summary = json.loads((tmp_path / "metrics" / "stats.json").read_text())
    for key in ("best_vs_others", "family_tests", "variance_shares", "recognition_anova"):
        assert summary[key]["status"].startswith("no trained network")
    assert pd.read_csv(tmp_path / "stats" / "best_vs_others.csv").empty
    assert summary["answer"] == {"status": "no trained network", "human_map": "pc"}
