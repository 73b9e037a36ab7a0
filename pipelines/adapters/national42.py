"""The 42号 national networking-file profile (section B of the data contract): parse files, derive canonical rows."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.adapters import national42_sql as sql
from pipelines.adapters.base import Parsed, Profile, Reject
from pipelines.adapters.text import (
    BOOL,
    TIMESTAMP_FORMAT,
    Field,
    Framing,
    Records,
    decode,
    parse_records,
    reject_rows,
    split_records,
)
from pipelines.schema import ARROW_TYPES, FLOAT, INT, MINE_CODE_LEN, TEXT, TIMESTAMP

NAME = "national42"
FILE_NAME = re.compile(r"^(\d{12})_([A-Z]+)_(\d{14})\.txt$")
FRAMING = Framing(field_sep=";", record_end="~", file_end="||")
TRAJECTORY_RE = r"^[^,&]+&\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(,[^,&]+&\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})*,?$"


def _f(label: str, column: str, kind: str = TEXT, required: bool = False, **checks) -> Field:
    return Field(label, column, kind, required, **checks)


HEADERS: dict[str, tuple[str, ...]] = {
    "default": ("煤矿编码", "矿井名称", "数据上传时间"),
    "RYXX": ("煤矿编码", "矿井名称", "核定下井人数", "系统型号", "系统名称", "厂家名称", "安标有效期", "数据上传时间"),
    "CDDY": ("煤矿编码", "煤矿名称", "系统型号", "系统名称", "生产厂家", "安标有效期", "数据上传时间"),
}

RECORDS: dict[str, tuple[Field, ...]] = {
    "CDDY": (
        _f("测点编码", "point_code", required=True),
        _f("系统编码", "system_code"),
        _f("分站编码", "substation_code"),
        _f("传感器类型", "sensor_type", required=True),
        _f("测点数值类型", "value_type", required=True),
        _f("单位", "unit"),
        _f("高量程", "range_high", FLOAT),
        _f("低量程", "range_low", FLOAT),
        _f("上限报警门限", "alarm_high", FLOAT),
        _f("上限解报门限", "alarm_clear_high", FLOAT),
        _f("下限报警门限", "alarm_low", FLOAT),
        _f("下限解报门限", "alarm_clear_low", FLOAT),
        _f("上限断电门限", "cutoff_high", FLOAT),
        _f("上限复电门限", "restore_high", FLOAT),
        _f("下限断电门限", "cutoff_low", FLOAT),
        _f("下限复电门限", "restore_low", FLOAT),
        _f("开描述", "on_text"),
        _f("停描述", "off_text"),
        _f("安装位置", "location"),
        _f("X", "x", FLOAT),
        _f("Y", "y", FLOAT),
        _f("Z", "z", FLOAT),
        _f("传感器关联关系", "links"),
        _f("数据时间", "data_at", TIMESTAMP),
    ),
    "CDSS": (
        _f("测点编码", "point_code", required=True),
        _f("传感器类型名称", "type_name"),
        _f("安装位置", "location"),
        _f("测点值", "value", required=True),
        _f("单位", "unit"),
        _f("测点状态", "status", INT),
        _f("数据时间", "data_at", TIMESTAMP, required=True),
    ),
    "TJSJ": (
        _f("测点编码", "point_code", required=True),
        _f("传感器类型名称", "type_name"),
        _f("安装位置", "location"),
        _f("单位", "unit"),
        _f("开始时间", "period_start", TIMESTAMP, required=True),
        _f("结束时间", "period_end", TIMESTAMP),
        _f("最大值", "max_value", FLOAT),
        _f("最大值时刻", "max_at", TIMESTAMP),
        _f("最小值", "min_value", FLOAT),
        _f("最小值时刻", "min_at", TIMESTAMP),
        _f("平均值", "avg_value", FLOAT),
        _f("数据时间", "data_at", TIMESTAMP),
    ),
    "YCBJ": (
        _f("测点编码", "point_code", required=True),
        _f("传感器类型名称", "type_name"),
        _f("安装位置", "location"),
        _f("单位", "unit"),
        _f("异常类型", "alarm_type", required=True),
        _f("异常开始时间", "started_at", TIMESTAMP, required=True),
        _f("异常结束时间", "ended_at", TIMESTAMP),
        _f("异常期间最大值", "max_value", FLOAT),
        _f("最大值时刻", "max_at", TIMESTAMP),
        _f("最小值", "min_value", FLOAT),
        _f("最小值时刻", "min_at", TIMESTAMP),
        _f("平均值", "avg_value", FLOAT),
        _f("异常原因", "cause"),
        _f("处理措施", "measure"),
        _f("录入时间", "entered_at", TIMESTAMP),
        _f("录入人", "entered_by"),
        _f("数据时间", "data_at", TIMESTAMP),
    ),
    "RYXX": (
        _f("人员卡编码", "card_code", required=True),
        _f("姓名", "name"),
        _f("工种", "job"),
        _f("职务", "position"),
        _f("队组", "team"),
        _f("出生年月", "birth_month"),
        _f("学历", "education"),
        _f("是否矿领导", "is_leader", BOOL),
        _f("是否特种人员", "is_special", BOOL),
    ),
    "RYQY": (
        _f("区域类型", "area_type", required=True),
        _f("区域编码", "area_code", required=True),
        _f("区域核定人数", "approved_headcount", INT),
        _f("区域名称", "area_name"),
    ),
    "RYJZ": (
        _f("基站编码", "station_code", required=True),
        _f("基站名称", "station_name"),
        _f("X", "x", FLOAT),
        _f("Y", "y", FLOAT),
        _f("Z", "z", FLOAT),
        _f("位置注释", "note"),
    ),
    "RYSS": (
        _f("人员卡编码", "card_code", required=True),
        _f("姓名", "name"),
        _f("出入井标志", "shaft_flag", INT, required=True, allowed=(0, 1, 2), expect="0, 1 or 2"),
        _f("入井时刻", "down_at", TIMESTAMP, required=True),
        _f("出井时刻", "up_at", TIMESTAMP),
        _f("区域编码", "area_code"),
        _f("进入当前区域时刻", "area_entered_at", TIMESTAMP),
        _f("基站编码", "station_code"),
        _f("进入当前基站时刻", "station_entered_at", TIMESTAMP),
        _f("劳动组织方式", "work_mode"),
        _f("距离基站距离", "distance", FLOAT),
        _f("人员工作状态", "work_state"),
        _f("是否矿领导", "is_leader", BOOL),
        _f("是否特种人员", "is_special", BOOL),
        _f("行进轨迹", "trajectory", pattern=TRAJECTORY_RE, expect="<基站编码>&<yyyy-MM-dd HH:mm:ss>,…"),
    ),
}
KINDS = tuple(RECORDS)

_RAW_TYPES = {**ARROW_TYPES, BOOL: pa.int64()}
LINEAGE_FIELDS = (
    pa.field("mine_code", pa.string()),
    pa.field("_record", pa.int64()),
    pa.field("_uploaded_at", pa.timestamp("us")),
)


def raw_table(kind: str) -> str:
    """The warehouse table that holds a file type's raw records."""
    return f"raw_{NAME}_{kind.lower()}"


