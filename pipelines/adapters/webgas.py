"""The vendor monitoring-export profile (webGas-style GBK CSV, one row per point per poll) as canonical tables."""

from __future__ import annotations

import csv
import io
import os
import re
import zlib
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from pipelines.adapters.base import Parsed, Profile, Reject
from pipelines.schema import DUCKDB_TYPES, MINE_CODE_LEN, SENSOR_TYPES, TABLES

HEADER = ("煤矿名称", "传感器编号", "地点", "类型", "检测值", "单位", "时间")
MAPPING_FILE = "mine_codes.csv"
RAW_TABLE = "raw_vendor_csv_readings"

# type names as vendors write them -> national sensor_type (煤安监办〔2019〕42号 code table)
TYPE_CODES = {
    "甲烷": "0001",
    "环境瓦斯": "0001",
    "低浓甲烷": "0001",
    "低浓度甲烷": "0001",
    "高低浓甲烷": "0001",
    "激光甲烷": "0043",
    "风速": "0002",
    "温度": "0003",
    "一氧化碳": "0004",
    "氧气": "0012",
    "二氧化碳": "0013",
    "风量": "0019",
    "顶板离层": "0020",
    "顶板离层位移": "0020",
    "局部通风机": "1001",
    "局扇": "1001",
    "开停": "1004",
    "设备开停": "1004",
    "开停传感器": "1004",
    "断电控制器": "1009",
    "断电器": "1009",
    "馈电传感器": "1011",
    "馈电器": "1011",
    "馈电": "1011",
    "主通风机": "1010",
    "产量": "3001",
}
# an on/off point (开停) is a fan when its location says so: the main fan, else a local (heading) fan
MAIN_FAN = re.compile(r"主通风机|主扇")
LOCAL_FAN = re.compile(r"风机|局扇|局部通风")

# text states -> 0/1 (1009: 1 复电; 1011: 1 voltage on the load side; 1004 and fans: 1 running;
# other switch types: 1 = on/open/present, 0 = off/closed/absent)
STATE_WORDS = {
    "开": 1, "运行": 1, "开启": 1, "复电": 1, "负荷侧有电压": 1, "有电": 1, "有电压": 1,
    "风筒有风": 1, "有风": 1, "风门打开": 1, "风门开": 1, "有烟雾": 1, "有烟": 1,
    "停": 0, "停止": 0, "关": 0, "断电": 0, "负荷侧无电压": 0, "无电": 0, "无电压": 0,
    "风筒无风": 0, "无风": 0, "风门关闭": 0, "风门关": 0, "无烟雾": 0, "无烟": 0,
}  # fmt: skip
# words that are not a state but a condition of the point -> CDSS status bit
FAULT_WORDS = {
    "断线": 128, "故障": 128, "传感器故障": 128, "未知": 128,
    "溢出": 8, "超量程": 8, "上溢": 8, "下溢": 8,
    "调校": 4, "标校": 4,
    "分站故障": 16, "通讯中断": 16, "通讯故障": 16, "中断": 16,
    "不巡检": 32, "暂停": 64,
}  # fmt: skip
NEGATIVE = re.compile(r"无|停|断|关|闭")
POSITIVE = re.compile(r"有|开|复|运行|通")
CALIBRATION = re.compile(r"[(（]\s*(?:调校|标校)\s*[)）]")
TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M")

# AQ 1029 methane limits by location keyword, first match wins:
# (pattern, alarm_high, alarm_clear_high, cutoff_high, restore_high)
METHANE_LIMITS = (
    ("进风", 0.5, 0.5, 0.5, 0.5),  # intake air (high-gas mines)
    ("回风|总回", 1.0, 1.0, 1.0, 1.0),  # return airway, including a face's or heading's T2
    ("工作面|采面|掘进|上隅角|综采|综掘", 1.0, 1.0, 1.5, 1.0),  # coal or heading face (T0/T1)
    ("", 1.0, 1.0, None, None),  # elsewhere (roadways, chambers, drilling sites): alarm only
)
CO_ALARM_PPM = 24.0
# switch types whose normal state is 1 (contract: 1009 复电, 1011 voltage present; fans and equipment running)
NORMAL_ON_TYPES = (
    "1001",
    "1004",
    "1009",
    "1010",
    "1011",
)  # 煤矿安全规程 第135条: CO at most 0.0024 % (24 ppm)

