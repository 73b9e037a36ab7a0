"""The vendor-CSV profile: GBK exports of a monitoring system read into raw readings and canonical tables."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pytest

from pipelines.adapters.webgas import (
    HEADER,
    RAW_TABLE,
    VendorCsv,
    sensor_type_code,
    unknown_type_code,
)
from pipelines.schema import TABLES

MINE = "130400000001"
OTHER = "140200000002"
HEAD = ",".join(HEADER)
REALDATA = Path(__file__).resolve().parents[4] / "shared" / "realdata" / "webGas"


def write(path: Path, lines: list[str], encoding: str = "gbk", newline: str = "\r\n") -> Path:
    """A vendor export file with the header and `lines`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(newline.join([HEAD, *lines, ""]).encode(encoding))
    return path


def row(point: str, place: str, kind: str, value: str, unit: str, at: str, mine: str = "羊东矿") -> str:
    """One export line."""
    return f"{mine},{point},{place},{kind},{value},{unit},{at}"


def parse(profile: VendorCsv, path: Path):
    """Parse a file as the warehouse would."""
    return profile.parse(path, path.read_bytes())


def load(profile: VendorCsv, paths: list[Path]) -> duckdb.DuckDBPyConnection:
    """An in-memory warehouse holding the raw readings of `paths` (file ids 1, 2, ... in order)."""
    con = duckdb.connect()
    schema = profile.raw_schemas[RAW_TABLE].append(pa.field("_file_id", pa.int64()))
    empty = schema.empty_table()  # noqa: F841 (read by DuckDB by name)
    con.execute(f"create table {RAW_TABLE} as select * from empty")
    for file_id, path in enumerate(paths, start=1):
        parsed = parse(profile, path)
        assert parsed.status == "ok", parsed.message
        table = parsed.raw[RAW_TABLE]
        batch = table.append_column("_file_id", pa.array([file_id] * len(table), pa.int64()))  # noqa: F841
        con.execute(f"insert into {RAW_TABLE} select * from batch")
    return con


def derived(profile: VendorCsv, con: duckdb.DuckDBPyConnection, mines: list[str] | None = None) -> dict:
    """Every derived table as a pandas frame."""
    sql = profile.derive(con, mines or [MINE])
    return {name: con.execute(query).df() for name, query in sql.items()}


# ---- parse ----


def test_parse_reads_gbk_rows_with_types_states_and_calibration(tmp_path: Path) -> None:
    path = write(
        tmp_path / "2020-10-02 00.csv",
        [
            row("0000031A09", "8470掘进面甲烷T1", "甲烷", "0.04", "%CH4", "2020-10-02 00:00:06"),
            row("0000031A09", "8470掘进面甲烷T1(调校)", "甲烷", "2.01", "%CH4", "2020-10-02 00:00:33"),
            row("0000031C01", "8470掘进面动力断电", "断电控制器", "断电", "", "2020-10-02 00:00:33"),
            row("0000031D02", "8470掘进面动力馈电", "馈电传感器", "负荷侧无电压", "", "2020-10-02 00:00:33"),
            row("0000031D04", "8470掘进面主风机", "开停", "开", "", "2020-10-02 00:00:33"),
            row("0000031A12", "8470掘进面粉尘", "粉尘浓度", "0.00", "mg/ m3", "2020-10-02 00:00:33"),
            row("0000030D01", "06202运料巷风门开关", "风门开关传感器", "风门关闭", "", "2020-10-02 00:00:33"),
            row("0000031A05", "8470掘进面回风甲烷T2", "甲烷", "断线", "%CH4", "2020-10-02 00:00:33"),
        ],
    )
    parsed = parse(VendorCsv(mine_code=MINE), path)
    assert (parsed.status, parsed.encoding, parsed.mine_code, parsed.records) == ("ok", "gbk", MINE, 8)
    assert parsed.rejects == []
    assert parsed.uploaded_at == "2020-10-02 00:00:33"
    raw = parsed.raw[RAW_TABLE].to_pandas()
    assert raw.columns.tolist() == VendorCsv.raw_schemas[RAW_TABLE].names
    assert raw["_record"].tolist() == list(range(1, 9))
    assert (raw["mine_code"] == MINE).all()
    by_point = raw.set_index(raw["point_code"] + "@" + raw["read_at"].astype(str))
    cal = by_point.loc["0000031A09@2020-10-02 00:00:33"]
    assert (cal["location"], cal["location_raw"], cal["status"], cal["value"]) == (
        "8470掘进面甲烷T1",
        "8470掘进面甲烷T1(调校)",
        4,
        2.01,
    )
    assert raw.groupby("point_code")["sensor_type"].first().to_dict() == {
        "0000030D01": unknown_type_code("风门开关传感器"),
        "0000031A05": "0001",
        "0000031A09": "0001",
        "0000031A12": unknown_type_code("粉尘浓度"),
        "0000031C01": "1009",
        "0000031D02": "1011",
        "0000031D04": "1001",  # a heading's fan: the location says 风机
    }
    states = raw.dropna(subset=["state"]).set_index("point_code")["state"].to_dict()
    assert states == {"0000031C01": 0, "0000031D02": 0, "0000031D04": 1, "0000030D01": 0}
    value_types = raw.set_index("point_code")["value_type"]
    assert value_types["0000031A12"] == "MN" and value_types["0000030D01"] == "KG"
    fault = raw.set_index("point_code").loc["0000031A05"]
    assert pd.isna(fault["value"]) and fault["status"] == 128  # 断线 on an analog point: sensor fault


