"""Ranking metrics on hand-computed examples."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.metrics import (
    average_precision,
    days_to_top_k,
    evaluate_snapshots,
    family_metrics,
    precision_recall_at_k,
    summarise_days,
    top_k,
)


def test_k_is_the_ceiling_of_ten_percent():
    assert top_k(60) == 6
    assert top_k(61) == 7
    assert top_k(5) == 1
    assert top_k(0) == 1


def test_average_precision_by_hand():
    # positives at ranks 1 and 3: (1/1 + 2/3) / 2
    assert average_precision([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1]) == pytest.approx(5 / 6)
    # positives at ranks 2 and 4: (1/2 + 2/4) / 2
    assert average_precision([0, 1, 0, 1], [0.9, 0.8, 0.7, 0.1]) == pytest.approx(0.5)
    assert np.isnan(average_precision([0, 0], [0.3, 0.2]))


def test_tied_scores_count_as_one_threshold():
    # all tied: precision at the only threshold is the prevalence, whatever the order
    assert average_precision([1, 0, 0, 0], [0.5, 0.5, 0.5, 0.5]) == pytest.approx(0.25)


def test_truth_must_be_known():
    with pytest.raises(ValueError, match="no missing value"):
        average_precision([1, np.nan], [0.2, 0.1])


def test_precision_and_recall_at_k_use_the_tie_break():
    y = [1, 0, 1, 1, 0]
    score = [0.9, 0.5, 0.5, 0.1, 0.0]
    # the tie at 0.5 goes to the smaller key: "b" (negative) before "c" (positive)
    p, r = precision_recall_at_k(y, score, ["a", "b", "c", "d", "e"], k=2)
    assert (p, r) == pytest.approx((0.5, 1 / 3))
    p, r = precision_recall_at_k(y, score, ["a", "c", "b", "d", "e"], k=2)
    assert (p, r) == pytest.approx((1.0, 2 / 3))


def test_family_metrics_lifts_by_hand():
    y = np.array([1, 1, 0, 0, 0, 0, 0, 0, 0, 0])
    score = np.arange(10, 0, -1, dtype=float)  # positives at ranks 1, 2
    rule = np.array([0, 5, 0, 0, 0, 0, 0, 0, 0, 0], dtype=float)  # positives at ranks 1, tie 2..10
    keys = [f"m{i:02d}" for i in range(10)]
    m = family_metrics(y, score, rule, keys)
    assert m["k"] == 1
    assert m["prevalence"] == pytest.approx(0.2)
    assert m["ap"] == pytest.approx(1.0)
    # rule: threshold 5 -> P 1, R 0.5; threshold 0 -> P 0.2, R 1: AP = 0.5 * 1 + 0.5 * 0.2
    assert m["ap_rule"] == pytest.approx(0.6)
    assert m["ap_lift_rule"] == pytest.approx(1 / 0.6)
    assert m["ap_lift_random"] == pytest.approx(5.0)
    assert m["precision_at_k"] == 1.0
    assert m["recall_at_k"] == 0.5
    assert m["precision_at_k_lift_random"] == pytest.approx(5.0)
    assert m["precision_at_k_lift_rule"] == pytest.approx(1.0)


def test_evaluate_snapshots_averages_over_dates_with_positives():
    frame = pd.DataFrame(
        {
            "as_of": ["d1"] * 4 + ["d2"] * 4 + ["d3"] * 4,
            "mine_code": list("abcd") * 3,
            "truth": [1, 0, 1, 0] + [0, 1, 0, 1] + [0, 0, 0, 0],
            "score": [0.9, 0.8, 0.7, 0.1] * 3,
            "rule": [0.0] * 12,
        }
    )
    out = evaluate_snapshots(frame, "truth", "score", "rule")
    assert out["n_snapshots"] == 2
    assert out["ap"] == pytest.approx((5 / 6 + 0.5) / 2)
    assert out["ap_rule"] == pytest.approx(0.5)
    # the lift is the ratio of the averaged APs, not the average of the per-date ratios
    assert out["ap_lift_rule"] == pytest.approx(((5 / 6 + 0.5) / 2) / 0.5)
    assert out["ap_lift_random"] == pytest.approx(out["ap"] / 0.5)


def test_lifts_are_ratios_of_averages_even_when_one_date_has_a_tiny_rule_ap():
    frame = pd.DataFrame(
        {
            "as_of": ["d1"] * 10 + ["d2"] * 10,
            "mine_code": list("abcdefghij") * 2,
            "truth": [1] + [0] * 9 + [1, 1, 1, 1, 1] + [0] * 5,
            "score": list(range(10, 0, -1)) * 2,
            "rule": list(range(1, 11)) * 2,  # the rule ranks every positive last
        }
    )
    out = evaluate_snapshots(frame, "truth", "score", "rule")
    per_date = [1.0 / 0.1, 1.0 / average_precision([1] * 5 + [0] * 5, list(range(1, 11)))]
    assert out["ap_lift_rule"] == pytest.approx(out["ap"] / out["ap_rule"])
    assert out["ap_lift_rule"] < np.mean(per_date)


def test_days_to_top_k_by_hand():
    ranks = pd.DataFrame(
        {
            "mine_code": ["a", "b", "c"] * 3,
            "as_of": ["2024-01-01"] * 3 + ["2024-01-08"] * 3 + ["2024-01-15"] * 3,
            "rank": [1, 2, 3, 2, 1, 3, 3, 2, 1],
        }
    )
    events = pd.DataFrame(
        {
            "mine_code": ["a", "b", "c", "a"],
            "event_date": ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-10"],
        }
    )
    out = days_to_top_k(ranks, events, k=1)
    # a on Jan 1: top on Jan 1 -> 0 days; b: top on Jan 8 -> 6; c: top on Jan 15 -> 12; a again: never after
    assert out["days_to_top_k"].tolist()[:3] == [0.0, 6.0, 12.0]
    assert np.isnan(out["days_to_top_k"].iloc[3])
    summary = summarise_days(out)
    assert summary == pytest.approx({"n_events": 4, "share_found": 0.75, "mean_days": 6.0, "median_days": 6.0})


def test_days_to_top_k_default_k_is_ten_percent_of_the_day():
    ranks = pd.DataFrame(
        {"mine_code": [f"m{i:02d}" for i in range(11)], "as_of": "2024-02-01", "rank": range(1, 12)}
    )
    events = pd.DataFrame({"mine_code": ["m00", "m01", "m02"], "event_date": "2024-01-20"})
    out = days_to_top_k(ranks, events)  # 11 mines -> k = 2: m00 and m01 are in, m02 is not
    assert out["days_to_top_k"].tolist()[:2] == [12.0, 12.0]
    assert np.isnan(out["days_to_top_k"].iloc[2])


def test_days_to_top_k_when_no_event_mine_ever_enters_the_top_k():
    ranks = pd.DataFrame({"mine_code": ["a", "b"], "as_of": ["2025-01-05", "2025-01-05"], "rank": [1, 2]})
    events = pd.DataFrame({"mine_code": ["b"], "event_date": ["2025-01-01"]})
    out = days_to_top_k(ranks, events, k=1)
    assert out["first_top_k"].isna().all() and out["days_to_top_k"].isna().all()
