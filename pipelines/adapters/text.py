"""Shared reading of delimited text upload files: decoding, record/field splitting and typed field parsing."""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.adapters.base import Reject
from pipelines.schema import FLOAT, INT, TEXT, TIMESTAMP

BOOL = "bool"  # 0/1 flag written as a digit or as 是/否
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"
TIMESTAMP_RE = r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$"
FLOAT_RE = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
INT_RE = r"^-?\d{1,18}$"
ASCII_SPACE = " \t\n\r\x0b\x0c"  # what Arrow's ascii_trim_whitespace trims
SMALL_FILE = 20_000  # bytes: below this, plain Python beats Arrow's fixed cost per call (measured crossover)
BOOL_VALUES = {"0": 0, "1": 1, "否": 0, "是": 1}
BOM = b"\xef\xbb\xbf"
REPLACEMENT = "\ufffd"


@dataclass(frozen=True)
class Framing:
    """The separators of one file family (the 42号 files: `;` fields, `~` records, `||` end)."""

    field_sep: str = ";"
    record_end: str = "~"
    file_end: str = "||"


@dataclass(frozen=True)
class Field:
    """One field of a record: its name in the specification, the raw column it fills, and its checks."""

    label: str  # the field's name in the specification, e.g. 数据时间
    column: str  # the raw column (the canonical column name where there is one)
    kind: str = TEXT
    required: bool = False
    pattern: str | None = None  # a regex the non-empty text must match
    allowed: tuple | None = None  # the typed values allowed
    expect: str | None = None  # the pattern or allowed values in words, for the reject reason

    @property
    def title(self) -> str:
        return f"{self.label} ({self.column})"


@dataclass
class Decoded:
    """A file's text and how it was decoded."""

    utf8: bytes  # the text as UTF-8 (the file's own bytes when it was valid UTF-8)
    encoding: str  # "utf-8" or "gb18030"
    invalid: int = 0  # byte sequences that neither encoding could read (replaced by U+FFFD)


@dataclass
class Split:
    """A file cut into its header and data records."""

    complete: bool  # the file-end marker is present
    header: str | None
    records: pa.Array | list[str]  # data records, whitespace-trimmed, empty ones dropped (a list when small)
    unterminated: str | None = None  # text between the last record end and the file end


@dataclass
class Records:
    """The typed rows of the well-formed records, with their 1-based numbers, and the rejects."""

    table: pa.Table
    numbers: np.ndarray
    rejects: list[Reject]


def decode(data: bytes) -> Decoded:
    """Strict UTF-8 (one BOM tolerated), else GB18030; a damaged file keeps its good records readable."""
    if data.startswith(BOM):
        data = data[len(BOM) :]
    try:
        data.decode("utf-8")
        return Decoded(data, "utf-8")
    except UnicodeDecodeError:
        pass
    # A UTF-8 file with a few damaged bytes is still UTF-8: GB18030 would pair its bytes wrongly and
    # could swallow the ASCII terminators. GB18030 text almost never forms valid UTF-8 sequences.
    loose = data.decode("utf-8", errors="replace")
    invalid = loose.count(REPLACEMENT)
    multibyte = len(loose) - len(loose.encode("ascii", errors="ignore")) - invalid
    if multibyte >= 2 * invalid:
        return Decoded(loose.encode("utf-8"), "utf-8", invalid)
    try:
        return Decoded(data.decode("gb18030").encode("utf-8"), "gb18030")
    except UnicodeDecodeError:
        loose = data.decode("gb18030", errors="replace")
        return Decoded(loose.encode("utf-8"), "gb18030", loose.count(REPLACEMENT))


def split_records(utf8: bytes, framing: Framing) -> Split:
    """Cut UTF-8 text at record ends; the first record is the header; no file-end marker means incomplete.

    Splitting UTF-8 bytes on ASCII separators is exact: ASCII bytes never occur inside a multibyte
    character (GB18030 text is transcoded first, where `~` and `|` can be the second byte of one).
    """
    body = utf8.rstrip()
    end = framing.file_end.encode("utf-8")
    if not body.endswith(end):
        return Split(False, None, [])
    body = body[: -len(end)]
    if len(body) < SMALL_FILE:
        segments = [t.strip(ASCII_SPACE) for t in body.decode("utf-8").split(framing.record_end)]
        unterminated = segments.pop() or None  # after the last record end: never terminated
        segments = [t for t in segments if t]
        return Split(True, segments[0] if segments else None, segments[1:], unterminated)
    whole = pa.LargeStringArray.from_buffers(1, pa.py_buffer(np.array([0, len(body)], np.int64)), pa.py_buffer(body))
    segments = pc.ascii_trim_whitespace(pc.split_pattern(whole, framing.record_end).flatten())
    unterminated = segments[len(segments) - 1].as_py() or None
    segments = segments.slice(0, len(segments) - 1)
    segments = segments.filter(pc.not_equal(segments, ""))
    if len(segments) == 0:
        return Split(True, None, pa.array([], pa.string()), unterminated)
    return Split(True, segments[0].as_py(), segments.slice(1).cast(pa.string()), unterminated)


