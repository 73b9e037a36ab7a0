"""National42.claims and .parse on hand-written files: encodings, terminators, headers, rejects, raw tables."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pytest

from pipelines.adapters.national42 import FRAMING, KINDS, RECORDS, National42, raw_table
from pipelines.adapters.text import decode, parse_records, split_records

DATA = Path(__file__).parent / "data"
MINE = "140100000001"
PROFILE = National42()


def parse_file(name: str):
    path = DATA / name
    return PROFILE.parse(path, path.read_bytes())


def parse_text(name: str, text: str, encoding: str = "utf-8"):
    return PROFILE.parse(Path(name), text.encode(encoding))


@pytest.mark.parametrize(
    ("name", "claimed"),
    [
        (f"{MINE}_RYSS_20250501080000.txt", True),
        (f"{MINE}_CDDY_20250501000000.txt", True),
        (f"{MINE}_AQSS_20250501080000.txt", False),  # a type this profile does not read
        (f"{MINE}_RYSS_20250501080000.csv", False),
        ("1401000000_RYSS_20250501080000.txt", False),  # 10-digit mine code
        (f"{MINE}_ryss_20250501080000.txt", False),
        (f"{MINE}_RYSS_202505010800.txt", False),
    ],
)
def test_claims_by_file_name(name, claimed):
    assert PROFILE.claims(Path("some/dir") / name) is claimed


def test_raw_schemas_cover_every_type_with_lineage_first():
    assert set(PROFILE.raw_schemas) == {raw_table(k) for k in KINDS}
    for kind in KINDS:
        schema = PROFILE.raw_schemas[raw_table(kind)]
        assert schema.names[:3] == ["mine_code", "_record", "_uploaded_at"]
        assert schema.names[3:] == [f.column for f in RECORDS[kind]]
    assert {k: len(f) for k, f in RECORDS.items()} == {
        "CDDY": 24, "CDSS": 7, "TJSJ": 12, "YCBJ": 17, "RYXX": 9, "RYQY": 4, "RYJZ": 6, "RYSS": 15,
    }


def test_every_hand_written_file_parses_to_its_schema():
    for path in sorted(DATA.glob("*.txt")):
        parsed = PROFILE.parse(path, path.read_bytes())
        if parsed.status == "incomplete":
            continue
        assert parsed.status == "ok", (path.name, parsed.message)
        (name, table), = parsed.raw.items()
        assert table.schema == PROFILE.raw_schemas[name]
        assert parsed.records == table.num_rows + len(parsed.rejects), path.name
        assert set(table["mine_code"].to_pylist()) <= {MINE}


def test_typed_values_and_lineage():
    parsed = parse_file(f"{MINE}_CDSS_20250501090000.txt")
    table = parsed.raw["raw_national42_cdss"]
    first = table.slice(0, 1).to_pylist()[0]
    assert first == {
        "mine_code": MINE, "_record": 1, "_uploaded_at": datetime(2025, 5, 1, 9),
        "point_code": f"{MINE}KG1009001", "type_name": "断电器", "location": "1201工作面断电器",
        "value": "复电", "unit": None, "status": 0, "data_at": datetime(2025, 5, 1, 8),
    }
    assert parsed.kind == "CDSS" and parsed.mine_code == MINE and parsed.uploaded_at == "2025-05-01 09:00:00"


def test_bad_records_are_rejected_with_field_and_reason_and_the_rest_kept():
    parsed = parse_file(f"{MINE}_CDSS_20250501090000.txt")
    got = [(r.record, r.field, r.reason.split(" (")[0]) for r in parsed.rejects]
    assert got == [
        (12, None, "1 fields, expected 7"),
        (14, None, "6 fields, expected 7"),
        (15, "数据时间 (data_at)", "not a time yyyy-MM-dd HH:mm:ss"),  # 2025-02-30
        (16, "测点状态 (status)", "not an integer"),
    ]
    assert "full-width '；'" in parsed.rejects[0].reason
    assert parsed.rejects[0].raw.startswith(f"{MINE}MN0001001；环境瓦斯；")
    assert {r.table for r in parsed.rejects} == {"raw_national42_cdss"}
    kept = parsed.raw["raw_national42_cdss"]
    assert kept["_record"].to_pylist() == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 17, 18]
    # a full-width ； inside free text is just text
    assert kept["location"][2].as_py() == "1201工作面T0；回风隅角"


def test_gb18030_file_falls_back_and_says_so():
    path = DATA / f"{MINE}_RYQY_20250502000000.txt"
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")
    parsed = PROFILE.parse(path, path.read_bytes())
    assert parsed.encoding == "gb18030"
    assert parsed.raw["raw_national42_ryqy"]["area_name"].to_pylist() == ["主井口", "主运输大巷", "1201综采工作面", "老空区密闭"]


def test_bom_and_newlines_between_records_are_tolerated():
    cddy = parse_file(f"{MINE}_CDDY_20250501000000.txt")
    assert cddy.status == "ok" and cddy.encoding == "utf-8" and not cddy.rejects and cddy.records == 6
    ryjz = parse_file(f"{MINE}_RYJZ_20250501000000.txt")  # CRLF after every record
    assert ryjz.records == 5 and not ryjz.rejects
    assert ryjz.raw["raw_national42_ryjz"]["station_code"][0].as_py() == f"{MINE}0001000001"


def test_missing_file_end_is_incomplete_and_not_read():
    parsed = parse_file(f"{MINE}_CDSS_20250501110000.txt")
    assert parsed.status == "incomplete"
    assert parsed.raw == {} and parsed.records == 0
    assert "||" in parsed.message and f"{MINE}_CDSS_20250501110000.txt" in parsed.message


def test_completed_later_it_reads():
    partial = (DATA / f"{MINE}_CDSS_20250501110000.txt").read_text(encoding="utf-8")
    parsed = parse_text(f"{MINE}_CDSS_20250501110000.txt", partial + "带秤;40;t;0;2025-05-01 10:30:00~||")
    assert parsed.status == "ok" and parsed.records == 2 and not parsed.rejects


def test_header_time_differs_from_name_time_header_wins():
    parsed = parse_file(f"{MINE}_RYSS_20250501080500.txt")
    assert parsed.uploaded_at == "2025-05-01 08:05:02"
    assert "differs from the file name" in parsed.message
    assert set(parsed.raw["raw_national42_ryss"]["_uploaded_at"].to_pylist()) == {datetime(2025, 5, 1, 8, 5, 2)}


def test_ryss_flag2_without_exit_time_and_bad_trajectory_are_rejected():
    parsed = parse_file(f"{MINE}_RYSS_20250501082000.txt")
    assert [(r.record, r.field) for r in parsed.rejects] == [(3, "出井时刻 (up_at)"), (4, "行进轨迹 (trajectory)")]
    assert "出入井标志 is 2" in parsed.rejects[0].reason


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("140100000002;示范煤矿;2025-05-01 00:00:00~井口区域;14010000000100001;50;主井口~||", "differs from the file name"),
        (f"{MINE};示范煤矿;2025/05/01 00:00:00~井口区域;{MINE}0001;50;主井口~||", "数据上传时间"),
        (f"{MINE}；示范煤矿；2025-05-01 00:00:00~井口区域;{MINE}0001;50;主井口~||", "1 fields, expected 3"),
        ("||", "missing"),
    ],
)
def test_bad_header_makes_the_file_an_error_naming_it(text, fragment):
    name = f"{MINE}_RYQY_20250501000000.txt"
    parsed = parse_text(name, text)
    assert parsed.status == "error"
    assert fragment in parsed.message and name in parsed.message and "header" in parsed.message
    assert parsed.raw == {}


def test_ryxx_and_cddy_headers_have_their_own_fields():
    ok = parse_file(f"{MINE}_RYXX_20250501060000.txt")
    assert ok.status == "ok" and ok.records == 4
    short = parse_text(f"{MINE}_RYXX_20250501060000.txt", f"{MINE};示范煤矿;2025-05-01 06:00:00~||")
    assert short.status == "error" and "expected 8" in short.message


def test_record_cut_short_before_file_end_is_rejected():
    text = f"{MINE};示范煤矿;2025-05-01 00:00:00~井口区域;{MINE}0001;50;主井口~其它区域;{MINE}0002;100;大巷||"
    parsed = parse_text(f"{MINE}_RYQY_20250501000000.txt", text)
    assert parsed.status == "ok" and parsed.records == 2
    assert parsed.raw["raw_national42_ryqy"].num_rows == 1
    assert [(r.record, r.reason) for r in parsed.rejects] == [(2, "record not ended by '~'")]


def test_required_and_boolean_fields():
    text = (
        f"{MINE};示范煤矿;300;KJ128A;人员定位系统;某某科技;2027-12-31;2025-05-01 06:00:00~"
        ";无卡;;;;;;0;0~"
        f"{MINE}00001;张三;;;;;;是;否~"
        f"{MINE}00002;李四;;;;;;2;0~||"
    )
    parsed = parse_text(f"{MINE}_RYXX_20250501060000.txt", text)
    assert [(r.record, r.field, r.reason) for r in parsed.rejects] == [
        (1, "人员卡编码 (card_code)", "required field is empty"),
        (3, "是否矿领导 (is_leader)", "not 0/1 (是/否)"),
    ]
    assert parsed.raw["raw_national42_ryxx"].select(["is_leader", "is_special"]).to_pylist() == [
        {"is_leader": 1, "is_special": 0}
    ]


def test_damaged_bytes_reject_only_their_record():
    good = (DATA / f"{MINE}_CDSS_20250501100000.txt").read_bytes()
    damaged = bytearray(good)
    at = good.index("断电".encode()) + 1
    damaged[at] = 0xFF  # inside record 1
    parsed = PROFILE.parse(Path(f"{MINE}_CDSS_20250501100000.txt"), bytes(damaged))
    assert parsed.status == "ok" and parsed.encoding == "utf-8"
    assert [r.record for r in parsed.rejects] == [1]
    assert "undecodable" in parsed.message
    assert parsed.raw["raw_national42_cdss"]["_record"].to_pylist() == [2, 3, 4]


def test_parse_never_raises_on_garbage():
    for data in (b"", b"\x00\xff\xfe", b"||", b"~~~||", "；；；~||".encode(), bytes(range(256)) + b"||"):
        parsed = PROFILE.parse(Path(f"{MINE}_CDSS_20250501100000.txt"), data)
        assert parsed.status in ("error", "incomplete")
    assert PROFILE.parse(Path(f"{MINE}_XXXX_20250501100000.txt"), b"||").status == "error"
    assert PROFILE.parse(Path(f"{MINE}_CDSS_20251301100000.txt"), b"||").status == "error"


def test_empty_file_of_records_is_ok_with_nothing():
    parsed = parse_text(f"{MINE}_RYSS_20250501080000.txt", f"{MINE};示范煤矿;2025-05-01 08:00:00~||")
    assert parsed.status == "ok" and parsed.records == 0
    assert parsed.raw["raw_national42_ryss"].num_rows == 0
    assert isinstance(parsed.raw["raw_national42_ryss"], pa.Table)


def test_small_and_large_file_paths_agree_on_every_hand_written_file():
    for path in sorted(DATA.glob("*.txt")):
        kind = path.name.split("_")[1]
        decoded = decode(path.read_bytes())
        split = split_records(decoded.utf8, FRAMING)
        records = list(split.records)
        small = parse_records(records, list(RECORDS[kind]), FRAMING, "t")
        large = parse_records(pa.array(records, pa.string()), list(RECORDS[kind]), FRAMING, "t")
        assert small.table.equals(large.table), path.name
        assert small.numbers.tolist() == large.numbers.tolist() and small.rejects == large.rejects, path.name


def assert_same_result(one, many) -> None:
    """Two results of the same file are equal in every part."""
    assert (one.status, one.message, one.encoding, one.mine_code, one.kind, one.uploaded_at, one.records) == (
        many.status, many.message, many.encoding, many.mine_code, many.kind, many.uploaded_at, many.records
    )
    assert one.rejects == many.rejects
    assert one.raw.keys() == many.raw.keys()
    for name, table in one.raw.items():
        assert table.equals(many.raw[name]), name


def test_parse_many_reads_each_file_as_parse_does():
    # small files of one type are parsed together: numbers, rejects and lineage must still be each file's
    files = [(path, path.read_bytes()) for path in sorted(DATA.glob("*.txt"))]
    files += [
        (Path(f"{MINE}_RYSS_20250501083000.txt"), f"{MINE};示范煤矿;2025-05-01 08:30:00~||".encode()),
        (Path(f"{MINE}_CDSS_20250501100000.txt"), b"\x00\xff||"),
        (Path(f"{MINE}_RYSS_20250501083500.txt"), f"{MINE};示范煤矿;2025-05-01 08:35:00~a;b".encode()),
        files[-1],  # the same file twice in one batch
    ]
    for (path, data), many in zip(files, PROFILE.parse_many(files), strict=True):
        assert_same_result(PROFILE.parse(path, data), many)
