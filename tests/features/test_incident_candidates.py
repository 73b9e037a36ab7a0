"""incident_candidates: hand-computed candidates (cards that never came up, a face that stopped) and their evidence."""

from datetime import date, datetime, timedelta

import pandas as pd
import pytest

from features.runner import Window, load_checks, render
from tests.features.conftest import build, insert

M = "140000000001"
SHAFT, ROAD, FACE = (M + a for a in ("0001", "0002", "0003"))
C1, C2, C3, C4, C5, C6 = (M + f"0000{i}" for i in range(1, 7))
AS_OF = "2025-03-20"  # 15 + 10 days: candidates from 2025-02-24
STOP = datetime(2025, 3, 10, 11, 0)  # the face meter and the belt stop here


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


def quarter_hours(start: str, end: str) -> pd.DatetimeIndex:
    return pd.date_range(ts(start) + timedelta(minutes=15), ts(end), freq="15min")


def warehouse(con) -> None:
    insert(con, "mines", [dict(mine_code=M, mine_name="甲矿", approved_capacity_tpy=9e5, approved_headcount=100)])
    insert(con, "areas", [
        dict(mine_code=M, area_code=SHAFT, area_type="井口区域"),
        dict(mine_code=M, area_code=ROAD, area_type="其它区域"),
        dict(mine_code=M, area_code=FACE, area_type="重点区域", approved_headcount=20),
    ])
    insert(con, "workfaces", [dict(mine_code=M, face_code="F1", face_type="longwall", area_code=FACE,
                                   declared_from=date(2025, 1, 1))])
    insert(con, "people", [dict(mine_code=M, card_code=c, registered_on=date(2024, 1, 1)) for c in (C3, C4, C5, C6)]
           + [dict(mine_code=M, card_code=C1, registered_on=date(2024, 1, 1), deregistered_on=date(2025, 3, 15)),
              # removed from the roster only after the as-of date: not known yet
              dict(mine_code=M, card_code=C2, registered_on=date(2024, 1, 1), deregistered_on=date(2025, 4, 1))])
    ends = quarter_hours("2025-03-01 00:00", "2025-03-21 00:00")
    insert(con, "power", [dict(mine_code=M, meter_code="P1", circuit="face", face_code="F1", interval_end=t,
                               kwh=100.0 if t <= STOP else 0.0) for t in ends]
           + [dict(mine_code=M, meter_code="H1", circuit="hoist", interval_end=t, kwh=50.0) for t in ends])
    insert(con, "production", [dict(mine_code=M, point_code="B1", period_start=t - timedelta(minutes=15),
                                    period_end=t, tonnes=10.0 if t <= STOP else 0.0) for t in ends])
    insert(con, "sensors", [
        dict(mine_code=M, point_code="CO1", sensor_type="0004", value_type="MN", area_code=FACE),
        dict(mine_code=M, point_code="CH1", sensor_type="0001", value_type="MN", area_code=FACE),
    ])
    hours = pd.date_range("2025-03-01 00:00", "2025-03-20 23:00", freq="h")
    spike = ts("2025-03-10 10:00")
    insert(con, "sensor_stats",
           [dict(mine_code=M, point_code="CO1", period_start=t, period_end=t + timedelta(hours=1), avg_value=2.0,
                 max_value=30.0 if t == spike else 2.0, min_value=1.0) for t in hours]
           + [dict(mine_code=M, point_code="CH1", period_start=t, period_end=t + timedelta(hours=1), avg_value=0.3,
                   max_value=1.2 if t == spike else 0.4, min_value=0.2) for t in hours])
    insert(con, "shaft_trips", [
        # two cards that went down and never came up
        dict(mine_code=M, card_code=C1, down_at=ts("2025-03-10 07:00"), up_at=None),
        dict(mine_code=M, card_code=C2, down_at=ts("2025-03-10 07:10"), up_at=None),
        # an open trip of a card seen going down again the next day: a positioning gap
        dict(mine_code=M, card_code=C3, down_at=ts("2025-03-07 08:00"), up_at=None),
        dict(mine_code=M, card_code=C3, down_at=ts("2025-03-08 08:00"), up_at=ts("2025-03-08 16:00")),
        # 18 h underground, during an accident the mine reported
        dict(mine_code=M, card_code=C4, down_at=ts("2025-03-05 08:00"), up_at=ts("2025-03-06 02:00")),
        # a long shift, and a card down less than a day before the cut-off: not candidates
        dict(mine_code=M, card_code=C5, down_at=ts("2025-03-12 08:00"), up_at=ts("2025-03-12 23:00")),
        dict(mine_code=M, card_code=C6, down_at=ts("2025-03-20 10:00"), up_at=None),
    ])
    stays = [
        (C1, SHAFT, "2025-03-10 07:00", "2025-03-10 07:10"), (C1, ROAD, "2025-03-10 07:10", "2025-03-10 07:30"),
        (C1, FACE, "2025-03-10 07:30", None),
        (C2, SHAFT, "2025-03-10 07:10", "2025-03-10 07:20"), (C2, ROAD, "2025-03-10 07:20", "2025-03-10 07:40"),
        (C2, FACE, "2025-03-10 07:40", None),
        (C3, ROAD, "2025-03-07 08:00", None), (C3, ROAD, "2025-03-08 08:00", "2025-03-08 16:00"),
        (C4, SHAFT, "2025-03-05 08:00", "2025-03-05 08:10"), (C4, ROAD, "2025-03-05 08:10", "2025-03-06 01:50"),
        (C4, SHAFT, "2025-03-06 01:50", "2025-03-06 02:00"),
    ]
    insert(con, "presence", [dict(mine_code=M, card_code=c, area_code=a, entered_at=ts(i),
                                  left_at=ts(o) if o else None) for c, a, i, o in stays])
    insert(con, "declarations", [
        # maintenance of the face declared two days after it began
        dict(mine_code=M, kind="maintenance", start_date=date(2025, 3, 11), end_date=date(2025, 3, 20),
             face_code="F1", declared_at=ts("2025-03-13 09:00")),
    ])
    insert(con, "accident_reports", [
        dict(mine_code=M, report_id="R1", occurred_at=ts("2025-03-05 12:00"), reported_at=ts("2025-03-05 14:00"),
             kind="roof", injuries=1),
    ])


