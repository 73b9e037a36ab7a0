"""The national-file writer: byte rules, field counts, and the round trip through a tiny reference reader."""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipelines.schema import SENSOR_TYPES, TABLES
from pipelines.simulator import national
from pipelines.simulator.national import write_national

MINE = "140211000123"
NAME = "测试煤矿"
NAME_RE = re.compile(r"^(\d{12})_([A-Z]+)_(\d{14})\.txt$")
FIELDS = {"CDDY": 24, "CDSS": 7, "TJSJ": 12, "YCBJ": 17, "RYXX": 9, "RYQY": 4, "RYJZ": 6, "RYSS": 15}
HEADER_FIELDS = {"RYXX": 8, "CDDY": 7}
DAY1 = pd.Timestamp("2025-05-31")
AREA = {k: MINE + v for k, v in {"shaft": "0001", "road": "0002", "face": "0003", "goaf": "0004"}.items()}
STATION = {k: a + "000001" for k, a in AREA.items()} | {"road2": AREA["road"] + "000002"}
CARD = {k: MINE + f"{i:05d}" for i, k in enumerate(("a", "b", "c", "d", "e"), start=1)}


def ts(text: str) -> pd.Timestamp:
    """A timestamp `D<day> HH:MM:SS` relative to the first day of the fixture."""
    day, clock = text.split(" ")
    return DAY1 + pd.Timedelta(days=int(day[1:]) - 1) + pd.Timedelta(clock)


def frame(table: str, rows: list[dict]) -> pd.DataFrame:
    """A contract-typed frame of `table` from dict rows (missing columns empty)."""
    cols = TABLES[table].names
    df = pd.DataFrame([{c: r.get(c) for c in cols} for r in rows], columns=cols)
    for c in TABLES[table].columns:
        if c.kind == "timestamp":
            df[c.name] = pd.to_datetime(df[c.name]).astype("datetime64[s]")
        elif c.kind == "date":
            df[c.name] = pd.to_datetime(df[c.name]).dt.date
        elif c.kind == "float":
            df[c.name] = df[c.name].astype("float64")
        elif c.kind == "int":
            df[c.name] = df[c.name].astype("Int64")
    return df


