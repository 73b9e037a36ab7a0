"""Every simulated table against the data contract: columns, types, codes, required values, intervals, keys, references."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipelines.schema import (
    BINARY_COLUMNS,
    INTERVALS,
    SENSOR_TYPES,
    STATUS_MASK,
    TABLES,
)
from pipelines.simulator.run import PARTITIONED, SMALL


def _files(sim_dir: Path, name: str) -> list[Path]:
    return sorted((sim_dir / name).glob("part-*.parquet")) if name in PARTITIONED else [sim_dir / f"{name}.parquet"]


def test_layout_has_every_table_and_only_truth_under_truth(sim_dir: Path) -> None:
    for name in SMALL:
        assert (sim_dir / f"{name}.parquet").is_file(), name
    for name in PARTITIONED:
        parts = _files(sim_dir, name)
        assert len(parts) == 6, name
    assert sorted(p.name for p in (sim_dir / "_truth").iterdir()) == [
        "accidents.csv", "anomalies.csv", "decoys.csv", "mine_truth.csv"]
    expected = set(SMALL) | set(PARTITIONED) | {"_truth"}
    assert {p.name.removesuffix(".parquet") for p in sim_dir.iterdir()} == expected


@pytest.mark.parametrize("name", list(TABLES))
def test_columns_and_native_types(sim_dir: Path, name: str) -> None:
    schema = TABLES[name].arrow_schema()
    for path in _files(sim_dir, name):
        got = pq.read_schema(path)
        assert got.names == schema.names, path
        assert [f.type for f in got] == [f.type for f in schema], path


@pytest.mark.parametrize("name", list(TABLES))
def test_codes_required_and_binary_values(db, name: str) -> None:
    t = TABLES[name]
    n = db.execute(f"select count(*) from {name}").fetchone()[0]
    if name not in ("accident_reports", "inspections"):
        assert n > 0, name
    for c in t.columns:
        col = c.name
        if c.required:
            assert db.execute(f"select count(*) from {name} where {col} is null").fetchone()[0] == 0, (name, col)
        if c.length:
            bad = db.execute(f"select count(*) from {name} where {col} is not null and length({col}) <> {c.length}").fetchone()[0]
            assert bad == 0, (name, col)
        if c.digits:
            bad = db.execute(f"select count(*) from {name} where {col} is not null and not regexp_full_match({col}, '[0-9]+')")
            assert bad.fetchone()[0] == 0, (name, col)
        if c.values:
            allowed = ", ".join(f"'{v}'" for v in c.values)
            bad = db.execute(f"select count(*) from {name} where {col} is not null and {col} not in ({allowed})").fetchone()[0]
            assert bad == 0, (name, col)
        if (name, col) in BINARY_COLUMNS:
            assert db.execute(f"select count(*) from {name} where {col} not in (0, 1)").fetchone()[0] == 0, (name, col)


@pytest.mark.parametrize("name", list(TABLES))
def test_keys_unique(db, name: str) -> None:
    key = ", ".join(TABLES[name].key)
    dup = db.execute(f"select count(*) from (select {key} from {name} group by all having count(*) > 1)").fetchone()[0]
    assert dup == 0, name


@pytest.mark.parametrize("table,start,end", INTERVALS)
def test_end_not_before_start(db, table: str, start: str, end: str) -> None:
    assert db.execute(f"select count(*) from {table} where {end} < {start}").fetchone()[0] == 0


@pytest.mark.parametrize("name", [t for t in TABLES if TABLES[t].references])
def test_references_resolve(db, name: str) -> None:
    for cols, target, tcols in TABLES[name].references:
        on = " and ".join(f"s.{a} = t.{b}" for a, b in zip(cols, tcols, strict=True))
        missing = db.execute(f"select count(*) from {name} s anti join {target} t on {on}").fetchone()[0]
        assert missing == 0, (name, target)


def test_code_nesting(db) -> None:
    """Areas extend the mine code, stations the area code, cards the mine code; stations and faces resolve."""
    assert db.execute("select count(*) from areas where area_code[1:12] <> mine_code").fetchone()[0] == 0
    assert db.execute("select count(*) from stations s anti join areas a on s.station_code[1:16] = a.area_code").fetchone()[0] == 0
    assert db.execute("select count(*) from people where card_code[1:12] <> mine_code").fetchone()[0] == 0
    assert db.execute("select count(*) from presence where station_code[1:16] <> area_code").fetchone()[0] == 0
    assert db.execute("select count(*) from workfaces w anti join areas a using (mine_code, area_code)").fetchone()[0] == 0
    assert db.execute("select count(*) from declarations d where face_code is not null and not exists "
                  "(select 1 from workfaces w where w.mine_code = d.mine_code and w.face_code = d.face_code)").fetchone()[0] == 0
    assert db.execute("select count(*) from power p where face_code is not null and not exists "
                  "(select 1 from workfaces w where w.mine_code = p.mine_code and w.face_code = p.face_code)").fetchone()[0] == 0
    types = ", ".join(f"'{k}'" for k in SENSOR_TYPES)
    assert db.execute(f"select count(*) from sensors where sensor_type not in ({types})").fetchone()[0] == 0
    assert db.execute(f"select count(*) from sensor_stats where status & ~{STATUS_MASK} <> 0").fetchone()[0] == 0
    assert db.execute("select count(*) from production p join sensors s using (mine_code, point_code) "
                  "where s.sensor_type <> '3001'").fetchone()[0] == 0


def test_presence_is_chained_within_trips(db) -> None:
    """Stays chain 井口 -> ... -> 井口: left_at = next entered_at, trip bounds = first and last stay."""
    bad = db.execute("""
        with p as (
            select p.*, t.down_at, t.up_at,
                   lead(entered_at) over (partition by p.mine_code, p.card_code, t.down_at order by entered_at) nxt,
                   row_number() over (partition by p.mine_code, p.card_code, t.down_at order by entered_at) k,
                   row_number() over (partition by p.mine_code, p.card_code, t.down_at order by entered_at desc) k_last
            from presence p join shaft_trips t
              on p.mine_code = t.mine_code and p.card_code = t.card_code
             and p.entered_at >= t.down_at and (t.up_at is null or p.entered_at < t.up_at))
        select
            count(*) filter (where nxt is not null and left_at is distinct from nxt) chain,
            count(*) filter (where k = 1 and entered_at <> down_at) first_stay,
            count(*) filter (where k_last = 1 and left_at is distinct from up_at) last_stay
        from p""").fetchone()
    assert bad == (0, 0, 0)
    n_trips, n_first = db.execute("""
        select count(*), count(*) filter (where a.area_type = '井口区域') from shaft_trips t
        join presence p on p.mine_code = t.mine_code and p.card_code = t.card_code and p.entered_at = t.down_at
        join areas a on a.mine_code = p.mine_code and a.area_code = p.area_code""").fetchone()
    assert n_trips == db.execute("select count(*) from shaft_trips").fetchone()[0]
    assert n_first == n_trips
    overlap = db.execute("""select count(*) from (select up_at, lead(down_at) over (partition by mine_code, card_code
                        order by down_at) nxt from shaft_trips) where nxt < up_at or (up_at is null and nxt is not null)""")
    assert overlap.fetchone()[0] == 0


def test_timestamps_whole_seconds_and_inside_the_period(db) -> None:
    assert db.execute("select count(*) from presence where microsecond(entered_at) % 1000000 <> 0").fetchone()[0] == 0
    assert db.execute("select count(*) from sensor_stats where max_at < period_start or max_at >= period_end "
                  "or min_at < period_start or min_at >= period_end").fetchone()[0] == 0
    lo, hi = db.execute("select min(period_start), max(period_end) from production").fetchone()
    assert (hi - lo).days == 61


def test_switch_states_alternate(db) -> None:
    bad = db.execute("""select count(*) from (select state, lag(state) over (partition by mine_code, point_code
                    order by changed_at) prev from switch_events) where state = prev""").fetchone()[0]
    assert bad == 0
    kinds = db.execute("""select distinct s.sensor_type from switch_events e join sensors s using (mine_code, point_code)""")
    assert {r[0] for r in kinds.fetchall()} <= {"1001", "1004", "1009", "1010", "1011"}


def test_truth_files_are_consistent(db) -> None:
    n_mines = db.execute("select count(*) from mines").fetchone()[0]
    assert db.execute("select count(*) from truth_mine_truth").fetchone()[0] == 4 * n_mines
    assert db.execute("select count(*) from truth_anomalies a anti join mines m using (mine_code)").fetchone()[0] == 0
    # a concealed accident has no report; a reported one has exactly one at the same time
    rows = db.execute("""select a.reported, count(r.report_id) from truth_accidents a left join accident_reports r
                     on r.mine_code = a.mine_code and r.occurred_at = a.occurred_at::timestamp group by all""").fetchall()
    for reported, n in rows:
        assert (reported == "1") == (n > 0)
