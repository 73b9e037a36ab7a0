"""`minewatch evaluate` pools the concealed-accident delays over the events of every seed."""

from __future__ import annotations

import pandas as pd
import pytest

from models.spec import FAMILIES
from pipelines.evaluate import SeedResult, event_delays, summarise


def seed_result(seed: int, ranks: dict[str, list[int]], rule_ranks: dict[str, list[int]], events: dict[str, str]) -> SeedResult:
    """Ten mines scored on three weekly dates; `ranks` gives the listed mines' ranks per date (k = 1 of 10)."""
    dates = pd.to_datetime(["2025-08-01", "2025-08-08", "2025-08-15"])
    mines = [f"M{i}" for i in range(10)]
    rows = []
    for d_i, as_of in enumerate(dates):
        for m_i, mine in enumerate(mines):
            rank = ranks.get(mine, [None] * 3)[d_i] or (m_i + 2)
            rule = rule_ranks.get(mine, [None] * 3)[d_i] or (m_i + 2)
            rows.append(dict(mine_code=mine, as_of=as_of, rank_concealed_accident=rank,
                             rankrule_concealed_accident=rule))
    accidents = pd.DataFrame({"mine_code": list(events), "occurred_at": list(events.values())})
    return SeedResult(seed, pd.DataFrame(rows), accidents)


def test_event_delays_model_and_rule() -> None:
    r = seed_result(1, {"M0": [1, 1, 1], "M1": [5, 1, 5]}, {"M1": [5, 5, 1]},
                    {"M0": "2025-07-30 10:00:00", "M1": "2025-08-01 03:00:00", "M2": "2025-08-02 00:00:00"})
    d = event_delays(r, share=0.1).set_index("mine_code")
    assert d.loc["M0", "days_model"] == 2.0  # listed on the first date after the event
    assert d.loc["M1", "days_model"] == 7.0 and d.loc["M1", "days_rule"] == 14.0
    assert pd.isna(d.loc["M2", "days_model"]) and pd.isna(d.loc["M0", "days_rule"])
    assert (d["seed"] == 1).all()


def test_summary_pools_events_over_seeds() -> None:
    # seed 1: three events, found after 2 and 7 days, one never; seed 2: one event, found after 14 days
    a = seed_result(1, {"M0": [1, 1, 1], "M1": [5, 1, 5]}, {},
                    {"M0": "2025-07-30", "M1": "2025-08-01", "M2": "2025-08-02"})
    b = seed_result(2, {"M3": [5, 5, 1]}, {}, {"M3": "2025-08-01"})
    delays = pd.concat([event_delays(a, 0.1), event_delays(b, 0.1)], ignore_index=True)
    # what seed_metrics gives per seed: AP and the seed's own delay figures
    per_seed = {seed: {risk: {"ap": ap, "ap_rule": ap / 2} for risk in (*FAMILIES, "overall")}
                for seed, ap in ((1, 0.6), (2, 0.8))}
    per_seed[1]["concealed_accident"].update(days_mean_days=4.5, days_share_found=2 / 3, days_n_events=3)
    per_seed[2]["concealed_accident"].update(days_mean_days=14.0, days_share_found=1.0, days_n_events=1)
    summary = summarise(per_seed, delays)
    ca = summary["concealed_accident"]
    assert ca["ap"] == pytest.approx(0.7) and ca["ap_lift_rule"] == pytest.approx(2.0)  # other metrics: mean of seeds
    assert ca["days_n_events"] == 4
    assert ca["days_share_found"] == pytest.approx(3 / 4)
    assert ca["days_mean_days"] == pytest.approx((2 + 7 + 14) / 3)  # the mean of per-seed means would be 9.25
    assert ca["days_median_days"] == 7
    assert ca["days_rule_n_events"] == 4 and ca["days_rule_share_found"] == 0.0
    assert "days_mean_days" not in summary["overall"]