def stays(card: str, chain: list[tuple[str, str]], up: str | None, last_left: bool = True) -> list[dict]:
    """Chained presence rows: (station key, entered) pairs; the last stay leaves at `up`."""
    rows = []
    for i, (st, entered) in enumerate(chain):
        left = chain[i + 1][1] if i + 1 < len(chain) else (up if last_left else None)
        rows.append(
            {
                "mine_code": MINE,
                "card_code": CARD[card],
                "area_code": STATION[st][:16],
                "station_code": STATION[st],
                "entered_at": ts(entered),
                "left_at": left and ts(left),
            }
        )
    return rows


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    """A small mine over two days spanning a month boundary, with every case the reader must handle."""
    rng = np.random.default_rng(3)
    t: dict[str, pd.DataFrame] = {}
    t["mines"] = frame(
        "mines",
        [
            {
                "mine_code": MINE,
                "mine_name": NAME,
                "approved_capacity_tpy": 900000.0,
                "approved_headcount": 120,
                "gas_class": "high",
            }
        ],
    )
    t["areas"] = frame(
        "areas",
        [
            {"mine_code": MINE, "area_code": AREA["shaft"], "area_name": "副井口", "area_type": "井口区域"},
            {
                "mine_code": MINE,
                "area_code": AREA["road"],
                "area_name": "运输大巷",
                "area_type": "其它区域",
                "approved_headcount": 40,
            },
            {
                "mine_code": MINE,
                "area_code": AREA["face"],
                "area_name": "15201工作面",
                "area_type": "重点区域",
                "approved_headcount": 25,
            },
            {
                "mine_code": MINE,
                "area_code": AREA["goaf"],
                "area_name": "老空区密闭",
                "area_type": "限制区域",
                "approved_headcount": 0,
            },
        ],
    )
    t["stations"] = frame(
        "stations",
        [
            {
                "mine_code": MINE,
                "station_code": code,
                "station_name": f"{key}分站",
                "x": 100.5 * i,
                "y": 20.25,
                "z": -310.0,
            }
            for i, (key, code) in enumerate(STATION.items())
        ],
    )
    t["people"] = frame(
        "people",
        [
            {
                "mine_code": MINE,
                "card_code": CARD["a"],
                "name": "张三",
                "job": "采煤机司机",
                "team": "综采一队",
                "is_leader": 0,
                "is_special": 1,
                "registered_on": "2024-01-10",
            },
            {
                "mine_code": MINE,
                "card_code": CARD["b"],
                "name": "李四",
                "job": "矿长",
                "team": "矿领导",
                "is_leader": 1,
                "is_special": 0,
                "registered_on": ts("D2 00:00:00"),
            },
            {
                "mine_code": MINE,
                "card_code": CARD["c"],
                "name": "王五",
                "job": "掘进工",
                "team": "掘进二队",
                "is_leader": 0,
                "is_special": 0,
                "registered_on": "2023-03-01",
                "deregistered_on": ts("D3 00:00:00"),
            },
            {
                "mine_code": MINE,
                "card_code": CARD["d"],
                "name": "赵六",
                "job": "电工",
                "team": "机电队",
                "is_leader": 0,
                "is_special": 1,
                "registered_on": "2024-07-07",
                "deregistered_on": "2024-07-07",
            },
            {
                "mine_code": MINE,
                "card_code": CARD["e"],
                "name": "钱七",
                "job": "瓦检员",
                "team": "通风队",
                "is_leader": 0,
                "is_special": 1,
                "registered_on": "2024-02-02",
                "deregistered_on": "2025-09-01",
            },
        ],
    )
    trips = [
        # a normal shift with a short first stay (< 5 minutes) recovered only from 行进轨迹
        (
            "a",
            "D1 06:00:10",
            "D1 14:30:00",
            [
                ("shaft", "D1 06:00:10"),
                ("road", "D1 06:03:40"),
                ("face", "D1 06:40:00"),
                ("road2", "D1 14:00:00"),
                ("shaft", "D1 14:28:00"),
            ],
            True,
        ),
        # a whole trip between two snapshots: only a flag-2 record
        ("b", "D2 08:01:00", "D2 08:04:00", [("shaft", "D2 08:01:00"), ("road", "D2 08:02:30")], True),
        # never comes up; vanishes when deregistered (D3 00:00)
        (
            "c",
            "D1 22:00:00",
            None,
            [("shaft", "D1 22:00:00"), ("road", "D1 22:04:00"), ("goaf", "D1 23:00:00")],
            False,
        ),
        # comes up a day later, with an exit between snapshots and a short last stay
        (
            "a",
            "D1 22:10:00",
            "D2 23:58:20",
            [("shaft", "D1 22:10:00"), ("face", "D1 22:40:00"), ("shaft", "D2 23:57:00")],
            True,
        ),
        # still underground at the end of the data
        ("e", "D2 20:00:00", None, [("shaft", "D2 20:00:00"), ("face", "D2 20:30:07")], False),
    ]
    t["shaft_trips"] = frame(
        "shaft_trips",
        [
            {"mine_code": MINE, "card_code": CARD[c], "down_at": ts(d), "up_at": u and ts(u)}
            for c, d, u, _, _ in trips
        ],
    )
    t["presence"] = frame("presence", [r for c, _, u, chain, last in trips for r in stays(c, chain, u, last)])

    pts = {
        "ch4": MINE + "MN0001001",
        "co": MINE + "MN0004001",
        "relay": MINE + "KG1009001",
        "feed": MINE + "KG1011001",
        "fan": MINE + "KG1004001",
        "belt": MINE + "LJ3001001",
    }
    sensors = []
    for key, code in pts.items():
        stype = {"ch4": "0001", "co": "0004", "relay": "1009", "feed": "1011", "fan": "1004", "belt": "3001"}[
            key
        ]
        name, vtype, unit = SENSOR_TYPES[stype]
        row = {
            "mine_code": MINE,
            "point_code": code,
            "sensor_type": stype,
            "value_type": vtype,
            "unit": unit,
            "location": "15201工作面回风隅角;T0" if key == "ch4" else f"15201工作面{name}",
            "area_code": AREA["face"],
            "x": 201.3,
            "y": 20.0,
            "z": -311.25,
        }
        if key == "ch4":
            row |= {
                "range_low": 0.0,
                "range_high": 4.0,
                "alarm_high": 1.0,
                "alarm_clear_high": 1.0,
                "cutoff_high": 1.5,
                "restore_high": 1.0,
            }
        if key == "co":
            row |= {"range_low": 0.0, "range_high": 1000.0, "alarm_high": 24.0, "alarm_clear_high": 24.0}
        sensors.append(row)
    t["sensors"] = frame("sensors", sensors)
    t["sensor_links"] = frame(
        "sensor_links",
        [
            {"mine_code": MINE, "point_code": pts["ch4"], "relation": "D", "linked_point_code": pts["relay"]},
            {"mine_code": MINE, "point_code": pts["feed"], "relation": "D", "linked_point_code": pts["ch4"]},
            {"mine_code": MINE, "point_code": pts["ch4"], "relation": "K", "linked_point_code": pts["fan"]},
        ],
    )
    starts = pd.date_range(ts("D1 00:00:00"), ts("D2 23:55:00"), freq="5min")
    stat_rows = []
    for key, scale in (("ch4", 0.3), ("co", 6.0)):
        avg = np.round(rng.uniform(0, scale, len(starts)), 2)
        status = rng.choice([0, 0, 0, 0, 1, 4, 16, 128], len(starts))
        for i, s in enumerate(starts):
            if key == "co" and i % 97 == 5:
                continue  # outage: row absent
            stat_rows.append(
                {
                    "mine_code": MINE,
                    "point_code": pts[key],
                    "period_start": s,
                    "period_end": s + pd.Timedelta("5min"),
                    "avg_value": avg[i],
                    "max_value": round(avg[i] + 0.07, 2),
                    "max_at": s + pd.Timedelta(seconds=37),
                    "min_value": max(0.0, round(avg[i] - 0.05, 2)),
                    "min_at": None if i % 50 == 0 else s + pd.Timedelta(seconds=201),
                    "status": None if i % 77 == 3 else int(status[i]),
                }
            )
    t["sensor_stats"] = frame("sensor_stats", stat_rows)
    t["switch_events"] = frame(
        "switch_events",
        [
            {"mine_code": MINE, "point_code": pts[p], "changed_at": ts(at), "state": s}
            for p, at, s in (
                ("relay", "D1 10:00:03", 0),
                ("feed", "D1 10:00:05", 0),
                ("relay", "D1 10:20:00", 1),
                ("feed", "D1 10:20:02", 1),
                ("fan", "D1 06:30:00", 1),
                ("fan", "D1 14:10:00", 0),
            )
        ],
    )
    t["alarms"] = frame(
        "alarms",
        [
            {
                "mine_code": MINE,
                "point_code": pts["ch4"],
                "alarm_type": "001",
                "started_at": ts("D1 10:00:00"),
                "ended_at": ts("D1 10:19:30"),
                "max_value": 1.63,
                "max_at": ts("D1 10:04:10"),
                "min_value": 1.0,
                "min_at": ts("D1 10:00:00"),
                "avg_value": 1.31,
                "cause": "回采期间瓦斯涌出增大",
                "measure": "断电撤人~加强通风|瓦斯降至0.6%后复电",
                "entered_at": ts("D1 10:40:00"),
                "entered_by": "调度员刘某",
            },
            {
                "mine_code": MINE,
                "point_code": pts["ch4"],
                "alarm_type": "007",
                "started_at": ts("D1 11:00:10"),
                "ended_at": ts("D1 11:03:00"),
                "max_value": 2.01,
                "min_value": 1.96,
                "avg_value": 1.985,
                "cause": "调校",
                "measure": "标校完毕",
                "entered_at": ts("D1 11:02:00"),
                "entered_by": "监测工",
            },
            {
                "mine_code": MINE,
                "point_code": pts["co"],
                "alarm_type": "004",
                "started_at": ts("D2 23:50:00"),
                "cause": "传感器断线",
            },
        ],
    )
    prod_starts = pd.date_range(ts("D1 00:00:00"), ts("D2 23:45:00"), freq="15min")
    tonnes = np.round(rng.gamma(2.0, 40.0, len(prod_starts)), 2)
    tonnes[::9] = 0.0
    keep = np.ones(len(prod_starts), bool)
    keep[[30, 31]] = False  # a gap in the belt-scale periods
    t["production"] = frame(
        "production",
        [
            {
                "mine_code": MINE,
                "point_code": pts["belt"],
                "period_start": s,
                "period_end": s + pd.Timedelta("15min"),
                "tonnes": float(v),
            }
            for s, v, k in zip(prod_starts, tonnes, keep, strict=True)
            if k
        ],
    )
    for name in TABLES:
        t.setdefault(name, frame(name, []))
    return t