def test_sensor_type_names_map_to_national_codes() -> None:
    expected = {
        ("甲烷", "x"): "0001",
        ("一氧化碳", "x"): "0004",
        ("风速", "x"): "0002",
        ("温度", "x"): "0003",
        ("二氧化碳", "x"): "0013",
        ("氧气", "x"): "0012",
        ("断电控制器", "x"): "1009",
        ("馈电传感器", "x"): "1011",
        ("开停", "42皮带上部进风风向"): "1004",
        ("开停", "中央风井主通风机"): "1010",
        ("开停", "8470掘进面副风机"): "1001",
    }
    assert {key: sensor_type_code(*key) for key in expected} == expected
    dust = sensor_type_code("粉尘", "x")
    assert dust.startswith("9") and len(dust) == 4 and dust == sensor_type_code("粉尘", "elsewhere")


def test_mine_code_from_mapping_file_in_a_parent_folder(tmp_path: Path) -> None:
    (tmp_path / "mine_codes.csv").write_text(f"mine_name,mine_code\n羊东矿,{MINE}\n其它矿,{OTHER}\n", "utf-8")
    path = write(
        tmp_path / "export" / "20201002" / "a.csv",
        [
            row("0000031A09", "T1", "甲烷", "0.04", "%CH4", "2020-10-02 00:00:06"),
            row("0000031A09", "T1", "甲烷", "0.05", "%CH4", "2020-10-02 00:00:06", mine="其它矿"),
            row("0000031A09", "T1", "甲烷", "0.05", "%CH4", "2020-10-02 00:00:06", mine="不认识矿"),
        ],
    )
    parsed = parse(VendorCsv(), path)
    assert parsed.status == "ok" and parsed.mine_code is None  # two mines in one file
    assert parsed.raw[RAW_TABLE]["mine_code"].to_pylist() == [MINE, OTHER]
    [reject] = parsed.rejects
    assert (reject.record, reject.field) == (3, "煤矿名称") and "不认识矿" in reject.raw
    # a folder linked in from elsewhere takes the mapping of the folders it is linked under
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "mine_codes.csv").write_text(f"mine_name,mine_code\n羊东矿,{OTHER}\n", "utf-8")
    (tmp_path / "other" / "linked").symlink_to(path.parent, target_is_directory=True)
    linked = parse(VendorCsv(), tmp_path / "other" / "linked" / "a.csv")
    assert linked.raw[RAW_TABLE]["mine_code"].to_pylist() == [OTHER] and len(linked.rejects) == 2
    # an explicit mine code wins over the mapping
    forced = parse(VendorCsv(mine_code=OTHER), path)
    assert set(forced.raw[RAW_TABLE]["mine_code"].to_pylist()) == {OTHER} and not forced.rejects


