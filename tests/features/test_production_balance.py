"""production_balance: hand-computed belt, reports, power by circuit, implied output, stop flags."""

from datetime import date, datetime, timedelta

import pytest

from tests.features.conftest import build, insert

MINE = "140000000001"


def _day(i: int) -> date:
    return date(2025, 3, 2) + timedelta(days=i)


@pytest.fixture
def balance(con):
    insert(con, "mines", [dict(mine_code=MINE, mine_name="甲矿", approved_capacity_tpy=365000.0, approved_headcount=100)])
    production, power = [], []
    for i in range(30):
        d = _day(i)
        start = datetime(d.year, d.month, d.day, 8)
        belt = 600.0 + 10 * i
        kwh = 2000.0 + 20 * belt  # the mine's own line: 20 kWh/t above a 2000 kWh base
        if d == date(2025, 3, 25):
            belt = 500.0  # the scale under-weighs: power says 1000 t
            kwh = 2000.0 + 20 * 1000
        production.append(dict(mine_code=MINE, point_code="P3001", period_start=start,
                               period_end=start + timedelta(hours=1), tonnes=belt))
        power.append(dict(mine_code=MINE, meter_code="M1", circuit="hoist",
                          interval_end=datetime(d.year, d.month, d.day, 2, 15), kwh=kwh / 4))
        power.append(dict(mine_code=MINE, meter_code="M1", circuit="hoist",
                          interval_end=datetime(d.year, d.month, d.day, 10, 15), kwh=kwh / 4))
        power.append(dict(mine_code=MINE, meter_code="M2", circuit="face", face_code="F1",
                          interval_end=datetime(d.year, d.month, d.day, 10, 15), kwh=kwh / 2))
        power.append(dict(mine_code=MINE, meter_code="M3", circuit="ventilation",
                          interval_end=datetime(d.year, d.month, d.day, 10, 15), kwh=300.0))
    insert(con, "production", production)
    insert(con, "power", power)
    insert(con, "production_reports", [
        dict(mine_code=MINE, date=date(2025, 3, 25), reported_tonnes=480.0),
        dict(mine_code=MINE, date=date(2025, 3, 27), reported_tonnes=0.0),
    ])
    insert(con, "declarations", [
        dict(mine_code=MINE, kind="maintenance", start_date=date(2025, 3, 28), end_date=date(2025, 3, 29),
             declared_at=datetime(2025, 3, 29, 10)),
        # filed after the as-of date: not known yet
        dict(mine_code=MINE, kind="shutdown", start_date=date(2025, 3, 30), end_date=date(2025, 3, 30),
             declared_at=datetime(2025, 4, 2, 9)),
    ])
    build(con, "2025-03-31", only={"production_balance"}, window_days=10, history_days=20)
    frame = con.execute("select * from production_balance order by day").df()
    return frame.assign(day=frame["day"].dt.date).set_index("day")


def test_one_row_per_day_of_both_windows(balance):
    assert len(balance) == 30
    assert balance.index.min() == date(2025, 3, 2) and balance.index.max() == date(2025, 3, 31)
    assert balance["is_in_window"].sum() == 10


def test_power_by_circuit_and_implied_output(balance):
    row = balance.loc[date(2025, 3, 25)]
    assert row.belt_tonnes == 500.0
    assert row.reported_tonnes == 480.0
    assert row.production_kwh == pytest.approx(22000.0)
    assert row.hoist_kwh == pytest.approx(11000.0)
    assert row.ventilation_kwh == 300.0
    assert row.total_kwh == pytest.approx(22300.0)
    assert row.night_hoist_ratio == pytest.approx(0.5)
    # fitted on the history days only: slope 20 kWh/t, base 2000 kWh
    assert row.implied_tonnes == pytest.approx(1000.0)
    assert row.capacity_share_ratio == pytest.approx(0.5)


def test_reports_and_stops(balance):
    assert bool(balance.loc[date(2025, 3, 26)].is_report_missing)
    assert not bool(balance.loc[date(2025, 3, 27)].is_report_missing)
    assert balance.loc[date(2025, 3, 28)].is_declared_stop and balance.loc[date(2025, 3, 28)].is_stop_filed_late
    assert not balance.loc[date(2025, 3, 27)].is_declared_stop
    assert not balance.loc[date(2025, 3, 30)].is_declared_stop  # filed after T
