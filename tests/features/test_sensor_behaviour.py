"""sensor_behaviour: hand-computed repeats, flat runs, threshold shares, status counts and face-power coupling."""

from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from features.runner import Window, load_checks, render
from tests.features.conftest import build, create_canonical_tables, insert

MINE = "140000000001"
A1 = MINE + "0001"  # the declared face F1
A9 = MINE + "0009"  # intake air: its face F2 was closed before the window
AS_OF = "2025-06-30"
DAYS = dict(window_days=2, history_days=2)  # window [06-29, 07-01), history [06-27, 06-29)
H0 = datetime(2025, 6, 29)

# P1, a face point: (hour, avg, max, status); hour 5 is missing (an outage)
P1 = [(0, 0.30, 0.40, 0), (1, 0.30, 0.90, 0), (2, 0.30, 0.95, 4), (3, 0.50, 1.20, 0), (4, 0.50, 0.60, 64),
      (6, 0.50, 0.60, 16), (7, 0.40, 0.50, 0)]
# P6, a face methane point held under a cap: its ordinary periods peak at exactly 0.93 in three separate runs
# (hours 0, 2-3 and 7); the calibration at hour 5 does not count
P6 = [(0, 0.31, 0.93, 0), (1, 0.32, 0.50, 0), (2, 0.33, 0.93, 0), (3, 0.34, 0.93, 0), (4, 0.35, 0.40, 0),
      (5, 0.36, 0.93, 4), (6, 0.37, 0.60, 0), (7, 0.38, 0.93, 0)]
# F1's hourly kWh in the window; its median is (30 + 40) / 2 = 35
F1_KWH = {0: 10.0, 1: 10.0, 2: 50.0, 3: 90.0, 4: 20.0, 5: 40.0, 6: 30.0, 7: 70.0}


def _period(point: str, start: datetime, avg: float, mx: float, status: int = 0, hours: int = 1) -> dict:
    return dict(mine_code=MINE, point_code=point, period_start=start, period_end=start + timedelta(hours=hours),
                avg_value=avg, max_value=mx, min_value=0.0, status=status)


def _seed(con) -> None:
    insert(con, "sensors", [
        dict(mine_code=MINE, point_code="P1", sensor_type="0001", value_type="MN", alarm_high=1.0, area_code=A1),
        dict(mine_code=MINE, point_code="P2", sensor_type="0001", value_type="MN", alarm_high=0.5, area_code=A9),
        dict(mine_code=MINE, point_code="P3", sensor_type="0004", value_type="MN", area_code=A1),
        dict(mine_code=MINE, point_code="P4", sensor_type="0002", value_type="MN", alarm_high=8.0, area_code=A1),
        dict(mine_code=MINE, point_code="P5", sensor_type="0001", value_type="MN", alarm_high=1.0, area_code=A1),
        dict(mine_code=MINE, point_code="P6", sensor_type="0001", value_type="MN", alarm_high=1.0, area_code=A1),
    ])
    insert(con, "workfaces", [
        dict(mine_code=MINE, face_code="F1", face_type="longwall", area_code=A1, declared_from=date(2025, 1, 1)),
        dict(mine_code=MINE, face_code="F2", face_type="heading", area_code=A9, declared_from=date(2025, 1, 1),
             declared_to=date(2025, 6, 1)),
    ])
    stats = [_period("P1", H0 + timedelta(hours=h), a, m, s) for h, a, m, s in P1]
    stats += [_period("P1", datetime(2025, 6, 27, h), 0.2, 0.3) for h in (0, 1)]
    stats += [_period("P2", H0 + timedelta(hours=h), 0.0, 0.0) for h in range(4)]
    stats += [_period("P3", H0 + timedelta(hours=h), 5.0, 6.0) for h in range(2)]
    stats += [_period("P4", H0 + timedelta(hours=h), 2.0, 3.0) for h in range(2)]
    stats += [_period("P5", datetime(2025, 6, 28, 0), 0.2, 0.3)]  # history only: no row
    stats += [_period("P6", H0 + timedelta(hours=h), a, m, s) for h, a, m, s in P6]
    insert(con, "sensor_stats", stats)
    power = [dict(mine_code=MINE, meter_code="M1", circuit="face", face_code="F1",
                  interval_end=H0 + timedelta(hours=h, minutes=15), kwh=kwh) for h, kwh in F1_KWH.items()]
    power += [dict(mine_code=MINE, meter_code="M9", circuit="hoist",
                   interval_end=H0 + timedelta(hours=h, minutes=15), kwh=500.0) for h in range(8)]
    insert(con, "power", power)


