"""The per-family ranker: components, combined score, overall score, params."""

from __future__ import annotations

import dataclasses as dc

import numpy as np
import pandas as pd
import pytest

from models.combine import RISKS, rank_targets
from models.ranker import COMPONENTS, CombineParams, FamilyRanker, ModelParams, score_families
from models.spec import FAMILIES, FeatureSpec
from pipelines.params import load_section
from tests.models.conftest import FAST_DETECTORS, plant_overproduction

FAST = ModelParams(seed=3, detectors=FAST_DETECTORS)


def _fit_all(spec: FeatureSpec, frame: pd.DataFrame) -> dict[str, FamilyRanker]:
    out = {}
    for family in FAMILIES:
        labels = frame.get(f"label_{family}", pd.Series(np.nan, index=frame.index))
        out[family] = FamilyRanker(family, spec, FAST).fit(frame, labels, groups=frame["mine_code"])
    return out


def test_planted_case_tops_its_family_and_overall(spec, labelled):
    frame, _ = labelled
    rankers = _fit_all(spec, frame)
    assert not rankers["overproduction"].pu_.is_fallback_
    assert rankers["concealed_accident"].pu_.is_fallback_  # no findings at all for that family
    today = frame[frame["as_of"] == frame["as_of"].max()].reset_index(drop=True)
    today.loc[:, ["op_max_month_capacity_ratio", "op_peak_headcount_ratio"]] = [0.85, 0.8]
    plant_overproduction(today, np.array([4]), strength=1.5)
    components = rankers["overproduction"].components(today)
    assert list(components.columns) == list(COMPONENTS)
    assert (components.idxmax() == 4).all()
    scores = score_families(rankers, today)
    assert list(scores.columns) == [*FAMILIES, "overall"]
    assert scores["overproduction"].idxmax() == 4
    targets = rank_targets(pd.concat([today[["as_of", "mine_code"]], scores], axis=1))
    assert len(targets) == len(today) * len(RISKS)
    top = targets[(targets["risk"] == "overproduction") & (targets["rank"] == 1)]
    assert top["mine_code"].item() == today.loc[4, "mine_code"]
    for _, ranks in targets.groupby("risk"):
        assert sorted(ranks["rank"]) == list(range(1, len(today) + 1))


def test_percentiles_are_taken_per_as_of(spec, labelled):
    frame, _ = labelled
    ranker = FamilyRanker("overproduction", spec, FAST).fit(frame, frame["label_overproduction"])
    together = ranker.score_samples(frame)
    alone = np.concatenate([ranker.score_samples(snap) for _, snap in frame.groupby("as_of", sort=True)])
    order = np.argsort(frame["as_of"].to_numpy(), kind="stable")
    np.testing.assert_allclose(together[order], alone)


def test_params_load_from_a_params_yaml_section(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("models:\n  seed: 5\n  pu:\n    num_leaves: 4\n  combine:\n    pu: 3.0\n", encoding="utf-8")
    params = load_section("models", ModelParams, path)
    assert params.seed == 5
    assert params.pu.num_leaves == 4
    assert params.pu.n_estimators == ModelParams().pu.n_estimators
    assert params.combine.weights()["pu"] == 3.0


def test_a_family_can_weigh_its_components_its_own_way(tmp_path, spec, frame):
    path = tmp_path / "params.yaml"
    path.write_text("models:\n  combine:\n    ecod: 1.5\n    by_family:\n      overproduction: {ecod: 3.0}\n",
                    encoding="utf-8")
    params = load_section("models", ModelParams, path)
    assert params.combine.weights("overproduction")["ecod"] == 3.0
    assert params.combine.weights("hidden_workface")["ecod"] == 1.5
    assert params.combine.weights()["ecod"] == 1.5
    labels = np.full(len(frame), np.nan)
    fitted = FamilyRanker("overproduction", spec, dc.replace(params, detectors=FAST_DETECTORS)).fit(frame, labels)
    assert fitted.weights_["ecod"] == 3.0 and fitted.weights_["rule"] == 1.0
    with pytest.raises(ValueError, match="unknown component"):
        CombineParams(by_family={"overproduction": {"ecdo": 2.0}})  # a typo in params.yaml fails on load
    with pytest.raises(ValueError, match="unknown family"):
        CombineParams(by_family={"overproducton": {"ecod": 2.0}})


def test_pu_weight_follows_its_evidence(spec, labelled):
    frame, _ = labelled
    n_pos = int((frame["label_overproduction"] == 1).sum())
    params = ModelParams(detectors=FAST_DETECTORS, combine=CombineParams(pu=2.0, pu_full_at=2 * n_pos))
    ranker = FamilyRanker("overproduction", spec, params).fit(frame, frame["label_overproduction"])
    assert ranker.weights_["pu"] == 1.0
    none = FamilyRanker("overproduction", spec, params).fit(frame, np.full(len(frame), np.nan))
    assert none.weights_["pu"] == 0.0
    assert none.weights_["rule"] == 1.0


def test_a_model_registered_before_the_tail_detector_still_scores(spec, frame):
    # a champion pickled by an earlier version has no ecod_ and no weight for it: it scores on what it has
    labels = np.full(len(frame), np.nan)
    ranker = FamilyRanker("overproduction", spec, ModelParams(detectors=FAST_DETECTORS)).fit(frame, labels)
    del ranker.ecod_
    del ranker.weights_["ecod"]
    components = ranker.components(frame)
    assert list(components.columns) == ["rule", "iforest", "robust_z", "pu"]
    assert np.isfinite(ranker.score_samples(frame)).all()
