"""Benchmark the feature build: time at 60 mines x 150 days, growth with days, ratio to a bare DuckDB pass and to pandas.

    python benchmarks/bench_features.py --data data/bench-sim   # simulates 60 x 150 there if absent
"""

from __future__ import annotations

import argparse
import atexit
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from features.runner import Window, build_features
from pipelines.schema import TABLES


def load_warehouse(data: Path, until: date | None = None) -> duckdb.DuckDBPyConnection:
    """A file-backed warehouse of the simulator's canonical tables (cut at `until` to measure growth).

    On disk with the stage's memory limit, as `minewatch build-features` runs, so that DuckDB spills
    instead of holding every table in memory.
    """
    path = Path(tempfile.mkdtemp(prefix="bench-features-")) / "warehouse.duckdb"
    atexit.register(shutil.rmtree, path.parent, True)
    con = duckdb.connect(str(path))
    con.execute("set threads = 2")
    con.execute("set memory_limit = '8GB'")
    time_col = {
        "shaft_trips": "down_at", "presence": "entered_at", "sensor_stats": "period_start",
        "switch_events": "changed_at", "alarms": "started_at", "production": "period_start",
        "power": "interval_end", "production_reports": "date",
    }
    for name, table in TABLES.items():
        single, folder = data / f"{name}.parquet", data / name
        source = f"'{single}'" if single.exists() else f"'{folder}/**/*.parquet'"
        cols = ", ".join(table.names)
        where = f"where {time_col[name]} < timestamp '{until}'" if until and name in time_col else ""
        con.execute(
            f"create table {name} as select {cols}, 0::bigint as _file_id, "
            f"row_number() over () as _record from read_parquet({source}) {where}"
        )
    return con


def data_span(con: duckdb.DuckDBPyConnection) -> tuple[date, date]:
    lo, hi = con.execute("select min(interval_end), max(interval_end) from power").fetchone()
    return lo.date(), (hi - timedelta(seconds=1)).date()


def time_build(con: duckdb.DuckDBPyConnection, as_of: date, history_days: int) -> float:
    started = time.perf_counter()
    build_features(con, Window(as_of, 30, history_days))
    return time.perf_counter() - started


def bare_pass(con: duckdb.DuckDBPyConnection) -> float:
    """The floor: one aggregate pass over every raw row the features read."""
    started = time.perf_counter()
    for table, expr in {
        "sensor_stats": "sum(avg_value), max(max_value), bit_or(status)",
        "presence": "count(*), max(left_at)",
        "shaft_trips": "count(*), max(up_at)",
        "power": "sum(kwh)",
        "production": "sum(tonnes)",
        "alarms": "count(*), max(max_value)",
        "switch_events": "sum(state)",
    }.items():
        con.execute(f"select mine_code, {expr} from {table} group by mine_code").fetchall()
    return time.perf_counter() - started