def test_no_known_mine_code_is_an_error_with_a_clear_message(tmp_path: Path) -> None:
    lines = [row("0000031A09", "T1", "甲烷", "0.04", "%CH4", "2020-10-02 00:00:06")]
    lonely = write(tmp_path / "a" / "x.csv", lines)
    parsed = parse(VendorCsv(), lonely)
    assert parsed.status == "error" and "mine_codes.csv" in parsed.message and str(lonely) in parsed.message

    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "mine_codes.csv").write_text(f"mine_name,mine_code\n其它矿,{OTHER}\n", "utf-8")
    unknown = write(tmp_path / "b" / "x.csv", lines)
    parsed = parse(VendorCsv(), unknown)
    assert parsed.status == "error" and "羊东矿" in parsed.message and "has no row" in parsed.message

    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "mine_codes.csv").write_text("mine_name,mine_code\n羊东矿,1304\n", "utf-8")
    short = write(tmp_path / "c" / "x.csv", lines)
    parsed = parse(VendorCsv(), short)
    assert parsed.status == "error" and "line 2" in parsed.message and "12-digit" in parsed.message

    with pytest.raises(ValueError, match="12 digits"):
        VendorCsv(mine_code="1304")


def test_bad_rows_are_rejected_with_record_field_and_reason(tmp_path: Path) -> None:
    path = write(
        tmp_path / "x.csv",
        [
            row("0000031A09", "T1", "甲烷", "0.04", "%CH4", "2020-10-02 00:00:06"),
            "羊东矿,0000031A09,T1,甲烷,0.04,%CH4",  # truncated: 6 fields
            row("0000031A09", "T1", "甲烷", "0.04", "%CH4", "2020-10-02 25:00:06"),
            row("0000031A09", "T1", "甲烷", "", "%CH4", "2020-10-02 00:01:06"),
            row("", "T1", "甲烷", "0.04", "%CH4", "2020-10-02 00:01:06"),
            row("0000031D04", "主风机", "开停", "晃动", "", "2020-10-02 00:01:06"),
            "",  # a blank line is not a record
            row("0000031A09", "T1", "甲烷", "0.05", "%CH4", "2020/10/02 00:01:33"),
        ],
    )
    parsed = parse(VendorCsv(mine_code=MINE), path)
    assert parsed.status == "ok" and parsed.records == 7
    got = [(r.record, r.field) for r in parsed.rejects]
    assert got == [(2, None), (3, "时间"), (4, "检测值"), (5, "传感器编号"), (6, "检测值")]
    assert "6 fields, expected 7" in parsed.rejects[0].reason
    assert "晃动" in parsed.rejects[-1].reason and parsed.rejects[-1].raw.startswith("羊东矿,0000031D04")
    raw = parsed.raw[RAW_TABLE].to_pandas()
    assert raw["_record"].tolist() == [1, 8]
    assert raw["read_at"].astype(str).tolist() == ["2020-10-02 00:00:06", "2020-10-02 00:01:33"]
    assert len(raw) + len(parsed.rejects) == parsed.records  # nothing lost silently