@pytest.fixture(scope="module")
def built():
    c = duckdb.connect()
    create_canonical_tables(c)
    _seed(c)
    insert(c, "mines", [dict(mine_code=MINE, mine_name="甲矿", approved_capacity_tpy=900000.0, approved_headcount=200)])
    build(c, AS_OF, only={"mine_features"}, **DAYS)
    yield c
    c.close()


@pytest.fixture(scope="module")
def points(built) -> pd.DataFrame:
    return built.execute("select * from sensor_behaviour").df().set_index("point_code")


def test_one_row_per_gas_point_with_window_statistics(points):
    assert sorted(points.index) == ["P1", "P2", "P3", "P6"]


def test_face_assignment(points):
    assert points.loc["P1", "face_code"] == "F1" and points.loc["P1", "is_face_point"]
    assert points.loc["P3", "face_code"] == "F1"
    assert pd.isna(points.loc["P2", "face_code"]) and not points.loc["P2", "is_face_point"]


def test_repeats_flat_runs_and_thresholds(points):
    p1 = points.loc["P1"]
    assert p1.n_periods == 7 and p1.n_history_periods == 2
    # repeated: hours 1, 2, 4 and 6 (the outage does not matter for a repeat) of the 6 with a previous period
    assert p1.share_repeated == pytest.approx(4 / 6)
    # runs: hours 0-2 repeat for 2 h; 3-4 for 1 h; the outage breaks 4 from 6
    assert p1.longest_flat_hours == pytest.approx(2.0)
    assert p1.share_near_threshold == pytest.approx(2 / 7)
    assert p1.share_over_alarm == pytest.approx(1 / 7)
    assert (p1.calibration_periods, p1.pause_periods, p1.fault_periods) == (1, 1, 1)
    assert p1.mean_value == pytest.approx(2.8 / 7) and p1.peak_value == pytest.approx(1.2)
    assert p1.level_ratio_vs_history == pytest.approx((2.8 / 7) / 0.2)
    assert not p1.is_flat_all_window
    assert p1.pause_hours == pytest.approx(1.0)
    assert p1.ceiling_runs == 0  # its ordinary ceiling, 1.2, is over the alarm level: not a cap


def test_a_capped_point_hits_the_same_ceiling_in_separate_runs(points):
    p6 = points.loc["P6"]
    assert p6.ceiling_runs == 3
    assert p6.pause_hours == 0.0
    assert p6.share_near_threshold == pytest.approx(5 / 8)
    assert points.loc["P2", "ceiling_runs"] == 0  # a flat zero is no cap


def test_mine_level_sensor_maxima(built):
    row = built.execute(
        "select af_max_face_flat_hours, af_max_pause_hours, af_max_ceiling_runs from mine_features"
    ).fetchone()
    # the flat intake point P2 (3 h) is not a face point; P1's longest face run is 2 h
    assert row == (pytest.approx(2.0), pytest.approx(1.0), 3)


def test_a_flat_zero_intake_point(points):
    p2 = points.loc["P2"]
    assert p2.share_repeated == pytest.approx(1.0) and p2.is_flat_all_window
    assert p2.longest_flat_hours == pytest.approx(3.0)
    assert p2.share_near_threshold == 0.0
    assert pd.isna(p2.corr_with_face_power) and pd.isna(p2.share_calibration_while_producing)
    assert p2.n_history_periods == 0 and pd.isna(p2.level_ratio_vs_history)


def test_face_power_coupling(points):
    p1 = points.loc["P1"]
    hours = [h for h, *_ in P1]
    expected = np.corrcoef([a for _, a, _, _ in P1], [F1_KWH[h] for h in hours])[0, 1]
    assert p1.corr_with_face_power == pytest.approx(expected)
    # calibration at hour 2 (50 kWh > 35) and pause at hour 4 (20 kWh): one of two while producing
    assert p1.share_calibration_while_producing == pytest.approx(0.5)
    p3 = points.loc["P3"]
    assert pd.isna(p3.corr_with_face_power)  # a constant value has no correlation
    assert pd.isna(p3.share_near_threshold)  # CO point without an alarm threshold