@pytest.fixture(scope="module")
def written(tables, tmp_path_factory) -> tuple[Path, list[Path]]:
    """The files written for the fixture mine."""
    out = tmp_path_factory.mktemp("nat")
    return out, write_national(out, tables, seed=11)


def decode(data: bytes) -> tuple[str, str]:
    """Strict UTF-8, else GB18030 (the contract's reading rule)."""
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("gb18030"), "gb18030"


def read(path: Path) -> tuple[list[str], list[list[str]]]:
    """Reference parser: header fields and record fields of one file."""
    text, _ = decode(path.read_bytes())
    assert text.endswith("||")
    parts = text[:-2].split("~")
    assert parts[-1] == "", "every record, the last one too, ends with ~"
    return parts[0].split(";"), [p.split(";") for p in parts[1:-1]]


def by_kind(paths: list[Path]) -> dict[str, list[tuple[str, list[str], list[list[str]]]]]:
    """Files grouped by type, in upload-time order: (upload time, header, records)."""
    out = defaultdict(list)
    for p in sorted(paths, key=lambda p: NAME_RE.match(p.name).group(3)):
        m = NAME_RE.match(p.name)
        header, records = read(p)
        out[m.group(2)].append((m.group(3), header, records))
    return out


def t_(text: str) -> pd.Timestamp | None:
    """A file timestamp, None for empty."""
    return pd.Timestamp(text) if text else None