def _cast_all(values: pa.Array, to: pa.DataType) -> pa.Array | None:
    """Arrow's fast whole-column cast, or None when some value does not convert."""
    try:
        return pc.cast(values, to)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


# Each converter takes the text values and their presence mask and returns the typed values and the
# mask of present values that are invalid. The fast path is one Arrow cast of the whole column; the
# slower per-value checks only run when that cast fails, i.e. in files that hold a bad value.


def _float(values: pa.Array, present: np.ndarray) -> tuple[pa.Array, np.ndarray]:
    typed = _cast_all(values, pa.float64())
    if typed is None:
        ok = pc.match_substring_regex(values, FLOAT_RE)
        typed = pc.cast(pc.if_else(ok, values, pa.scalar(None, pa.string())), pa.float64())
    # Arrow also reads nan/inf (and nulls come out as nan here): the contract's numbers are finite
    return typed, present & ~np.isfinite(typed.to_numpy(zero_copy_only=False))


def _int(values: pa.Array, present: np.ndarray) -> tuple[pa.Array, np.ndarray]:
    typed = _cast_all(values, pa.int64())
    if typed is not None:
        # Arrow's cast also reads hexadecimal and 19 digits: keep to INT_RE (cheap kernels, no regex)
        digits = pc.utf8_ltrim(values, characters="-")
        ok = _to_numpy(pc.utf8_is_digit(digits)) & (pc.utf8_length(digits).to_numpy(zero_copy_only=False) <= 18)
        if not (present & ~ok).any():
            return typed, np.zeros_like(present)
    ok = pc.match_substring_regex(values, INT_RE)
    typed = pc.cast(pc.if_else(ok, values, pa.scalar(None, pa.string())), pa.int64())
    return typed, present & ~_to_numpy(ok)


def _bool(values: pa.Array, present: np.ndarray) -> tuple[pa.Array, np.ndarray]:
    # a dict lookup beats index_in's per-call hash table on the few hundred values of a file
    typed = pa.array([BOOL_VALUES.get(v) for v in values.to_pylist()], pa.int64())
    return typed, present & ~pc.is_valid(typed).to_numpy(zero_copy_only=False)


def _timestamp(values: pa.Array, present: np.ndarray) -> tuple[pa.Array, np.ndarray]:
    """yyyy-MM-dd HH:mm:ss (the ISO `T` separator is read too), real calendar dates."""
    shaped = pc.utf8_length(values).to_numpy(zero_copy_only=False) == len("2025-01-01 00:00:00")
    typed = _cast_all(values, pa.timestamp("us"))  # ISO 8601 (rejects 02-30), fast
    if typed is not None:
        return typed, present & ~shaped
    values = pc.replace_substring(values, "T", " ", max_replacements=1)
    parsed = pc.strptime(values, format=TIMESTAMP_FORMAT, unit="s", error_is_null=True)
    digits = _to_numpy(pc.match_substring_regex(values, TIMESTAMP_RE))
    # strptime rolls 02-30 over into March: the day it parsed must be the day written
    written = pc.if_else(pa.array(digits), pc.utf8_slice_codeunits(values, 8, 10), pa.scalar(None, pa.string()))
    ok = _to_numpy(pc.equal(pc.day(parsed), pc.cast(written, pa.int64()))) & shaped & digits
    typed = pc.cast(pc.if_else(pa.array(ok), parsed, pa.scalar(None, parsed.type)), pa.timestamp("us"))
    return typed, present & ~ok


REASONS = {
    FLOAT: "not a number",
    INT: "not an integer",
    BOOL: "not 0/1 (是/否)",
    TIMESTAMP: "not a time yyyy-MM-dd HH:mm:ss",
}
CONVERTERS = {FLOAT: _float, INT: _int, BOOL: _bool, TIMESTAMP: _timestamp}

