"""Print the simulator's statistics beside the same statistics of real mine data (../shared/realdata).

    python benchmarks/calibrate_simulator.py --sim /tmp/calib [--realdata ../shared/realdata] [--out FILE.md]

Real data is read where it lies and never copied: the webGas export through the vendor_csv profile (its
5-minute statistics and switch changes, so both sides are compared on the same canonical tables), the
RuleKit longwall (production flag vs methane), the China registry (capacity, gas grade) and MSHA 2017
(output per labour hour). Without --sim only the real side is printed.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
from scipy.stats import chi2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipelines.adapters.webgas import RAW_TABLE, VendorCsv  # noqa: E402
from pipelines.simulator.config import SimulateParams, load_params  # noqa: E402
from pipelines.simulator.plan import plan_mines  # noqa: E402

REAL_MINE = "000000000001"
METHANE = "('0001', '0043')"
HEADING = "掘进|综掘|迎头"
# a longwall face point: face words without heading words
LONGWALL = f"regexp_matches(location, '工作面|采面|上隅角|综采|回采|T0|T1') and not regexp_matches(location, '{HEADING}')"
SHIFT_SCHEDULES = ((0, 6, 12, 18), (0, 8, 16))  # 四六制, 三八制
SHORT_TON = 0.90718474
POPULATION = 4000  # mines drawn from the simulator's registry model: 10 simulated mines are too few for quantiles
# point classes for whole-day flatness, first match wins (the real export has few points of each)
POINT_CLASSES = (
    ("intake air or refuge chamber", "进风|避难"),
    ("return airway", "回风|总回"),
    ("face or heading", "工作面|采面|上隅角|综采|回采|掘进|综掘|迎头|T0|T1|T4"),
)
SHEARER = "采煤机|掘进机|胶带机"  # machine on/off points of the simulator (1004), not fans
TONNE_PER_10K = 1e4


@dataclass
class Row:
    """One line of the comparison: the real range and the simulated value."""

    statistic: str
    low: float | None
    high: float | None
    sim: float | None = None
    note: str = ""
    fmt: str = "{:.3g}"

    def cells(self) -> list[str]:
        """Markdown cells: statistic | real range | simulated | inside?"""
        real = (
            "n/a"
            if self.low is None
            else (
                self.fmt.format(self.low)
                if self.low == self.high
                else f"{self.fmt.format(self.low)} – {self.fmt.format(self.high)}"
            )
        )
        sim = (
            "n/a"
            if self.sim is None or (isinstance(self.sim, float) and math.isnan(self.sim))
            else self.fmt.format(self.sim)
        )
        if sim == "n/a" or self.low is None:
            inside = "–"
        else:
            tol = 1e-9 + 1e-6 * abs(self.high)
            inside = "yes" if self.low - tol <= self.sim <= self.high + tol else "**no**"
        return [self.statistic, real, sim, inside, self.note]


def poisson(k: int, exposure: float) -> tuple[float, float]:
    """Exact 95 % interval of a rate with k events over `exposure`."""
    lo = chi2.ppf(0.025, 2 * k) / 2 if k else 0.0
    hi = chi2.ppf(0.975, 2 * k + 2) / 2
    return lo / exposure, hi / exposure


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson interval of a share k/n."""
    if n == 0:
        return (float("nan"), float("nan"))
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


# ---- loading ----


def load_webgas(con: duckdb.DuckDBPyConnection, folder: Path) -> None:
    """Real sensors, sensor_stats, switch_events (and raw readings) of the webGas export as tables `real_*`."""
    profile = VendorCsv(mine_code=REAL_MINE)
    files = sorted(p for p in folder.rglob("*.csv") if profile.claims(p))
    if not files:
        raise SystemExit(f"no vendor export files under {folder}")
    tables = []
    for file_id, path in enumerate(files, start=1):
        parsed = profile.parse(path, path.read_bytes())
        if parsed.status != "ok":
            raise SystemExit(parsed.message)
        raw = parsed.raw[RAW_TABLE]
        tables.append(raw.append_column("_file_id", pa.array([file_id] * len(raw), pa.int64())))
    everything = pa.concat_tables(tables)  # noqa: F841 (read by DuckDB by name)
    con.execute(f"create or replace table {RAW_TABLE} as select * from everything")
    for table, sql in profile.derive(con, [REAL_MINE]).items():
        if not table.startswith("_"):
            con.execute(
                f"create or replace table real_{table} as select * exclude (_file_id, _record) from ({sql})"
            )
    con.execute(
        f"""create or replace table real_readings as
        select point_code, read_at, value, state, sensor_type from {RAW_TABLE}
        qualify row_number() over (partition by point_code, location_raw, read_at order by _file_id, _record) = 1"""
    )


