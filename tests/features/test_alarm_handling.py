"""alarm_handling: hand-computed relay, feed, people, after-close, calibration and text-reuse evidence per alarm."""

from datetime import date, datetime, timedelta

import duckdb
import pandas as pd
import pytest

from features.runner import Window, load_checks, render
from tests.features.conftest import build, create_canonical_tables, insert

MINE = "140000000001"
OTHER = "140000000002"
A1 = MINE + "0001"  # the face area where CH4A sits
A2 = MINE + "0002"
AS_OF = "2025-06-30"


def _t(s: str) -> datetime:
    return datetime.fromisoformat(s)


def _card(i: int) -> str:
    return MINE + f"{i:05d}"


def _false(value: object) -> bool:
    """False and not null: the evidence was there and said no."""
    return not pd.isna(value) and not value


def _stats(point: str, start: str, maxima: list[float], status: list[int] | None = None) -> list[dict]:
    """Consecutive 5-minute periods of one point from `start`, with the given maxima."""
    t0 = _t(start)
    return [
        dict(mine_code=MINE, point_code=point, period_start=t0 + timedelta(minutes=5 * i),
             period_end=t0 + timedelta(minutes=5 * i + 5), avg_value=m / 2, max_value=m, min_value=0.0,
             status=(status or [0] * len(maxima))[i])
        for i, m in enumerate(maxima)
    ]


def _alarm(point: str, kind: str, start: str, end: str | None, max_value: float, measure: str | None = None,
           entered: str | None = None, mine: str = MINE) -> dict:
    return dict(mine_code=mine, point_code=point, alarm_type=kind, started_at=_t(start),
                ended_at=_t(end) if end else None, max_value=max_value, measure=measure,
                entered_at=_t(entered) if entered else None)