def test_encodings_header_and_empty_files(tmp_path: Path) -> None:
    line = row("0000031A09", "T1", "甲烷", "0.04", "%CH4", "2020-10-02 00:00:06")
    utf8 = tmp_path / "u.csv"
    utf8.write_bytes(("\ufeff" + HEAD + "\n" + line + "\n").encode("utf-8"))
    assert parse(VendorCsv(mine_code=MINE), utf8).encoding == "utf-8"

    # one line with bytes that no Chinese encoding reads: that line only is rejected
    mixed = tmp_path / "m.csv"
    mixed.write_bytes(
        (HEAD + "\n" + line + "\n").encode("gbk") + b"\xff\xff\xff,\x81\n" + (line + "\n").encode("gbk")
    )
    parsed = parse(VendorCsv(mine_code=MINE), mixed)
    assert parsed.status == "ok" and parsed.encoding == "gb18030"
    assert [(r.record, r.reason) for r in parsed.rejects] == [(2, "bytes are neither UTF-8 nor GB18030")]
    assert parsed.raw[RAW_TABLE]["_record"].to_pylist() == [1, 3]

    other = tmp_path / "o.csv"
    other.write_text("mine_code,point_code\n", "utf-8")
    parsed = parse(VendorCsv(mine_code=MINE), other)
    assert parsed.status == "error" and "line 1" in parsed.message and str(other) in parsed.message

    empty = tmp_path / "e.csv"
    empty.write_bytes(b"")
    assert parse(VendorCsv(mine_code=MINE), empty).status == "incomplete"


def test_claims_vendor_exports_only(tmp_path: Path) -> None:
    profile = VendorCsv()
    line = row("0000031A09", "T1", "甲烷", "0.04", "%CH4", "2020-10-02 00:00:06")
    assert profile.claims(write(tmp_path / "_2020-10-02_2020-10-02 00.csv", [line]))
    assert profile.claims(write(tmp_path / "utf8.csv", [line], encoding="utf-8"))
    (tmp_path / "sensors.csv").write_text("mine_code,point_code,sensor_type\n", "utf-8")
    (tmp_path / "mine_codes.csv").write_text(f"mine_name,mine_code\n羊东矿,{MINE}\n", "utf-8")
    assert not profile.claims(tmp_path / "sensors.csv")
    assert not profile.claims(tmp_path / "mine_codes.csv")
    assert not profile.claims(tmp_path / f"{MINE}_CDSS_20201002000000.txt")
    assert not profile.claims(tmp_path / "missing.csv")


# ---- derive ----


@pytest.fixture
def overlapping(tmp_path: Path) -> list[Path]:
    """Two hourly files that overlap by one poll, with a repeated poll and a conflicting copy."""
    first = [
        row("0000031A09", "8470掘进面甲烷T1", "甲烷", "0.04", "%CH4", "2020-10-02 00:00:06"),
        row("0000031A09", "8470掘进面甲烷T1", "甲烷", "0.04", "%CH4", "2020-10-02 00:00:06"),  # repeated poll
        row("0000031A09", "8470掘进面甲烷T1", "甲烷", "0.06", "%CH4", "2020-10-02 00:02:00"),
        row("0000031A09", "8470掘进面甲烷T1", "甲烷", "0.02", "%CH4", "2020-10-02 00:04:59"),
        row("0000031D02", "8470掘进面动力馈电", "馈电传感器", "负荷侧有电压", "", "2020-10-02 00:04:59"),
        row("0000031A09", "8470掘进面甲烷T1", "甲烷", "0.05", "%CH4", "2020-10-02 00:05:30"),
    ]
    second = [
        row("0000031A09", "8470掘进面甲烷T1", "甲烷", "0.05", "%CH4", "2020-10-02 00:05:30"),  # overlap
        row("0000031D02", "8470掘进面动力馈电", "馈电传感器", "负荷侧有电压", "", "2020-10-02 00:04:59"),
        row("0000031A09", "8470掘进面甲烷T1", "甲烷", "0.07", "%CH4", "2020-10-02 00:06:00"),
        row("0000031A09", "8470掘进面甲烷T1", "甲烷", "0.09", "%CH4", "2020-10-02 00:06:00"),  # conflicting
    ]
    return [write(tmp_path / "00.csv", first), write(tmp_path / "01.csv", second)]