READINGS_SCHEMA = pa.schema(
    [
        ("mine_code", pa.string()),
        ("mine_name", pa.string()),
        ("point_code", pa.string()),
        ("location", pa.string()),  # 地点 without the calibration mark
        ("location_raw", pa.string()),  # 地点 as written (part of the de-duplication key)
        ("type_name", pa.string()),
        ("sensor_type", pa.string()),
        ("value_type", pa.string()),
        ("value", pa.float64()),
        ("state", pa.int64()),
        ("value_text", pa.string()),
        ("unit", pa.string()),
        ("read_at", pa.timestamp("us")),  # at second precision, as written
        ("status", pa.int64()),  # CDSS status bits the row itself shows (4 calibration, 128 fault, ...)
        ("_record", pa.int64()),
    ]
)


def unknown_type_code(type_name: str) -> str:
    """A stable 9xxx code for a type name outside the national table, so it is kept, not dropped."""
    return f"9{zlib.crc32(type_name.encode('utf-8')) % 1000:03d}"


def sensor_type_code(type_name: str, location: str) -> str:
    """The national sensor_type for a vendor type name, using the location to tell fans apart."""
    code = TYPE_CODES.get(type_name) or unknown_type_code(type_name)
    if code == "1004":
        if MAIN_FAN.search(location):
            return "1010"
        if LOCAL_FAN.search(location):
            return "1001"
    return code


def state_of(text: str) -> int | None:
    """0/1 for a switch-state text, or None when the text is not a state."""
    if text in STATE_WORDS:
        return STATE_WORDS[text]
    if text in FAULT_WORDS:
        return None
    if NEGATIVE.search(text):
        return 0
    if POSITIVE.search(text):
        return 1
    return None