def test_names_bytes_and_field_counts(written):
    out, paths = written
    assert paths and all(p.parent == out / "national" for p in paths)
    kinds = set()
    for p in paths:
        m = NAME_RE.match(p.name)
        assert m and m.group(1) == MINE
        kinds.add(m.group(2))
        data = p.read_bytes()
        assert not data.startswith(b"\xef\xbb\xbf") and b"\n" not in data and data.endswith(b"||")
        text, _ = decode(data)
        assert text.count("||") == 1
        header, records = read(p)
        stamp = pd.Timestamp(m.group(3)).strftime("%Y-%m-%d %H:%M:%S")
        assert header[:2] == [MINE, NAME] and header[-1] == stamp
        assert len(header) == HEADER_FIELDS.get(m.group(2), 3)
        assert all(len(r) == FIELDS[m.group(2)] for r in records), m.group(2)
    assert kinds == set(FIELDS)


def test_headers_exact(written):
    _, paths = written
    files = by_kind(paths)
    first_cddy = files["CDDY"][0]
    assert first_cddy[0] == "20250531000000"
    assert tuple(first_cddy[1][2:5]) in national.MONITORING_SYSTEMS
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", first_cddy[1][5])
    ryxx = files["RYXX"][-1][1]
    assert ryxx[2] == "120" and re.fullmatch(r"\d{4}-\d{2}-\d{2}", ryxx[6])
    text, _ = decode(next(p for p in paths if "_RYQY_" in p.name).read_bytes())
    assert text.startswith(f"{MINE};{NAME};2025-05-31 00:00:00~")