def _seed(con) -> None:
    insert(con, "sensors", [
        dict(mine_code=MINE, point_code="CH4A", sensor_type="0001", value_type="MN", alarm_high=1.0,
             cutoff_high=1.5, restore_high=1.0, location="3101 回风巷", area_code=A1),
        # no limits given: AQ 1029 defaults (1.0 alarm, 1.5 cut) come from staging
        dict(mine_code=MINE, point_code="CH4B", sensor_type="0001", value_type="MN", location="南翼"),
        dict(mine_code=MINE, point_code="CH4C", sensor_type="0043", value_type="MN", alarm_high=1.0,
             cutoff_high=1.5, area_code=A2),
        dict(mine_code=MINE, point_code="CO1", sensor_type="0004", value_type="MN", alarm_high=24.0),
        dict(mine_code=MINE, point_code="WIND1", sensor_type="0002", value_type="MN", alarm_high=8.0),
        dict(mine_code=MINE, point_code="KD1", sensor_type="1009", value_type="KG"),
        dict(mine_code=MINE, point_code="KF1", sensor_type="1011", value_type="KG"),
        dict(mine_code=MINE, point_code="KD2", sensor_type="1009", value_type="KG"),
    ])
    insert(con, "sensor_links", [
        dict(mine_code=MINE, point_code="CH4A", relation="D", linked_point_code="KD1"),
        # stored on the switch's side: links carry no direction
        dict(mine_code=MINE, point_code="KF1", relation="D", linked_point_code="CH4A"),
        dict(mine_code=MINE, point_code="CH4C", relation="D", linked_point_code="KD2"),
    ])
    insert(con, "alarms", [
        # A: cut in 2 s, feed confirms, one person stays, gas back above the alarm limit after closing
        _alarm("CH4A", "001", "2025-06-10 10:00:00", "2025-06-10 10:20:00", 1.8, "撤人断电", "2025-06-10 10:50:00"),
        # B: needs a cut, the relay never acts
        _alarm("CH4A", "002", "2025-06-12 14:00:00", "2025-06-12 14:30:00", 1.6, "撤人断电", "2025-06-12 15:00:00"),
        # C: a calibration: cut acts, the feed never shows the load side off
        _alarm("CH4A", "001", "2025-06-15 09:00:00", "2025-06-15 09:05:00", 2.0, "标定测试", "2025-06-15 09:30:00"),
        _alarm("CH4A", "007", "2025-06-15 08:55:00", "2025-06-15 09:10:00", 2.0),
        # D: no links, no area; calibration status 25 minutes before; blank measure
        _alarm("CH4B", "001", "2025-06-20 08:00:00", "2025-06-20 08:10:00", 1.2, "  ", "2025-06-20 09:00:00"),
        # E: in the history window, below the cut level
        _alarm("CH4A", "001", "2025-04-01 12:00:00", "2025-04-01 12:10:00", 1.1),
        # F: the relay's only change is a restore after the alarm: it was already cut before it
        _alarm("CH4C", "001", "2025-06-25 06:00:00", "2025-06-25 06:20:00", 1.7),
        # H: still open at T; its stored maximum (3.0) is only known later
        _alarm("CH4B", "001", "2025-06-30 23:50:00", "2025-07-01 00:20:00", 3.0),
        # not over-limit alarms, or not gas points, or before the history window: no rows
        _alarm("CH4A", "003", "2025-06-10 10:00:00", "2025-06-10 10:20:00", 1.8, "撤人断电", "2025-06-10 11:00:00"),
        _alarm("WIND1", "001", "2025-06-10 10:00:00", "2025-06-10 10:20:00", 9.0),
        _alarm("CH4A", "001", "2025-03-01 10:00:00", "2025-03-01 10:20:00", 1.8),
        # another mine's identical text does not count as reuse
        _alarm("CH4X", "001", "2025-06-10 10:00:00", "2025-06-10 10:20:00", 1.8, "撤人断电", "2025-06-10 11:00:00",
               mine=OTHER),
    ])
    insert(con, "switch_events", [
        dict(mine_code=MINE, point_code="KD1", changed_at=_t("2025-06-10 10:00:02"), state=0),
        dict(mine_code=MINE, point_code="KF1", changed_at=_t("2025-06-10 10:00:03"), state=0),
        dict(mine_code=MINE, point_code="KD1", changed_at=_t("2025-06-10 10:20:00"), state=1),
        dict(mine_code=MINE, point_code="KF1", changed_at=_t("2025-06-10 10:20:01"), state=1),
        # B: a cut 11 minutes after the start is outside the 10-minute window
        dict(mine_code=MINE, point_code="KD1", changed_at=_t("2025-06-12 14:11:00"), state=0),
        dict(mine_code=MINE, point_code="KD1", changed_at=_t("2025-06-12 14:30:00"), state=1),
        dict(mine_code=MINE, point_code="KD1", changed_at=_t("2025-06-15 09:00:01.500"), state=0),
        dict(mine_code=MINE, point_code="KD1", changed_at=_t("2025-06-15 09:05:00"), state=1),
        dict(mine_code=MINE, point_code="KD2", changed_at=_t("2025-06-25 07:00:00"), state=1),
    ])
    insert(con, "presence", [
        dict(mine_code=MINE, card_code=_card(1), area_code=A1, entered_at=_t("2025-06-10 09:00:00"),
             left_at=_t("2025-06-10 10:03:00")),
        dict(mine_code=MINE, card_code=_card(2), area_code=A1, entered_at=_t("2025-06-10 09:30:00"),
             left_at=_t("2025-06-10 10:40:00")),
        dict(mine_code=MINE, card_code=_card(3), area_code=A1, entered_at=_t("2025-06-10 10:10:00"),
             left_at=_t("2025-06-10 11:00:00")),
        dict(mine_code=MINE, card_code=_card(4), area_code=A1, entered_at=_t("2025-06-10 08:00:00"),
             left_at=_t("2025-06-10 09:59:00")),
        # another area at the same time
        dict(mine_code=MINE, card_code=_card(5), area_code=A2, entered_at=_t("2025-06-10 09:00:00"),
             left_at=_t("2025-06-10 12:00:00")),
        # C: evacuated within 5 minutes, back once power returned: not a card that stayed
        dict(mine_code=MINE, card_code=_card(9), area_code=A1, entered_at=_t("2025-06-15 08:00:00"),
             left_at=_t("2025-06-15 09:05:00")),
        dict(mine_code=MINE, card_code=_card(9), area_code=A1, entered_at=_t("2025-06-15 09:20:00"),
             left_at=_t("2025-06-15 11:00:00")),
        # F: a card that has sat in A2 since the day before (left behind), and one that never left
        dict(mine_code=MINE, card_code=_card(6), area_code=A2, entered_at=_t("2025-06-24 02:00:00"),
             left_at=_t("2025-06-25 06:10:00")),
        dict(mine_code=MINE, card_code=_card(7), area_code=A2, entered_at=_t("2025-06-25 05:50:00")),
    ])
    insert(con, "sensor_stats",
           _stats("CH4A", "2025-06-10 10:15:00", [1.8, 0.6, 1.2, 0.5, 0.5, 0.5, 0.5, 2.0])
           + _stats("CH4A", "2025-06-12 14:30:00", [0.4] * 6)
           + _stats("CH4B", "2025-06-20 07:40:00", [0.3, 0.3], [4, 0])
           + _stats("CH4B", "2025-06-30 23:50:00", [1.3, 1.4]))