def test_overlapping_files_are_deduplicated_and_counted(overlapping: list[Path]) -> None:
    profile = VendorCsv(mine_code=MINE)
    con = load(profile, overlapping)
    out = derived(profile, con)
    superseded = out["_superseded"].sort_values(["_file_id", "_record"])
    assert list(zip(superseded["_file_id"], superseded["_record"], strict=True)) == [
        (1, 2),
        (2, 1),
        (2, 2),
        (2, 4),
    ]
    reasons = superseded["reason"].tolist()
    assert "repeated in the file" in reasons[0] and "overlapping file" in reasons[1]
    assert reasons[3].startswith("conflicting duplicate") and "0.09 vs kept 0.07" in reasons[3]
    summary = profile.summary(con, [MINE])
    assert (summary["readings"], summary["duplicates"], summary["points"]) == (6, 4, 2)

    stats = out["sensor_stats"].sort_values("period_start").reset_index(drop=True)
    assert stats.columns.tolist() == TABLES["sensor_stats"].names + ["_file_id", "_record"]
    first, second = stats.iloc[0], stats.iloc[1]
    assert (
        str(first["period_start"]) == "2020-10-02 00:00:00"
        and str(first["period_end"]) == "2020-10-02 00:05:00"
    )
    assert first["avg_value"] == pytest.approx(0.04) and (first["max_value"], first["min_value"]) == (
        0.06,
        0.02,
    )
    assert str(first["max_at"]) == "2020-10-02 00:02:00" and str(first["min_at"]) == "2020-10-02 00:04:59"
    assert (first["status"], first["_file_id"], first["_record"]) == (0, 1, 1)
    assert second["avg_value"] == pytest.approx(0.06) and second["max_value"] == 0.07  # the kept copy
    assert out["switch_events"].empty  # the feed sensor only ever showed voltage: its normal state


def test_sensors_take_the_latest_description_and_aq1029_thresholds(tmp_path: Path) -> None:
    at = "2020-10-02 00:00:06"
    path = write(
        tmp_path / "x.csv",
        [
            row("0000032A09", "42皮带上部进风甲烷激", "甲烷", "0.00", "%CH4", at),
            row("0000037A07", "42采区回风巷甲烷", "甲烷", "0.03", "%CH4", at),
            row("0000031A05", "8470掘进面回风甲烷T2", "甲烷", "0.03", "%CH4", at),
            row("0000042A08", "8272采面上隅角甲烷T0", "甲烷", "0.10", "%CH4", at),
            row("0000042A01", "千米钻场甲烷", "甲烷", "0.01", "%CH4", at),
            row("0000032A04", "42区避难硐室CO", "一氧化碳", "0.00", "ppm", at),
            row("0000033A06", "副斜车房温度", "温度", "17.60", "℃", at),
            # the point was moved and retyped later: the latest reading describes it
            row("0000037A05", "佐城二号总回甲烷", "甲烷", "0.20", "%CH4", "2020-06-28 12:00:17"),
            row("0000037A05", "佐城二号总回风速", "风速", "4.50", "m/s", at),
        ],
    )
    profile = VendorCsv(mine_code=MINE)
    sensors = derived(profile, load(profile, [path]))["sensors"].set_index("point_code")
    assert ["mine_code", "point_code", *sensors.columns[1:]] == TABLES["sensors"].names + [
        "_file_id",
        "_record",
    ]
    limits = ["alarm_high", "alarm_clear_high", "cutoff_high", "restore_high"]
    got = sensors[limits].astype(object).where(sensors[limits].notna(), None)
    assert got.loc["0000032A09"].tolist() == [0.5, 0.5, 0.5, 0.5]  # intake air
    assert got.loc["0000037A07"].tolist() == [1.0, 1.0, 1.0, 1.0]  # return airway
    assert got.loc["0000031A05"].tolist() == [1.0, 1.0, 1.0, 1.0]  # a heading's return (T2)
    assert got.loc["0000042A08"].tolist() == [1.0, 1.0, 1.5, 1.0]  # coal face (T0)
    assert got.loc["0000042A01"].tolist() == [1.0, 1.0, None, None]  # elsewhere: alarm only
    assert got.loc["0000032A04"].tolist() == [24.0, 24.0, None, None]  # CO
    assert got.loc["0000033A06"].tolist() == [None] * 4
    moved = sensors.loc["0000037A05"]
    assert (moved["sensor_type"], moved["location"], moved["unit"], moved["value_type"]) == (
        "0002",
        "佐城二号总回风速",
        "m/s",
        "MN",
    )


