"""Time shift_presence and incident_candidates at full scale; print time, peak memory, rows and planted-incident recall.

Reads a simulator output folder (`--data`, parquet per table) or generates a synthetic warehouse of the
contract's shape in DuckDB (60 mines x 150 days: ~4.6 M trips, ~23 M presence stays, ~50 M sensor_stats
rows) with concealed accidents planted in the first five mines and a reported one in the sixth.
Usage: .venv/bin/python benchmarks/bench_people_features.py [--mines 60] [--days 150] [--data DIR] [--db FILE]
"""

from __future__ import annotations

import time
from datetime import date

import duckdb
from feature_bench import build_timed, cpu_seconds, open_warehouse, parse_args, peak_rss_mb

from pipelines.schema import DUCKDB_TYPES, TABLES

START = date(2024, 1, 1)
TARGETS = {"shift_presence", "incident_candidates"}
CARDS = 600
GAS_POINTS = 20

SYNTHETIC = """
insert into mines by name
select lpad(cast(140000000000 + i as varchar), 12, '0') as mine_code, 'm' || i as mine_name,
       900000.0 as approved_capacity_tpy, 180 + 20 * (i % 5) as approved_headcount
from range($mines) t(i);

create temp table _mine_index as
select mine_code, row_number() over (order by mine_code) - 1 as i from mines;

-- 0001 shaft, 0002-0005 roadways, 0006-0008 declared faces, 0009 restricted old workings
insert into areas by name
select mine_code, mine_code || lpad(cast(a as varchar), 4, '0') as area_code, 'area ' || a as area_name,
       case when a = 1 then '井口区域' when a <= 5 then '其它区域' when a <= 8 then '重点区域' else '限制区域' end
           as area_type,
       case when a between 6 and 8 then 60 when a = 9 then 5 end as approved_headcount
from mines cross join range(1, 10) t(a);

insert into workfaces by name
select mine_code, 'F' || f as face_code, 'longwall' as face_type, mine_code || lpad(cast(6 + f as varchar), 4, '0')
       as area_code, date '2023-06-01' as declared_from, null::date as declared_to
from mines cross join range(3) t(f);

insert into people by name
select mine_code, mine_code || lpad(cast(c as varchar), 5, '0') as card_code, date '2023-01-01' as registered_on,
       case when m.i < 5 and c % 3 = 1 and (c // 3) % 3 = 0 and c < 90 then date '$start' + $accident_day + 9 end
           as deregistered_on
from _mine_index m cross join range($cards) t(c);

-- one trip per card and working day (one rest day in seven), shifts at 00, 08 and 16 h with jitter
create temp table _trips as
select m.mine_code, m.i, m.mine_code || lpad(cast(c as varchar), 5, '0') as card_code, c, d,
       timestamp '$start' + to_days(cast(d as int)) + to_hours(cast(8 * (c % 3) as bigint)) - interval 30 minute
           + to_seconds(cast(floor(1200 * random()) as bigint)) as down_at,
       cast(8 * 3600 + floor(3600 * random()) as bigint) as trip_seconds,
       m.i < 5 and d = $accident_day and c % 3 = 1 and (c // 3) % 3 = 0 and c < 90 as is_victim,
       m.i < 5 and d > $accident_day and c % 3 = 1 and (c // 3) % 3 = 0 and c < 90 as is_after_victim,
       m.i = 5 and d = $accident_day and c % 3 = 1 and (c // 3) % 3 = 0 and c < 90 as is_reported
from _mine_index m cross join range($days) t(d) cross join range($cards) u(c)
where (d + c) % 7 <> 0;

delete from _trips where is_after_victim;

insert into shaft_trips by name
select mine_code, card_code, down_at,
       case when is_victim then null
            when is_reported then down_at + to_hours(30)
            else down_at + to_seconds(trip_seconds) end as up_at
from _trips;

-- shaft, roadway, work area (a declared face for most), roadway, shaft; victims stop at the face, the
-- reported accident's cards sit at the face for a day and come up through the shaft
insert into presence by name
select mine_code, card_code, area_code, null::varchar as station_code, entered_at, left_at
from (
    select t.mine_code, t.card_code, s.k, t.is_victim, t.is_reported,
           t.mine_code || lpad(cast(case s.k when 0 then 1 when 4 then 1 when 2 then
               case when t.c % 10 < 8 then 6 + (t.c // 3) % 3 when t.c % 10 = 8 then 9 else 2 + t.c % 4 end
               else 2 + t.c % 4 end as varchar), 4, '0') as area_code,
           case when t.is_reported and s.k = 4 then t.down_at + to_hours(29)
                else t.down_at + to_seconds(case s.k when 0 then 0 when 1 then 600 when 2 then 2400
                    when 3 then t.trip_seconds - 2400 else t.trip_seconds - 600 end) end as entered_at,
           case when t.is_victim and s.k = 2 then null
                when t.is_reported and s.k = 2 then t.down_at + to_hours(29)
                when t.is_reported and s.k = 4 then t.down_at + to_hours(30)
                else t.down_at + to_seconds(case s.k when 0 then 600 when 1 then 2400
                    when 2 then t.trip_seconds - 2400 when 3 then t.trip_seconds - 600 else t.trip_seconds end)
           end as left_at
    from _trips t cross join range(5) s(k)
)
where not (is_victim and k > 2)
  and not (is_reported and k = 3);

insert into sensors by name
select mine_code, mine_code || 'G' || lpad(cast(p as varchar), 3, '0') as point_code,
       case when p % 2 = 0 then '0001' else '0004' end as sensor_type, 'MN' as value_type,
       mine_code || lpad(cast(case when p < 6 then 6 + p // 2 else 2 + p % 4 end as varchar), 4, '0') as area_code
from mines cross join range($gas_points) t(p);

insert into sensor_stats by name
select s.mine_code, s.point_code,
       timestamp '$start' + to_minutes(cast(k * 5 as bigint)) as period_start,
       timestamp '$start' + to_minutes(cast(k * 5 + 5 as bigint)) as period_end,
       round(case when s.sensor_type = '0001' then 0.3 + 0.1 * random() else 2 * random() end, 2) as avg_value,
       round(case when m.i < 6 and s.sensor_type = '0004' and s.point_code like '%G001'
                       and k between $accident_day * 288 + 138 and $accident_day * 288 + 143 then 45.0
                  when s.sensor_type = '0001' then 0.35 + 0.2 * random() else 3 * random() end, 2) as max_value,
       null::timestamp as max_at,
       0.0 as min_value, null::timestamp as min_at, 0 as status
from sensors s join _mine_index m using (mine_code) cross join range($days * 288) t(k);

insert into power by name
select p.mine_code, 'M' || j as meter_code, case when j < 3 then 'face' else 'other' end as circuit,
       case when j < 3 then 'F' || j end as face_code,
       timestamp '$start' + to_minutes(cast(15 * k + 15 as bigint)) as interval_end,
       round(case when j = 0 and m.i < 6 and k >= $accident_day * 96 + 48 then 0.3 * random()
                  when j < 3 then 80 + 20 * random() else 30 * random() end, 1) as kwh
from mines p join _mine_index m using (mine_code) cross join range(8) t(j) cross join range($days * 96) u(k);

insert into production by name
select p.mine_code, p.mine_code || 'LJ3001' as point_code,
       timestamp '$start' + to_minutes(cast(15 * k as bigint)) as period_start,
       timestamp '$start' + to_minutes(cast(15 * k + 15 as bigint)) as period_end,
       round(case when m.i < 6 and k >= $accident_day * 96 + 48 then 12 else 20 end + 4 * random(), 2) as tonnes
from mines p join _mine_index m using (mine_code) cross join range($days * 96) u(k);

insert into accident_reports by name
select mine_code, 'R1' as report_id, timestamp '$start' + to_days($accident_day) + interval 12 hour as occurred_at,
       timestamp '$start' + to_days($accident_day) + interval 14 hour as reported_at, 'roof fall' as kind,
       0 as deaths, 3 as injuries
from _mine_index where i = 5;
"""