def load_sim(con: duckdb.DuckDBPyConnection, folder: Path) -> list[str]:
    """The simulator's canonical tables (Parquet or CSV, file or folder of parts) as views `sim_*`."""
    found = []
    for table in (
        "mines",
        "sensors",
        "sensor_stats",
        "switch_events",
        "production",
        "shaft_trips",
        "workfaces",
    ):
        for pattern, reader in (
            (folder / f"{table}.parquet", "read_parquet"),
            (folder / table / "*.parquet", "read_parquet"),
            (folder / f"{table}.csv", "read_csv"),
            (folder / table / "*.csv", "read_csv"),
        ):
            if list(pattern.parent.glob(pattern.name)):
                extra = (
                    ", all_varchar = false, types = {'mine_code': 'VARCHAR', 'point_code': 'VARCHAR', "
                    "'sensor_type': 'VARCHAR'}"
                    if reader == "read_csv"
                    else ""
                )
                con.execute(
                    f"create or replace view sim_{table} as select * from {reader}('{pattern}'{extra})"
                )
                found.append(table)
                break
    return found


# ---- statistics over canonical tables (same SQL for both sides) ----


def methane_points(con: duckdb.DuckDBPyConnection, side: str, where: str = "true") -> pd.DataFrame:
    """Per methane point: mean level, p95 of 5-minute maxima, repeats, flat periods, longest flat run."""
    return con.execute(
        f"""
        with s as (
            select st.*, p.location, p.sensor_type,
                lag(st.avg_value) over w as prev_avg,
                lag(st.max_value) over w as prev_max,
                lag(st.min_value) over w as prev_min,
                lag(st.period_end) over w as prev_end
            from {side}_sensor_stats st
            join {side}_sensors p using (mine_code, point_code)
            where p.sensor_type in {METHANE} and ({where})
            window w as (partition by st.mine_code, st.point_code order by st.period_start)
        ),
        flagged as (
            select *,
                prev_end = period_start and abs(avg_value - prev_avg) < 1e-9 and max_value = prev_max
                    and min_value = prev_min as is_repeat,
                max_value = min_value as is_flat
            from s
        ),
        runs as (
            select *, sum(case when is_flat and coalesce(is_repeat, false) then 0 else 1 end)
                over (partition by mine_code, point_code order by period_start rows unbounded preceding) as run
            from flagged
        ),
        run_len as (
            select mine_code, point_code, run, count(*) filter (where is_flat) as periods,
                epoch(max(period_end) - min(period_start)) / 3600 as hours
            from runs group by all
        )
        select f.mine_code, f.point_code,
            count(*) as n_periods,
            avg(avg_value) as mean_level,
            quantile_cont(max_value, 0.95) as p95_max,
            max(max_value) as max_value,
            avg(case when is_repeat then 1.0 else 0.0 end) filter (where is_repeat is not null) as repeat_share,
            avg(case when is_flat then 1.0 else 0.0 end) as flat_share,
            avg(case when abs(max_value * 100 - round(max_value * 100)) < 1e-6
                and abs(min_value * 100 - round(min_value * 100)) < 1e-6 then 1.0 else 0.0 end) as on_grid,
            (select max(hours) from run_len r where r.mine_code = f.mine_code and r.point_code = f.point_code
                and r.periods > 0) as longest_flat_hours
        from flagged f
        group by f.mine_code, f.point_code
        """
    ).df()