def test_cddy_round_trip(written, tables):
    _, paths = written
    cddy = by_kind(paths)["CDDY"]
    assert [s for s, _, _ in cddy] == ["20250531000000", "20250601000000"]  # re-sent mid-window
    assert [r[:-1] for r in cddy[0][2]] == [r[:-1] for r in cddy[1][2]]
    assert {r[-1] for r in cddy[1][2]} == {"2025-06-01 00:00:00"}
    records = {r[0]: r for r in cddy[-1][2]}
    s = tables["sensors"].set_index("point_code")
    assert set(records) == set(s.index)
    for code, r in records.items():
        row = s.loc[code]
        assert (r[3], r[4], r[5]) == (row.sensor_type, row.value_type, row.unit)
        for field, col in (
            (6, "range_high"),
            (7, "range_low"),
            (8, "alarm_high"),
            (9, "alarm_clear_high"),
            (12, "cutoff_high"),
            (13, "restore_high"),
            (19, "x"),
            (20, "y"),
            (21, "z"),
        ):
            assert (float(r[field]) if r[field] else np.nan) == pytest.approx(row[col], nan_ok=True)
            assert r[field] in ("", repr(float(row[col])).removesuffix(".0"))
        assert r[18] == row.location.replace(";", "；")
    relay, ch4 = MINE + "KG1009001", MINE + "MN0001001"
    assert records[ch4][22] == f"D-{relay}-断电器◇K-{MINE}KG1004001-设备开停"
    assert records[MINE + "KG1011001"][22] == f"D-{ch4}-环境瓦斯"
    assert records[relay][22] == "" and (records[relay][16], records[relay][17]) == ("复电", "断电")
    links = {
        (p, rel, q)
        for p, r in records.items()
        if r[22]
        for rel, q, _ in (e.split("-", 2) for e in r[22].split("◇"))
    }
    expected = set(
        tables["sensor_links"][["point_code", "relation", "linked_point_code"]].itertuples(index=False)
    )
    assert links == expected


def test_area_and_station_round_trip(written, tables):
    files = by_kind(written[1])
    areas = {r[1]: r for r in files["RYQY"][-1][2]}
    for row in tables["areas"].itertuples():
        r = areas[row.area_code]
        assert (r[0], r[3]) == (row.area_type, row.area_name)
        assert r[2] == ("" if pd.isna(row.approved_headcount) else str(row.approved_headcount))
    stations = {r[0]: r for r in files["RYJZ"][-1][2]}
    assert set(stations) == set(tables["stations"].station_code)
    assert stations[STATION["road2"]][1:5] == ["road2分站", "402", "20.25", "-310"]


def test_ryxx_registration_dates(written, tables):
    files = by_kind(written[1])["RYXX"]
    first, deregistered, seen = {}, {}, set()
    for stamp, _, records in files:
        day = pd.Timestamp(stamp).date()
        cards = {r[0] for r in records}
        for c in cards:
            first.setdefault(c, day)
        for c in seen - cards:
            deregistered.setdefault(c, day)
        seen |= cards
        assert all(r[7] in ("0", "1") and r[8] in ("0", "1") for r in records)
    people = tables["people"].set_index("card_code")
    assert first == {c: pd.Timestamp(d).date() for c, d in people.registered_on.items()}
    expected = {c: pd.Timestamp(d).date() for c, d in people.deregistered_on.dropna().items()}
    assert deregistered == expected
    days = sorted({pd.Timestamp(s).date() for s, _, _ in files})
    window = pd.date_range("2025-05-31", "2025-06-02").date
    assert set(window) <= set(days)


def rebuild_positioning(files) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The reader's RYSS rules: trips per (card, 入井时刻), stays from states and 行进轨迹, chained."""
    trips, stays = {}, {}
    for _, _, records in files:
        for r in records:
            key = (r[0], t_(r[3]))
            trips.setdefault(key, None)
            if r[2] == "2":
                trips[key] = t_(r[4])
            if r[5]:
                stays.setdefault((r[0], t_(r[6])), (r[5], r[7], key))
            for token in filter(None, r[14].split(",")):
                station, at = token.split("&")
                stays.setdefault((r[0], t_(at)), (station[:16], station, key))
    trip_df = pd.DataFrame(
        [(c, d, u) for (c, d), u in trips.items()], columns=["card_code", "down_at", "up_at"]
    )
    rows = sorted((c, at, area, st, trip) for (c, at), (area, st, trip) in stays.items())
    out = []
    for i, (c, at, area, st, trip) in enumerate(rows):
        nxt = rows[i + 1] if i + 1 < len(rows) else None
        left = nxt[1] if nxt and nxt[4] == trip else trips[trip]
        out.append((c, area, st, at, left))
    stay_df = pd.DataFrame(out, columns=["card_code", "area_code", "station_code", "entered_at", "left_at"])
    return trip_df, stay_df


