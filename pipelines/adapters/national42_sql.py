"""DuckDB selects that rebuild canonical tables from the 42号 raw tables (all files of the given mines)."""

from __future__ import annotations

from pipelines.schema import DUCKDB_TYPES, SENSOR_TYPES, TABLES

# newest upload first; within one upload the later file and record win
LATEST = "_uploaded_at desc, _file_id desc, _record desc"
LATEST_C = "c._uploaded_at desc, c._file_id desc, c._record desc"
LATEST_R = "r._uploaded_at desc, r._file_id desc, r._record desc"
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
# switch-state words seen in the field, when a point's own 开描述/停描述 do not decide
STATE_ON = ("1", "复电", "开", "开启", "开机", "运行", "有电", "有压", "负荷侧有电压", "通电")
STATE_OFF = ("0", "断电", "停", "停止", "停机", "关", "关闭", "无电", "无压", "负荷侧无电压")


def _text_list(values: tuple[str, ...] | list[str]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


def _mines(mine_codes: list[str]) -> str:
    return f"({_text_list(sorted(set(mine_codes)))})" if mine_codes else "(select null where false)"


def _final(table: str, source: str) -> str:
    """The contract's columns of `table` in order, cast explicitly, plus lineage, from `source`."""
    cols = []
    for column in TABLES[table].columns:
        cols.append(f"cast({column.name} as {DUCKDB_TYPES[column.kind]}) as {column.name}")
    cols += ["cast(_file_id as bigint) as _file_id", "cast(_record as bigint) as _record"]
    return "select\n    " + ",\n    ".join(cols) + f"\nfrom {source}"


def _latest(src: str, key: str, mines: str) -> str:
    """Rows of `src` numbered per key, newest upload first (copy = 1 is the one kept).

    Only keys sent more than once are ranked (found by a hash aggregate): sorting millions of rows
    that are their key's only copy would cost several times more.
    """
    keys = ["mine_code", *(k.strip() for k in key.split(","))]
    same = " and ".join(f"r.{k} is not distinct from m.{k}" for k in keys)
    return f"""
    select b.*, coalesce(n.copy, 1) as copy
    from (select * from {src} where mine_code in {mines}) as b
    left join (
        select r._file_id, r._record, row_number() over (partition by {", ".join(f"r.{k}" for k in keys)} order by {LATEST_R}) as copy
        from {src} as r
        semi join (
            select {", ".join(keys)} from {src} where mine_code in {mines} group by all having count(*) > 1
        ) as m on {same}
    ) as n on n._file_id = b._file_id and n._record = b._record"""


def _point_types(s: dict[str, str], mines: str) -> str:
    """CTEs `point_types` (latest CDDY per point) and `type_names` (national type names to codes)."""
    names = ", ".join(f"('{name}', '{code}', '{vt}')" for code, (name, vt, _unit) in SENSOR_TYPES.items())
    return f"""
point_types as (
    select mine_code, point_code, sensor_type, value_type, on_text, off_text
    from ({_latest(s["cddy"], "point_code", mines)}
    ) as cddy
    where copy = 1
),
type_names(type_name, sensor_type, value_type) as (values {names})"""


def _typed_cdss(s: dict[str, str], mines: str, condition: str) -> str:
    """CDSS readings of the points matching `condition` (on the point's type), one copy per point and time."""
    return f"""
    select
        c.mine_code, c.point_code, c.data_at, c.value, p.on_text, p.off_text,
        c._uploaded_at, c._file_id, c._record,
        row_number() over (partition by c.mine_code, c.point_code, c.data_at order by {LATEST_C}) as copy
    from {s["cdss"]} as c
    left join point_types as p on p.mine_code = c.mine_code and p.point_code = c.point_code
    left join type_names as t on t.type_name = c.type_name
    where c.mine_code in {mines} and {condition}"""


def sensors(s: dict[str, str], mines: str) -> str:
    """One row per point: its latest CDDY definition, area from the nearest positioning station."""
    return f"""
with cddy as ({_latest(s["cddy"], "point_code", mines)}
),
latest as (
    select * from cddy where copy = 1
),
stations as (
    select mine_code, station_code, x, y, z
    from ({_latest(s["ryjz"], "station_code", mines)}
    ) as ryjz
    where copy = 1 and x is not null and y is not null
),
nearest as (
    select mine_code, point_code, area_code
    from (
        select
            p.mine_code, p.point_code, substr(s.station_code, 1, 16) as area_code,
            row_number() over (
                partition by p.mine_code, p.point_code
                order by
                    (p.x - s.x) * (p.x - s.x) + (p.y - s.y) * (p.y - s.y)
                    + coalesce((p.z - s.z) * (p.z - s.z), 0),
                    s.station_code
            ) as rank
        from latest as p
        join stations as s on s.mine_code = p.mine_code
        where p.x is not null and p.y is not null
    ) as ranked
    where rank = 1
),
final as (
    select p.*, n.area_code
    from latest as p
    left join nearest as n on n.mine_code = p.mine_code and n.point_code = p.point_code
)
{_final("sensors", "final")}"""


def sensor_links(s: dict[str, str], mines: str) -> str:
    """One row per `<rel>-<point>-<name>` entry of a point's latest 关联关系 (entries joined by ◇)."""
    return f"""
with cddy as ({_latest(s["cddy"], "point_code", mines)}
),
entries as (
    select mine_code, point_code, _file_id, _record, trim(unnest(string_split(links, '◇'))) as entry
    from cddy
    where copy = 1 and links is not null
),
parts as (
    select
        mine_code, point_code, _file_id, _record,
        trim(split_part(entry, '-', 1)) as relation,
        nullif(trim(split_part(entry, '-', 2)), '') as linked_point_code
    from entries
    where entry <> ''
),
final as (
    select *
    from (
        select *, row_number() over (
            partition by mine_code, point_code, relation, linked_point_code order by _record
        ) as copy
        from parts
    ) as numbered
    where copy = 1
)
{_final("sensor_links", "final")}"""


def switch_events(s: dict[str, str], mines: str) -> str:
    """One row per state change of a KG point (its first reading included); unreadable states kept null."""
    return f"""
with {_point_types(s, mines)},
kg as ({_typed_cdss(s, mines, "coalesce(p.value_type, t.value_type) = 'KG'")}
),
states as (
    select
        *,
        case
            when value = on_text then 1
            when value = off_text then 0
            when value in ({_text_list(STATE_ON)}) then 1
            when value in ({_text_list(STATE_OFF)}) then 0
            when try_cast(value as double) in (0, 1) then cast(try_cast(value as double) as bigint)
        end as state
    from kg
    where copy = 1
),
changes as (
    select *, lag(state) over (partition by mine_code, point_code order by data_at) as previous
    from states
    where state is not null
),
final as (
    select mine_code, point_code, data_at as changed_at, state, _file_id, _record
    from changes
    where previous is null or previous <> state
    union all
    -- a state nobody can read goes on, null, to the warehouse's validation and so to its rejects
    select mine_code, point_code, data_at, state, _file_id, _record
    from states
    where state is null
)
{_final("switch_events", "final")}"""


def _decimals(text: str) -> str:
    return f"case when strpos({text}, '.') > 0 then least(length({text}) - strpos({text}, '.'), 10) else 0 end"


def production(s: dict[str, str], mines: str) -> str:
    """Belt-scale output per period between successive 3001 readings; a drop is a counter reset."""
    return f"""
with {_point_types(s, mines)},
lj as ({_typed_cdss(s, mines, "coalesce(p.sensor_type, t.sensor_type) = '3001'")}
),
readings as (
    select *, try_cast(value as double) as reading
    from lj
    where copy = 1
),
steps as (
    select
        *,
        lag(reading) over w as previous,
        lag(data_at) over w as previous_at,
        lag(value) over w as previous_text
    from readings
    where reading >= 0
    window w as (partition by mine_code, point_code order by data_at)
),
final as (
    select
        mine_code, point_code, previous_at as period_start, data_at as period_end,
        -- round to the decimals written so that differences of written values stay as written
        case
            when reading >= previous
                then round(reading - previous, cast(greatest({_decimals("value")}, {_decimals("previous_text")}) as integer))
            else reading
        end as tonnes,
        _file_id, _record
    from steps
    where previous is not null
    union all
    -- an unreadable or negative counter reading goes, without tonnes, to the warehouse's rejects
    select mine_code, point_code, data_at, data_at, null, _file_id, _record
    from readings
    where reading is null or reading < 0
)
{_final("production", "final")}"""


def sensor_stats(s: dict[str, str], mines: str) -> str:
    """One row per TJSJ period (latest upload), status = bit-OR of CDSS statuses in [start, end)."""
    return f"""
with tjsj as ({_latest(s["tjsj"], "point_code, period_start", mines)}
),
periods as (
    select * from tjsj where copy = 1
),
readings as (
    select mine_code, point_code, data_at, status
    from {s["cdss"]}
    where mine_code in {mines} and status is not null
),
binned as (
    select p.mine_code, p.point_code, p.period_start, bit_or(r.status) as status
    from readings as r
    -- only the bounds go into the as-of join: it sorts what it carries
    asof join (select mine_code, point_code, period_start, period_end from periods) as p
        on p.mine_code = r.mine_code and p.point_code = r.point_code and r.data_at >= p.period_start
    where r.data_at < p.period_end
    group by p.mine_code, p.point_code, p.period_start
),
final as (
    select p.*, b.status
    from periods as p
    left join binned as b
        on b.mine_code = p.mine_code and b.point_code = p.point_code and b.period_start = p.period_start
)
{_final("sensor_stats", "final")}"""


def _alarm_copies(s: dict[str, str], mines: str) -> str:
    return f"""
    select *, row_number() over (
        partition by mine_code, point_code, alarm_type, started_at
        order by case when ended_at is null then 1 else 0 end, {LATEST}
    ) as copy
    from {s["ycbj"]}
    where mine_code in {mines}"""


def alarms(s: dict[str, str], mines: str) -> str:
    """One row per alarm: the closed copy, of several the latest upload; else the latest open copy."""
    return f"""
with ycbj as ({_alarm_copies(s, mines)}
),
final as (
    select * from ycbj where copy = 1
)
{_final("alarms", "final")}"""


def people(s: dict[str, str], mines: str) -> str:
    """One row per card: registered on the first file showing it, deregistered on the first later file without it."""
    return f"""
with ryxx as (
    select * from {s["ryxx"]} where mine_code in {mines}
),
files as (
    select distinct mine_code, _uploaded_at from ryxx
),
cards as (
    select mine_code, card_code, min(_uploaded_at) as first_at, max(_uploaded_at) as last_at
    from ryxx
    group by mine_code, card_code
),
gone as (
    select c.mine_code, c.card_code, min(f._uploaded_at) as gone_at
    from cards as c
    join files as f on f.mine_code = c.mine_code and f._uploaded_at > c.last_at
    group by c.mine_code, c.card_code
),
latest as (
    select *
    from (
        select *, row_number() over (partition by mine_code, card_code order by {LATEST}) as copy
        from ryxx
    ) as numbered
    where copy = 1
),
final as (
    select l.*, cast(c.first_at as date) as registered_on, cast(g.gone_at as date) as deregistered_on
    from latest as l
    join cards as c on c.mine_code = l.mine_code and c.card_code = l.card_code
    left join gone as g on g.mine_code = l.mine_code and g.card_code = l.card_code
)
{_final("people", "final")}"""


def areas(s: dict[str, str], mines: str) -> str:
    """One row per area, from its latest RYQY upload."""
    return f"""
with ryqy as ({_latest(s["ryqy"], "area_code", mines)}
),
final as (
    select * from ryqy where copy = 1
)
{_final("areas", "final")}"""


def stations(s: dict[str, str], mines: str) -> str:
    """One row per positioning station, from its latest RYJZ upload."""
    return f"""
with ryjz as ({_latest(s["ryjz"], "station_code", mines)}
),
final as (
    select * from ryjz where copy = 1
)
{_final("stations", "final")}"""


def _trips(s: dict[str, str], mines: str) -> str:
    """CTEs `ryss` and `trips`: one row per (card, 入井时刻), up_at from the latest flag-2 record."""
    return f"""
ryss as not materialized (
    -- read again by each consumer: the snapshots are millions of wide rows, cheaper to scan than to copy
    select * from {s["ryss"]} where mine_code in {mines}
),
first_seen as (
    -- an aggregate, not a window: a hash table of trips instead of sorting millions of snapshot rows
    select mine_code, card_code, down_at, first_copy.f as _file_id, first_copy.r as _record
    from (
        select mine_code, card_code, down_at, min(struct_pack(u := _uploaded_at, f := _file_id, r := _record)) as first_copy
        from ryss
        group by mine_code, card_code, down_at
    ) as firsts
),
exits as (
    select mine_code, card_code, down_at, up_at
    from (
        select
            mine_code, card_code, down_at, up_at,
            row_number() over (partition by mine_code, card_code, down_at order by {LATEST}) as copy
        from ryss
        where shaft_flag = 2
    ) as numbered
    where copy = 1
),
trips as (
    select f.mine_code, f.card_code, f.down_at, e.up_at, f._file_id, f._record
    from first_seen as f
    left join exits as e on e.mine_code = f.mine_code and e.card_code = f.card_code and e.down_at = f.down_at
)"""


def shaft_trips(s: dict[str, str], mines: str) -> str:
    """One row per trip; a card that vanished without a flag-2 record keeps an empty up_at."""
    return f"""
with {_trips(s, mines)}
{_final("shaft_trips", "trips")}"""


def presence(s: dict[str, str], mines: str) -> str:
    """One row per stay: runs of a card's position events in one area, in time order, within a trip.

    Events: the area each snapshot shows with its entry time (kind 0), the current station with its
    entry time (kind 1) and every step of 行进轨迹 (kind 2), which recovers stays between snapshots.
    A kind-0 event is the earliest event of its stay, so it always opens a stay; any event in another
    area than the one before it opens one too. The stay's station is its earliest station event.
    """
    return f"""
with {_trips(s, mines)},
steps as (
    select mine_code, card_code, down_at, unnest(string_split(trajectory, ',')) as step, _uploaded_at, _file_id, _record
    from ryss
    where trajectory is not null
),
events as (
    select mine_code, card_code, down_at, area_code as area, area_entered_at as event_at, cast(null as varchar) as station,
        0 as kind, _uploaded_at, _file_id, _record
    from ryss
    where area_code is not null and area_entered_at is not null
    union all
    select mine_code, card_code, down_at, substr(station_code, 1, 16), station_entered_at, station_code,
        1, _uploaded_at, _file_id, _record
    from ryss
    where station_code is not null and station_entered_at is not null
    union all
    select mine_code, card_code, down_at, substr(split_part(step, '&', 1), 1, 16),
        try_strptime(split_part(step, '&', 2), '{TIME_FORMAT}'), split_part(step, '&', 1),
        2, _uploaded_at, _file_id, _record
    from steps
    where step <> ''
),
unique_events as (
    -- snapshots repeat the same position every few minutes: keep each event once, from its first file
    select
        mine_code, card_code, down_at, area, event_at, station, kind,
        min(struct_pack(u := _uploaded_at, f := _file_id, r := _record)) as first_copy
    from events
    where event_at is not null and area is not null
    group by mine_code, card_code, down_at, area, event_at, station, kind
),
ordered as (
    select
        *,
        lag(area) over (partition by mine_code, card_code, down_at order by event_at, kind, station) as previous_area
    from unique_events
),
numbered as (
    select
        *,
        sum(case when kind = 0 or previous_area is null or previous_area <> area then 1 else 0 end) over (
            partition by mine_code, card_code, down_at order by event_at, kind, station rows unbounded preceding
        ) as stay
    from ordered
),
stays as (
    select
        mine_code, card_code, down_at, stay,
        min(event_at) as entered_at,
        first(area order by event_at, kind, station) as area_code,
        first(station order by event_at, kind, station) filter (where station is not null) as station_code,
        first(first_copy order by event_at, kind, station) as first_copy
    from numbered
    group by mine_code, card_code, down_at, stay
),
final as (
    select
        s.mine_code, s.card_code, s.area_code, s.station_code, s.entered_at,
        coalesce(
            lead(s.entered_at) over (partition by s.mine_code, s.card_code, s.down_at order by s.entered_at, s.stay),
            t.up_at
        ) as left_at,
        s.first_copy.f as _file_id,
        s.first_copy.r as _record
    from stays as s
    left join trips as t on t.mine_code = s.mine_code and t.card_code = s.card_code and t.down_at = s.down_at
)
{_final("presence", "final")}"""


def superseded(s: dict[str, str], mines: str) -> str:
    """Records whose canonical row was replaced by another copy: (_file_id, _record, reason)."""
    kg_or_lj = "coalesce(p.value_type, t.value_type) = 'KG' or coalesce(p.sensor_type, t.sensor_type) = '3001'"
    return f"""
with {_point_types(s, mines)},
ycbj as ({_alarm_copies(s, mines)}
),
tjsj as ({_latest(s["tjsj"], "point_code, period_start", mines)}
),
cdss as ({_typed_cdss(s, mines, kg_or_lj)}
),
cddy as ({_latest(s["cddy"], "point_code", mines)}
),
ryqy as ({_latest(s["ryqy"], "area_code", mines)}
),
ryjz as ({_latest(s["ryjz"], "station_code", mines)}
)
select _file_id, _record,
    case when ended_at is null then 'open alarm copy replaced by its closed copy'
        else 'closed alarm copy replaced by a later upload' end as reason
from ycbj where copy > 1
union all
select _file_id, _record, 'statistics period re-sent; the latest upload is kept' from tjsj where copy > 1
union all
select _file_id, _record, 'reading re-sent; the latest upload is kept' from cdss where copy > 1
union all
select _file_id, _record, 'point definition replaced by a later upload' from cddy where copy > 1
union all
select _file_id, _record, 'area replaced by a later upload' from ryqy where copy > 1
union all
select _file_id, _record, 'station replaced by a later upload' from ryjz where copy > 1"""


DERIVATIONS = {
    "areas": areas,
    "stations": stations,
    "people": people,
    "shaft_trips": shaft_trips,
    "presence": presence,
    "sensors": sensors,
    "sensor_links": sensor_links,
    "sensor_stats": sensor_stats,
    "switch_events": switch_events,
    "alarms": alarms,
    "production": production,
}


def selects(sources: dict[str, str], mine_codes: list[str]) -> dict[str, str]:
    """Canonical table (and `_superseded`) -> select, given the raw relation of each file kind."""
    mines = _mines(mine_codes)
    out = {table: build(sources, mines).strip() for table, build in DERIVATIONS.items()}
    out["_superseded"] = superseded(sources, mines).strip()
    return out
