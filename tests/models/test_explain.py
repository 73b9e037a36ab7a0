"""Contributions point one way (positive = more suspicious) and add up to the model's output."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.detectors import EmpiricalTailDetector
from models.explain import contributions, mean_abs_contributions, top_reasons
from models.ranker import PUParams, make_ecod, make_isolation_forest, make_pu_model, make_robust_z
from tests.models.conftest import FAST_DETECTORS


def test_tree_contributions_add_up_to_the_raw_score(spec, labelled):
    frame, _ = labelled
    model = make_pu_model(spec, "overproduction", PUParams(n_estimators=60)).fit(frame, frame["label_overproduction"])
    parts, base = contributions(model, frame)
    assert list(parts.columns) == model.columns_
    np.testing.assert_allclose(parts.sum(axis=1) + base, model.decision_function(frame), atol=1e-6)


def test_isolation_forest_planted_feature_gets_the_top_positive_contribution(spec, frame):
    frame.loc[11, "af_people_stayed_share"] = 0.95
    detector = make_isolation_forest(spec, "alarm_falsification", FAST_DETECTORS).fit(frame)
    parts, base = contributions(detector, frame)
    assert parts.loc[11].idxmax() == "af_people_stayed_share"
    assert parts.loc[11, "af_people_stayed_share"] > 0
    # contributions + base = log2 of the detector score: the sign really is "more suspicious"
    np.testing.assert_allclose(parts.sum(axis=1) + base, np.log2(detector.score_samples(frame)), atol=1e-5)


def test_robust_z_contributions_are_exact(spec, frame):
    detector = make_robust_z(spec, "overproduction").fit(frame)
    parts, base = contributions(detector, frame)
    assert base == 0.0
    np.testing.assert_allclose(parts.sum(axis=1), detector.score_samples(frame))


def test_ecod_contributions_are_exact(spec, frame):
    detector = make_ecod(spec, "overproduction").fit(frame)
    parts, base = contributions(detector, frame)
    assert base == 0.0
    assert (parts.to_numpy() >= 0).all()
    np.testing.assert_allclose(parts.sum(axis=1), detector.score_samples(frame))


def test_fallen_back_model_explains_its_detector(spec, frame):
    labels = np.full(len(frame), np.nan)
    model = make_pu_model(spec, "concealed_accident").fit(frame, labels)
    assert isinstance(model.fallback_, EmpiricalTailDetector)
    parts, _ = contributions(model, frame)
    np.testing.assert_allclose(parts.sum(axis=1), model.score_samples(frame))


def test_top_reasons_orders_filters_and_carries_values():
    parts = pd.DataFrame(
        {"a": [0.5, -0.1, 0.2], "b": [0.5, -0.2, 0.0], "c": [0.9, -0.3, 0.1]}, index=[10, 11, 12]
    )
    values = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [4.0, 5.0, 6.0], "c": [7.0, np.nan, 9.0]}, index=[10, 11, 12])
    ids = pd.DataFrame({"mine_code": ["m10", "m11", "m12"]}, index=[10, 11, 12])
    reasons = top_reasons(parts, values, k=2, ids=ids)
    assert list(reasons.columns) == ["row", "mine_code", "reason_rank", "feature", "contribution", "value"]
    # row 10: c first, then the a/b tie broken by name; row 11 has no positive part; row 12: a, c
    assert reasons[["row", "feature"]].values.tolist() == [[10, "c"], [10, "a"], [12, "a"], [12, "c"]]
    assert reasons["value"].tolist() == [7.0, 1.0, 3.0, 9.0]
    assert reasons["reason_rank"].tolist() == [1, 2, 1, 2]
    assert reasons["mine_code"].tolist() == ["m10", "m10", "m12", "m12"]


def test_mean_abs_summary_is_sorted():
    parts = pd.DataFrame({"a": [1.0, -1.0], "b": [-3.0, 3.0], "c": [0.0, 1.0]})
    summary = mean_abs_contributions(parts)
    assert summary.index.tolist() == ["b", "a", "c"]
    assert summary.tolist() == pytest.approx([3.0, 1.0, 0.5])