def canon(df: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    """Comparable form: given columns as text, sorted."""
    out = df[cols].astype(object).where(df[cols].notna(), None)
    out = out.map(
        lambda v: (
            None
            if v is None or v is pd.NaT
            else str(pd.Timestamp(v))
            if isinstance(v, pd.Timestamp | np.datetime64)
            else str(v)
        )
    )
    return out.sort_values(cols).reset_index(drop=True)


def test_ryss_snapshots_rebuild_trips_and_stays(written, tables):
    files = by_kind(written[1])["RYSS"]
    stamps = [pd.Timestamp(s) for s, _, _ in files]
    assert stamps[0] == DAY1 and all(np.diff(stamps) == pd.Timedelta("5min"))
    assert stamps[-1] >= ts("D2 23:58:20")
    flag2 = [r for _, _, recs in files for r in recs if r[2] == "2"]
    assert {(r[0], r[4]) for r in flag2} == {
        (CARD["a"], "2025-05-31 14:30:00"),
        (CARD["b"], "2025-06-01 08:04:00"),
        (CARD["a"], "2025-06-01 23:58:20"),
    }
    whole = next(r for r in flag2 if r[0] == CARD["b"])
    assert whole[14] == f"{STATION['shaft']}&2025-06-01 08:01:00,{STATION['road']}&2025-06-01 08:02:30"
    first = next(recs for s, _, recs in files if s == "20250531060500")
    assert first[0][14] == f"{STATION['shaft']}&2025-05-31 06:00:10,{STATION['road']}&2025-05-31 06:03:40"
    assert first[0][5:9] == [AREA["road"], "2025-05-31 06:03:40", STATION["road"], "2025-05-31 06:03:40"]
    # the never-up card stays until its deregistration day, in the restricted area (status 2)
    c_seen = [pd.Timestamp(s) for s, _, recs in files for r in recs if r[0] == CARD["c"]]
    assert max(c_seen) == ts("D2 23:55:00")
    c_last = [r for _, _, recs in files for r in recs if r[0] == CARD["c"]][-1]
    assert (c_last[2], c_last[4], c_last[11]) == ("1", "", "2")
    assert all(r[2] in ("1", "2") and r[9] == "三八制" for _, _, recs in files for r in recs)

    trips, stays_ = rebuild_positioning(files)
    cols = ["card_code", "down_at", "up_at"]
    pd.testing.assert_frame_equal(canon(trips, cols), canon(tables["shaft_trips"], cols))
    cols = ["card_code", "area_code", "station_code", "entered_at", "left_at"]
    pd.testing.assert_frame_equal(canon(stays_, cols), canon(tables["presence"], cols))


def test_cdss_switches_counter_and_status(written, tables):
    files = by_kind(written[1])["CDSS"]
    for stamp, _, records in files:
        upload = pd.Timestamp(stamp)
        assert all(upload - pd.Timedelta("1h") <= t_(r[6]) < upload for r in records)
    records = [r for _, _, recs in files for r in recs]
    belt = MINE + "LJ3001001"
    readings = sorted((t_(r[6]), Decimal(r[3])) for r in records if r[0] == belt)
    prod = tables["production"].sort_values("period_start")
    rebuilt = []
    for (t0, v0), (t1, v1) in zip(readings, readings[1:], strict=False):
        rebuilt.append((t0, t1, v1 if v1 < v0 else v1 - v0))
    resets = sum(v1 < v0 for (_, v0), (_, v1) in zip(readings, readings[1:], strict=False))
    assert resets >= 1  # the first period of June starts from zero
    assert sum(x for _, _, x in rebuilt) == sum(Decimal(repr(v)) for v in prod.tonnes)
    real = {
        (a, b, x)
        for a, b, x in rebuilt
        if not (x == 0 and (a, b) not in set(zip(prod.period_start, prod.period_end, strict=True)))
    }
    assert real == {
        (a, b, Decimal(repr(x)))
        for a, b, x in prod[["period_start", "period_end", "tonnes"]].itertuples(index=False)
    }
    assert len(rebuilt) == len(prod) + 1  # the gap reads as one 0-tonne period

    sw = [(r[0], t_(r[6]), r[3]) for r in records if "KG" in r[0]]
    text = {"断电": 0, "复电": 1, "无电": 0, "有电": 1, "停": 0, "开": 1}
    got = {(p, at, text[v]) for p, at, v in sw}
    exp = set(tables["switch_events"][["point_code", "changed_at", "state"]].itertuples(index=False))
    assert got == exp

    # status of a stats period = bit-OR of the CDSS states inside it (analog points: one per period)
    status = defaultdict(int)
    for r in records:
        if "MN" in r[0] and r[5]:
            status[(r[0], t_(r[6]))] |= int(r[5])
    stats = tables["sensor_stats"]
    exp = {
        (p, s): int(v)
        for p, s, v in stats[["point_code", "period_start", "status"]].dropna().itertuples(index=False)
    }
    assert dict(status) == exp


def test_tjsj_round_trip(written, tables):
    records = [r for _, _, recs in by_kind(written[1])["TJSJ"] for r in recs]
    assert len(records) == len(tables["sensor_stats"])
    got = pd.DataFrame(
        [
            (r[0], t_(r[4]), t_(r[5]), float(r[10]), float(r[6]), t_(r[7]), float(r[8]), t_(r[9]))
            for r in records
        ],
        columns=[
            "point_code",
            "period_start",
            "period_end",
            "avg_value",
            "max_value",
            "max_at",
            "min_value",
            "min_at",
        ],
    )
    cols = list(got.columns)
    pd.testing.assert_frame_equal(canon(got, cols), canon(tables["sensor_stats"], cols))


def test_ycbj_open_closed_and_resent(written, tables):
    files = by_kind(written[1])["YCBJ"]
    copies = defaultdict(list)
    for stamp, _, records in files:
        for r in records:
            assert r[16] == pd.Timestamp(stamp).strftime("%Y-%m-%d %H:%M:%S")
            copies[(r[0], r[4], r[5])].append((stamp, r))
    ch4 = MINE + "MN0001001"
    first = copies[(ch4, "001", "2025-05-31 10:00:00")]
    assert [s for s, _ in first][:3] == ["20250531100500", "20250531102000", "20250531104500"]
    opened, closed, handled = (r for _, r in first[:3])
    assert opened[6] == "" and opened[12:16] == ["", "", "", ""] and opened[7] != ""
    assert closed[6] == "2025-05-31 10:19:30" and closed[12] == ""
    assert handled[12:16] == [
        "回采期间瓦斯涌出增大",
        "断电撤人～加强通风｜瓦斯降至0.6%后复电",
        "2025-05-31 10:40:00",
        "调度员刘某",
    ]
    quick = copies[(ch4, "007", "2025-05-31 11:00:10")]
    assert [s for s, _ in quick][0] == "20250531110500" and quick[0][1][12] == "调校"
    open_only = copies[(MINE + "MN0004001", "004", "2025-06-01 23:50:00")]
    assert len(open_only) == 1 and open_only[0][1][6] == "" and open_only[0][1][12] == "传感器断线"
    # reader rule: closed copy wins, then the latest upload: gives the canonical rows
    final = {}
    for key, cs in copies.items():
        closed_ = [c for c in cs if c[1][6]]
        final[key] = max(closed_ or cs, key=lambda c: c[0])[1]
    al = tables["alarms"]
    assert len(final) == len(al)
    for row in al.itertuples():
        r = final[(row.point_code, row.alarm_type, str(row.started_at))]
        assert t_(r[6]) == (None if pd.isna(row.ended_at) else row.ended_at)
        assert (float(r[7]) if r[7] else None) == (None if pd.isna(row.max_value) else row.max_value)
        assert (float(r[11]) if r[11] else None) == (None if pd.isna(row.avg_value) else row.avg_value)


def test_resent_closed_copy_and_gb18030(tables, tmp_path, monkeypatch):
    monkeypatch.setattr(national, "RESEND_CLOSED_SHARE", 1.0)
    monkeypatch.setattr(national, "GB18030_SHARE", 1.0)
    paths = write_national(tmp_path, tables, seed=5)
    encodings = {decode(p.read_bytes())[1] for p in paths}
    assert encodings == {"gb18030"}  # every file has Chinese text, so none reads as UTF-8
    files = by_kind(paths)
    copies = defaultdict(list)
    for stamp, _, records in files["YCBJ"]:
        for r in records:
            copies[(r[0], r[4], r[5])].append((stamp, r[:16]))
    ch4 = MINE + "MN0001001"
    closed = [c for c in copies[(ch4, "001", "2025-05-31 10:00:00")] if c[1][12]]
    assert len(closed) == 2 and closed[0][1] == closed[1][1] and closed[0][0] < closed[1][0]


def test_deterministic_and_seeded(tables, tmp_path, monkeypatch):
    def digest(out: Path, seed: int) -> dict[str, str]:
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in write_national(out, tables, seed)}

    monkeypatch.setattr(national, "GB18030_SHARE", 0.3)
    a, b, c = digest(tmp_path / "a", 1), digest(tmp_path / "b", 1), digest(tmp_path / "c", 2)
    assert a == b
    assert a.keys() == c.keys() and a != c