def candidates(con) -> pd.DataFrame:
    return con.execute("select * from incident_candidates order by candidate_id").df().set_index("candidate_id")


def test_candidates_found_and_ignored(con):
    warehouse(con)
    build(con, AS_OF, only={"incident_candidates"}, window_days=15, history_days=10)
    out = candidates(con)
    assert list(out.index) == [
        "face_stop-140000000001-P1-20250311",
        "late_trip-140000000001-20250305",
        "open_trip-140000000001-20250307",
        "open_trip-140000000001-20250310",
    ]
    assert list(out.kind) == ["face_stop", "late_trip", "open_trip", "open_trip"]
    assert list(out.is_in_window) == [True, False, True, True]


def test_cards_that_never_came_up(con):
    warehouse(con)
    build(con, AS_OF, only={"incident_candidates"}, window_days=15, history_days=10)
    row = candidates(con).loc["open_trip-140000000001-20250310"]
    assert row.event_at == ts("2025-03-10 07:40")  # the last card settled at the face
    assert (row.area_code, row.face_code) == (FACE, "F1")
    assert row.first_down_at == ts("2025-03-10 07:00")
    assert row.max_trip_hours == pytest.approx(257.0)
    assert (row.n_cards, row.card_codes) == (2, f"{C1},{C2}")
    assert (row.n_cards_unaccounted, row.n_cards_seen_again, row.n_deregistered_10d) == (2, 0, 1)
    # gas from 6 h before to 8 h after the cards settled
    assert (row.max_co_before, row.max_ch4_before) == (30.0, 1.2)
    assert row.co_spike_ratio == pytest.approx(15.0)
    # 4 of the 72 hours after 07:00 at 400 kWh and 40 t an hour, against 400 and 40 before
    assert row.face_power_drop_ratio == pytest.approx(4 / 72)
    assert row.belt_drop_ratio == pytest.approx(4 / 72)
    assert not row.has_accident_report
    assert row.has_declared_stop and row.is_stop_filed_late
    assert row.suspicion_points == 8
    assert (row._file_id, row._record) == (1, 1)


def test_face_power_stop(con):
    warehouse(con)
    build(con, AS_OF, only={"incident_candidates"}, window_days=15, history_days=10)
    row = candidates(con).loc["face_stop-140000000001-P1-20250311"]
    # 2025-03-10 still drew 44 of 96 quarter hours; 2025-03-11 is the first day under a fifth of the median
    assert row.event_at == STOP
    assert (row.area_code, row.face_code, row.meter_code) == (FACE, "F1", "P1")
    assert (row.n_cards, row.n_cards_unaccounted, row.n_deregistered_10d) == (2, 2, 1)
    assert (row.max_co_before, row.max_ch4_before, row.co_spike_ratio) == (30.0, 1.2, 15.0)
    assert (row.face_power_drop_ratio, row.belt_drop_ratio) == (0.0, 0.0)
    assert row.has_declared_stop and row.is_stop_filed_late and not row.has_accident_report
    assert row.suspicion_points == 8
    assert pd.isna(row.first_down_at) and pd.isna(row._record)


def test_innocent_look_alikes_score_low(con):
    warehouse(con)
    build(con, AS_OF, only={"incident_candidates"}, window_days=15, history_days=10)
    out = candidates(con)
    gap = out.loc["open_trip-140000000001-20250307"]
    assert (gap.n_cards, gap.n_cards_unaccounted, gap.n_cards_seen_again) == (1, 0, 1)
    assert gap.event_at == ts("2025-03-07 08:00") and gap.area_code == ROAD and pd.isna(gap.face_code)
    assert pd.isna(gap.max_co_before) and pd.isna(gap.face_power_drop_ratio)
    assert gap.belt_drop_ratio > 0.5 and not gap.has_declared_stop
    reported = out.loc["late_trip-140000000001-20250305"]
    assert reported.event_at == ts("2025-03-05 08:10") and reported.area_code == ROAD
    assert reported.max_trip_hours == pytest.approx(18.0)
    # 18 h is a long double shift, not a card unaccounted for
    assert reported.has_accident_report and reported.n_cards_unaccounted == 0
    # the reported accident of 2025-03-05 lies within two days of both
    assert gap.has_accident_report
    assert (gap.suspicion_points, reported.suspicion_points) == (0, 0)


