"""Distributions of the simulated data against real-world magnitudes (DOMAIN.md, realdata/README.md)."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import numpy as np
import pytest

from pipelines.schema import FAMILIES
from pipelines.simulator.config import InspectionParams, SimulateParams
from pipelines.simulator.inspections import draw_inspections
from pipelines.simulator.plan import MECHANISMS, plan_mines
from pipelines.simulator.run import simulate

HONEST = """mine_code not in (select mine_code from truth_anomalies
                              where family in ('overproduction', 'hidden_workface'))"""


def test_kwh_per_tonne_in_range(db) -> None:
    rows = db.execute(f"""
        select m.mine_code,
               (select sum(kwh) from power p where p.mine_code = m.mine_code)
               / (select sum(tonnes) from production p where p.mine_code = m.mine_code) kwh_t
        from mines m where {HONEST}""").fetchall()
    assert rows
    for code, kwh_t in rows:
        assert 15 <= kwh_t <= 35, code


def test_honest_monthly_output_against_capacity(db) -> None:
    ratios = [r[0] for r in db.execute(f"""
        select sum(tonnes) / any_value(m.approved_capacity_tpy / 12)
        from production p join mines m using (mine_code)
        where {HONEST} and period_start >= '2025-06-01' and period_start < '2025-08-01'
        group by p.mine_code, date_trunc('month', period_start)""").fetchall()]
    assert ratios
    assert max(ratios) <= 1.1  # never a major hazard for honest mines
    assert 0.55 <= float(np.median(ratios)) <= 1.0


def test_alarms_per_gassy_mine_month(db) -> None:
    rows = db.execute("""
        select m.mine_code, m.gas_class, count(a.point_code) n, count(a.point_code) filter (where alarm_type = '001') n001
        from mines m left join alarms a using (mine_code) group by all""").fetchall()
    months = 61 / 30.4
    for code, gas, n, n001 in rows:
        assert 5 <= n / months <= 200, code  # tens per mine-month: calibrations, exceedances, faults
        if gas != "low":
            assert n001 >= 1, code


def test_headcount_against_approved(db) -> None:
    rows = db.execute("""
        with ev as (select mine_code, down_at t, 1 d from shaft_trips
                    union all select mine_code, up_at, -1 from shaft_trips where up_at is not null),
             n as (select mine_code, sum(d) over (partition by mine_code order by t rows unbounded preceding) k from ev)
        select n.mine_code, max(k), quantile_cont(k, 0.5), any_value(m.approved_headcount)
        from n join mines m using (mine_code)
        where n.mine_code not in (select mine_code from truth_anomalies where mechanism = 'over_manning')
        group by all""").fetchall()
    assert rows
    for code, peak, median, approved in rows:
        assert peak <= approved, code
        assert median >= 0.3 * approved, code


def test_monitoring_values_look_real(db) -> None:
    """Quantised to 0.01 %, mostly repeating, fresh-air points flat at 0.00 for whole days."""
    frac = db.execute("""select avg((abs(avg_value * 100 - round(avg_value * 100)) < 1e-6)::int) from sensor_stats st
                         join sensors s using (mine_code, point_code) where s.sensor_type = '0001'""").fetchone()[0]
    assert frac == 1.0
    rep = db.execute("""
        with s as (select st.avg_value, lag(avg_value) over (partition by st.mine_code, point_code order by period_start) prev
                   from sensor_stats st join sensors se using (mine_code, point_code)
                   where se.sensor_type = '0001' and se.location like '%工作面甲烷')
        select avg((avg_value = prev)::int) from s""").fetchone()[0]
    assert 0.4 <= rep <= 0.98
    flat = db.execute("""
        select avg((mx = 0)::int) from (select max(max_value) mx from sensor_stats st join sensors se
        using (mine_code, point_code) where se.location like '进风大巷%' group by st.mine_code, point_code,
        date_trunc('day', period_start))""").fetchone()[0]
    assert flat > 0.5


def test_methane_rises_with_output(db) -> None:
    """Face methane is higher in quarter-hours when coal is cut (RuleKit shows the same coupling)."""
    hi, lo = db.execute("""
        with q as (select mine_code, time_bucket(interval 15 minute, period_start) t, avg(avg_value) ch4
                   from sensor_stats st join sensors se using (mine_code, point_code)
                   where se.location like '%工作面甲烷' and se.location not like '%掘进%' and status = 0 group by all),
             o as (select mine_code, period_start t, sum(tonnes) tonnes from production group by all)
        select avg(ch4) filter (where tonnes > 0.5 * m), avg(ch4) filter (where tonnes = 0)
        from q join o using (mine_code, t) join (select mine_code, avg(tonnes) m from o group by all) using (mine_code)
        """).fetchone()
    assert hi > lo


def test_capacity_and_gas_class_distributions() -> None:
    specs = plan_mines(400, 150, 5, SimulateParams())
    cap = np.array([s.capacity_tpy for s in specs]) / 1e6
    assert cap.min() >= 0.3 and cap.max() <= 5.0
    assert 0.6 <= np.median(cap) <= 1.2  # China_Mine_CH4_EF Fig.1: median ~0.6-0.9 Mt/a
    assert (cap >= 3).mean() < 0.12
    gas = [s.gas_class for s in specs]
    assert 0.5 < gas.count("low") / len(gas) < 0.8 and 0 < gas.count("outburst") / len(gas) < 0.2
    hc = np.array([s.approved_headcount for s in specs])
    assert hc.min() >= 80 and hc.max() <= 300 and np.corrcoef(cap, hc)[0, 1] > 0.7


def test_mechanisms_mixed_across_mines() -> None:
    specs = plan_mines(60, 150, 1, SimulateParams())
    seen = {pl.mechanism for s in specs for pl in s.plans}
    for family, mechs in MECHANISMS.items():
        assert set(mechs) <= seen, family
    combos = {tuple(sorted(pl.mechanism for pl in s.plans if pl.family != "decoy")) for s in specs}
    assert len(combos) > 15
    assert sum(not s.family_plans(f) for s in specs for f in FAMILIES) > 0.6 * 4 * 60


def test_inspections_are_sparse_biased_and_noisy() -> None:
    rng = np.random.default_rng(0)
    facts = []
    for i in range(300):
        windows = {"overproduction": [(20.0, 120.0)]} if i % 3 == 0 else {}
        facts.append((f"{140000000000 + i:012d}", dict(windows=windows, capacity=9e5, gas_class="low")))
    ins = draw_inspections(facts, 150, dt.date(2025, 5, 1), rng, InspectionParams()).to_pandas()
    pos = ins["mine_code"].isin([c for c, f in facts if f["windows"]])
    examined = ins["found_overproduction"].notna()
    hit = ins.loc[pos & examined, "found_overproduction"].mean()
    false = ins.loc[~pos & examined, "found_overproduction"].mean()
    assert 0.2 < hit < 0.85  # inspectors miss a good share
    assert false < 0.08  # rare false findings
    targeted = ins[ins["kind"] == "targeted"]
    assert pos[targeted.index].mean() > pos.mean()  # targeted where risk already looked high
    assert set(ins["kind"]) == {"routine", "targeted", "random", "complaint"}
    assert ins["found_concealed_accident"].isna().mean() > 0.3  # families not examined stay empty
    assert ins["mine_code"].nunique() < 300 or len(ins) < 4 * 300


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_same_seed_same_bytes(tmp_path: Path, fmt: str) -> None:
    start = dt.date(2025, 7, 1)
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    simulate(a, 2, 4, 42, start, fmt)
    simulate(b, 2, 4, 42, start, fmt)
    da, db_ = _digest(a), _digest(b)
    assert da == db_
    assert len(da) > 20
    if fmt == "parquet":
        simulate(c, 2, 4, 43, start, fmt)
        assert _digest(c) != da


def test_csv_format(tmp_path: Path) -> None:
    simulate(tmp_path, 1, 3, 5, dt.date(2025, 7, 1), "csv")
    lines = (tmp_path / "presence" / next((tmp_path / "presence").iterdir()).name).read_text("utf-8").splitlines()
    assert lines[0] == "mine_code,card_code,area_code,station_code,entered_at,left_at"
    fields = lines[1].split(",")
    assert len(fields[4]) == 19 and fields[4][10] == " "
    mines = (tmp_path / "mines.csv").read_text("utf-8").splitlines()
    assert mines[0].startswith("mine_code,mine_name") and len(mines) == 2
    trips = (tmp_path / "shaft_trips" / next((tmp_path / "shaft_trips").iterdir()).name).read_text("utf-8")
    assert ",\n" in trips  # an empty up_at is an empty field


def test_some_workers_take_a_week_or_more_of_leave(db) -> None:
    """Leave blocks are the look-alike of a hurt worker kept off work: unrelated to any accident."""
    share, with_accident = db.execute("""
        with gaps as (
            select mine_code, card_code, up_at,
                   date_diff('day', up_at, lead(down_at) over (partition by mine_code, card_code order by down_at)) as gap
            from shaft_trips
        ),
        victims as (
            select mine_code, unnest(string_split(card_codes, '|')) as card_code from truth_accidents
        )
        select count(distinct (g.mine_code, g.card_code)) filter (where g.gap >= 7)
                   / count(distinct (g.mine_code, g.card_code)),
               count(*) filter (where g.gap >= 7 and v.card_code is not null)
        from gaps as g left join victims as v using (mine_code, card_code)
    """).fetchone()
    assert 0.15 < share < 0.5  # 0.11 without leave blocks on this seed
    assert with_accident <= 5  # nearly all of them are leave, not accidents