def test_open_trips_vanish_by_the_documented_rule(tmp_path):
    t = {name: frame(name, []) for name in TABLES}
    t["mines"] = frame(
        "mines",
        [{"mine_code": MINE, "mine_name": NAME, "approved_capacity_tpy": 3e5, "approved_headcount": 80}],
    )
    t["people"] = frame(
        "people",
        [
            {"mine_code": MINE, "card_code": CARD["a"], "registered_on": "2024-01-01"},
            # deregistered the day it went down: still shown once, in its first snapshot
            {
                "mine_code": MINE,
                "card_code": CARD["b"],
                "registered_on": "2024-01-01",
                "deregistered_on": DAY1,
            },
        ],
    )
    t["shaft_trips"] = frame(
        "shaft_trips",
        [
            {"mine_code": MINE, "card_code": CARD["a"], "down_at": ts("D1 10:02:00")},
            {"mine_code": MINE, "card_code": CARD["b"], "down_at": ts("D1 11:01:00")},
        ],
    )
    t["presence"] = frame(
        "presence",
        stays("a", [("shaft", "D1 10:02:00"), ("road", "D1 10:03:00")], "D1 10:31:00")
        + stays("b", [("shaft", "D1 11:01:00")], None, last_left=False),
    )
    t["switch_events"] = frame(
        "switch_events",
        [{"mine_code": MINE, "point_code": MINE + "KG1004001", "changed_at": ts("D1 12:00:00"), "state": 1}],
    )
    files = by_kind(write_national(tmp_path, t, seed=1))["RYSS"]
    seen = defaultdict(list)
    for stamp, _, records in files:
        for r in records:
            assert r[2] == "1" and r[4] == ""
            seen[r[0]].append(pd.Timestamp(stamp))
    assert seen[CARD["a"]] == list(pd.date_range(ts("D1 10:05:00"), ts("D1 10:30:00"), freq="5min"))
    assert seen[CARD["b"]] == [ts("D1 11:05:00")]
    assert pd.Timestamp(files[-1][0]) == ts("D1 12:00:00")
    trips, stays_ = rebuild_positioning(files)
    assert trips.up_at.isna().all() and len(trips) == 2
    # the given left_at of a vanished card's last stay cannot be sent: it reads back empty
    assert len(stays_) == 3 and stays_.left_at.tolist()[0] == ts("D1 10:03:00")
    assert stays_.left_at.iloc[1:].isna().all()
