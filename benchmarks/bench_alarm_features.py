"""Time alarm_handling and sensor_behaviour at full scale and print time, peak memory and rows.

Reads a simulator output folder (`--data`, parquet per table) or generates a synthetic warehouse of
the contract's shape in DuckDB (60 mines x 150 days: ~62 M sensor_stats rows, ~16 M presence rows).
Usage: .venv/bin/python benchmarks/bench_alarm_features.py [--mines 60] [--days 150] [--data DIR]
"""

from __future__ import annotations

import argparse
import resource
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb

from features.runner import Window, build_features, load_models, render
from pipelines.schema import DUCKDB_TYPES, TABLES

START = date(2024, 1, 1)
TARGETS = {"alarm_handling", "sensor_behaviour"}

SYNTHETIC = """
insert into mines by name
select lpad(cast(140000000000 + i as varchar), 12, '0') as mine_code, 'm' || i as mine_name,
       900000.0 as approved_capacity_tpy, 300 as approved_headcount
from range($mines) t(i);

insert into workfaces by name
select mine_code, 'F' || f as face_code, 'longwall' as face_type, mine_code || lpad(cast(f as varchar), 4, '0') as area_code,
       date '2023-06-01' as declared_from, null::date as declared_to
from mines cross join range(3) t(f);

-- 24 analog points per mine: 10 methane (0-5 on the three faces), 2 CO, 12 others; relays and feeds for methane
insert into sensors by name
select mine_code, mine_code || 'MN' || lpad(cast(p as varchar), 3, '0') as point_code,
       case when p < 10 then '0001' when p < 12 then '0004' else '0002' end as sensor_type,
       'MN' as value_type,
       case when p < 10 then 1.0 when p < 12 then 24.0 end as alarm_high,
       case when p < 10 then 1.5 end as cutoff_high,
       case when p < 10 then 1.0 end as restore_high,
       'loc ' || p as location,
       mine_code || lpad(cast(case when p < 6 then p // 2 else 3 + p % 17 end as varchar), 4, '0') as area_code
from mines cross join range(24) t(p)
union all
select mine_code, mine_code || k || lpad(cast(p as varchar), 3, '0'), case k when 'KD' then '1009' else '1011' end,
       'KG', null, null, null, 'switch ' || p, null
from mines cross join range(10) t(p) cross join (values ('KD'), ('KF')) v(k);

insert into sensor_links by name
select mine_code, mine_code || 'MN' || lpad(cast(p as varchar), 3, '0') as point_code, 'D' as relation,
       mine_code || 'KD' || lpad(cast(p as varchar), 3, '0') as linked_point_code
from mines cross join range(10) t(p)
union all
-- the feed link is stored on the switch's side: links have no direction
select mine_code, mine_code || 'KF' || lpad(cast(p as varchar), 3, '0'), 'D', mine_code || 'MN' || lpad(cast(p as varchar), 3, '0')
from mines cross join range(10) t(p);

insert into sensor_stats by name
select s.mine_code, s.point_code,
       timestamp '$start' + to_minutes(cast(k * 5 as bigint)) as period_start,
       timestamp '$start' + to_minutes(cast(k * 5 + 5 as bigint)) as period_end,
       -- methane is quantised and mostly repeats its previous value, as real points do
       round(case when s.sensor_type = '0001' then 0.25 + 0.2 * ((k // 96) % 3 = 1)::int + 0.01 * ((k // 4) % 3)
                  + 0.01 * (random() < 0.1)::int else round(5 * random()) end, 2) as avg_value,
       round(case when s.sensor_type = '0001' then 0.35 + 0.3 * random() else 6 * random() end, 2) as max_value,
       null::timestamp as max_at,
       round(case when s.sensor_type = '0001' then 0.2 else 0 end, 2) as min_value,
       null::timestamp as min_at,
       case when random() < 0.002 then 4 when random() < 0.001 then 16 else 0 end as status
from (select * from sensors where value_type = 'MN') s cross join range($days * 288) t(k);

insert into alarms by name
select mine_code, mine_code || 'MN' || lpad(cast(p as varchar), 3, '0') as point_code,
       case when random() < 0.7 then '001' else '002' end as alarm_type,
       started_at, started_at + to_minutes(cast(5 + 55 * random() as bigint)) as ended_at,
       round(1.0 + 1.2 * random(), 2) as max_value, null::timestamp as max_at,
       null::double as min_value, null::timestamp as min_at, null::double as avg_value,
       '瓦斯涌出' as cause, '加强通风，撤出人员 ' || cast(floor(random() * 20) as int) as measure,
       started_at + to_minutes(cast(90 + 600 * random() as bigint)) as entered_at, 'duty' as entered_by
from (
    select mine_code, (d * 7 + a) % 10 as p,
           timestamp '$start' + to_days(cast(d as int)) + to_seconds(cast(floor(86000 * random()) as bigint)) as started_at
    from mines cross join range($days) t(d) cross join range(3) u(a)
);

insert into switch_events by name
select distinct on (mine_code, point_code, changed_at) * from (
    select mine_code, mine_code || 'KD' || substr(point_code, 15) as point_code, started_at + interval 2 second as changed_at, 0 as state
    from alarms where max_value >= 1.5
    union all
    select mine_code, mine_code || 'KD' || substr(point_code, 15), ended_at, 1 from alarms where max_value >= 1.5
    union all
    select mine_code, mine_code || 'KF' || substr(point_code, 15), started_at + interval 3 second, 0
    from alarms where max_value >= 1.5 and random() < 0.9
    union all
    select mine_code, mine_code || 'KF' || substr(point_code, 15), ended_at + interval 1 second, 1
    from alarms where max_value >= 1.5
);

insert into presence by name
select mine_code, card_code, area_code, null::varchar as station_code, entered_at,
       entered_at + to_minutes(cast(60 + 40 * random() as bigint)) as left_at
from (
    select m.mine_code, m.mine_code || lpad(cast(c as varchar), 5, '0') as card_code,
           m.mine_code || lpad(cast((c * 7 + s * 3 + d) % 20 as varchar), 4, '0') as area_code,
           timestamp '$start' + to_days(cast(d as int)) + to_hours(cast(8 * (c % 3) as bigint))
               + to_minutes(cast(s * 80 as bigint)) as entered_at
    from mines m cross join range($days) t(d) cross join range(300) u(c) cross join range(6) v(s)
);

insert into power by name
select mine_code, 'M' || j as meter_code, case when j < 3 then 'face' else 'other' end as circuit,
       case when j < 3 then 'F' || j end as face_code,
       timestamp '$start' + to_minutes(cast(15 * k + 15 as bigint)) as interval_end,
       round(case when j < 3 then 50 + 100 * ((k // 384) % 3 = 1)::int + 20 * random() else 30 * random() end, 1) as kwh
from mines cross join range(8) t(j) cross join range($days * 96) u(k);
"""


