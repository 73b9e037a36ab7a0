"""National42.derive on hand-written files: each canonical table rebuilt exactly, whatever the arrival order."""

from __future__ import annotations

import random
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from pipelines.adapters.national42 import National42
from pipelines.schema import DUCKDB_TYPES, TABLES

DATA = Path(__file__).parent / "data"
MINE = "140100000001"
A, B, C, D, E = (f"{MINE}0000{i}" for i in range(1, 6))
A1, A2, A3, A4 = (f"{MINE}000{i}" for i in range(1, 5))
S1, S21, S22, S31, S32 = (f"{MINE}{s}" for s in ("0001000001", "0002000001", "0002000002", "0003000001", "0003000002"))
CH4, RELAY, FEED, BELT, CO, WIND = (
    f"{MINE}{p}" for p in ("MN0001001", "KG1009001", "KG1011001", "LJ3001001", "MN0004001", "MN0002001")
)
PROFILE = National42()


def t(hms: str, day: str = "2025-05-01") -> datetime:
    return datetime.fromisoformat(f"{day} {hms}")


def load(paths: list[Path]) -> duckdb.DuckDBPyConnection:
    """A warehouse stand-in: raw tables from raw_schemas + _file_id, files appended in the given order."""
    con = duckdb.connect()
    for name, schema in PROFILE.raw_schemas.items():
        con.register("empty_raw", schema.empty_table())
        con.execute(f"create table {name} as select *, cast(null as bigint) as _file_id from empty_raw")
    for file_id, path in enumerate(paths, 1):
        parsed = PROFILE.parse(path, path.read_bytes())
        for name, rows in parsed.raw.items():
            con.register("new_raw", rows)
            con.execute(f"insert into {name} by name select *, {file_id} as _file_id from new_raw")
    return con


def order(row: tuple) -> tuple:
    """Sort key for rows holding None."""
    return tuple((v is None, v if v is not None else 0) for v in row)


def rows(con: duckdb.DuckDBPyConnection, query: str, *columns: str) -> list[tuple]:
    """The chosen columns of a derived select, sorted, as plain Python values."""
    cols = ", ".join(columns)
    return sorted(con.execute(f"select {cols} from ({query})").fetchall(), key=order)


@pytest.fixture(scope="module")
def derived() -> tuple[duckdb.DuckDBPyConnection, dict[str, str]]:
    con = load(sorted(DATA.glob("*.txt")))
    return con, PROFILE.derive(con, [MINE])


def test_every_select_has_the_contract_columns_types_and_lineage(derived):
    con, selects = derived
    for table, query in selects.items():
        described = con.execute(f"describe {query}").fetchall()
        names = [r[0] for r in described]
        if table == "_superseded":
            assert names == ["_file_id", "_record", "reason"]
            continue
        expected = [(c.name, DUCKDB_TYPES[c.kind]) for c in TABLES[table].columns]
        assert [(r[0], r[1]) for r in described] == [*expected, ("_file_id", "BIGINT"), ("_record", "BIGINT")]


def test_sensors_latest_cddy_wins_and_area_from_nearest_station(derived):
    con, s = derived
    got = rows(con, s["sensors"], "point_code", "sensor_type", "value_type", "alarm_high", "cutoff_high", "area_code")
    assert got == sorted(
        [
            (CH4, "0001", "MN", 0.8, 1.5, A3),  # threshold from the 05-10 re-send; nearest: 工作面上口
            (RELAY, "1009", "KG", None, None, A3),
            (FEED, "1011", "KG", None, None, A3),
            (BELT, "3001", "LJ", None, None, A1),  # 50 m from the shaft station, far from the roadway
            (CO, "0004", "MN", 24.0, None, A2),
            (WIND, "0002", "MN", None, None, None),  # no coordinates: area unknown
        ],
        key=order,
    )


def test_sensor_links_come_from_the_latest_definition(derived):
    con, s = derived
    assert rows(con, s["sensor_links"], "point_code", "relation", "linked_point_code") == [(CH4, "D", RELAY)]


def test_sensor_links_split_every_entry():
    con = load(sorted(DATA.glob("*_CDDY_20250501000000.txt")))
    got = rows(con, PROFILE.derive(con, [MINE])["sensor_links"], "point_code", "relation", "linked_point_code")
    assert got == [(CH4, "D", RELAY), (CH4, "D", FEED)]