@pytest.fixture(scope="module")
def built():
    """One warehouse, seeded and built once for the module's read-only tests."""
    c = duckdb.connect()
    create_canonical_tables(c)
    _seed(c)
    build(c, AS_OF, only={"alarm_handling"})
    yield c
    c.close()


@pytest.fixture(scope="module")
def handling(built) -> pd.DataFrame:
    frame = built.execute("select * from alarm_handling").df()
    frame["key"] = frame["point_code"] + "/" + frame["alarm_type"] + "/" + frame["started_at"].dt.strftime("%m-%d %H:%M")
    return frame.set_index("key")


def test_one_row_per_over_limit_gas_alarm_in_the_windows(handling):
    assert sorted(handling.index) == sorted([
        "CH4A/001/06-10 10:00", "CH4A/002/06-12 14:00", "CH4A/001/06-15 09:00", "CH4B/001/06-20 08:00",
        "CH4A/001/04-01 12:00", "CH4C/001/06-25 06:00", "CH4B/001/06-30 23:50",
    ])
    assert not handling.loc["CH4A/001/04-01 12:00", "is_in_window"]
    assert handling.loc["CH4A/001/06-10 10:00", "is_in_window"]


def test_relay_and_feed(handling):
    a = handling.loc["CH4A/001/06-10 10:00"]
    assert a.needs_cut and a.relay_point_code == "KD1" and a.feed_point_code == "KF1"
    assert a.seconds_to_cut == pytest.approx(2.0)
    assert _false(a.is_cut_missing)
    assert a.is_feed_confirmed and not a.is_feed_contradicts
    b = handling.loc["CH4A/002/06-12 14:00"]
    assert b.needs_cut and pd.isna(b.seconds_to_cut) and b.is_cut_missing
    assert _false(b.is_feed_confirmed) and _false(b.is_feed_contradicts)
    c = handling.loc["CH4A/001/06-15 09:00"]
    assert c.seconds_to_cut == pytest.approx(1.5) and not c.is_cut_missing
    assert not c.is_feed_confirmed and c.is_feed_contradicts
    e = handling.loc["CH4A/001/04-01 12:00"]
    assert _false(e.needs_cut) and _false(e.is_cut_missing) and _false(e.is_relay_off_at_start)


def test_a_relay_already_cut_before_its_first_change_is_not_a_missing_cut(handling):
    f = handling.loc["CH4C/001/06-25 06:00"]
    assert f.needs_cut and f.relay_point_code == "KD2" and pd.isna(f.feed_point_code)
    assert f.is_relay_off_at_start and _false(f.is_cut_missing) and pd.isna(f.seconds_to_cut)
    assert pd.isna(f.is_feed_confirmed) and pd.isna(f.is_feed_contradicts)


def test_unlinked_points_give_null_relay_and_people_evidence(handling):
    d = handling.loc["CH4B/001/06-20 08:00"]
    assert d.alarm_high == 1.0 and d.cutoff_high == 1.5 and not d.needs_cut
    assert pd.isna(d.relay_point_code) and pd.isna(d.is_cut_missing) and pd.isna(d.is_feed_contradicts)
    assert pd.isna(d.people_at_start) and pd.isna(d.is_people_stayed)