def create_synthetic(con: duckdb.DuckDBPyConnection, mines: int, days: int) -> None:
    """Fill the contract's tables with synthetic rows of realistic volume and planted incidents (not a simulator)."""
    for table in TABLES.values():
        cols = ", ".join(f"{c.name} {DUCKDB_TYPES[c.kind]}" for c in table.columns)
        con.execute(f"create table {table.name} ({cols}, _file_id bigint default 0, _record bigint)")
    con.execute("select setseed(0.25)")
    values = {"$mines": mines, "$days": days, "$start": START.isoformat(), "$cards": CARDS,
              "$gas_points": GAS_POINTS, "$accident_day": days - 20}
    sql = SYNTHETIC
    for key, value in values.items():
        sql = sql.replace(key, str(value))
    for statement in filter(str.strip, sql.split(";\n")):
        con.execute(statement)
    for table in ("shaft_trips", "presence"):
        con.execute(f"update {table} set _record = rowid")


def main() -> int:
    args = parse_args(__doc__.splitlines()[0])
    con, window = open_warehouse(args, "presence", "select max(interval_end) from power", START, create_synthetic,
                                 ("shaft_trips", "presence", "sensor_stats", "power", "production"))
    build_timed(con, window, TARGETS, args.threads)

    t0, c0 = time.perf_counter(), cpu_seconds()
    con.execute("select mine_code, count(*), max(left_at), sum(epoch(left_at - entered_at)) from presence "
                "group by mine_code").fetchall()
    con.execute("select mine_code, count(*), max(up_at) from shaft_trips group by mine_code").fetchall()
    print(f"bare single-pass aggregate over presence and shaft_trips: {time.perf_counter() - t0:.1f} s wall, "
          f"{cpu_seconds() - c0:.1f} s cpu")

    by_kind = con.execute(
        "select kind, count(*), avg(suspicion_points), max(suspicion_points) from incident_candidates group by kind "
        "order by kind"
    ).fetchall()
    print("candidates by kind (n, mean points, max points):", by_kind)
    if not args.data:
        top = con.execute(
            "select mine_code, kind, suspicion_points, n_cards_unaccounted, has_accident_report "
            "from incident_candidates qualify row_number() over (order by suspicion_points desc, candidate_id) <= 12"
        ).fetchall()
        print("top candidates (planted concealed accidents in the first five mines, reported one in the sixth):")
        for row in top:
            print("  ", row)
    print(f"peak memory (this process): {peak_rss_mb():.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