def test_switch_events_are_changes_with_the_first_record(derived):
    con, s = derived
    assert rows(con, s["switch_events"], "point_code", "changed_at", "state") == sorted(
        [
            (RELAY, t("08:00:00"), 1),  # 复电: first record
            (RELAY, t("08:20:00"), 0),  # 断电 (08:10 复电 is no change; the re-sent 08:20 copy adds nothing)
            (RELAY, t("09:30:00"), 1),
            (FEED, t("08:00:05"), 1),  # digits
            (FEED, t("08:20:03"), 0),
            (FEED, t("09:30:02"), 1),
        ],
        key=order,
    )


def test_production_from_the_cumulative_counter_with_a_reset(derived):
    con, s = derived
    assert rows(con, s["production"], "period_start", "period_end", "tonnes") == [
        (t("08:00:00"), t("08:15:00"), 11.75),
        (t("08:15:00"), t("08:30:00"), 17.75),
        (t("08:30:00"), t("08:45:00"), 4.5),  # 1030 -> 4.5: counter reset, the reading itself
        (t("08:45:00"), t("09:00:00"), 6.25),
        (t("09:00:00"), t("09:15:00"), 10.0),  # from the next hour's file; the incomplete file adds nothing
    ]


def test_production_never_negative_and_unreadable_readings_flagged():
    con = load([])
    rows_in = [("100", "08:00:00"), ("99.5", "08:15:00"), ("abc", "08:30:00"), ("100.25", "08:45:00")]
    for i, (value, hms) in enumerate(rows_in, 1):
        con.execute(
            "insert into raw_national42_cdss (mine_code, _record, _uploaded_at, point_code, type_name, value, data_at, _file_id)"
            f" values ('{MINE}', {i}, timestamp '2025-05-01 09:00:00', '{BELT}', '产量', '{value}',"
            f" timestamp '2025-05-01 {hms}', 1)"
        )
    got = rows(con, PROFILE.derive(con, [MINE])["production"], "period_start", "tonnes")
    # without a CDDY the type name 产量 identifies the belt scale; "abc" goes on without tonnes, to rejects
    assert got == [(t("08:00:00"), 99.5), (t("08:15:00"), 0.75), (t("08:30:00"), None)]


def test_sensor_stats_latest_copy_and_status_from_cdss(derived):
    con, s = derived
    assert rows(con, s["sensor_stats"], "period_start", "avg_value", "max_value", "max_at", "status") == [
        (t("08:00:00"), 0.44, 0.52, t("08:05:00"), 0),
        (t("08:15:00"), 1.1, 1.62, t("08:20:00"), 3),  # alarm | cut
        (t("08:30:00"), 0.6, 0.9, t("08:30:00"), 4),  # calibration at 08:40
        (t("08:45:00"), 0.365, 0.38, t("08:50:00"), None),  # re-sent average wins; no CDSS reading
    ]


def test_alarms_keep_the_latest_closed_copy(derived):
    con, s = derived
    got = rows(con, s["alarms"], "point_code", "alarm_type", "started_at", "ended_at", "measure", "entered_at")
    assert got == sorted(
        [
            (CH4, "001", t("08:20:00"), t("08:32:00"), "断电撤人，加强通风，复查正常", t("09:20:00")),
            (FEED, "003", t("08:20:03"), None, None, None),  # never closed: the open copy stays
        ],
        key=order,
    )
    superseded = con.execute(
        f"select s.reason, y._uploaded_at from ({s['_superseded']}) s "
        "join raw_national42_ycbj y using (_file_id, _record) order by 2"
    ).fetchall()
    assert superseded == [
        ("open alarm copy replaced by its closed copy", t("08:25:00")),
        ("closed alarm copy replaced by a later upload", t("08:50:00")),
    ]


def test_people_registration_and_deregistration_dates(derived):
    con, s = derived
    got = rows(con, s["people"], "card_code", "name", "team", "is_leader", "is_special", "registered_on", "deregistered_on")
    assert got == sorted(
        [
            (A, "张三", "综采一队", 0, 1, date(2025, 5, 1), None),
            (B, "李四", "掘进二队", 0, 0, date(2025, 5, 1), None),  # team from the latest file
            (C, "王五", "矿领导", 1, 0, date(2025, 5, 1), date(2025, 5, 2)),  # gone from the 05-02 file on
            (D, "孙七", "机电队", 0, 1, date(2025, 5, 3), None),
            (E, "赵六", "通风队", 0, 0, date(2025, 5, 1), None),  # missing one day, back: still on the roster
        ],
        key=order,
    )