def _one_of(values: pa.Array, allowed: tuple) -> np.ndarray:
    """Which values are among `allowed` (np.isin costs far more on a few hundred values)."""
    number = values.to_numpy(zero_copy_only=False)
    return np.logical_or.reduce([number == a for a in allowed])


def _to_numpy(mask: pa.Array) -> np.ndarray:
    """A boolean mask as numpy, null = False."""
    if mask.null_count:
        mask = pc.fill_null(mask, False)
    return mask.to_numpy(zero_copy_only=False)


def _layout(fields: list[Field]) -> list[int]:
    """Field order of the flat value array: by kind, then by position."""
    return sorted(range(len(fields)), key=lambda j: (fields[j].kind, j))


def _flat_from_arrow(records: pa.Array, fields: tuple[Field, ...] | list[Field], framing: Framing, table: str, damaged: bool):
    """Large files: split and lay out the values with Arrow kernels."""
    n, width = len(records), len(fields)
    rejects: list[Reject] = []
    parts = pc.split_pattern(records, framing.field_sep)
    counts = pc.list_value_length(parts).to_numpy(zero_copy_only=False)
    keep = counts == width
    hit = _to_numpy(pc.match_substring(records, REPLACEMENT)) if damaged else np.zeros(n, bool)
    for i in np.flatnonzero(~keep | hit):
        raw = records[int(i)].as_py()
        reason = _count_reason(raw, int(counts[i]), width) if counts[i] != width else "undecodable bytes"
        rejects.append(Reject(int(i) + 1, None, reason, raw, table))
    keep &= ~hit
    numbers = np.flatnonzero(keep).astype(np.int64) + 1
    if len(numbers) < n:
        parts = parts.filter(pa.array(keep))
    rows = len(parts)
    index = (np.asarray(_layout(fields), dtype=np.int64)[:, None] + np.arange(rows, dtype=np.int64)[None, :] * width).ravel()
    flat = pc.ascii_trim_whitespace(parts.flatten().take(pa.array(index)))
    flat = pc.if_else(pc.equal(flat, ""), pa.scalar(None, pa.string()), flat)
    return flat, numbers, rejects


def parse_records(records: pa.Array | list[str], fields: tuple[Field, ...] | list[Field], framing: Framing, table: str, damaged: bool = False) -> Records:
    """Split each record into fields, check count, presence and type; one bad record never stops the rest.

    `damaged`: the text holds U+FFFD from undecodable bytes; the records holding one are rejected.
    Records come as an Arrow array (large files) or a Python list (small files, read value by value
    in Python: Arrow's fixed cost per call would dominate the many small 5-minute RYSS snapshots).
    Both paths apply the same rules and give the same results (a property test holds them to it).
    Arrow path: all values are laid out field by field, fields of one kind next to each other, so
    each kind is converted in one go and every column is a zero-copy slice.
    """
    plan = _plan_for(fields)
    if isinstance(records, list):
        return _parse_small(records, fields, plan, framing, table, damaged)
    flat, numbers, rejects = _flat_from_arrow(records, fields, framing, table, damaged)
    width, rows = len(fields), len(numbers)
    # matrices in layout order (row k = field plan.order[k]): present, and present-but-invalid
    present = pc.is_valid(flat).to_numpy(zero_copy_only=False).reshape(width, rows)
    invalid = np.zeros((width, rows), dtype=bool)
    blocks: list[pa.Array] = []
    for kind, start, stop in plan.blocks:
        block = flat.slice(start * rows, (stop - start) * rows)
        if kind != TEXT:
            block, bad = CONVERTERS[kind](block, present[start:stop].ravel())
            invalid[start:stop] = bad.reshape(stop - start, rows)
        blocks.append(block)
    columns = [blocks[b].slice(k * rows, rows) for b, k in plan.slices]  # layout order
    for k in plan.checked:
        f = fields[plan.order[k]]
        if f.allowed is not None:
            invalid[k] |= present[k] & ~_one_of(columns[k], f.allowed)
        if f.pattern is not None and present[k].any():
            invalid[k] |= present[k] & ~_to_numpy(pc.match_substring_regex(columns[k], f.pattern))
    # the first failing field in file order decides a record's reason: code 2j missing, 2j+1 invalid
    codes = np.where(present, np.where(invalid, plan.invalid_codes, plan.none), plan.missing_codes)
    first_bad = codes.min(axis=0) if rows else np.zeros(0, dtype=np.int64)
    out = pa.Table.from_arrays([columns[k] for k in plan.position], names=[f.column for f in fields])
    bad_rows = first_bad < 2 * width
    if bad_rows.any():
        for i in np.flatnonzero(bad_rows):
            j, invalid_value = divmod(int(first_bad[i]), 2)
            reason = plan.reasons[j] if invalid_value else "required field is empty"
            number = int(numbers[i])
            rejects.append(Reject(number, fields[j].title, reason, record_text(records, number - 1), table))
        out, numbers = out.filter(pa.array(~bad_rows)), numbers[~bad_rows]
    rejects.sort(key=lambda r: r.record or 0)
    return Records(out, numbers, rejects)