def test_later_data_does_not_change_the_features_as_of_t(con, built):
    _seed(con)
    insert(con, "sensor_stats", [_period("P1", datetime(2025, 7, 1, h), 0.9, 0.99, 4) for h in range(3)])
    insert(con, "power", [dict(mine_code=MINE, meter_code="M1", circuit="face", face_code="F1",
                               interval_end=datetime(2025, 7, 1, h, 15), kwh=999.0) for h in range(3)])
    build(con, AS_OF, only={"sensor_behaviour"}, **DAYS)
    before = built.execute("select * from sensor_behaviour order by point_code").df()
    after = con.execute("select * from sensor_behaviour order by point_code").df()
    pd.testing.assert_frame_equal(before, after)


def test_check_passes_on_clean_rows_and_fires_on_a_bad_row(built):
    check = {c.name: c.sql for c in load_checks()}["alarm_sensor_behaviour_values_in_range"]
    sql = render(check, Window(date.fromisoformat(AS_OF), **DAYS))
    assert built.execute(sql).df().empty
    built.execute("begin transaction")
    try:
        built.execute("update sensor_behaviour set share_repeated = 1.5 where point_code = 'P1'")
        assert built.execute(sql).df()["point_code"].tolist() == ["P1"]
    finally:
        built.execute("rollback")


WEBGAS = Path(__file__).resolve().parents[3] / "shared" / "realdata" / "webGas" / "data" / "20201012"


def _webgas_stats() -> pd.DataFrame:
    """One real day of the webGas export, methane and CO polls rolled up into 5-minute periods."""
    frames = [pd.read_csv(f, encoding="gbk", dtype=str) for f in sorted(WEBGAS.glob("*.csv"))]
    raw = pd.concat(frames).drop_duplicates(["传感器编号", "地点", "时间"])
    raw = raw[raw["类型"].isin(["甲烷", "一氧化碳"])].copy()
    raw["value"] = pd.to_numeric(raw["检测值"], errors="coerce")
    raw["period_start"] = pd.to_datetime(raw["时间"]).dt.floor("5min")
    stats = raw.groupby(["传感器编号", "类型", "period_start"], as_index=False)["value"].agg(["mean", "max", "min"])
    return stats.rename(columns={"传感器编号": "point_code", "类型": "kind"})


@pytest.mark.realdata
def test_real_flat_and_repetitive_points_do_not_look_tampered(con):
    if not WEBGAS.is_dir():
        pytest.skip("../shared/realdata/webGas is absent")
    stats = _webgas_stats()
    points = stats[["point_code", "kind"]].drop_duplicates()
    insert(con, "sensors", [dict(mine_code=MINE, point_code=p, value_type="MN", area_code=MINE + "0042",
                                 sensor_type="0001" if k == "甲烷" else "0004",
                                 alarm_high=None if k == "甲烷" else 24.0) for p, k in points.itertuples(index=False)])
    insert(con, "sensor_stats", [
        dict(mine_code=MINE, point_code=r.point_code, period_start=r.period_start.to_pydatetime(),
             period_end=(r.period_start + pd.Timedelta(minutes=5)).to_pydatetime(), avg_value=round(r.mean, 4),
             max_value=r.max, min_value=r.min, status=0)
        for r in stats.itertuples(index=False)
    ])
    build(con, "2020-10-12", only={"sensor_behaviour"}, window_days=1, history_days=1)
    frame = con.execute("select * from sensor_behaviour").df().set_index("point_code")
    # point lists change during a real day: most points report all day, a few for part of it
    assert len(frame) == len(points) and frame["n_periods"].between(1, 288).all()
    assert (frame["n_periods"] >= 250).sum() >= len(frame) - 2
    check = {c.name: c.sql for c in load_checks()}["alarm_sensor_behaviour_values_in_range"]
    assert con.execute(render(check, Window(date(2020, 10, 12), 1, 1))).df().empty
    # flat zeros (refuge chambers, intake air) repeat all day: normal, and nowhere near a threshold
    flat = frame[frame["peak_value"] == 0]
    assert len(flat) >= 2 and (flat["share_repeated"] == 1).all() and flat["is_flat_all_window"].all()
    # an honest mine does not sit just under the alarm limit
    assert (frame["share_near_threshold"].fillna(0) < 0.05).all()
    assert frame["corr_with_face_power"].isna().all() and frame["share_calibration_while_producing"].isna().all()
