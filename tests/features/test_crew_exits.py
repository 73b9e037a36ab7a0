"""incident_candidates crew_exit: cards that came up together mid-shift, and who then stayed off work (hand-computed)."""

from datetime import date, datetime, timedelta

import pandas as pd
import pytest

from tests.features.conftest import build, insert

M = "140000000002"
SHAFT, FACE = M + "0001", M + "0003"
K1, K2, K3, K4, K5 = (M + f"0000{i}" for i in range(1, 6))
# (card, day) -> up time that day when the trip ended early; (card, day) absent -> no trip that day
EARLY = {
    # exit A: three cards up mid-shift on 03-10; K1 then stays off work until 03-25
    (K1, 10): "11:00", (K2, 10): "11:10", (K3, 10): "11:20",
    # exit B: a breakdown sends two cards up on 03-15; both back the next day
    (K4, 15): "09:00", (K5, 15): "09:05",
    # exit C: two cards up on 03-18 after an accident the mine reported; K3 off until 03-29
    (K2, 18): "12:00", (K3, 18): "12:10",
    # exit D: another breakdown on 03-22, both back the next day; K4 leaves the roster on 03-26 (no accident)
    (K4, 22): "10:00", (K5, 22): "10:05",
}
OFF = {K1: range(11, 25), K3: range(19, 29)}


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


def warehouse(con) -> None:
    insert(con, "mines", [dict(mine_code=M, mine_name="乙矿", approved_capacity_tpy=9e5, approved_headcount=100)])
    insert(con, "areas", [dict(mine_code=M, area_code=SHAFT, area_type="井口区域"),
                          dict(mine_code=M, area_code=FACE, area_type="重点区域", approved_headcount=20)])
    insert(con, "people", [dict(mine_code=M, card_code=c, registered_on=date(2024, 1, 1),
                                deregistered_on=date(2025, 3, 26) if c == K4 else None) for c in (K1, K2, K3, K4, K5)])
    trips, stays = [], []
    for day in range(1, 31):
        for card in (K1, K2, K3, K4, K5):
            if day in OFF.get(card, ()):
                continue
            down = datetime(2025, 3, day, 7, 0)
            up = ts(f"2025-03-{day:02d} {EARLY.get((card, day), '15:00')}")
            trips.append(dict(mine_code=M, card_code=card, down_at=down, up_at=up))
            stays += [dict(mine_code=M, card_code=card, area_code=SHAFT, entered_at=down, left_at=down + timedelta(minutes=10)),
                      dict(mine_code=M, card_code=card, area_code=FACE, entered_at=down + timedelta(minutes=20),
                           left_at=up - timedelta(minutes=15)),
                      dict(mine_code=M, card_code=card, area_code=SHAFT, entered_at=up - timedelta(minutes=5), left_at=up)]
    insert(con, "shaft_trips", trips)
    insert(con, "presence", stays)
    insert(con, "accident_reports", [dict(mine_code=M, report_id="R1", occurred_at=ts("2025-03-18 11:30"),
                                          reported_at=ts("2025-03-18 13:00"), kind="roof", injuries=1)])


def crew_exits(con) -> pd.DataFrame:
    return con.execute(
        "select * from incident_candidates where kind = 'crew_exit' order by event_at").df().set_index("candidate_id")


def test_crews_that_came_up_mid_shift_and_who_stayed_off(con):
    warehouse(con)
    build(con, "2025-03-30", only={"incident_candidates"}, window_days=15, history_days=10)
    out = crew_exits(con)
    assert list(out.index) == [
        "crew_exit-140000000002-202503101100",
        "crew_exit-140000000002-202503150900",
        "crew_exit-140000000002-202503181200",
        "crew_exit-140000000002-202503221000",
    ]
    a, b, c, d = (out.iloc[i] for i in range(4))
    # the crew left the face 15 minutes before the first card was up
    assert (a.event_at, a.area_code) == (ts("2025-03-10 10:45"), FACE)
    assert (a.n_cards, a.card_codes) == (3, f"{K1},{K2},{K3}")
    assert a.first_down_at == ts("2025-03-10 07:00") and a.max_trip_hours == pytest.approx(4 + 20 / 60)
    # K1 went down again on 03-25 at 07:00: 14 days 20 hours off; K2 and K3 were back the next morning
    assert a.n_cards_off_7d == 1 and a.max_days_off == pytest.approx(14 + 20 / 24)
    assert not a.has_accident_report and a.suspicion_points == 2  # off a week, no report
    # the breakdown: everyone back (K4 leaves the roster 11 days later: too late to count as a red flag)
    assert (b.n_cards, b.n_cards_off_7d, b.n_deregistered_10d, b.suspicion_points) == (2, 0, 0, 1)
    assert c.has_accident_report and c.n_cards_off_7d == 1 and c.suspicion_points == 1
    assert (d.n_cards_off_7d, d.n_deregistered_10d, d.suspicion_points) == (0, 1, 2)


def test_days_off_are_counted_only_up_to_the_as_of_date(con):
    warehouse(con)
    # as of 03-14, K1 has been off four days: not yet a week, and its return on 03-25 is unknown
    build(con, "2025-03-14", only={"incident_candidates"}, window_days=15, history_days=10)
    a = crew_exits(con).loc["crew_exit-140000000002-202503101100"]
    assert a.n_cards_off_7d == 0 and a.max_days_off == pytest.approx(4 + 13 / 24)
    # as of 03-20 the week is reached, still without knowing the return
    build(con, "2025-03-20", only={"incident_candidates"}, window_days=15, history_days=10)
    a = crew_exits(con).loc["crew_exit-140000000002-202503101100"]
    assert a.n_cards_off_7d == 1 and a.max_days_off == pytest.approx(10 + 13 / 24)


def test_mine_feature_counts_cards_off_after_unreported_crew_exits(con):
    warehouse(con)
    build(con, "2025-03-30", window_days=15, history_days=10)
    row = con.execute("select * from mine_features where as_of = date '2025-03-30'").df().iloc[0]
    # exit A (03-10) is outside the 15-day window but inside the 30-day lookback; exit C was reported
    assert row.ca_n_crew_cards_off_lookback == 1
    assert row.ca_max_crew_days_off_lookback == pytest.approx(14 + 20 / 24)  # K1, back on 03-25 07:00
    # a crew nobody stayed off after is the breakdown look-alike: its roster change and red flags do not count
    assert (row.ca_n_cards_deregistered, row.ca_max_suspicion_points) == (0, 0)
    assert row.ca_max_suspicion_lookback == 2  # exit A: a card off a week, no report
    build(con, "2025-04-20", window_days=15, history_days=10)
    later = con.execute("select * from mine_features where as_of = date '2025-04-20'").df().iloc[0]
    assert later.ca_n_crew_cards_off_lookback == 0 and later.ca_max_crew_days_off_lookback == 0


def test_mine_feature_days_off_grow_until_the_card_is_back(con):
    warehouse(con)
    # as of 03-20 K1 has been off 10 days 13 hours and its return is not known yet; exit C was reported
    build(con, "2025-03-20", window_days=15, history_days=10)
    row = con.execute("select * from mine_features where as_of = date '2025-03-20'").df().iloc[0]
    assert row.ca_max_crew_days_off_lookback == pytest.approx(10 + 13 / 24)
    # as of 03-14 nobody has been off a week: the feature is 0, not the four days so far
    build(con, "2025-03-14", window_days=15, history_days=10)
    row = con.execute("select * from mine_features where as_of = date '2025-03-14'").df().iloc[0]
    assert row.ca_max_crew_days_off_lookback == 0