def create_synthetic(con: duckdb.DuckDBPyConnection, mines: int, days: int) -> None:
    """Fill the contract's tables with synthetic rows of realistic volume (not a simulator)."""
    for table in TABLES.values():
        cols = ", ".join(f"{c.name} {DUCKDB_TYPES[c.kind]}" for c in table.columns)
        con.execute(f"create table {table.name} ({cols}, _file_id bigint default 0, _record bigint default 0)")
    con.execute("select setseed(0.5)")
    sql = SYNTHETIC.replace("$mines", str(mines)).replace("$days", str(days)).replace("$start", f"{START} 00:00:00")
    for statement in filter(str.strip, sql.split(";\n")):
        con.execute(statement)


def load_folder(con: duckdb.DuckDBPyConnection, folder: Path) -> None:
    """Load a simulator output folder (one parquet file or folder per table) with lineage columns."""
    for table in TABLES.values():
        single, many = folder / f"{table.name}.parquet", folder / table.name
        if single.exists():
            source = f"read_parquet('{single}')"
        elif many.is_dir():
            source = f"read_parquet('{many}/**/*.parquet')"
        else:
            cols = ", ".join(f"{c.name} {DUCKDB_TYPES[c.kind]}" for c in table.columns)
            con.execute(f"create table {table.name} ({cols}, _file_id bigint, _record bigint)")
            continue
        con.execute(
            f"create table {table.name} as select *, 0::bigint as _file_id, row_number() over () as _record "
            f"from {source}"
        )


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mines", type=int, default=60)
    parser.add_argument("--days", type=int, default=150)
    parser.add_argument("--data", type=Path, help="simulator output folder instead of synthetic rows")
    parser.add_argument("--db", type=Path, help="DuckDB file to keep the generated warehouse in (reused)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    con = duckdb.connect(str(args.db) if args.db else ":memory:")
    con.execute(f"set threads = {args.threads}")
    t0 = time.perf_counter()
    has_data = con.execute("select count(*) from information_schema.tables where table_name = 'sensor_stats'").fetchone()[0]
    if not has_data:
        if args.data:
            load_folder(con, args.data)
        else:
            create_synthetic(con, args.mines, args.days)
    load_s = time.perf_counter() - t0
    last = con.execute("select max(period_end) from sensor_stats").fetchone()[0]
    as_of = (last - timedelta(seconds=1)).date() if last else START + timedelta(days=args.days - 1)
    window = Window(as_of)
    rows = {t: con.execute(f"select count(*) from {t}").fetchone()[0]
            for t in ("sensor_stats", "presence", "alarms", "switch_events", "power")}
    print(f"load/generate: {load_s:.1f} s; as_of {as_of}; input rows: {rows}")

    inputs = {m.name for m in load_models(TARGETS)} - TARGETS
    t0 = time.perf_counter()
    build_features(con, window, inputs)
    print(f"staging inputs {sorted(inputs)}: {time.perf_counter() - t0:.1f} s")
    for model in load_models(TARGETS):
        if model.name not in TARGETS:
            continue
        t0 = time.perf_counter()
        con.execute(f"create or replace table {model.name} as {render(model.sql, window)}")
        elapsed = time.perf_counter() - t0
        n = con.execute(f"select count(*) from {model.name}").fetchone()[0]
        print(f"{model.name}: {elapsed:.1f} s, {n} rows, peak memory so far {peak_rss_mb():.0f} MB")
    # the floor: one bare pass over the same sensor_stats rows
    t0 = time.perf_counter()
    con.execute(
        "select point_code, count(*), avg(avg_value), max(max_value) from sensor_stats "
        f"where period_start >= {window.variables()['history_start']} group by all"
    ).fetchall()
    print(f"bare single-pass aggregate over sensor_stats: {time.perf_counter() - t0:.1f} s")
    print(f"peak memory (this process): {peak_rss_mb():.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