@dataclass(frozen=True)
class _Plan:
    """How a record type's values are laid out and checked, computed once per type."""

    order: tuple[int, ...]  # layout position -> field index
    position: tuple[int, ...]  # field index -> layout position
    blocks: tuple[tuple[str, int, int], ...]  # (kind, first, last+1 layout position)
    slices: tuple[tuple[int, int], ...]  # layout position -> (block, index within block)
    checked: tuple[int, ...]  # layout positions of fields with allowed values or a pattern
    reasons: tuple[str, ...]  # field index -> reason for an invalid value
    none: int
    missing_codes: np.ndarray  # (width, 1): 2j for required fields, `none` for optional ones
    invalid_codes: np.ndarray  # (width, 1): 2j+1


_PLANS: dict[int, tuple[tuple[Field, ...], _Plan]] = {}


def _plan_for(fields: tuple[Field, ...] | list[Field]) -> _Plan:
    """The plan of a record type, cached by the identity of its (immutable) field tuple."""
    if isinstance(fields, tuple):
        cached = _PLANS.get(id(fields))
        if cached is not None and cached[0] is fields:
            return cached[1]
        _PLANS[id(fields)] = (fields, _plan(fields))
        return _PLANS[id(fields)][1]
    return _plan(tuple(fields))


@functools.cache
def _plan(fields: tuple[Field, ...]) -> _Plan:
    width = len(fields)
    order = tuple(_layout(list(fields)))
    blocks, slices = [], []
    for k, j in enumerate(order):
        if not blocks or blocks[-1][0] != fields[j].kind:
            blocks.append([fields[j].kind, k, k])
        blocks[-1][2] = k + 1
        slices.append((len(blocks) - 1, k - blocks[-1][1]))
    ordered = [fields[j] for j in order]
    none = 2 * width
    return _Plan(
        order=order,
        position=tuple(order.index(j) for j in range(width)),
        blocks=tuple(tuple(b) for b in blocks),
        slices=tuple(slices),
        checked=tuple(k for k, f in enumerate(ordered) if f.allowed is not None or f.pattern is not None),
        reasons=tuple(f"not {f.expect or f.pattern}" if (f.expect or f.pattern) else REASONS.get(f.kind, "") for f in fields),
        none=none,
        missing_codes=np.array([[2 * j if fields[j].required else none] for j in order], dtype=np.int64),
        invalid_codes=np.array([[2 * j + 1] for j in order], dtype=np.int64),
    )


# The value rules of the Arrow converters, value by value, for small files.
_FLOAT_PY = re.compile(FLOAT_RE, re.ASCII)
_INT_PY = re.compile(INT_RE, re.ASCII)


def _py_float(v: str) -> float | None:
    if _FLOAT_PY.match(v):
        number = float(v)
        if math.isfinite(number):
            return number
    return None


def _py_int(v: str) -> int | None:
    return int(v) if _INT_PY.match(v) else None


def _py_timestamp(v: str) -> datetime | None:
    if len(v) == 19 and v[4] == "-" and v[7] == "-" and v[10] in " T" and v[13] == ":" and v[16] == ":":
        try:
            return datetime.fromisoformat(v)
        except ValueError:
            return None
    return None


PY_CONVERTERS = {FLOAT: _py_float, INT: _py_int, BOOL: BOOL_VALUES.get, TIMESTAMP: _py_timestamp}
ARROW_TYPES = {TEXT: pa.string(), FLOAT: pa.float64(), INT: pa.int64(), BOOL: pa.int64(), TIMESTAMP: pa.timestamp("us")}