def test_people_in_the_area(handling):
    a = handling.loc["CH4A/001/06-10 10:00"]
    assert (a.people_at_start, a.people_at_5m, a.people_at_15m, a.people_at_30m) == (2, 1, 2, 2)
    assert a.minutes_to_empty == pytest.approx(40.0)
    assert a.is_people_stayed
    b = handling.loc["CH4A/002/06-12 14:00"]
    assert b.people_at_start == 0 and pd.isna(b.minutes_to_empty) and _false(b.is_people_stayed)
    c = handling.loc["CH4A/001/06-15 09:00"]
    assert (c.people_at_start, c.people_at_5m, c.people_at_15m, c.people_at_30m) == (1, 0, 0, 1)
    assert c.minutes_to_empty == pytest.approx(5.0) and _false(c.is_people_stayed)
    f = handling.loc["CH4C/001/06-25 06:00"]
    # card 6 has sat in A2 for over a day: not counted; card 7 never left: present for a day after entering
    assert (f.people_at_start, f.people_at_5m, f.people_at_15m, f.people_at_30m) == (1, 1, 1, 1)
    assert f.minutes_to_empty == pytest.approx(24 * 60 - 10)
    assert f.is_people_stayed


def test_gas_after_close_and_calibration(handling):
    a = handling.loc["CH4A/001/06-10 10:00"]
    # [10:20, 10:50): 0.6, 1.2, 0.5 ... ; the 10:15 period ends at the close, the 10:50 one starts too late
    assert a.max_after_close == pytest.approx(1.2) and a.is_gas_high_after_close
    assert not a.is_calibration_near
    b = handling.loc["CH4A/002/06-12 14:00"]
    assert b.max_after_close == pytest.approx(0.4) and not b.is_gas_high_after_close
    assert handling.loc["CH4A/001/06-15 09:00", "is_calibration_near"]  # an overlapping 007 record
    assert handling.loc["CH4B/001/06-20 08:00", "is_calibration_near"]  # status 4 at 07:40
    assert pd.isna(handling.loc["CH4C/001/06-25 06:00", "max_after_close"])


def test_an_alarm_open_at_t_reads_no_later_statistics(handling):
    h = handling.loc["CH4B/001/06-30 23:50"]
    assert h.is_open and pd.isna(h.ended_at) and pd.isna(h.duration_minutes)
    assert h.max_value == pytest.approx(1.4) and not h.needs_cut


def test_handling_text_and_timing(handling):
    a = handling.loc["CH4A/001/06-10 10:00"]
    assert a.measure_reuse_count == 2  # B and the 003 alarm of the same mine; the other mine's does not count
    assert a.entry_delay_minutes == pytest.approx(30.0) and a.duration_minutes == pytest.approx(20.0)
    assert handling.loc["CH4A/001/06-15 09:00", "measure_reuse_count"] == 0
    d = handling.loc["CH4B/001/06-20 08:00"]
    assert d.is_measure_missing and d.measure_reuse_count == 0
    assert handling.loc["CH4A/001/04-01 12:00", "is_measure_missing"]


def test_rows_carry_the_raw_alarm_lineage(handling):
    assert handling.loc["CH4A/001/06-10 10:00", "_record"] == 1
    assert handling.loc["CH4B/001/06-30 23:50", "_record"] == 8


def test_later_data_does_not_change_the_features_as_of_t(con, built):
    _seed(con)
    insert(con, "alarms", [_alarm("CH4A", "001", "2025-07-01 00:05:00", "2025-07-01 00:10:00", 2.0, "撤人断电",
                                  "2025-07-01 01:00:00")])
    insert(con, "switch_events", [dict(mine_code=MINE, point_code="KD2", changed_at=_t("2025-07-01 00:00:30"),
                                       state=0)])
    insert(con, "presence", [dict(mine_code=MINE, card_code=_card(8), area_code=A2,
                                  entered_at=_t("2025-07-01 00:01:00"))])
    insert(con, "sensor_stats", _stats("CH4B", "2025-07-01 00:00:00", [2.5, 2.5]))
    build(con, AS_OF, only={"alarm_handling"})
    before = built.execute("select * from alarm_handling order by all").df()
    after = con.execute("select * from alarm_handling order by all").df()
    pd.testing.assert_frame_equal(before, after)


@pytest.mark.parametrize("check", ["alarm_handling_key_unique", "alarm_handling_values_in_range"])
def test_checks_pass_on_clean_rows_and_fire_on_a_bad_row(built, check):
    sql = render({c.name: c.sql for c in load_checks()}[check], Window(date.fromisoformat(AS_OF)))
    assert built.execute(sql).df().empty
    built.execute("begin transaction")
    try:
        built.execute(
            "insert into alarm_handling select * replace (-5 as people_at_5m) from alarm_handling "
            "where alarm_type = '002'"
        )
        assert len(built.execute(sql).df()) == 1
    finally:
        built.execute("rollback")
