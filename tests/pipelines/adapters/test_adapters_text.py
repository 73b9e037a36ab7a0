"""The shared text-file reading helpers: decoding, record splitting, typed fields, other separators."""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa
import pytest

from pipelines.adapters.text import BOOL, SMALL_FILE, Field, Framing, decode, parse_records, split_records
from pipelines.schema import FLOAT, INT, TEXT, TIMESTAMP

NATIONAL = Framing(";", "~", "||")


def same(a, b) -> bool:
    """Two parse results hold the same rows, record numbers and rejects."""
    return a.table.equals(b.table) and a.numbers.tolist() == b.numbers.tolist() and a.rejects == b.rejects


def test_decode_prefers_strict_utf8_and_strips_one_bom():
    assert decode("煤矿;~||".encode()).encoding == "utf-8"
    got = decode(b"\xef\xbb\xbf" + "煤矿".encode())
    assert (got.utf8.decode(), got.encoding, got.invalid) == ("煤矿", "utf-8", 0)


def test_decode_falls_back_to_gb18030():
    got = decode("示范煤矿;断电~||".encode("gb18030"))
    assert (got.utf8.decode(), got.encoding, got.invalid) == ("示范煤矿;断电~||", "gb18030", 0)


def test_decode_keeps_a_damaged_utf8_file_utf8_so_terminators_survive():
    data = bytearray("示范煤矿;断电~复电;开~||".encode())
    data[1] = 0x41  # break the first character
    got = decode(bytes(data))
    assert got.encoding == "utf-8" and got.invalid >= 1
    assert got.utf8.decode().endswith("断电~复电;开~||")


def test_split_records_trims_whitespace_and_drops_empty_records():
    split = split_records(b"h1;h2~\r\n a;b~\n\n~c;d~ ||\n", NATIONAL)
    assert split.complete and split.header == "h1;h2" and split.unterminated is None
    assert split.records == ["a;b", "c;d"]


def test_split_records_of_a_large_file_gives_the_same_records_in_arrow():
    records = [f"P{i};{i}.5; 煤矿{i} " for i in range(SMALL_FILE // 10)]
    text = "h1;h2~" + "~\n".join(records) + "~||"
    split = split_records(text.encode(), NATIONAL)
    assert isinstance(split.records, pa.Array)
    assert split.header == "h1;h2" and split.records.to_pylist() == [r.strip() for r in records]


def test_split_records_without_file_end_is_incomplete():
    assert not split_records(b"h~a;b~", NATIONAL).complete
    assert split_records(b"h~a;b||", NATIONAL).unterminated == "a;b"


@pytest.mark.parametrize("form", [list, pa.array], ids=["small-python", "large-arrow"])
def test_parse_records_types_every_kind_and_reports_the_first_bad_field(form):
    fields = [
        Field("编码", "code", TEXT, required=True),
        Field("值", "value", FLOAT),
        Field("状态", "status", INT),
        Field("时间", "at", TIMESTAMP),
        Field("标志", "flag", BOOL),
    ]
    records = form([
        "P1; 1.5 ;3;2025-05-01 08:00:00;是",
        "P2;;;;",
        "P3;1e3;-2;2025-02-30 08:00:00;0",  # no 30 February
        ";x;y;z;w",  # the first failing field decides the reason
        "P5;1,5;1;2025-05-01 08:00:00;1",
        "P6;.5;1;2025-05-01 8:00:00;1",
        "P7;nan;1;;1",
        "P8;1;0x10;;1",  # Arrow's cast would read hexadecimal
        "P9;1;1;2025-05-01 08:00;1",  # no seconds
        "P10;1e-400;1;2025-05-01 24:00:00;1",
    ])
    out = parse_records(records, fields, NATIONAL, "raw_t")
    assert out.table.to_pylist() == [
        {"code": "P1", "value": 1.5, "status": 3, "at": datetime(2025, 5, 1, 8), "flag": 1},
        {"code": "P2", "value": None, "status": None, "at": None, "flag": None},
    ]
    assert out.numbers.tolist() == [1, 2]
    assert [(r.record, r.field, r.reason) for r in out.rejects] == [
        (3, "时间 (at)", "not a time yyyy-MM-dd HH:mm:ss"),
        (4, "编码 (code)", "required field is empty"),
        (5, "值 (value)", "not a number"),
        (6, "时间 (at)", "not a time yyyy-MM-dd HH:mm:ss"),
        (7, "值 (value)", "not a number"),
        (8, "状态 (status)", "not an integer"),
        (9, "时间 (at)", "not a time yyyy-MM-dd HH:mm:ss"),
        (10, "时间 (at)", "not a time yyyy-MM-dd HH:mm:ss"),
    ]
    assert out.rejects[0].raw == "P3;1e3;-2;2025-02-30 08:00:00;0" and out.rejects[0].table == "raw_t"


def test_another_profile_is_only_other_separators():
    # the regional `^`/`]]]` family: same helpers, different framing
    regional = Framing(field_sep="^", record_end="~", file_end="]]]")
    split = split_records("140100000001^示范煤矿^2025-05-01 08:00:00~P1^0.5~P2^0.7^x~]]]".encode(), regional)
    assert split.complete and split.header.split("^")[0] == "140100000001"
    out = parse_records(split.records, [Field("编码", "code"), Field("值", "value", FLOAT)], regional, "raw_x")
    assert same(out, parse_records(pa.array(split.records), [Field("编码", "code"), Field("值", "value", FLOAT)], regional, "raw_x"))
    assert out.table.to_pylist() == [{"code": "P1", "value": 0.5}]
    assert [(r.record, r.reason) for r in out.rejects] == [(2, "3 fields, expected 2")]
