"""Time alarm_handling and sensor_behaviour at full scale and print time, peak memory and rows.

Reads a simulator output folder (`--data`, parquet per table) or generates a synthetic warehouse of
the contract's shape in DuckDB (60 mines x 150 days: ~62 M sensor_stats rows, ~16 M presence rows).
Usage: .venv/bin/python benchmarks/bench_alarm_features.py [--mines 60] [--days 150] [--data DIR]
"""

from __future__ import annotations

import time
from datetime import date

import duckdb
from feature_bench import build_timed, open_warehouse, parse_args, peak_rss_mb

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


def main() -> int:
    args = parse_args(__doc__.splitlines()[0])
    con, window = open_warehouse(args, "sensor_stats", "select max(period_end) from sensor_stats", START,
                                 create_synthetic, ("sensor_stats", "presence", "alarms", "switch_events", "power"))
    build_timed(con, window, TARGETS, args.threads)
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