def test_a_card_up_a_day_later_is_unaccounted(con):
    warehouse(con)
    insert(con, "shaft_trips", [dict(mine_code=M, card_code=C5, down_at=ts("2025-03-14 08:00"),
                                     up_at=ts("2025-03-15 10:00"))])
    insert(con, "presence", [
        dict(mine_code=M, card_code=C5, area_code=FACE, entered_at=ts("2025-03-14 08:00"),
             left_at=ts("2025-03-15 09:30")),
        dict(mine_code=M, card_code=C5, area_code=SHAFT, entered_at=ts("2025-03-15 09:30"),
             left_at=ts("2025-03-15 10:00")),
    ])
    build(con, AS_OF, only={"incident_candidates"}, window_days=15, history_days=10)
    row = candidates(con).loc["late_trip-140000000001-20250314"]
    # the last area of a trip that came up is the shaft: the card stopped where it sat longest
    assert (row.event_at, row.area_code, row.face_code) == (ts("2025-03-14 08:00"), FACE, "F1")
    assert (row.max_trip_hours, row.n_cards_unaccounted) == (26.0, 1)
    # the face stopped on 2025-03-10 (some power in the week before, none after) under a late declaration
    assert row.face_power_drop_ratio == 0.0
    assert row.has_declared_stop and row.is_stop_filed_late


def test_later_data_does_not_change_candidates_as_of_a_date(con):
    warehouse(con)
    build(con, AS_OF, only={"incident_candidates"}, window_days=15, history_days=10)
    before = candidates(con)
    # after the cut-off: C1 comes up, a report of the accident, a stop declared for the trip day
    con.execute(f"update shaft_trips set up_at = timestamp '2025-03-22 08:00' where card_code = '{C1}'")
    insert(con, "accident_reports", [dict(mine_code=M, report_id="R2", occurred_at=ts("2025-03-10 10:00"),
                                          reported_at=ts("2025-03-22 10:00"))])
    insert(con, "declarations", [dict(mine_code=M, kind="shutdown", start_date=date(2025, 3, 7),
                                      end_date=date(2025, 3, 8), declared_at=ts("2025-03-25 10:00"))])
    insert(con, "people", [dict(mine_code=M, card_code=M + "00009", registered_on=date(2025, 3, 21))])
    build(con, AS_OF, only={"incident_candidates"}, window_days=15, history_days=10)
    pd.testing.assert_frame_equal(candidates(con), before)


def checks(con, window: Window) -> dict[str, pd.DataFrame]:
    return {c.name: con.execute(render(c.sql, window)).df() for c in load_checks() if c.name.startswith("incident_")}


def test_checks_pass_on_built_rows_and_fire_on_bad_ones(con):
    warehouse(con)
    window = build(con, AS_OF, only={"incident_candidates"}, window_days=15, history_days=10)
    found = checks(con, window)
    assert found and all(frame.empty for frame in found.values()), found
    con.execute("update incident_candidates set n_cards = 3 where kind = 'face_stop'")
    con.execute("update incident_candidates set event_at = timestamp '2025-03-21 01:00' where kind = 'late_trip'")
    con.execute("insert into incident_candidates select * from incident_candidates where kind = 'open_trip' "
                "and n_cards = 1")
    found = checks(con, window)
    assert len(found["incident_candidates_valid"]) == 3


def test_a_concealed_death_stays_in_the_lookback_after_leaving_the_window(con):
    # as of 03-30 with a 15-day window the 03-10 event is outside the window but inside the two-window lookback
    warehouse(con)
    # (C6, down on 03-20 and never up, is by then an open trip in the window)
    build(con, "2025-03-30", window_days=15, history_days=10)
    row = con.execute("select * from mine_features where as_of = date '2025-03-30'").df().iloc[0]
    event = candidates(con).loc["open_trip-140000000001-20250310"]
    assert not event.is_in_window
    assert (row.ca_n_cards_unaccounted, row.ca_n_open_trip_events) == (1, 1)
    assert row.ca_n_cards_unaccounted_lookback == 1 + 2
    assert row.ca_max_suspicion_lookback == event.suspicion_points > row.ca_max_suspicion_points
    # and as of 04-20 (two windows = 30 days back to 03-22) all have dropped out
    build(con, "2025-04-20", window_days=15, history_days=10)
    later = con.execute("select * from mine_features where as_of = date '2025-04-20'").df().iloc[0]
    assert (later.ca_n_cards_unaccounted_lookback, later.ca_max_suspicion_lookback) == (0, 0)