def _parse_small(
    records: list[str], fields: tuple[Field, ...] | list[Field], plan: _Plan, framing: Framing, table: str, damaged: bool
) -> Records:
    """parse_records for a list of records: str methods and one comprehension per field and check."""
    width = len(fields)
    rejects: list[Reject] = []
    split = [r.split(framing.field_sep) for r in records]
    good = [i for i, values in enumerate(split) if len(values) == width and not (damaged and REPLACEMENT in records[i])]
    if len(good) < len(split):
        kept = set(good)
        for i in range(len(split)):
            if i not in kept:
                raw, count = records[i], len(split[i])
                reason = _count_reason(raw, count, width) if count != width else "undecodable bytes"
                rejects.append(Reject(i + 1, None, reason, raw, table))
        split = [split[i] for i in good]
    rows = len(split)
    texts = list(zip(*split, strict=True)) if rows else [()] * width
    first_bad = [plan.none] * rows
    arrays = []
    for j, f in enumerate(fields):
        column = [v.strip(ASCII_SPACE) or None for v in texts[j]]
        missing = column.count(None)
        typed = column if f.kind == TEXT else [None if v is None else PY_CONVERTERS[f.kind](v) for v in column]
        bad: list[tuple[int, int]] = []  # (row, code); the lists are scanned only when C-level counts say so
        if f.required and missing:
            bad += [(i, 2 * j) for i, v in enumerate(column) if v is None]
        if typed.count(None) > missing:
            bad += [(i, 2 * j + 1) for i, (v, t) in enumerate(zip(column, typed, strict=True)) if t is None and v is not None]
        if f.allowed is not None:
            bad += [(i, 2 * j + 1) for i, t in enumerate(typed) if t is not None and t not in f.allowed]
        if f.pattern is not None:
            match = _pattern(f.pattern).match
            bad += [(i, 2 * j + 1) for i, v in enumerate(column) if v is not None and not match(v)]
        for i, code in bad:
            first_bad[i] = min(first_bad[i], code)
        arrays.append(typed)
    numbers = np.asarray(good, dtype=np.int64) + 1
    keep = [i for i, code in enumerate(first_bad) if code == plan.none]
    if len(keep) < rows:
        for i, code in enumerate(first_bad):
            if code != plan.none:
                j, invalid_value = divmod(code, 2)
                reason = plan.reasons[j] if invalid_value else "required field is empty"
                number = int(numbers[i])
                rejects.append(Reject(number, fields[j].title, reason, records[number - 1], table))
        arrays = [[typed[i] for i in keep] for typed in arrays]
        numbers = numbers[keep]
        rejects.sort(key=lambda r: r.record or 0)
    # one Arrow array per kind (each pa.array call has a fixed cost), columns are slices of it
    rows = len(numbers)
    blocks = [
        pa.array([v for j in plan.order[start:stop] for v in arrays[j]], ARROW_TYPES[kind])
        for kind, start, stop in plan.blocks
    ]
    columns = [blocks[b].slice(k * rows, rows) for b, k in plan.slices]
    out = pa.Table.from_arrays([columns[k] for k in plan.position], names=[f.column for f in fields])
    return Records(out, numbers, rejects)


@functools.cache
def _pattern(pattern: str) -> re.Pattern:
    return re.compile(pattern, re.ASCII)


def _count_reason(raw: str, count: int, width: int) -> str:
    reason = f"{count} fields, expected {width}"
    if "；" in raw:
        reason += " (full-width '；' is not a field separator)"
    return reason


def record_text(records: pa.Array | list[str], i: int) -> str:
    """The text of record i (0-based) from either form of `Split.records`."""
    return records[i] if isinstance(records, list) else records[i].as_py()


def reject_rows(rows: Records, mask: np.ndarray, field: Field, reason: str, raw: pa.Array | list[str], table: str) -> Records:
    """Move the rows under `mask` (aligned with `rows.table`) to the rejects (a profile's own checks)."""
    if not mask.any():
        return rows
    rejects = list(rows.rejects)
    for i in np.flatnonzero(mask):
        number = int(rows.numbers[i])
        rejects.append(Reject(number, field.title, reason, record_text(raw, number - 1), table))
    rejects.sort(key=lambda r: r.record or 0)
    keep = ~mask
    return Records(rows.table.filter(pa.array(keep)), rows.numbers[keep], rejects)