def pandas_features(con: duckdb.DuckDBPyConnection, as_of: date) -> tuple[float, pd.DataFrame]:
    """Three representative features in pandas: capacity ratio, peak headcount, share of cuts missing."""
    end = pd.Timestamp(as_of + timedelta(days=1))
    start = end - pd.Timedelta(days=30)
    frames = {t: con.execute(f"select * from {t}").df() for t in
              ("mines", "production", "shaft_trips", "alarms", "sensors", "sensor_links", "switch_events")}
    started = time.perf_counter()
    mines = frames["mines"].set_index("mine_code")
    prod = frames["production"]
    prod = prod[(prod.period_end <= end) & (prod.period_start >= start)]
    capacity_ratio = prod.groupby("mine_code").tonnes.sum() / (mines.approved_capacity_tpy / 12.0)

    trips = frames["shaft_trips"]
    trips = trips[(trips.down_at < end) & (trips.down_at >= start - pd.Timedelta(days=2))]
    up = trips.up_at.where(trips.up_at < end, end).fillna(end)
    events = pd.concat([
        pd.DataFrame({"mine_code": trips.mine_code, "t": trips.down_at, "d": 1}),
        pd.DataFrame({"mine_code": trips.mine_code, "t": up, "d": -1}),
    ]).sort_values(["mine_code", "t", "d"])
    events["n"] = events.groupby("mine_code").d.cumsum()
    peak = events[events.t >= start].groupby("mine_code").n.max() / mines.approved_headcount

    sensors = frames["sensors"]
    links = frames["sensor_links"]
    links = links[links.relation == "D"]
    both = pd.concat([links, links.rename(columns={"point_code": "linked_point_code",
                                                    "linked_point_code": "point_code"})])
    relays = both.merge(sensors[sensors.sensor_type == "1009"][["mine_code", "point_code"]]
                        .rename(columns={"point_code": "linked_point_code"}))
    alarms = frames["alarms"]
    alarms = alarms[(alarms.started_at >= start) & (alarms.started_at < end) & alarms.alarm_type.isin(["001", "002"])]
    alarms = alarms.merge(sensors[["mine_code", "point_code", "cutoff_high"]])
    alarms = alarms[alarms.max_value >= alarms.cutoff_high].merge(relays[["mine_code", "point_code", "linked_point_code"]])
    cuts = frames["switch_events"]
    cuts = cuts[cuts.state == 0].rename(columns={"point_code": "linked_point_code", "changed_at": "cut_at"})
    alarms = alarms.assign(lo=alarms.started_at - pd.Timedelta(seconds=60)).sort_values("lo")
    matched = pd.merge_asof(alarms, cuts.sort_values("cut_at"), left_on="lo", right_on="cut_at",
                            by=["mine_code", "linked_point_code"], direction="forward")
    matched["missing"] = ~(matched.cut_at <= matched.started_at + pd.Timedelta(minutes=10))
    missing = matched.groupby("mine_code").missing.mean()
    out = pd.DataFrame({"capacity_ratio": capacity_ratio, "peak_ratio": peak, "cut_missing": missing})
    return time.perf_counter() - started, out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data/bench-sim"))
    parser.add_argument("--mines", type=int, default=60)
    parser.add_argument("--days", type=int, default=150)
    args = parser.parse_args()
    if not (args.data / "mines.parquet").exists():
        subprocess.run([sys.executable, "-m", "pipelines", "simulate", "--out", str(args.data), "--mines",
                        str(args.mines), "--days", str(args.days), "--seed", "11"], check=True)
    con = load_warehouse(args.data)
    first, last = data_span(con)
    rows = {t: con.execute(f"select count(*) from {t}").fetchone()[0] for t in TABLES}
    print(f"data: {args.data} from {first} to {last}; rows: " + ", ".join(f"{t} {n:,}" for t, n in rows.items() if n > 1000))
    full = time_build(con, last, history_days=(last - first).days - 29)
    floor = bare_pass(con)
    pd_time, _ = pandas_features(con, last)
    print(f"feature build, all {(last - first).days + 1} days as history+window: {full:.1f} s "
          f"(target <= 60 s); bare single-pass aggregate: {floor:.2f} s (ratio {full / floor:.1f}x)")
    print(f"pandas, three representative features only (capacity ratio, peak headcount, missing cuts): "
          f"{pd_time:.1f} s, after loading the frames")
    con.close()
    print("growth with the number of days (features read every day of data):")
    sizes = []
    for days in (50, 100, 150):
        if days > (last - first).days + 1:
            continue
        cut = first + timedelta(days=days)
        con = load_warehouse(args.data, until=cut)
        n = sum(con.execute(f"select count(*) from {t}").fetchone()[0] for t in ("sensor_stats", "presence", "power"))
        seconds = time_build(con, cut - timedelta(days=1), history_days=days - 30)
        sizes.append((days, seconds))
        print(f"  {days:>4} days: {seconds:6.1f} s, {n:,} big-table rows, {seconds / days * 100:.2f} s per 100 days")
        con.close()
    if len(sizes) >= 2:
        slope = np.polyfit([d for d, _ in sizes], [s for _, s in sizes], 1)
        print(f"  linear fit: {slope[0]:.3f} s/day + {slope[1]:.1f} s")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory: {peak:,.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