def raw_schema(kind: str) -> pa.Schema:
    """Raw schema of a file type: lineage columns, then the record's fields in file order."""
    return pa.schema([*LINEAGE_FIELDS, *(pa.field(f.column, _RAW_TYPES[f.kind]) for f in RECORDS[kind])])


def _time(text: str) -> datetime | None:
    """A `yyyy-MM-dd HH:mm:ss` time, or None (fromisoformat is fast but also reads other ISO forms)."""
    if len(text) != 19 or text[10] != " " or not text[:4].isdigit():
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


@dataclass
class _Prepared:
    """A file whose name, framing and header are fine: what is left is to parse its records."""

    mine_code: str
    kind: str
    encoding: str
    uploaded_at: datetime
    notes: list[str]
    records: pa.Array | list[str]
    unterminated: str | None
    invalid: int


def _error(message: str, **kw) -> Parsed:
    return Parsed(status="error", message=message, **kw)


class National42(Profile):
    """Networking files under 煤安监办〔2019〕42号 附件2: `;` fields, `~` records, `||` file end."""

    name = NAME
    raw_schemas = {raw_table(k): raw_schema(k) for k in KINDS}
    framing = FRAMING

    def claims(self, path: Path) -> bool:
        """A file named `<mine_code>_<TYPE>_<yyyyMMddHHmmss>.txt` of a type this profile reads."""
        match = FILE_NAME.match(path.name)
        return bool(match) and match.group(2) in RECORDS

    def parse(self, path: Path, data: bytes) -> Parsed:
        """One file's bytes to its raw table and rejects; never raises on bad content."""
        prepared = self._prepare(path, data)
        return prepared if isinstance(prepared, Parsed) else self._finish(prepared)

    def parse_many(self, files: list[tuple[Path, bytes]]) -> list[Parsed]:
        """Several files, as `parse` reads each; small files of one type are parsed together.

        The many small 5-minute RYSS snapshots, and the hourly files, then share Arrow's fixed cost
        per call instead of paying it per file (or being read value by value in Python). A damaged
        file (undecodable bytes) is read alone.
        """
        results: list[Parsed | None] = [None] * len(files)
        groups: dict[str, list[tuple[int, _Prepared]]] = {}
        for i, (path, data) in enumerate(files):
            prepared = self._prepare(path, data)
            if isinstance(prepared, Parsed):
                results[i] = prepared
            elif prepared.invalid:
                results[i] = self._finish(prepared)
            else:
                groups.setdefault(prepared.kind, []).append((i, prepared))
        for members in groups.values():
            if len(members) == 1:
                results[members[0][0]] = self._finish(members[0][1])
                continue
            for (i, _), parsed in zip(members, self._finish_together([m for _, m in members]), strict=True):
                results[i] = parsed
        return results

    def _prepare(self, path: Path, data: bytes) -> Parsed | _Prepared:
        """Name, decoding, framing and header of one file: a final result when the file stops here."""
        match = FILE_NAME.match(path.name)
        if not match or match.group(2) not in RECORDS:
            return _error(f"{path.name}: not a 42号 file name <mine_code>_<TYPE>_<yyyyMMddHHmmss>.txt")
        mine_code, kind, stamp = match.groups()
        named_at = _time(f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]} {stamp[8:10]}:{stamp[10:12]}:{stamp[12:]}")
        if named_at is None:
            return _error(f"{path.name}: file name time {stamp} is not a valid time", mine_code=mine_code, kind=kind)
        decoded = decode(data)
        info = {"encoding": decoded.encoding, "mine_code": mine_code, "kind": kind}
        split = split_records(decoded.utf8, self.framing)
        if not split.complete:
            return Parsed(
                status="incomplete",
                message=f"{path.name}: no file end '{self.framing.file_end}' (upload not finished); read on a later run",
                **info,
            )
        header_error, uploaded_at = self._check_header(split.header, mine_code, kind)
        if header_error:
            return _error(f"{path.name}: header (record 0): {header_error}", **info)
        notes = []
        if uploaded_at != named_at:
            notes.append(f"header upload time {uploaded_at} differs from the file name's {named_at}; header time used")
        if decoded.invalid:
            notes.append(f"{decoded.invalid} undecodable byte sequence(s); the records holding them are rejected")
        return _Prepared(mine_code, kind, decoded.encoding, uploaded_at, notes, split.records, split.unterminated,
                         decoded.invalid)

    def _finish(self, p: _Prepared) -> Parsed:
        """Parse the records of one prepared file."""
        records = p.records
        if p.unterminated is not None:
            if isinstance(records, list):
                records = [*records, p.unterminated]
            else:
                records = pa.concat_arrays([records, pa.array([p.unterminated], pa.string())])
        table = raw_table(p.kind)
        rows = parse_records(records, RECORDS[p.kind], self.framing, table, damaged=p.invalid > 0)
        if p.unterminated is not None:
            rows = self._reject_unterminated(rows, {len(records): p.unterminated}, table)
        if p.kind == "RYSS":
            rows = self._check_ryss(rows, records, table)

        n = rows.table.num_rows
        lineage = [
            pa.repeat(pa.scalar(p.mine_code, pa.string()), n),
            pa.array(rows.numbers, pa.int64()),
            pa.repeat(pa.scalar(p.uploaded_at, pa.timestamp("us")), n),
        ]
        out = pa.Table.from_arrays([*lineage, *rows.table.columns], schema=self.raw_schemas[table])
        return self._parsed(p, len(records), out, rows.rejects)

    def _finish_together(self, prepared: list[_Prepared]) -> list[Parsed]:
        """Parse the records of several prepared files of one type in one go, then part them by file."""
        kind = prepared[0].kind
        table = raw_table(kind)
        chunks: list[pa.Array] = []
        texts: list[str] = []  # small files' records, gathered into one chunk
        starts = np.empty(len(prepared), np.int64)  # records before each file's first, in the joined array
        cut: dict[int, str] = {}
        n = 0
        for k, p in enumerate(prepared):
            starts[k] = n
            if isinstance(p.records, list):
                texts += p.records
            else:
                if texts:
                    chunks.append(pa.array(texts, pa.string()))
                    texts = []
                chunks.append(p.records)
            n += len(p.records)
            if p.unterminated is not None:
                texts.append(p.unterminated)
                n += 1
                cut[n] = p.unterminated
        chunks.append(pa.array(texts, pa.string()))
        counts = np.diff(np.append(starts, n))
        records = pa.concat_arrays(chunks)
        rows = parse_records(records, RECORDS[kind], self.framing, table)
        if cut:
            rows = self._reject_unterminated(rows, cut, table)
        if kind == "RYSS":
            rows = self._check_ryss(rows, records, table)

        # rows and rejects are in record order: each file's are a contiguous run
        lo = np.searchsorted(rows.numbers, starts + 1)
        hi = np.searchsorted(rows.numbers, starts + counts, side="right")
        owner = np.repeat(np.arange(len(prepared)), hi - lo)
        lineage = [
            pc.take(pa.array([p.mine_code for p in prepared], pa.string()), owner),
            pa.array(rows.numbers - starts[owner], pa.int64()),
            pc.take(pa.array([p.uploaded_at for p in prepared], pa.timestamp("us")), owner),
        ]
        out = pa.Table.from_arrays([*lineage, *rows.table.columns], schema=self.raw_schemas[table])
        rejects: list[list[Reject]] = [[] for _ in prepared]
        for r in rows.rejects:
            k = int(np.searchsorted(starts, r.record - 1, side="right")) - 1
            rejects[k].append(replace(r, record=r.record - int(starts[k])))
        return [
            self._parsed(p, int(counts[k]), out.slice(lo[k], hi[k] - lo[k]), rejects[k])
            for k, p in enumerate(prepared)
        ]

    def _parsed(self, p: _Prepared, records: int, out: pa.Table, rejects: list[Reject]) -> Parsed:
        """The result of a file that was read."""
        return Parsed(
            status="ok",
            message="; ".join(p.notes) or None,
            uploaded_at=p.uploaded_at.strftime(TIMESTAMP_FORMAT),
            records=records,
            raw={raw_table(p.kind): out},
            rejects=rejects,
            encoding=p.encoding,
            mine_code=p.mine_code,
            kind=p.kind,
        )

    def _check_header(self, header: str | None, mine_code: str, kind: str) -> tuple[str | None, datetime | None]:
        """What is wrong with the header (None if fine) and its upload time."""
        labels = HEADERS.get(kind, HEADERS["default"])
        if header is None:
            return "missing (the file holds no record)", None
        values = header.split(self.framing.field_sep)
        if len(values) != len(labels):
            return f"{len(values)} fields, expected {len(labels)} ({';'.join(labels)}): {header[:200]!r}", None
        code = values[0].strip()
        if code != mine_code:
            return f"煤矿编码 {code!r} differs from the file name's mine code {mine_code}", None
        if len(code) != MINE_CODE_LEN:
            return f"煤矿编码 {code!r} is not {MINE_CODE_LEN} digits", None
        stamp = values[-1].strip()
        uploaded_at = _time(stamp)
        if uploaded_at is None:
            return f"数据上传时间 {stamp!r} is not a time yyyy-MM-dd HH:mm:ss", None
        return None, uploaded_at

    def _reject_unterminated(self, rows: Records, cut: dict[int, str], table: str) -> Records:
        """A text after a file's last `~` is a record cut short: reject it even when its fields look right.

        `cut` maps the record number of each such text to the text.
        """
        mask = np.isin(rows.numbers, list(cut))
        rejects = [r for r in rows.rejects if r.record not in cut]
        rejects += [Reject(n, None, f"record not ended by '{self.framing.record_end}'", raw, table) for n, raw in cut.items()]
        rejects.sort(key=lambda r: r.record or 0)
        rows.rejects = rejects
        rows.table = rows.table.filter(pa.array(~mask))
        rows.numbers = rows.numbers[~mask]
        return rows

    def _check_ryss(self, rows: Records, records: pa.Array | list[str], table: str) -> Records:
        """A flag-2 (已出井) record must say when the card came up."""
        fields = {f.column: f for f in RECORDS["RYSS"]}
        flag = rows.table["shaft_flag"].to_numpy(zero_copy_only=False)
        no_exit = pc.is_null(rows.table["up_at"]).to_numpy(zero_copy_only=False)
        mask = (flag == 2) & no_exit
        return reject_rows(rows, mask, fields["up_at"], "required when 出入井标志 is 2 (已出井)", records, table)

    def derive(self, con: duckdb.DuckDBPyConnection, mine_codes: list[str]) -> dict[str, str]:
        """Canonical table -> select over the raw tables of these mines (contract columns + lineage)."""
        existing = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
        sources = {}
        for kind in KINDS:
            name = raw_table(kind)
            sources[kind.lower()] = name if name in existing else _empty_source(self.raw_schemas[name])
        return sql.selects(sources, mine_codes)


def _empty_source(schema: pa.Schema) -> str:
    """A typed empty relation standing in for a raw table no file has created yet."""
    types = {pa.string(): "varchar", pa.int64(): "bigint", pa.float64(): "double", pa.timestamp("us"): "timestamp"}
    columns = ", ".join(f"cast(null as {types[f.type]}) as {f.name}" for f in schema)
    return f"(select {columns}, cast(null as bigint) as _file_id where false)"

