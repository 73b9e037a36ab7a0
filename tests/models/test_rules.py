"""The regulatory rule baseline: exact thresholds, continuous scores, NULL = no evidence."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.rules import rule_fires, rule_score, rule_scores


@pytest.fixture
def mines() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "op_max_month_capacity_ratio": [1.21, 1.10, 0.55, np.nan],
            "op_peak_headcount_ratio": [0.90, 0.95, 1.20, np.nan],
            "af_cut_missing_share": [0.0, 0.25, np.nan, 1.0],
            "ca_n_open_trip_events": [0, 2, np.nan, 1],
        }
    )


def test_overproduction_rule_is_the_larger_of_month_output_and_headcount(mines):
    score = rule_score(mines, "overproduction")
    np.testing.assert_allclose(score, [1.1, 1.0, 1.2, 0.0])
    assert rule_fires(mines, "overproduction").tolist() == [True, True, True, False]


def test_hidden_workface_uses_the_overproduction_rule(mines):
    pd.testing.assert_series_equal(
        rule_score(mines, "hidden_workface"), rule_score(mines, "overproduction"), check_names=False
    )


def test_alarm_rule_fires_on_any_uncut_alarm_and_ranks_by_share(mines):
    np.testing.assert_allclose(rule_score(mines, "alarm_falsification"), [0.0, 1.25, 0.0, 2.0])
    assert rule_fires(mines, "alarm_falsification").tolist() == [False, True, False, True]


def test_concealed_accident_rule_counts_open_trips(mines):
    np.testing.assert_allclose(rule_score(mines, "concealed_accident"), [0, 2, 0, 1])


def test_missing_rule_columns_score_zero():
    scores = rule_scores(pd.DataFrame({"mine_code": ["a", "b"]}))
    assert list(scores.columns) == ["hidden_workface", "overproduction", "alarm_falsification", "concealed_accident"]
    assert (scores.to_numpy() == 0).all()


def test_unknown_family_is_rejected(mines):
    with pytest.raises(ValueError, match="unknown family"):
        rule_score(mines, "smuggling")
