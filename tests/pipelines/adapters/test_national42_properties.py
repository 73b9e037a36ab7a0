"""Property tests: corrupting a valid national file never crashes parse and never loses an intact record."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_national42_parse import assert_same_result

from pipelines.adapters.national42 import FRAMING, RECORDS, National42
from pipelines.adapters.text import decode, parse_records, split_records

MINE = "140100000001"
PROFILE = National42()
SEPARATORS = [b";", b"~", "；".encode(), b"||", b"\r\n", b"&", b","]


def cdss_file() -> tuple[str, str, str, list[str], list[tuple]]:
    """A valid CDSS file: name, header, text, the data records and each record's key."""
    header = f"{MINE};示范煤矿;2025-05-01 09:00:00"
    records, keys = [], []
    for i in range(24):
        point = f"{MINE}MN000100{i % 4}"
        at = f"2025-05-01 08:{i * 2:02d}:00"
        records.append(f"{point};环境瓦斯;1201工作面回风隅角{i};0.{i + 10};%CH4;{i % 3};{at}")
        keys.append((point, at))
    return _file("CDSS", header, records, keys)


def ryss_file() -> tuple[str, str, str, list[str], list[tuple]]:
    """A valid RYSS snapshot with trajectories (the `,` and `&` sub-separators)."""
    header = f"{MINE};示范煤矿;2025-05-01 08:10:00"
    area, s1, s2 = f"{MINE}0002", f"{MINE}0002000001", f"{MINE}0002000002"
    records, keys = [], []
    for i in range(16):
        card = f"{MINE}{i:05d}"
        entered = f"2025-05-01 08:0{i % 10}:00"
        track = f"{s1}&{entered},{s2}&2025-05-01 08:09:{i:02d}"
        records.append(
            f"{card};工人{i};1;2025-05-01 07:{i + 10}:00;;{area};{entered};{s2};2025-05-01 08:09:{i:02d};"
            f"正常班;{i}.5;正常;0;{i % 2};{track}"
        )
        keys.append((card, entered))
    return _file("RYSS", header, records, keys)


def _file(kind: str, header: str, records: list[str], keys: list[tuple]) -> tuple[str, str, str, list[str], list[tuple]]:
    name = f"{MINE}_{kind}_20250501090000.txt"
    text = header + "~" + "".join(r + "~" for r in records) + "||"
    return name, header, text, records, keys


FILES = {"CDSS": cdss_file(), "RYSS": ryss_file()}
KEY_COLUMNS = {"CDSS": ("point_code", "data_at"), "RYSS": ("card_code", "area_entered_at")}


@st.composite
def corruptions(draw, size: int) -> list[tuple]:
    """One to three edits: byte flips, truncation, inserted separators, a deleted `~`."""
    ops = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["flip", "flip", "insert", "insert", "delete_tilde", "truncate"]))
        position = draw(st.integers(0, size))
        if kind == "flip":
            ops.append((kind, position, draw(st.integers(0, 255))))
        elif kind == "insert":
            ops.append((kind, position, draw(st.sampled_from(SEPARATORS))))
        else:
            ops.append((kind, position, None))
    return ops


def corrupt(data: bytes, ops: list[tuple]) -> bytes:
    out = bytearray(data)
    for kind, position, arg in ops:
        position = min(position, len(out))
        if kind == "flip" and position < len(out):
            out[position] = arg
        elif kind == "truncate":
            del out[position:]
        elif kind == "insert":
            out[position:position] = arg
        elif kind == "delete_tilde":
            tildes = [i for i, b in enumerate(out) if b == ord("~")]
            if tildes:
                del out[tildes[position % len(tildes)]]
    return bytes(out)


def keys_out(parsed, kind: str) -> set[tuple]:
    if not parsed.raw:
        return set()
    table = next(iter(parsed.raw.values()))
    first, second = KEY_COLUMNS[kind]
    return {
        (a, b.strftime("%Y-%m-%d %H:%M:%S") if b else None)
        for a, b in zip(table[first].to_pylist(), table[second].to_pylist(), strict=True)
    }


def assert_paths_agree(kind: str, data: bytes) -> None:
    """The small-file (Python) and large-file (Arrow) record paths give identical results."""
    decoded = decode(data)
    split = split_records(decoded.utf8, FRAMING)
    records = split.records if isinstance(split.records, list) else split.records.to_pylist()
    fields = list(RECORDS[kind])
    small = parse_records(list(records), fields, FRAMING, "t", damaged=decoded.invalid > 0)
    large = parse_records(pa.array(records, pa.string()), fields, FRAMING, "t", damaged=decoded.invalid > 0)
    assert small.table.equals(large.table)
    assert small.numbers.tolist() == large.numbers.tolist()
    assert small.rejects == large.rejects


def check(kind: str, encoding: str, ops: list[tuple]) -> None:
    name, header, text, records, keys = FILES[kind]
    data = text.encode(encoding)
    bad = corrupt(data, ops)
    parsed = PROFILE.parse(Path(name), bad)  # must not raise
    assert_paths_agree(kind, bad)
    # read in a batch between intact copies, the damaged file gives the same result as alone
    clean = text.encode(encoding)
    batch = PROFILE.parse_many([(Path(name), clean), (Path(name), bad), (Path(name), clean)])
    assert_same_result(parsed, batch[1])
    assert_same_result(PROFILE.parse(Path(name), clean), batch[2])
    assert parsed.status in ("ok", "incomplete", "error")
    if parsed.status == "ok":
        assert parsed.records == sum(t.num_rows for t in parsed.raw.values()) + len(parsed.rejects)
        assert all(r.record is not None and 1 <= r.record <= parsed.records for r in parsed.rejects)
    if not bad.rstrip().endswith(b"||"):
        assert parsed.status == "incomplete"
        return
    head = header.encode(encoding) + b"~"
    if not bad.startswith(head):
        return  # a damaged header makes the whole file an error, reported as such
    assert parsed.status == "ok", parsed.message
    found = keys_out(parsed, kind)
    # GB18030 does not resynchronise after a damaged byte: only records before the damage are certain
    prefix = next((i for i, (x, y) in enumerate(zip(data, bad, strict=False)) if x != y), min(len(data), len(bad)))
    for record, key in zip(records, keys, strict=True):
        framed = b"~" + record.encode(encoding) + b"~"
        at = bad.find(framed)
        if at < 0 or (encoding == "gb18030" and at + len(framed) > prefix):
            continue
        assert key in found, (record, parsed.rejects[:3])


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(list(FILES)), ops=st.data())
def test_corrupted_utf8_file_keeps_every_intact_record(kind, ops):
    size = len(FILES[kind][2].encode("utf-8"))
    check(kind, "utf-8", ops.draw(corruptions(size)))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(list(FILES)), ops=st.data())
def test_corrupted_gb18030_file_never_crashes_and_keeps_records_before_the_damage(kind, ops):
    size = len(FILES[kind][2].encode("gb18030"))
    check(kind, "gb18030", ops.draw(corruptions(size)))


def test_uncorrupted_files_yield_every_record():
    for kind, (name, _header, text, _records, keys) in FILES.items():
        for encoding in ("utf-8", "gb18030"):
            parsed = PROFILE.parse(Path(name), text.encode(encoding))
            assert parsed.encoding == encoding and not parsed.rejects
            assert keys_out(parsed, kind) == set(keys)
