"""rank_by_mechanism: hand-computed mean ranks of the mine-dates where a mechanism is live in the window."""

import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from rank_by_mechanism import mechanism_ranks, top_k_false_positives  # noqa: E402


def test_ranks_only_where_the_mechanism_is_live():
    dates = [pd.Timestamp("2025-09-01"), pd.Timestamp("2025-09-08")]
    scored = pd.DataFrame({
        "as_of": [d for d in dates for _ in range(3)],
        "mine_code": ["A", "B", "C"] * 2,
        # the rule sees B's headcount; the model ranks A first, then C
        "op_max_month_capacity_ratio": [0.9] * 6,
        "op_peak_headcount_ratio": [0.8, 1.3, 0.7] * 2,
    })
    model = pd.Series([0.9, 0.1, 0.5, 0.2, 0.3, 0.8])  # 09-08: C, B, A
    anomalies = pd.DataFrame({
        "mine_code": ["A", "B"],
        "family": ["overproduction"] * 2,
        "mechanism": ["underweigh_shaded", "over_manning"],
        # A's scheme runs through both windows; B's ended 08-05, before the window of 09-08 (from 08-10)
        "start_at": pd.to_datetime(["2025-08-01", "2025-07-01"]),
        "end_at": pd.to_datetime([None, "2025-08-05"]),
    })
    table = mechanism_ranks(scored, model, anomalies, "overproduction", window_days=30)
    assert table.loc["underweigh_shaded", "n"] == 2
    assert table.loc["underweigh_shaded", "rank"] == pytest.approx((1 + 3) / 2)
    # the rule scores A and C alike (0.9 / 1.1 > 0.8 and 0.7): they share ranks 2 and 3
    assert table.loc["underweigh_shaded", "rule_rank"] == pytest.approx(2.5)
    # B's scheme ended 08-05: live in the window [08-03, 09-02) of 09-01 only
    assert table.loc["over_manning", "n"] == 1
    assert table.loc["over_manning", "rank"] == 3 and table.loc["over_manning", "rule_rank"] == 1


def test_false_positives_in_the_top_k_and_whose_they_are():
    scored = pd.DataFrame({
        "as_of": [pd.Timestamp("2025-09-01")] * 4,
        "mine_code": ["A", "B", "C", "D"],
        "truth_overproduction": [1, 0, 0, 0],
        "truth_hidden_workface": [0, 1, 0, 0],
        "truth_alarm_falsification": [0, 0, 0, 0],
        "truth_concealed_accident": [0, 0, 0, 1],
    })
    # k = ceil(0.5 x 4) = 2: B and A; B is a false positive and a hidden-workface mine
    got = top_k_false_positives(scored, pd.Series([0.5, 0.9, 0.1, 0.3]), "overproduction", share=0.5)
    assert got["top_k_slots"] == 2 and got["false_positives"] == 1
    assert got["of them hidden_workface"] == 1 and got["of them concealed_accident"] == 0