def test_areas_and_stations_latest_copy(derived):
    con, s = derived
    assert rows(con, s["areas"], "area_code", "area_type", "approved_headcount", "area_name") == [
        (A1, "井口区域", 50, "主井口"),
        (A2, "其它区域", 100, "主运输大巷"),
        (A3, "重点区域", 35, "1201综采工作面"),  # from the GB18030 re-send
        (A4, "限制区域", 0, "老空区密闭"),
    ]
    assert rows(con, s["stations"], "station_code", "station_name", "x", "z")[1] == (S21, "大巷1号", 100.0, -200.0)


def test_shaft_trips_flag2_exit_and_vanished_card(derived):
    con, s = derived
    assert rows(con, s["shaft_trips"], "card_code", "down_at", "up_at") == [
        (A, t("07:58:00"), t("08:14:30")),  # flag-2 record's 出井时刻
        (B, t("07:59:00"), None),  # vanished without a flag-2 record
        (C, t("08:15:30"), t("08:19:00")),  # whole trip between two snapshots
        (D, t("08:12:00"), None),  # still underground
    ]


def test_presence_recovers_short_stays_from_the_trajectory(derived):
    con, s = derived
    got = rows(con, s["presence"], "card_code", "entered_at", "area_code", "station_code", "left_at")
    assert got == [
        (A, t("07:58:00"), A1, S1, t("08:01:00")),
        (A, t("08:01:00"), A2, S21, t("08:04:10")),  # between snapshots, only in 行进轨迹
        (A, t("08:04:10"), A3, S31, t("08:11:00")),  # station where A entered, not the later 08:08 one
        (A, t("08:11:00"), A2, S22, t("08:13:00")),  # between snapshots again
        (A, t("08:13:00"), A1, S1, t("08:14:30")),  # last stay ends at up_at
        (B, t("07:59:00"), A1, S1, t("08:03:00")),
        (B, t("08:03:00"), A2, S21, None),  # vanished: open
        (C, t("08:15:30"), A1, S1, t("08:19:00")),
        (D, t("08:12:00"), A1, S1, t("08:18:00")),  # no trajectory: stays from the snapshots
        (D, t("08:18:00"), A2, S21, None),  # entering station unknown: the first one seen
    ]


def test_arrival_order_does_not_matter(derived):
    con, s = derived
    paths = sorted(DATA.glob("*.txt"))
    random.Random(3).shuffle(paths)
    shuffled = load(paths)
    again = PROFILE.derive(shuffled, [MINE])
    for table, query in s.items():
        cols = [r[0] for r in con.execute(f"describe {query}").fetchall() if r[0] not in ("_file_id", "_record")]
        assert rows(shuffled, again[table], *cols) == rows(con, query, *cols), table


def test_derive_is_restricted_to_the_given_mines():
    con = load(sorted(DATA.glob("*.txt")))
    selects = PROFILE.derive(con, ["999999999999"])
    for table, query in selects.items():
        assert con.execute(f"select count(*) from ({query})").fetchone()[0] == 0, table
    assert PROFILE.derive(con, [])["people"]  # an empty mine list is valid SQL too
    assert con.execute(f"select count(*) from ({PROFILE.derive(con, [])['people']})").fetchone()[0] == 0


def test_derive_works_before_some_raw_tables_exist():
    con = duckdb.connect()
    path = DATA / f"{MINE}_RYQY_20250501000000.txt"
    parsed = PROFILE.parse(path, path.read_bytes())
    con.register("rows_in", parsed.raw["raw_national42_ryqy"])
    con.execute("create table raw_national42_ryqy as select *, cast(1 as bigint) as _file_id from rows_in")
    selects = PROFILE.derive(con, [MINE])
    assert con.execute(f"select count(*) from ({selects['areas']})").fetchone()[0] == 4
    assert con.execute(f"select count(*) from ({selects['presence']})").fetchone()[0] == 0