def decode(data: bytes) -> tuple[str, str, list[int]]:
    """Decode strictly: UTF-8, then GBK, then GB18030; else line by line (the bad lines' numbers)."""
    for encoding in ("utf-8", "gbk", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return text.removeprefix("\ufeff"), encoding, []
    lines, bad = [], []
    for number, line in enumerate(data.split(b"\n")):
        try:
            lines.append(line.decode("gb18030"))
        except UnicodeDecodeError:
            bad.append(number)
            lines.append(line.decode("gb18030", errors="replace"))
    return "\n".join(lines), "gb18030", bad


def _reading_of(text: str) -> tuple[float, int | None, int]:
    """(number or NaN, switch state or None, CDSS status bits) of one 检测值 text."""
    try:
        return float(text), None, 0
    except ValueError:
        pass
    if not text:
        return np.nan, None, 0
    return np.nan, state_of(text), FAULT_WORDS.get(text, 0)


def _split(line: str) -> list[str]:
    """Fields of one CSV line (the export never quotes; a quoted line is read as CSV)."""
    line = line.rstrip("\r")
    return next(csv.reader([line])) if '"' in line else line.split(",")


def _read_mapping(path: Path) -> dict[str, str]:
    """mine_name -> mine_code from a mine_codes.csv; raises ValueError naming the line on a bad row."""
    text, _, bad = decode(path.read_bytes())
    if bad:
        raise ValueError(f"{path}: line {bad[0] + 1} is neither UTF-8 nor GB18030")
    rows = list(csv.reader(io.StringIO(text)))
    header = [c.strip() for c in rows[0]] if rows else []
    if "mine_name" not in header or "mine_code" not in header:
        raise ValueError(
            f"{path}: line 1 must be the header mine_name,mine_code (found {','.join(header)!r})"
        )
    i_name, i_code = header.index("mine_name"), header.index("mine_code")
    mapping = {}
    for number, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        name = row[i_name].strip() if len(row) > i_name else ""
        code = row[i_code].strip() if len(row) > i_code else ""
        if not name or len(code) != MINE_CODE_LEN or not code.isdigit():
            raise ValueError(
                f"{path}: line {number}: need a mine name and a {MINE_CODE_LEN}-digit mine_code, got {row!r}"
            )
        mapping[name] = code
    return mapping


def _interpret(values: pa.Array, interpret) -> tuple[np.ndarray, ...]:
    """Apply `interpret` (text -> tuple) once per distinct text of `values`; one array per tuple element."""
    encoded = values.dictionary_encode()
    indices = encoded.indices.to_numpy(zero_copy_only=False)
    results = [interpret(t) for t in encoded.dictionary.to_pylist()]
    width = len(interpret(""))
    return tuple(np.array([r[k] for r in results] + [None], dtype=object)[indices] for k in range(width))


def _parse_times(text: pa.Array) -> pa.Array:
    """Timestamps at second precision from the formats vendors write; null where none fits."""
    out = pc.strptime(text, format=TIME_FORMATS[0], unit="s", error_is_null=True)
    for fmt in TIME_FORMATS[1:]:
        if out.null_count == 0:
            break
        out = pc.coalesce(out, pc.strptime(text, format=fmt, unit="s", error_is_null=True))
    return out.cast(pa.timestamp("us"))


def _table_of(lines: list[str]) -> pa.Table:
    """The export's 7 text columns of well-formed lines (no quotes, exactly 6 commas)."""
    if not lines:
        return pa.table({name: pa.array([], pa.string()) for name in HEADER})
    return pacsv.read_csv(
        io.BytesIO("\n".join(lines).encode("utf-8")),
        read_options=pacsv.ReadOptions(column_names=list(HEADER), use_threads=False),
        parse_options=pacsv.ParseOptions(quote_char=False, newlines_in_values=False),
        convert_options=pacsv.ConvertOptions(
            column_types={name: pa.string() for name in HEADER}, strings_can_be_null=False
        ),
    )


class VendorCsv(Profile):
    """A monitoring system's CSV export: 煤矿名称,传感器编号,地点,类型,检测值,单位,时间."""

    name = "vendor_csv"
    raw_schemas = {RAW_TABLE: READINGS_SCHEMA}

    def __init__(self, mine_code: str | None = None, period_minutes: int = 5, max_gap_minutes: int = 30):
        if mine_code is not None and (len(mine_code) != MINE_CODE_LEN or not mine_code.isdigit()):
            raise ValueError(f"mine code must be {MINE_CODE_LEN} digits, got {mine_code!r}")
        self.mine_code = mine_code
        self.period_minutes = period_minutes
        # an episode (calibration, exceedance) ends when the point is not seen for this long
        self.max_gap_minutes = max_gap_minutes
        self._mappings: dict[Path, tuple[Path, dict[str, str]] | None] = {}

    def claims(self, path: Path) -> bool:
        """A .csv file whose first line is the vendor header (whatever its encoding)."""
        if path.suffix.lower() != ".csv" or path.name == MAPPING_FILE:
            return False
        try:
            with open(path, "rb") as fh:
                head = fh.read(256).split(b"\n", 1)[0].strip()
        except OSError:
            return False
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                first = head.decode(encoding)
            except UnicodeDecodeError:
                continue
            if tuple(c.strip() for c in first.split(",")) == HEADER:
                return True
        return False

    def _mapping_for(self, folder: Path) -> tuple[Path, dict[str, str]] | None:
        """The nearest mine_codes.csv in `folder` or a parent, read once per folder."""
        folder = Path(
            os.path.abspath(folder)
        )  # not resolve(): a symlinked folder keeps the parents it is under
        if folder not in self._mappings:
            candidate = folder / MAPPING_FILE
            if candidate.is_file():
                self._mappings[folder] = (candidate, _read_mapping(candidate))
            else:
                self._mappings[folder] = self._mapping_for(folder.parent) if folder.parent != folder else None
        return self._mappings[folder]

    def parse(self, path: Path, data: bytes) -> Parsed:
        """One export file -> raw readings (one per row), rejects for rows that cannot be read."""
        if not data.strip():
            return Parsed("incomplete", message=f"{path}: empty file (still being written?)")
        text, encoding, bad_lines = decode(data)
        lines = text.split("\n")
        header = tuple(c.strip() for c in _split(lines[0]))
        if header != HEADER:
            return Parsed(
                "error",
                encoding=encoding,
                message=f"{path}: line 1 is not the vendor header {','.join(HEADER)} (found {','.join(header)!r})",
            )
        try:
            found = None if self.mine_code else self._mapping_for(path.parent)
        except ValueError as exc:
            return Parsed("error", encoding=encoding, message=f"{path}: no mine code: {exc}")
        if not self.mine_code and found is None:
            return Parsed(
                "error",
                encoding=encoding,
                message=f"{path}: no mine code: no {MAPPING_FILE} (columns mine_name,mine_code) in its "
                "folder or any parent, and no mine code given",
            )

        rejects: list[Reject] = []
        bad = set(bad_lines)
        plain, records, n_records = [], [], 0
        for number in range(1, len(lines)):
            line = lines[number].rstrip("\r")
            if '"' not in line and line.count(",") == len(HEADER) - 1 and number not in bad:
                plain.append(line)
                records.append(number)
                continue
            row = _split(line)
            if not any(c.strip() for c in row):
                continue  # blank lines are not records
            # a quoted line: keep its fields, re-joined without the quotes when that is safe
            if len(row) == len(HEADER) and number not in bad and not any("," in c for c in row):
                plain.append(",".join(row))
                records.append(number)
                continue
            reason = (
                "bytes are neither UTF-8 nor GB18030"
                if number in bad
                else f"{len(row)} fields, expected {len(HEADER)}"
                if len(row) != len(HEADER)
                else "a field holds a comma"
            )
            rejects.append(Reject(number, None, reason, line, RAW_TABLE))
        n_records = len(records) + len(rejects)

        raw = _table_of(plain)
        cols = {name: pc.utf8_trim_whitespace(raw[name].combine_chunks()) for name in HEADER}
        record = np.asarray(records, dtype=np.int64)
        names = cols["煤矿名称"].to_numpy(zero_copy_only=False)
        if self.mine_code:
            mine_code = np.full(len(record), self.mine_code, dtype=object)
        else:
            mapping_path, mapping = found
            (mine_code,) = _interpret(cols["煤矿名称"], lambda t: (mapping.get(t),))
            if len(record) and all(m is None for m in mine_code):
                listed = ", ".join(sorted(set(names)))
                return Parsed(
                    "error",
                    encoding=encoding,
                    records=n_records,
                    message=f"{path}: no mine code for 煤矿名称 {listed!r}: {mapping_path} has no row for it; "
                    "add one there or pass the mine code",
                )

        # few distinct texts per file: interpret each once
        location, is_cal = _interpret(
            cols["地点"], lambda t: (CALIBRATION.sub("", t).strip(), bool(CALIBRATION.search(t)))
        )
        type_and_place = pc.binary_join_element_wise(cols["类型"], pa.array(location, pa.string()), "\x1f")
        (sensor_type,) = _interpret(
            type_and_place, lambda t: (sensor_type_code(*(t.split("\x1f") + [""])[:2]),)
        )
        value, state, fault = _interpret(cols["检测值"], _reading_of)
        value = value.astype(float)
        kinds = np.array([SENSOR_TYPES.get(c, ("", ""))[1] for c in sensor_type], dtype=object)
        is_kg = kinds == "KG"
        # some systems write switch states as 0/1 numbers
        numeric_state = is_kg & np.isin(value, (0.0, 1.0))
        state[numeric_state] = value[numeric_state].astype(np.int64)
        value[is_kg] = np.nan
        has_state = np.array([s is not None for s in state], dtype=bool)
        value_type = np.where(
            kinds != "", kinds, np.where(has_state, "KG", np.where(np.isnan(value), None, "MN"))
        )
        fault = fault.astype(np.int64)
        status = fault | np.where(is_cal.astype(bool), 4, 0)
        read_at = _parse_times(cols["时间"])

        texts = {name: cols[name].to_numpy(zero_copy_only=False) for name in HEADER}
        problems = (
            (
                np.array([m is None for m in mine_code], dtype=bool),
                "煤矿名称",
                "mine name not in the mine-code mapping",
            ),
            (texts["传感器编号"] == "", "传感器编号", "empty point code"),
            (texts["类型"] == "", "类型", "empty sensor type"),
            (
                read_at.is_null().to_numpy(zero_copy_only=False),
                "时间",
                "not a time (expected YYYY-MM-DD HH:MM:SS)",
            ),
            (texts["检测值"] == "", "检测值", "empty value"),
            (
                np.isnan(value) & ~has_state & (fault == 0),
                "检测值",
                "neither a number nor a known switch-state text",
            ),
        )
        bad_row = np.zeros(len(record), dtype=bool)
        for mask, fld, reason in problems:
            for i in np.flatnonzero(mask & ~bad_row):
                why = f"{reason}: {texts[fld][i]!r}" if texts[fld][i] else reason
                rejects.append(
                    Reject(int(record[i]), fld, why, ",".join(texts[h][i] for h in HEADER), RAW_TABLE)
                )
            bad_row |= mask
        keep = ~bad_row
        good = pa.table(
            {
                "mine_code": pa.array(mine_code[keep], pa.string()),
                "mine_name": cols["煤矿名称"].filter(keep),
                "point_code": cols["传感器编号"].filter(keep),
                "location": pa.array(location[keep], pa.string()),
                "location_raw": cols["地点"].filter(keep),
                "type_name": cols["类型"].filter(keep),
                "sensor_type": pa.array(sensor_type[keep], pa.string()),
                "value_type": pa.array(value_type[keep], pa.string()),
                "value": pa.array(value[keep], pa.float64(), from_pandas=True),
                "state": pa.array(state[keep], pa.int64()),
                "value_text": cols["检测值"].filter(keep),
                "unit": cols["单位"].filter(keep),
                "read_at": read_at.filter(keep),
                "status": pa.array(status[keep], pa.int64()),
                "_record": pa.array(record[keep], pa.int64()),
            },
            schema=READINGS_SCHEMA,
        )
        codes = sorted(set(mine_code[keep]))
        rejects.sort(key=lambda r: (r.record is None, r.record or 0))
        latest = pc.max(good["read_at"]).as_py()
        return Parsed(
            "ok",
            encoding=encoding,
            mine_code=codes[0] if len(codes) == 1 else None,
            kind="readings",
            uploaded_at=latest.isoformat(sep=" ") if latest else None,
            records=n_records,
            raw={RAW_TABLE: good},
            rejects=rejects,
        )

    def derive(self, con: duckdb.DuckDBPyConnection, mine_codes: list[str]) -> dict[str, str]:
        """Canonical sensors, sensor_stats, switch_events, alarms (and the duplicate readings)."""
        ctes = _ctes(_quote(mine_codes))
        period = f"interval {int(self.period_minutes)} minute"
        gap = f"interval {int(self.max_gap_minutes)} minute"
        return {
            "sensors": f"{ctes}\n{_final('sensors', 'points')}",
            "sensor_stats": f"{ctes},\n{_stats(period)}\n{_final('sensor_stats', 'stats')}",
            "switch_events": f"{ctes},\n{_switches()}\n{_final('switch_events', 'changes')}",
            "alarms": f"{ctes},\n{_alarms(gap)}\n{_final('alarms', 'episodes')}",
            "_superseded": f"{ctes}\n{_superseded()}",
        }

    def summary(self, con: duckdb.DuckDBPyConnection, mine_codes: list[str]) -> dict[str, int]:
        """Counts for the manifest: distinct readings, duplicates, points, switch changes, calibrations."""
        sql = self.derive(con, mine_codes)
        ctes = _ctes(_quote(mine_codes))
        queries = {
            "readings": f"{ctes} select count(*) from readings",
            "duplicates": f"select count(*) from ({sql['_superseded']})",
            "points": f"select count(*) from ({sql['sensors']})",
            "switch_events": f"select count(*) from ({sql['switch_events']})",
            "switch_changes": f"{ctes}, {_switches()} select count(*) from switch_states where state <> prev_state",
            "calibrations": f"select count(*) from ({sql['alarms']}) where alarm_type = '007'",
            "exceedances": f"select count(*) from ({sql['alarms']}) where alarm_type in ('001', '002')",
        }
        return {name: con.execute(query).fetchall()[0][0] for name, query in queries.items()}


def _quote(mine_codes: list[str]) -> str:
    """SQL list of quoted mine codes."""
    return ", ".join("'" + m.replace("'", "''") + "'" for m in mine_codes) or "null"


def _sql_case(pairs: dict[str, object] | list[tuple[str, object]], column: str) -> str:
    """A `case column when ... then ...` over literal pairs."""
    items = pairs.items() if isinstance(pairs, dict) else pairs
    whens = " ".join(f"when '{k}' then '{v}'" for k, v in items)
    return f"case {column} {whens} end"


def _limits(column: int) -> str:
    """The AQ 1029 threshold at position `column` of METHANE_LIMITS, as SQL over a point's location."""
    whens = []
    for pattern, *values in METHANE_LIMITS:
        value = "null" if values[column] is None else repr(float(values[column]))
        cond = f"regexp_matches(location, '{pattern}')" if pattern else "true"
        whens.append(f"when {cond} then {value}")
    co = repr(CO_ALARM_PPM) if column < 2 else "null"
    return (
        f"case when sensor_type in ('0001', '0043') then (case {' '.join(whens)} end) "
        f"when sensor_type = '0004' then {co} end"
    )


def _ctes(mines: str) -> str:
    """The shared CTEs: de-duplicated readings, one reading per point and time, the points."""
    value_types = _sql_case({code: vt for code, (_, vt, _) in SENSOR_TYPES.items()}, "sensor_type")
    units = _sql_case({code: unit for code, (_, _, unit) in SENSOR_TYPES.items()}, "sensor_type")
    return f"""with src as (
    select * from {RAW_TABLE} where mine_code in ({mines})
),
ranked as (
    select *,
        row_number() over dup as _rn,
        first_value(value_text) over dup as _kept_text,
        first_value(_file_id) over dup as _kept_file
    from src
    window dup as (partition by mine_code, point_code, location_raw, read_at order by _file_id, _record)
),
readings as (
    -- the first copy of each (point, location, time): earliest file, then earliest record
    select * from src
    qualify row_number() over (
        partition by mine_code, point_code, location_raw, read_at order by _file_id, _record
    ) = 1
),
point_readings as (
    -- one reading per point and time (a location variant at the same instant is the same poll)
    -- thresholds as the reading itself shows its point (type and place may change over time)
    select *,
        (status & 4) <> 0 as is_cal,
        {_limits(0)} as alarm_high,
        {_limits(1)} as alarm_clear_high,
        {_limits(2)} as cutoff_high,
        {_limits(3)} as restore_high
    from readings
    qualify row_number() over (partition by mine_code, point_code, read_at order by _file_id, _record) = 1
),
latest as (
    select
        mine_code,
        point_code,
        arg_max(sensor_type, (read_at, _file_id, _record)) as sensor_type,
        arg_max(location, (read_at, _file_id, _record)) as location,
        arg_max(value_type, (read_at, _file_id, _record)) filter (where value_type is not null) as value_type,
        arg_max(unit, (read_at, _file_id, _record)) filter (where unit <> '') as unit,
        arg_max(_file_id, (read_at, _file_id, _record)) as _file_id,
        arg_max(_record, (read_at, _file_id, _record)) as _record
    from readings
    group by mine_code, point_code
),
points as (
    select
        mine_code,
        point_code,
        sensor_type,
        coalesce(value_type, {value_types}, 'MN') as value_type,
        coalesce(unit, nullif({units}, '')) as unit,
        null as range_low,
        null as range_high,
        {_limits(0)} as alarm_high,
        {_limits(1)} as alarm_clear_high,
        {_limits(2)} as cutoff_high,
        {_limits(3)} as restore_high,
        location,
        null as area_code,
        null as x,
        null as y,
        null as z,
        _file_id,
        _record
    from latest
)"""


def _stats(period: str) -> str:
    """5-minute statistics of analog points; status = row bits | alarm (1) and cut (2) outside calibration."""
    return f"""flagged as (
    select
        r.*,
        time_bucket({period}, r.read_at) as period_start,
        r.status
            | case when not r.is_cal and r.value >= r.alarm_high then 1 else 0 end
            | case when not r.is_cal and r.value >= r.cutoff_high then 2 else 0 end as bits
    from point_readings r
    join points p using (mine_code, point_code)
    where p.value_type = 'MN' and (r.value is not null or r.status <> 0)
),
stats as (
    select
        mine_code,
        point_code,
        period_start,
        period_start + {period} as period_end,
        round(avg(value), 6) as avg_value,  -- rounded: parallel sums differ in the last bits
        max(value) as max_value,
        arg_max(read_at, (value, -epoch_us(read_at))) filter (where value is not null) as max_at,
        min(value) as min_value,
        arg_min(read_at, (value, read_at)) filter (where value is not null) as min_at,
        bit_or(bits) as status,
        arg_min(_file_id, (read_at, _file_id, _record)) as _file_id,
        arg_min(_record, (read_at, _file_id, _record)) as _record
    from flagged
    group by mine_code, point_code, period_start
    having count(value) > 0
)"""


def _switches() -> str:
    """Changes of switch states; a first reading in the abnormal state (0) is recorded too."""
    normal_on = ", ".join(f"'{c}'" for c in NORMAL_ON_TYPES)
    return f"""switch_states as (
    select
        mine_code, point_code, sensor_type, read_at, state, _file_id, _record,
        lag(state) over (partition by mine_code, point_code order by read_at) as prev_state
    from point_readings
    where state is not null
),
changes as (
    -- where 1 is the normal state, a point first seen at 0 has changed before: record it
    select mine_code, point_code, read_at as changed_at, state, _file_id, _record
    from switch_states
    where state <> prev_state or (prev_state is null and state = 0 and sensor_type in ({normal_on}))
)"""


def _episodes(name: str, source: str, flag: str, alarm_type: str, cause: str, gap: str) -> str:
    """Islands of consecutive readings of a point where `flag` holds; an island ends at a gap > `gap`."""
    return f"""{name}_seq as (
    select *,
        lag({flag}) over w as prev_flag,
        lag(read_at) over w as prev_at,
        lead(read_at) over w as next_at
    from {source}
    window w as (partition by mine_code, point_code order by read_at)
),
{name}_grp as (
    select *,
        sum(case when {flag} and (prev_flag is distinct from true or read_at - prev_at > {gap}) then 1 else 0 end)
            over (partition by mine_code, point_code order by read_at rows unbounded preceding) as island
    from {name}_seq
),
{name} as (
    select
        mine_code,
        point_code,
        '{alarm_type}' as alarm_type,
        min(read_at) as started_at,
        -- the episode ends at the next reading without the flag, unless the point went silent
        case when arg_max_null(next_at, read_at) - max(read_at) <= {gap}
            then arg_max_null(next_at, read_at) else max(read_at) end as ended_at,
        max(value) as max_value,
        arg_max(read_at, (value, -epoch_us(read_at))) filter (where value is not null) as max_at,
        min(value) as min_value,
        arg_min(read_at, (value, read_at)) filter (where value is not null) as min_at,
        round(avg(value), 6) as avg_value,
        {cause} as cause,
        null as measure,
        null as entered_at,
        null as entered_by,
        arg_min(_file_id, read_at) as _file_id,
        arg_min(_record, read_at) as _record
    from {name}_grp
    where {flag}
    group by mine_code, point_code, island
)"""


def _alarms(gap: str) -> str:
    """Calibration episodes (007) and exceedances of the point's thresholds (001 alarm, 002 cut-off)."""
    # calibration gas is expected to exceed the limits: those readings do not count as exceedances
    return f"""measured as (
    select * from point_readings
    where not is_cal and value is not null and alarm_high is not null
),
hysteresis as (
    select *,
        max(case when value >= alarm_high then read_at end) over cum as alarm_on,
        max(case when value < alarm_clear_high then read_at end) over cum as alarm_off,
        max(case when value >= cutoff_high then read_at end) over cum as cut_on,
        max(case when value < restore_high then read_at end) over cum as cut_off
    from measured
    window cum as (partition by mine_code, point_code order by read_at rows unbounded preceding)
),
states as (
    select *,
        coalesce(alarm_on > alarm_off or (alarm_on is not null and alarm_off is null), false) as in_alarm,
        coalesce(cut_on > cut_off or (cut_on is not null and cut_off is null), false) as in_cut
    from hysteresis
),
{_episodes("calibrations", "point_readings", "is_cal", "007", "'调校'", gap)},
{_episodes("exceed_alarm", "states", "in_alarm", "001", "null", gap)},
{_episodes("exceed_cut", "states", "in_cut", "002", "null", gap)},
episodes as (
    select * from calibrations
    union all select * from exceed_alarm
    union all select * from exceed_cut
)"""


def _superseded() -> str:
    """Readings dropped as duplicates of an earlier copy (overlapping files, repeated polls)."""
    return """select
    _file_id,
    _record,
    case
        when value_text <> _kept_text then 'conflicting duplicate reading (point, location, time): '
            || value_text || ' vs kept ' || _kept_text
        when _file_id = _kept_file then 'duplicate reading (point, location, time) repeated in the file'
        else 'duplicate reading (point, location, time) already read from an overlapping file'
    end as reason
from ranked
where _rn > 1"""


def _final(table: str, source: str) -> str:
    """The contract's columns of `table`, in order and cast, plus lineage, from CTE `source`."""
    cols = [f"cast({c.name} as {DUCKDB_TYPES[c.kind]}) as {c.name}" for c in TABLES[table].columns]
    return f"select {', '.join(cols)}, _file_id, _record from {source}"