def test_switch_changes_follow_text_states(tmp_path: Path) -> None:
    feed, relay, smoke = "0000031D02", "0000031C01", "0000030D02"
    times = [f"2020-10-02 05:{m:02d}:00" for m in range(6)]
    states = ["负荷侧无电压", "负荷侧无电压", "负荷侧有电压", "负荷侧有电压", "负荷侧无电压", "负荷侧有电压"]
    lines = [
        row(feed, "8470掘进面动力馈电", "馈电传感器", s, "", t) for s, t in zip(states, times, strict=True)
    ]
    lines += [row(relay, "8470掘进面动力断电", "断电控制器", "复电", "", t) for t in times]
    lines += [
        row(smoke, "5部皮带烟雾", "烟雾传感器", s, "", t)
        for s, t in zip(["无烟雾"] * 4 + ["有烟雾"] * 2, times, strict=True)
    ]
    profile = VendorCsv(mine_code=MINE)
    events = derived(profile, load(profile, [write(tmp_path / "x.csv", lines)]))["switch_events"]
    assert events.columns.tolist() == TABLES["switch_events"].names + ["_file_id", "_record"]
    got = sorted(
        (p, str(t)[11:16], s)
        for p, t, s in zip(events["point_code"], events["changed_at"], events["state"], strict=True)
    )
    assert got == [
        (smoke, "05:04", 1),  # a type outside the national table: changes only
        (feed, "05:00", 0),  # first seen without voltage: recorded, since 1 is the normal state
        (feed, "05:02", 1),
        (feed, "05:04", 0),
        (feed, "05:05", 1),
    ]  # the relay stayed 复电 (normal) throughout: no event


def test_calibration_episodes_and_threshold_exceedances(tmp_path: Path) -> None:
    point, other = "0000031A09", "0000031A08"
    place = "8470掘进面甲烷T1"
    values = [
        ("00:00:00", place, "0.05"),
        ("00:01:00", place + "(调校)", "1.20"),
        ("00:02:00", place + "(调校)", "2.02"),
        ("00:03:00", place + "(调校)", "2.01"),
        ("00:04:00", place, "0.06"),
        ("00:10:00", place, "1.10"),  # alarm (>= 1.0), no cut
        ("00:11:00", place, "1.60"),  # cut (>= 1.5)
        ("00:12:00", place, "1.20"),  # still cut: restore only below 1.0
        ("00:13:00", place, "0.90"),  # both clear
        ("00:14:00", place, "0.50"),
    ]
    lines = [row(point, p, "甲烷", v, "%CH4", f"2020-10-02 {t}") for t, p, v in values]
    # a calibration at the end of the data, on another point, with one reading
    lines.append(row(other, "8470掘进面加密甲烷（调校）", "甲烷", "1.98", "%CH4", "2020-10-02 00:20:00"))
    lines.append(
        row(other, "8470掘进面加密甲烷", "甲烷", "1.50", "%CH4", "2020-10-02 03:00:00")
    )  # after a gap
    profile = VendorCsv(mine_code=MINE)
    con = load(profile, [write(tmp_path / "x.csv", lines)])
    out = derived(profile, con)
    alarms = out["alarms"].sort_values(["point_code", "alarm_type", "started_at"]).reset_index(drop=True)
    assert alarms.columns.tolist() == TABLES["alarms"].names + ["_file_id", "_record"]
    brief = [
        (p, a, str(s)[11:], str(e)[11:], mx, mn)
        for p, a, s, e, mx, mn in alarms[
            ["point_code", "alarm_type", "started_at", "ended_at", "max_value", "min_value"]
        ].itertuples(index=False)
    ]
    assert brief == [
        (other, "001", "03:00:00", "03:00:00", 1.5, 1.5),  # no cut-off in a drilling-site-less place? T1: cut
        (other, "002", "03:00:00", "03:00:00", 1.5, 1.5),
        (other, "007", "00:20:00", "00:20:00", 1.98, 1.98),  # next reading 3 h later: ends at its last
        (point, "001", "00:10:00", "00:13:00", 1.6, 1.1),
        (point, "002", "00:11:00", "00:13:00", 1.6, 1.2),
        (point, "007", "00:01:00", "00:04:00", 2.02, 1.2),  # test gas is not an exceedance
    ]
    assert alarms.loc[5, "cause"] == "调校" and str(alarms.loc[5, "max_at"])[11:] == "00:02:00"
    stats = out["sensor_stats"].set_index(["point_code", "period_start"])["status"]
    assert stats[(point, pd.Timestamp("2020-10-02 00:00:00"))] == 4  # calibration bit only
    assert stats[(point, pd.Timestamp("2020-10-02 00:10:00"))] == 3  # alarm and cut
    assert profile.summary(con, [MINE])["calibrations"] == 2