def flat_days(con: duckdb.DuckDBPyConnection, side: str) -> pd.DataFrame:
    """Per day and point class: methane/CO point-days with >= 20 h of data, and how many read one value all day."""
    cases = " ".join(f"when regexp_matches(p.location, '{rx}') then '{name}'" for name, rx in POINT_CLASSES)
    return con.execute(
        f"""
        with d as (
            select st.mine_code, st.point_code, cast(st.period_start as date) as day,
                any_value(case {cases} else 'other' end) as point_class,
                count(*) as n, max(max_value) = min(min_value) as is_flat
            from {side}_sensor_stats st
            join {side}_sensors p using (mine_code, point_code)
            where p.sensor_type in ('0001', '0043', '0004')
            group by st.mine_code, st.point_code, day
            having count(*) >= 240
        )
        select day, point_class, count(*) as point_days, count(*) filter (where is_flat) as flat
        from d group by all order by day, point_class
        """
    ).df()


def shearer_coupling(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Per gassy simulated longwall: methane while its shearer (1004) runs / while it stands, run share, changes/day."""
    return con.execute(
        f"""
        with shearer as (
            select mine_code, point_code, area_code from sim_sensors
            where sensor_type = '1004' and location like '%采煤机开停'
        ),
        events as (
            select e.mine_code, s.area_code, e.changed_at, e.state
            from sim_switch_events e join shearer s using (mine_code, point_code)
        ),
        ch4 as (
            select st.mine_code, p.area_code, st.period_start, st.avg_value
            from sim_sensor_stats st
            join sim_sensors p using (mine_code, point_code)
            join sim_mines m using (mine_code)
            where p.sensor_type in {METHANE} and {LONGWALL.replace("location", "p.location")}
                and m.gas_class in ('high', 'outburst') and st.status = 0
        ),
        joined as (
            select c.*, e.state from ch4 c
            asof left join events e
                on c.mine_code = e.mine_code and c.area_code = e.area_code and c.period_start >= e.changed_at
        ),
        span as (
            select mine_code, greatest(1, datediff('day', min(period_start), max(period_end))) as days
            from sim_sensor_stats group by mine_code
        ),
        changes as (
            select s.mine_code, s.area_code, count(e.changed_at) / any_value(sp.days) as per_day
            from shearer s join span sp using (mine_code)
            left join events e using (mine_code, area_code)
            group by all
        )
        select j.mine_code, j.area_code,
            avg(avg_value) filter (where state = 1) / nullif(avg(avg_value) filter (where state = 0), 0) as ratio,
            avg(case when state = 1 then 1.0 else 0.0 end) filter (where state is not null) as run_share,
            any_value(c.per_day) as changes_per_day
        from joined j join changes c using (mine_code, area_code)
        group by all
        """
    ).df()


def switch_rates(con: duckdb.DuckDBPyConnection, side: str, days: pd.DataFrame) -> pd.DataFrame:
    """Changes per point-day by switch family; `days` gives observed days per point."""
    con.register("point_days", days)
    out = con.execute(
        f"""
        with fam as (
            select mine_code, point_code,
                case when sensor_type = '1011' then 'feed sensor 1011'
                     when sensor_type = '1009' then 'power-cut relay 1009'
                     when sensor_type in ('1001', '1010')
                         or (sensor_type = '1004' and not regexp_matches(location, '{SHEARER}'))
                         then 'fans 1001/1010 and non-machine 1004'
                end as family
            from {side}_sensors
        ),
        changes as (
            select e.mine_code, e.point_code, count(*) as n
            from (
                select *, lag(state) over (partition by mine_code, point_code order by changed_at) as prev
                from {side}_switch_events
            ) e
            where prev is not null and prev <> state
            group by all
        )
        select f.family, f.mine_code, f.point_code, d.days, coalesce(c.n, 0) as changes,
            coalesce(c.n, 0) / d.days as per_day
        from fam f
        join point_days d using (mine_code, point_code)
        left join changes c using (mine_code, point_code)
        where f.family is not null and d.days >= 1
        """
    ).df()
    con.unregister("point_days")
    return out


def feed_offs(con: duckdb.DuckDBPyConnection, side: str, where: str = "true") -> pd.DataFrame:
    """Off periods of feed sensors (1011): start hour and duration in minutes."""
    return con.execute(
        f"""
        with e as (
            select e.*, p.location,
                lead(changed_at) over (partition by e.mine_code, e.point_code order by changed_at) as next_at,
                lead(state) over (partition by e.mine_code, e.point_code order by changed_at) as next_state
            from {side}_switch_events e
            join {side}_sensors p using (mine_code, point_code)
            where p.sensor_type = '1011' and ({where})
        )
        select mine_code, point_code, changed_at as off_at, hour(changed_at) + minute(changed_at) / 60.0 as hour,
            epoch(next_at - changed_at) / 60 as minutes
        from e
        where state = 0 and next_state = 1
        """
    ).df()


def near_shift_change(offs: pd.DataFrame, within: float = 1.5) -> pd.Series:
    """Per off period: near a shift change of its mine's schedule (the schedule that fits the mine best)."""
    if offs.empty:
        return pd.Series(dtype=bool)
    hours = offs["hour"].astype(float).to_numpy()
    near = np.array(
        [
            np.min([np.abs(((hours - h + 12) % 24) - 12) for h in sched], axis=0) <= within
            for sched in SHIFT_SCHEDULES
        ]
    )
    fit = pd.DataFrame(near.T, index=offs.index).groupby(offs["mine_code"]).transform("mean")
    best = fit.to_numpy().argmax(axis=1)
    return pd.Series(near[best, np.arange(len(offs))], index=offs.index)


# ---- real-only sources ----


def rulekit(folder: Path) -> pd.DataFrame:
    """The RuleKit longwall's 30-second rows (train then test: one time order)."""
    frames = []
    for name in ("methane-train.arff", "methane-test.arff"):
        lines = (folder / name).read_text(encoding="utf-8", errors="replace").splitlines()
        cols = [ln.split()[1].strip("'") for ln in lines if ln.upper().startswith("@ATTRIBUTE")]
        start = next(i for i, ln in enumerate(lines) if ln.strip().upper() == "@DATA") + 1
        rows = [ln.split(",") for ln in lines[start:] if ln.strip() and not ln.startswith("%")]
        frames.append(pd.DataFrame(rows, columns=cols).astype(float))
    return pd.concat(frames, ignore_index=True)


def registry(path: Path, years: tuple[int, int]) -> tuple[pd.DataFrame, pd.Series]:
    """Capacity (Mt/a) per mine and year in `years`, and the gas grades of Fig.S3."""
    fig1 = pd.read_excel(path, sheet_name="Fig.1")
    cap_col = next(c for c in fig1.columns if str(c).startswith("Production_Capacity"))
    fig1 = fig1[(fig1["Year"] >= years[0]) & (fig1["Year"] <= years[1]) & (fig1[cap_col] > 0)]
    capacity = pd.DataFrame({"year": fig1["Year"], "mtpa": fig1[cap_col] * TONNE_PER_10K / 1e6})
    s3 = pd.read_excel(path, sheet_name="Fig.S3", header=None)
    grades = s3.iloc[2:, 2].dropna().astype(str).str.strip()
    return capacity, grades


def msha_productivity(path: Path) -> pd.Series:
    """Metric tonnes per employee hour of US underground coal subunits (MSHA 2017)."""
    m = pd.read_csv(path, dtype={"mine_id": str, "subunit_cd": str})
    u = m[(m["subunit_cd"] == "01") & (m["annual_coal_prod"] > 0) & (m["annual_hrs"] > 0)]
    return u["annual_coal_prod"] * SHORT_TON / u["annual_hrs"]


# ---- the comparison ----


def q(series: pd.Series, p: float) -> float:
    """Quantile of a series, NaN when empty."""
    series = series.dropna()
    return float(series.quantile(p)) if len(series) else float("nan")


def compare(
    con: duckdb.DuckDBPyConnection,
    realdata: Path,
    sim: bool,
    years: tuple[int, int],
    params: SimulateParams | None = None,
) -> tuple[list[Row], pd.DataFrame]:
    """All rows of the table, and the feed-off hour histogram."""
    rows: list[Row] = []
    params = params or SimulateParams()

    # methane levels, quantisation, repeats, flat runs
    real_m = methane_points(con, "real")
    sim_m = methane_points(con, "sim") if sim else pd.DataFrame()
    sim_low = sim_gassy_face = pd.DataFrame()
    if sim:
        gas = con.execute("select mine_code, gas_class from sim_mines").df()
        sim_m = sim_m.merge(gas, on="mine_code", how="left")
        faces = con.execute(f"select mine_code, point_code, {LONGWALL} as is_face from sim_sensors").df()
        sim_m = sim_m.merge(faces, on=["mine_code", "point_code"], how="left")
        sim_low = sim_m[sim_m["gas_class"] == "low"]
        sim_gassy_face = sim_m[sim_m["gas_class"].isin(["high", "outburst"]) & sim_m["is_face"].fillna(False)]
    rk = rulekit(realdata / "RuleKit")
    # repeats and flat runs need a series: points with at least 6 hours of 5-minute periods
    real_long = real_m[real_m["n_periods"] >= 72]
    sim_long = sim_m[sim_m["n_periods"] >= 72] if sim else sim_m
    rows.append(
        Row(
            "methane mean per point, low-gas mine (%)",
            real_m["mean_level"].min(),
            real_m["mean_level"].max(),
            q(sim_low.get("mean_level", pd.Series(dtype=float)), 0.5),
            "sim: median over low-gas mines' points",
        )
    )
    rows.append(
        Row(
            "methane p95 of 5-min max per point, low-gas mine (%)",
            real_m["p95_max"].min(),
            real_m["p95_max"].max(),
            q(sim_low.get("p95_max", pd.Series(dtype=float)), 0.5),
            "sim: median over low-gas mines' points",
        )
    )
    rows.append(
        Row(
            "methane mean at a gassy longwall (%)",
            rk["MM31"].mean(),
            rk["MM116"].mean(),
            q(sim_gassy_face.get("mean_level", pd.Series(dtype=float)), 0.5),
            "real: RuleKit MM31 / MM116; sim: median over high/outburst longwall points",
        )
    )
    rows.append(
        Row(
            "methane 5-min max/min on the 0.01 % grid (share)",
            real_m["on_grid"].min(),
            1.0,
            q(sim_m.get("on_grid", pd.Series(dtype=float)), 0.05),
            "sim: 5th percentile over points",
            "{:.3f}",
        )
    )
    rows.append(
        Row(
            "methane 5-min periods repeating the previous one (share per point)",
            q(real_long["repeat_share"], 0.1),
            q(real_long["repeat_share"], 0.9),
            q(sim_long.get("repeat_share", pd.Series(dtype=float)), 0.5),
            "real p10–p90 over points with ≥ 6 h; sim median",
            "{:.2f}",
        )
    )
    rows.append(
        Row(
            "methane 5-min periods with max = min (share per point)",
            q(real_long["flat_share"], 0.1),
            q(real_long["flat_share"], 0.9),
            q(sim_long.get("flat_share", pd.Series(dtype=float)), 0.5),
            "real p10–p90 over points with ≥ 6 h; sim median",
            "{:.2f}",
        )
    )
    real_runs = real_long["longest_flat_hours"].dropna()
    rows.append(
        Row(
            "longest flat run per methane point (h)",
            q(real_runs, 0.1),
            q(real_runs, 0.9),
            q(sim_long.get("longest_flat_hours", pd.Series(dtype=float)), 0.5),
            "real p10–p90, series ≤ 3 days per point; sim median",
            "{:.1f}",
        )
    )

    real_days = flat_days(con, "real")
    per_day = real_days.groupby("day")[["flat", "point_days"]].sum()
    share = per_day["flat"] / per_day["point_days"]
    sd = flat_days(con, "sim") if sim else pd.DataFrame(columns=real_days.columns)
    sim_share = sd["flat"].sum() / max(1, sd["point_days"].sum()) if sim else float("nan")
    rows.append(
        Row(
            "methane/CO point-days reading one value all day (share)",
            share.min(),
            share.max(),
            sim_share,
            "real: per day, days with ≥ 20 h; sim: all point-days (depends on the mix of point classes, below)",
            "{:.2f}",
        )
    )
    for name, _ in POINT_CLASSES:
        r = real_days[real_days["point_class"] == name]
        lo, hi = wilson(int(r["flat"].sum()), int(r["point_days"].sum()))
        c = sd[sd["point_class"] == name]
        rows.append(
            Row(
                f"… of which {name} points (share)",
                lo,
                hi,
                c["flat"].sum() / max(1, c["point_days"].sum()) if sim else None,
                f"real: 95 % interval of {int(r['flat'].sum())}/{int(r['point_days'].sum())} point-days; "
                "sim: pooled",
                "{:.2f}",
            )
        )

    # raw-reading repeats: real only (the simulator writes 5-minute statistics, not polls)
    raw_rep = con.execute(
        f"""select avg(case when value = prev then 1.0 else 0.0 end) as share from (
            select point_code, value, lag(value) over (partition by point_code order by read_at) as prev
            from real_readings where sensor_type in {METHANE}) where prev is not null group by point_code"""
    ).df()["share"]
    rows.append(
        Row(
            "methane polls repeating the previous poll (share per point)",
            q(raw_rep, 0.1),
            q(raw_rep, 0.9),
            None,
            "real only: poll level (~27 s); p10–p90",
            "{:.2f}",
        )
    )

    # switch change rates
    real_days_pts = con.execute(
        "select mine_code, point_code, count(distinct cast(read_at as date)) as days from "
        f"(select '{REAL_MINE}' as mine_code, * from real_readings) group by all"
    ).df()
    real_sw = switch_rates(con, "real", real_days_pts)
    sim_sw = pd.DataFrame(columns=real_sw.columns)
    if sim:
        span = con.execute(
            "select mine_code, greatest(1, datediff('day', min(period_start), max(period_end))) as days "
            "from sim_sensor_stats group by mine_code"
        ).df()
        pts = con.execute("select mine_code, point_code from sim_sensors").df().merge(span, on="mine_code")
        sim_sw = switch_rates(con, "sim", pts)
    for family in ("feed sensor 1011", "power-cut relay 1009", "fans 1001/1010 and non-machine 1004"):
        fam = real_sw[real_sw["family"] == family]
        r = fam["per_day"]
        s = sim_sw[sim_sw["family"] == family]["per_day"] if len(sim_sw) else pd.Series(dtype=float)
        # few real points over few days: widen the spread over points by the pooled rate's Poisson interval
        lo, hi = poisson(int(fam["changes"].sum()), float(fam["days"].sum()))
        rows.append(
            Row(
                f"switch changes per point-day, {family}",
                min(r.min(), lo),
                max(r.max(), hi),
                q(s, 0.5) if len(s) else None,
                f"real: {len(fam)} points, {int(fam['changes'].sum())} changes in {int(fam['days'].sum())} "
                "point-days (min–max over points ∪ 95 % Poisson); sim median",
                "{:.2f}",
            )
        )

    # feed-sensor off periods
    real_off = feed_offs(con, "real")
    sim_off = pd.DataFrame(columns=real_off.columns)
    if sim:
        sim_off = feed_offs(con, "sim", f"regexp_matches(p.location, '{HEADING}')")
        if sim_off.empty:
            sim_off = feed_offs(con, "sim")
    near = near_shift_change(real_off)
    lo, hi = wilson(int(near.sum()), len(near))
    sim_near = near_shift_change(sim_off).mean() if len(sim_off) else float("nan")
    rows.append(
        Row(
            "feed-sensor offs starting within 1.5 h of a shift change (share)",
            lo,
            hi,
            sim_near,
            f"real: 95 % interval of {int(near.sum())}/{len(near)} (四六制: 00/06/12/18 h); sim: heading feed "
            "sensors, each mine's best-fitting schedule (四六制 or 三八制 00/08/16 h)",
            "{:.2f}",
        )
    )
    rows.append(
        Row(
            "feed-sensor off duration (min)",
            q(real_off["minutes"], 0.1),
            q(real_off["minutes"], 0.9),
            q(sim_off["minutes"].astype(float), 0.5) if len(sim_off) else None,
            "real p10–p90; sim median",
            "{:.0f}",
        )
    )
    bins = list(range(0, 25, 3))
    hist = pd.DataFrame(
        {
            "hours": [f"{a:02d}–{b:02d}" for a, b in zip(bins[:-1], bins[1:], strict=True)],
            "real offs": np.histogram(real_off["hour"], bins=bins)[0],
            "sim offs": np.histogram(sim_off["hour"].astype(float), bins=bins)[0] if len(sim_off) else 0,
        }
    )

    # methane coupling to production: RuleKit's production flag against the simulated shearer's on/off (1004)
    ratios = [rk.loc[rk["PD"] == 1, c].mean() / rk.loc[rk["PD"] == 0, c].mean() for c in ("MM31", "MM116")]
    pd_share = rk["PD"].mean()
    pd_changes = int((rk["PD"].diff().abs() > 0).sum())
    rk_days = len(rk) * 30 / 86400  # 30-second rows
    coupling = shearer_coupling(con) if sim else pd.DataFrame(columns=["ratio", "run_share", "changes_per_day"])
    rows.append(
        Row(
            "face methane when producing / when not (ratio)",
            min(ratios),
            max(ratios),
            q(coupling["ratio"], 0.5) if sim else None,
            "real: RuleKit PD flag, MM31 and MM116; sim: high/outburst longwall methane (status 0) while the "
            "face's shearer on/off point (1004) shows running vs stopped, median over faces",
            "{:.2f}",
        )
    )
    rows.append(
        Row(
            "share of time the longwall produces",
            pd_share,
            pd_share,
            q(coupling["run_share"], 0.5) if sim else None,
            "real: RuleKit PD; sim: shearer running, median over gassy longwalls",
            "{:.2f}",
        )
    )
    lo, hi = poisson(pd_changes, rk_days)
    rows.append(
        Row(
            "longwall production on/off changes per day",
            lo,
            hi,
            q(coupling["changes_per_day"], 0.5) if sim else None,
            f"real: RuleKit PD, {pd_changes} changes in {rk_days:.1f} days (95 % Poisson); sim: shearer 1004, median",
            "{:.1f}",
        )
    )

    # registry: capacity and gas class, for the simulated mines and for a large draw of the same model
    capacity, grades = registry(realdata / "China_Mine_CH4_EF" / "Figure.xlsx", years)
    bound = (params.mines.capacity_min_tpy / 1e6, params.mines.capacity_max_tpy / 1e6)
    inside = capacity[capacity["mtpa"].between(*bound)]
    population = plan_mines(POPULATION, 30, 0, params)
    pop_cap = pd.Series([m.capacity_tpy / 1e6 for m in population])
    pop_gas = pd.Series([m.gas_class for m in population])
    sim_cap = (
        con.execute("select approved_capacity_tpy / 1e6 as mtpa from sim_mines").df()["mtpa"]
        if sim
        else pd.Series(dtype=float)
    )

    def capacity_rows(real: pd.DataFrame, label: str, sim_values: pd.Series | None, note: str) -> None:
        by_year = real.groupby("year")["mtpa"]
        for p in (0.1, 0.5, 0.9):
            per_year = by_year.quantile(p)
            rows.append(
                Row(
                    f"capacity p{int(p * 100)} (Mt/a), {label}",
                    per_year.min(),
                    per_year.max(),
                    q(sim_values, p) if sim_values is not None else None,
                    f"real: registry {years[0]}–{years[1]}, range over years; {note}",
                    "{:.2f}",
                )
            )
        for name, share in (
            ("≥ 1.2 Mt/a", by_year.apply(lambda x: (x >= 1.2).mean())),
            (f"at the {bound[0]:g} Mt/a minimum", by_year.apply(lambda x: (x.round(3) == bound[0]).mean())),
        ):
            value = None
            if sim_values is not None:
                value = float((sim_values >= 1.2).mean()) if name.startswith("≥") else float(
                    (sim_values.round(3) == bound[0]).mean()
                )
            rows.append(Row(f"mines {name} (share), {label}", share.min(), share.max(), value, note, "{:.2f}"))

    capacity_rows(capacity, "all mines", sim_cap if sim else None, "sim: the simulated mines")
    capacity_rows(
        inside,
        f"inside the issue's {bound[0]:g}–{bound[1]:g} Mt/a bound",
        pop_cap,
        f"sim: {POPULATION:,} mines drawn by the same model (plan_mines)",
    )
    sim_gas = (
        con.execute("select gas_class from sim_mines").df()["gas_class"] if sim else pd.Series(dtype=str)
    )
    for label, code in (("Low gas", "low"), ("High gas", "high"), ("Outburst-prone", "outburst")):
        k = int((grades == label).sum())
        lo, hi = wilson(k, len(grades))
        rows.append(
            Row(
                f"gas class {code} (share of mines)",
                lo,
                hi,
                float((sim_gas == code).mean()) if sim else None,
                f"real: {k}/{len(grades)} (Fig.S3), 95 % interval; sim: the simulated mines",
                "{:.2f}",
            )
        )
        rows.append(
            Row(
                f"gas class {code} (share of mines), large draw",
                lo,
                hi,
                float((pop_gas == code).mean()),
                f"sim: {POPULATION:,} mines drawn by the same model",
                "{:.2f}",
            )
        )

    # output per labour hour
    prod = msha_productivity(realdata / "msha-state-emp-prod" / "annual_msha_op_emply.csv")
    sim_tph = None
    if sim:
        tph = con.execute(
            """
            with t as (select mine_code, sum(tonnes) as tonnes from sim_production group by all),
            h as (select mine_code, sum(epoch(up_at - down_at)) / 3600 as hours from sim_shaft_trips
                  where up_at is not null group by all)
            select t.mine_code, tonnes / nullif(hours, 0) as tph from t join h using (mine_code)
            """
        ).df()["tph"]
        sim_tph = q(tph, 0.5)
    rows.append(
        Row(
            "output per underground labour hour (t/h)",
            q(prod, 0.1),
            q(prod, 0.9),
            sim_tph,
            f"real: MSHA 2017, {len(prod)} US underground coal mines, p10–p90 (US mines are far more "
            "mechanised than most Chinese ones); sim: belt scale / shaft-trip hours, median",
            "{:.2f}",
        )
    )
    return rows, hist


def render(rows: list[Row], hist: pd.DataFrame, header: str) -> str:
    """The Markdown report."""
    lines = [header, "", "| statistic | real range | simulated | inside? | notes |", "|---|---|---|---|---|"]
    lines += ["| " + " | ".join(r.cells()) + " |" for r in rows]
    lines += [
        "",
        "Feed-sensor (1011) off periods by start hour:",
        "",
        "| hours | real offs | sim offs |",
        "|---|---|---|",
    ]
    lines += [f"| {h} | {a} | {b} |" for h, a, b in hist.itertuples(index=False)]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Compute and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sim", type=Path, help="a folder written by `minewatch simulate` (canonical tables)"
    )
    parser.add_argument(
        "--realdata", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "realdata"
    )
    parser.add_argument(
        "--years", default="2020-2023", help="registry years for capacity (default 2020-2023)"
    )
    parser.add_argument("--out", type=Path, help="also write the Markdown table here")
    parser.add_argument(
        "--params", type=Path, default=None, help="params.yaml of the simulator's registry model (default ./params.yaml)"
    )
    args = parser.parse_args(argv)
    if not args.realdata.is_dir():
        parser.error(f"{args.realdata} does not exist")
    first, last = (int(y) for y in args.years.split("-"))
    started = time.perf_counter()
    con = duckdb.connect()
    con.execute("set threads = 2")
    load_webgas(con, args.realdata / "webGas")
    sim = False
    if args.sim:
        found = load_sim(con, args.sim)
        missing = {"mines", "sensors", "sensor_stats", "switch_events", "production", "shaft_trips"} - set(
            found
        )
        if missing:
            parser.error(f"{args.sim}: missing simulator tables {', '.join(sorted(missing))}")
        sim = True
    rows, hist = compare(con, args.realdata, sim, (first, last), load_params(args.params))
    header = f"Real data: {args.realdata}; simulated: {args.sim or '(none)'}"
    report = render(rows, hist, header)
    print(report)
    print(f"({time.perf_counter() - started:.1f} s)", file=sys.stderr)
    if args.out:
        args.out.write_text(report, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