def test_derive_is_restricted_to_the_given_mines(tmp_path: Path) -> None:
    lines = [row("0000031A09", "T1", "甲烷", "0.04", "%CH4", "2020-10-02 00:00:06")]
    profile_a, profile_b = VendorCsv(mine_code=MINE), VendorCsv(mine_code=OTHER)
    a, b = write(tmp_path / "a" / "x.csv", lines), write(tmp_path / "b" / "x.csv", lines)
    con = duckdb.connect()
    schema = profile_a.raw_schemas[RAW_TABLE].append(pa.field("_file_id", pa.int64()))
    empty = schema.empty_table()  # noqa: F841
    con.execute(f"create table {RAW_TABLE} as select * from empty")
    for file_id, (profile, path) in enumerate([(profile_a, a), (profile_b, b)], start=1):
        table = parse(profile, path).raw[RAW_TABLE]
        batch = table.append_column("_file_id", pa.array([file_id] * len(table), pa.int64()))  # noqa: F841
        con.execute(f"insert into {RAW_TABLE} select * from batch")
    out = derived(profile_a, con, [OTHER])
    assert set(out["sensors"]["mine_code"]) == {OTHER} and set(out["sensor_stats"]["_file_id"]) == {2}
    assert out["_superseded"].empty  # the same reading at two mines is not a duplicate


# ---- the real export (../shared/realdata/webGas, never copied into the project) ----


@pytest.mark.realdata
def test_real_webgas_export_is_read_whole() -> None:
    if not REALDATA.is_dir():
        pytest.skip(f"{REALDATA} is absent")
    profile = VendorCsv(mine_code=MINE)
    files = sorted(p for p in REALDATA.rglob("*") if p.is_file())
    assert all(profile.claims(p) for p in files) and len(files) == 73
    con = load(profile, files)
    parsed = [parse(profile, p) for p in files[:3]]
    assert {p.encoding for p in parsed} == {"gbk"} and all(not p.rejects for p in parsed)
    summary = profile.summary(con, [MINE])
    assert summary == {
        "readings": 224_310,  # distinct (point, location, time) of 262,770 rows
        "duplicates": 38_460,  # repeated polls inside a file, overlapping hourly files, 2 conflicting copies
        "points": 66,  # point lists change: 30 to 46 points per file
        "switch_events": 91,
        "switch_changes": 87,  # feed sensors and fans, e.g. heading power off around shift changes
        "calibrations": 0,  # these three days hold no (调校) mark
        "exceedances": 0,  # methane never above 0.21 %
    }
    # heading power off (feed sensor without voltage) 21 times in three days
    events = profile.derive(con, [MINE])["switch_events"]
    feed_off = con.execute(f"select count(*) from ({events}) where point_code = '0000031D02' and state = 0")
    assert feed_off.fetchall() == [(21,)]
