"""Write one mine's canonical tables as national networking files (42号 profile, contract section B).

`write_national(out_dir, tables, seed)` writes under `out_dir/national/` the files
`<mine_code>_<TYPE>_<yyyyMMddHHmmss>.txt` (name time = header 数据上传时间) from which a reader can
rebuild the canonical rows. Byte rules: UTF-8 without BOM (a seeded ~2 % of files GB18030, never one
that would also decode as UTF-8), `;` between fields, `~` after every record including the header,
`||` at the end, no newlines. Numbers: shortest text that parses back to the same double, never in
exponent form; empty = null. Free text has ASCII `;`, `~`, `|` and line breaks replaced by `；～｜`
and a space (the only inexact part of a round trip). The reader's rules this writer guarantees:

- The data window runs from day0 = the day of the first event (trips, stays, stats, switch events,
  alarms, production) 00:00:00 to the last event time. CDDY, RYQY and RYJZ are sent at day0 00:00:00
  and re-sent, identical, at the window's middle day 00:00:00 (the latest copy wins).
- CDDY: 关联关系 = each `sensor_links` row, written once on its `point_code`'s side as
  `<relation>-<linked_point_code>-<type name of the linked point>`, entries sorted, joined by `◇`.
  area_code is not sent. 开描述/停描述 are the state texts of state 1 / state 0 (below).
- RYXX: one file at 00:05:00 on every day of the window and on every registered_on and
  deregistered_on date; a file lists the cards with registered_on <= day < deregistered_on. On a day
  where a card is registered and deregistered, an extra 00:01:00 file also lists it. So
  registered_on = date of the first file showing a card, deregistered_on = date of the first later
  file without it. 工种 = job, 队组 = team, 是否矿领导/是否特种人员 = 0/1 (出生年月, 学历, 职务 seeded).
- RYSS: a snapshot at every 5-minute mark T from day0 00:00:00 to the first mark >= the last event.
  Flag 1: every trip with down_at <= T < up_at; the current stay is the trip's last stay with
  entered_at <= T (区域编码, 进入当前区域时刻 = entered_at, 基站编码 = the stay's station_code,
  进入当前基站时刻 = entered_at). Flag 2: a trip with prev T < up_at <= T, once, with its 出井时刻 and
  the trip's last stay. 行进轨迹 = `station_code&entered_at` of the trip's stays with
  prev T < entered_at <= T (for flag 2: <= up_at), in time order, joined by `,`. A trip with an
  empty up_at never gets a flag-2 record and stays in the snapshots (flag 1) until the first of:
  its last stay's left_at (when given), the card's next down_at, 00:00:00 of the card's
  deregistered_on, the end of the data (but it shows in at least its first snapshot); it then
  vanishes. Stays after that point, and stays outside every trip, are not written.
  The reader rebuilds: a trip per (card, 入井时刻), up_at from flag 2 (empty when none), stays per
  (card, entered_at) with station_code = the station entered, left_at = the next stay's entered_at
  and the last stay's left_at = up_at. Exact when stays are chained (left_at = next entered_at), have
  a station_code whose first 16 digits are the area_code, and a vanished card's last stay has an
  empty left_at. 人员工作状态: 0 normal, 1 over 10 h underground, 2 in a 限制区域.
- CDSS, one file per hour [H, H+1h) uploaded at H+1h, records ordered by 数据时间 then point:
  analog points (value type not KG/LJ): one record per `sensor_stats` row at period_start with
  测点值 = avg_value and 测点状态 = status (empty when null), so a period's status is the bit-OR of
  the CDSS states in [period_start, period_end). Switch (KG) points: one record per
  `switch_events` row at changed_at with the state text (1009 断电/复电, 1011 无电/有电,
  1001/1004/1010 停/开 for 0/1; other types the digit), status 0. Belt-scale 3001 (LJ) points: a
  cumulative counter in tonnes, one reading at each point's first period_start (a seeded baseline),
  one at each period_end, and a repeated reading at a period_start that does not follow the previous
  period_end (a gap, which a reader sees as a 0-tonne period). The counter is reset to 0 at the start
  of the first period of each month and at seeded random boundaries, but only when that period's
  tonnes are below the counter: then the reading is the period's tonnes, lower than the one before.
  Readings are exact multiples of 10^-d where d (<= 6) is the fewest decimals the mine's tonnes
  need; a reader should take differences in decimal (or round them to 6 places).
- TJSJ: one record per `sensor_stats` row (数据时间 = period_end), in hourly files uploaded at the
  first full hour >= period_end. TJSJ has no status field: the status of KG and LJ points' stats
  (which have no per-period CDSS record) is not sent.
- YCBJ: uploads on 5-minute marks, the first mark strictly after the event. An alarm still open at
  the first mark after started_at is sent open (empty 异常结束时间, no handling, stats so far from
  `sensor_stats`), then closed at the first mark after ended_at; when the handling (entered_at) comes
  at a later mark, that closed copy has no handling and a second closed copy carries it; a seeded
  10 % of closed alarms are sent once more, unchanged, later. The latest copy is always the
  canonical row (an alarm never closed has a single copy, its canonical row).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.schema import SENSOR_TYPES

MINUTE = 60
HOUR = 3600
DAY = 86400
SNAPSHOT_SECONDS = 300  # RYSS cadence (contract: about every 5 minutes)
YCBJ_TICK_SECONDS = 300
GB18030_SHARE = 0.02
RESEND_CLOSED_SHARE = 0.1
RANDOM_RESET_PER_PERIOD = 1 / 4000  # besides the monthly reset: about one in six weeks at 15-minute periods
OVERTIME_SECONDS = 10 * HOUR  # 人员工作状态 1 (超时) beyond this time underground
CHUNK_ROWS = 200_000  # records built at once: bounds memory for a 150-day mine
MAX_DECIMALS = 6

# state text for 0 and 1 per switch type (the webGas export writes such texts)
SWITCH_TEXT = {
    "1009": ("断电", "复电"),
    "1011": ("无电", "有电"),
    "1001": ("停", "开"),
    "1004": ("停", "开"),
    "1010": ("停", "开"),
}
# record fields per file type (contract section B); also the per-type encoding streams
FIELDS = {"CDDY": 24, "CDSS": 7, "TJSJ": 12, "YCBJ": 17, "RYXX": 9, "RYQY": 4, "RYJZ": 6, "RYSS": 15}
MONITORING_SYSTEMS = (
    ("KJ95X", "煤矿安全监控系统", "天地(常州)自动化股份有限公司"),
    ("KJ73X", "煤矿安全监控系统", "重庆梅安森科技股份有限公司"),
    ("KJ90X", "煤矿安全监控系统", "中煤科工集团重庆研究院有限公司"),
    ("KJ2000X", "矿井安全监控系统", "北京瑞赛长城航空测控技术有限公司"),
)
POSITIONING_SYSTEMS = (
    ("KJ251A", "煤矿井下人员定位系统", "天地(常州)自动化股份有限公司"),
    ("KJ871", "煤矿人员精确定位系统", "重庆梅安森科技股份有限公司"),
    ("KJ133", "矿井人员定位系统", "中煤科工集团重庆研究院有限公司"),
)
EDUCATION = ("初中", "高中", "中专", "大专", "本科")
EDUCATION_P = (0.28, 0.24, 0.22, 0.18, 0.08)
RANKS = ("工人", "班长", "副队长", "队长")
RANKS_P = (0.84, 0.1, 0.03, 0.03)
SANITIZE = str.maketrans({";": "；", "~": "～", "|": "｜", "\r": " ", "\n": " "})
JOIN = pc.JoinOptions(null_handling="replace", null_replacement="")


def write_national(out_dir: Path, tables: dict[str, pd.DataFrame], seed: int) -> list[Path]:
    """Write every national file of one mine under `out_dir/national`; return the paths in order."""
    return _Writer(Path(out_dir), tables, seed).run()


def _secs(values: pd.Series | None) -> tuple[np.ndarray, np.ndarray]:
    """Epoch seconds of naive timestamps or dates, and where they are present."""
    if values is None or len(values) == 0:
        return np.zeros(0, np.int64), np.zeros(0, bool)
    arr = pd.to_datetime(pd.Series(values), errors="coerce").to_numpy(dtype="datetime64[s]")
    ok = ~np.isnat(arr)
    out = arr.astype(np.int64)
    out[~ok] = 0
    return out, ok


def _ts_bytes(secs: np.ndarray) -> np.ndarray:
    """`yyyy-MM-dd HH:mm:ss` of each epoch second as an (n, 19) uint8 array (vectorised strftime)."""
    secs = np.asarray(secs, np.int64)
    out = np.empty((len(secs), 19), np.uint8)
    if len(secs) == 0:
        return out
    days = secs // DAY
    first = days.min()
    span = np.arange(first, days.max() + 1).astype("datetime64[D]")
    day_text = np.frombuffer("".join(np.datetime_as_string(span)).encode(), np.uint8).reshape(-1, 10)
    out[:, :10] = day_text[days - first]
    out[:, 10] = ord(" ")
    out[:, 11:] = _clock_table()[secs - days * DAY]
    return out


_CLOCK: list[np.ndarray] = []


def _clock_table() -> np.ndarray:
    """`HH:mm:ss` of every second of a day, (86400, 8) uint8, built once."""
    if not _CLOCK:
        tod = np.arange(DAY)
        digits = [
            tod // HOUR // 10,
            tod // HOUR % 10,
            tod // MINUTE % 60 // 10,
            tod // MINUTE % 10,
            tod % 60 // 10,
            tod % 10,
        ]
        table = np.full((DAY, 8), ord(":"), np.uint8)
        for col, d in zip((0, 1, 3, 4, 6, 7), digits, strict=True):
            table[:, col] = 48 + d
        _CLOCK.append(table)
    return _CLOCK[0]


def _ts(secs: np.ndarray, ok: np.ndarray | None = None) -> pa.Array:
    """Timestamps as an arrow string array (null where not `ok`)."""
    n = len(secs)
    if ok is not None and not ok.all():
        secs = np.where(ok, secs, secs[ok][0] if ok.any() else 0)  # keep the day table of _ts_bytes short
    data = pa.py_buffer(_ts_bytes(secs).tobytes())
    offsets = pa.py_buffer(np.arange(0, 19 * n + 1, 19, dtype=np.int32).tobytes())
    arr = pa.StringArray.from_buffers(n, offsets, data)
    if ok is not None and not ok.all():
        arr = pc.if_else(pa.array(ok), arr, pa.scalar(None, pa.string()))
    return arr


def _ts_list(secs: np.ndarray) -> list[str]:
    """Timestamps as Python strings (few values: file times)."""
    return [b.tobytes().decode() for b in _ts_bytes(secs)] if len(secs) else []


def _num(values) -> pa.Array:
    """Floats as the shortest text that parses back to the same double; null for NaN."""
    x = np.asarray(values, dtype=np.float64) + 0.0  # -0.0 + 0.0 is 0.0: no "-0" in the files
    text = pa.array(x, from_pandas=True).cast(pa.string())
    sci = pc.fill_null(pc.match_substring(text, "e"), False)
    if pc.any(sci).as_py():
        where = np.flatnonzero(sci.to_numpy(zero_copy_only=False))
        fixed = pa.array([np.format_float_positional(x[i], trim="-") for i in where])
        text = pc.replace_with_mask(text, sci, fixed)
    return text


def _int_text(values, ok: np.ndarray | None = None) -> pa.Array:
    """Integers as text; null where not `ok`."""
    arr = np.asarray(values, dtype=np.int64)
    return pa.array(arr, mask=None if ok is None else ~ok).cast(pa.string())


def _clean(value) -> str | None:
    """One free-text value as written: None for missing, separators made full-width."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return str(value).translate(SANITIZE)


def _text(values) -> pa.Array:
    """Free text or codes as an arrow string array."""
    if isinstance(values, pd.Series) and pd.api.types.is_string_dtype(values) and values.dtype != object:
        arr = pa.array(values, from_pandas=True).cast(pa.string())  # arrow-backed text: no Python loop
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks()
        for old, new in SANITIZE.items():
            if pc.any(pc.match_substring(arr, chr(old))).as_py():
                arr = pc.replace_substring(arr, chr(old), new)
        return arr
    return pa.array([_clean(v) for v in values], pa.string())


def _flag_text(values) -> pa.Array:
    """0/1 columns as `0`/`1` text."""
    return pa.array([None if pd.isna(v) else str(int(v)) for v in values], pa.string())


def _records(cols: list) -> pa.Array:
    """Records `f1;f2;…;fn~` from equally long columns (arrays or scalars)."""
    joined = pc.binary_join_element_wise(*cols, ";", options=JOIN)
    out = pc.binary_join_element_wise(joined, "", "~")
    return out.combine_chunks() if isinstance(out, pa.ChunkedArray) else out


def _col(tables: dict[str, pd.DataFrame], table: str, column: str) -> pd.Series:
    """A column of a table, or an empty series when the table or column is missing."""
    frame = tables.get(table)
    if frame is None or column not in frame.columns:
        return pd.Series([], dtype=object)
    return frame[column].reset_index(drop=True)


def _rows(tables: dict[str, pd.DataFrame], table: str) -> pd.DataFrame:
    """A table with a fresh index (empty when missing)."""
    frame = tables.get(table)
    return pd.DataFrame() if frame is None else frame.reset_index(drop=True)


def _decimals(values: np.ndarray) -> int:
    """The fewest decimals (<= MAX_DECIMALS) that represent every value exactly."""
    for d in range(MAX_DECIMALS + 1):
        if np.array_equal(np.round(values, d), values):
            return d
    return MAX_DECIMALS


class _Writer:
    """Writes the files of one mine; holds the mine's registry strings and seeded streams."""

    def __init__(self, out_dir: Path, tables: dict[str, pd.DataFrame], seed: int) -> None:
        self.tables = tables
        self.dir = out_dir / "national"
        mines = _rows(tables, "mines")
        if len(mines):
            self.mine_code = str(mines["mine_code"].iloc[0])
            self.mine_name = _clean(mines["mine_name"].iloc[0]) or ""
            headcount = mines["approved_headcount"].iloc[0] if "approved_headcount" in mines else None
        else:
            codes = [_col(tables, t, "mine_code") for t in ("sensors", "people", "areas")]
            self.mine_code = str(next(c.iloc[0] for c in codes if len(c)))
            self.mine_name, headcount = "", None
        self.headcount = "" if headcount is None or pd.isna(headcount) else str(int(headcount))
        # one independent stream per purpose, so changing one file type never shifts another's draws
        self.seed_key = [int(seed), int(self.mine_code)]
        names = ("systems", "people", "counter", "ycbj", "ryss")
        streams = np.random.SeedSequence(self.seed_key).spawn(len(names))
        self.rng = {name: np.random.default_rng(s) for name, s in zip(names, streams, strict=True)}
        self.rng.update(
            {kind: np.random.default_rng(self.seed_key + [zlib.crc32(kind.encode())]) for kind in FIELDS}
        )
        sysrng = self.rng["systems"]
        self.monitoring = MONITORING_SYSTEMS[sysrng.integers(len(MONITORING_SYSTEMS))]
        self.positioning = POSITIONING_SYSTEMS[sysrng.integers(len(POSITIONING_SYSTEMS))]
        self.cert_monitoring = f"{sysrng.integers(2026, 2030)}-{sysrng.integers(1, 13):02d}-28"
        self.cert_positioning = f"{sysrng.integers(2026, 2030)}-{sysrng.integers(1, 13):02d}-28"
        self.paths: list[Path] = []
        self.t_lo, self.t_hi = self._window()
        self.day0 = self.t_lo // DAY * DAY
        sensors = _rows(tables, "sensors")
        points = set(sensors["point_code"].astype(str)) if len(sensors) else set()
        for table in ("sensor_stats", "switch_events", "alarms", "production", "sensor_links"):
            points |= {str(p) for p in _col(tables, table, "point_code").unique()}
        self.points = pd.Index(sorted(points))
        self._point_strings(sensors)

    def run(self) -> list[Path]:
        """Write every file type."""
        self.dir.mkdir(parents=True, exist_ok=True)
        middle = self.day0 + (self.t_hi - self.day0) // DAY // 2 * DAY
        for when in sorted({self.day0, middle}):
            self._write_cddy(when)
            self._write_ryqy(when)
            self._write_ryjz(when)
        self._write_ryxx()
        self._write_ryss()
        self._write_cdss()
        self._write_tjsj()
        self._write_ycbj()
        return sorted(self.paths)

    def _window(self) -> tuple[int, int]:
        """First and last event time of the mine (epoch seconds)."""
        cols = {
            "shaft_trips": ("down_at", "up_at"),
            "presence": ("entered_at", "left_at"),
            "sensor_stats": ("period_start", "period_end"),
            "switch_events": ("changed_at",),
            "alarms": ("started_at", "ended_at", "entered_at"),
            "production": ("period_start", "period_end"),
        }
        lo, hi = [], []
        for table, names in cols.items():
            for name in names:
                secs, ok = _secs(_col(self.tables, table, name))
                if ok.any():
                    lo.append(secs[ok].min())
                    hi.append(secs[ok].max())
        if not lo:  # registry only: anchor the files on the first registration
            secs, ok = _secs(_col(self.tables, "people", "registered_on"))
            start = int(secs[ok].min()) if ok.any() else 946684800
            return start, start
        return int(min(lo)), int(max(hi))

    def _point_strings(self, sensors: pd.DataFrame) -> None:
        """Per-point text (type name, location, unit, value type) in `self.points` order."""
        n = len(self.points)
        frame = pd.DataFrame(index=self.points)
        if len(sensors):
            s = sensors.assign(point_code=sensors["point_code"].astype(str)).drop_duplicates("point_code")
            frame = frame.join(
                s.set_index("point_code")[
                    [c for c in ("sensor_type", "value_type", "unit", "location") if c in s.columns]
                ]
            )
        get = lambda c: frame[c] if c in frame else pd.Series([None] * n, index=self.points)  # noqa: E731
        self.p_type = [None if pd.isna(v) else str(v) for v in get("sensor_type")]
        self.p_vtype = [None if pd.isna(v) else str(v) for v in get("value_type")]
        self.p_code = _text(self.points)
        self.p_name = pa.array(
            [SENSOR_TYPES[t][0] if t in SENSOR_TYPES else None for t in self.p_type], pa.string()
        )
        self.p_loc = _text(get("location"))
        self.p_unit = _text(get("unit"))

    def _point_idx(self, codes: pd.Series) -> np.ndarray:
        """Positions of point codes in `self.points`."""
        return self.points.get_indexer(codes.astype(str))

    def _emit(
        self, kind: str, records: pa.Array, bounds: np.ndarray, times: np.ndarray, extra: str | None = None
    ) -> None:
        """Write one file per upload time: header, records[bounds[i]:bounds[i+1]], `||`."""
        if len(times) == 0:
            return
        offsets = np.frombuffer(records.buffers()[1], np.int32)[
            records.offset : records.offset + len(records) + 1
        ]
        data = records.buffers()[2]
        body = memoryview(data) if data is not None else memoryview(b"")
        stamps = _ts_list(times)
        head = f"{self.mine_code};{self.mine_name};" + (f"{extra};" if extra else "")
        gb = self.rng[kind].random(len(times)) < GB18030_SHARE
        for i, stamp in enumerate(stamps):
            content = b"".join(
                (f"{head}{stamp}~".encode(), body[offsets[bounds[i]] : offsets[bounds[i + 1]]], b"||")
            )
            if gb[i]:
                content = _gb18030(content)
            name = stamp.replace("-", "").replace(" ", "").replace(":", "")
            path = self.dir / f"{self.mine_code}_{kind}_{name}.txt"
            path.write_bytes(content)
            self.paths.append(path)

    def _emit_one(self, kind: str, records: pa.Array, when: int, extra: str | None = None) -> None:
        """Write a single file holding all `records`."""
        self._emit(kind, records, np.array([0, len(records)]), np.array([when]), extra)

    def _write_stream(
        self, kind: str, file_secs: np.ndarray, order: np.ndarray, build: Callable[[np.ndarray], list]
    ) -> None:
        """Write rows (already in file order) in chunks cut at file boundaries."""
        if len(order) == 0:
            return
        fs = file_secs[order]
        starts = np.concatenate(([0], np.flatnonzero(np.diff(fs)) + 1))
        a = 0
        while a < len(order):
            nxt = np.searchsorted(starts, a + CHUNK_ROWS, side="left")
            b = int(starts[nxt]) if nxt < len(starts) else len(order)
            idx = order[a:b]
            records = _records(build(idx))
            local = fs[a:b]
            cut = np.concatenate(([0], np.flatnonzero(np.diff(local)) + 1, [b - a]))
            self._emit(kind, records, cut, local[cut[:-1]])
            a = b

    # -- registry files -------------------------------------------------------------------------

    def _write_cddy(self, when: int) -> None:
        """Point definitions with thresholds and relations."""
        s = _rows(self.tables, "sensors")
        if len(s) == 0:
            return
        s = s.assign(point_code=s["point_code"].astype(str)).sort_values("point_code", kind="stable")
        s = s.drop_duplicates("point_code").reset_index(drop=True)
        links = _rows(self.tables, "sensor_links")
        rel: dict[str, str] = {}
        if len(links):
            types = dict(zip(self.points, self.p_type, strict=True))
            entries = pd.DataFrame(
                {
                    "point": links["point_code"].astype(str),
                    "entry": [
                        f"{r}-{p}-{SENSOR_TYPES.get(types.get(str(p)), ('',))[0]}"
                        for r, p in zip(links["relation"], links["linked_point_code"], strict=True)
                    ],
                }
            ).sort_values(["point", "entry"], kind="stable")
            rel = entries.groupby("point", sort=False)["entry"].agg("◇".join).to_dict()
        area_rank = {a: i + 1 for i, a in enumerate(sorted(set(_col(self.tables, "areas", "area_code"))))}
        col = lambda c: s[c] if c in s else pd.Series([None] * len(s))  # noqa: E731
        states = [SWITCH_TEXT.get(str(t)) for t in col("sensor_type")]
        cols = [
            _text(s["point_code"]),
            "01",  # one monitoring system per mine
            pa.array([f"{area_rank.get(a, 0):03d}" for a in col("area_code")]),
            _text(col("sensor_type")),
            _text(col("value_type")),
            _text(col("unit")),
            _num(col("range_high")),
            _num(col("range_low")),
            _num(col("alarm_high")),
            _num(col("alarm_clear_high")),
            None,
            None,  # 下限报警/解报: not in the canonical table
            _num(col("cutoff_high")),
            _num(col("restore_high")),
            None,
            None,
            pa.array([st[1] if st else None for st in states], pa.string()),
            pa.array([st[0] if st else None for st in states], pa.string()),
            _text(col("location")),
            _num(col("x")),
            _num(col("y")),
            _num(col("z")),
            pa.array([rel.get(p) for p in s["point_code"]], pa.string()),
            _ts_list(np.array([when]))[0],
        ]
        cols = [pa.nulls(len(s), pa.string()) if c is None else c for c in cols]
        model, name, maker = self.monitoring
        self._emit_one("CDDY", _records(cols), when, f"{model};{name};{maker};{self.cert_monitoring}")

    def _write_ryqy(self, when: int) -> None:
        """Positioning areas."""
        a = _rows(self.tables, "areas")
        if len(a) == 0:
            return
        a = a.sort_values("area_code", kind="stable").reset_index(drop=True)
        ok = (
            a["approved_headcount"].notna().to_numpy()
            if "approved_headcount" in a
            else np.zeros(len(a), bool)
        )
        heads = (
            a["approved_headcount"].fillna(0).to_numpy() if "approved_headcount" in a else np.zeros(len(a))
        )
        cols = [
            _text(a["area_type"]),
            _text(a["area_code"]),
            _int_text(heads, ok),
            _text(a["area_name"] if "area_name" in a else [None] * len(a)),
        ]
        self._emit_one("RYQY", _records(cols), when)

    def _write_ryjz(self, when: int) -> None:
        """Positioning stations; 位置注释 is the area's name."""
        s = _rows(self.tables, "stations")
        if len(s) == 0:
            return
        s = s.sort_values("station_code", kind="stable").reset_index(drop=True)
        areas = _rows(self.tables, "areas")
        names = dict(zip(areas["area_code"], areas["area_name"], strict=True)) if "area_name" in areas else {}
        col = lambda c: s[c] if c in s else pd.Series([None] * len(s))  # noqa: E731
        cols = [
            _text(s["station_code"]),
            _text(col("station_name")),
            _num(col("x")),
            _num(col("y")),
            _num(col("z")),
            _text([names.get(str(c)[:16]) for c in s["station_code"]]),
        ]
        self._emit_one("RYJZ", _records(cols), when)

    def _write_ryxx(self) -> None:
        """Daily rosters; file dates chosen so registration dates read back exactly."""
        p = _rows(self.tables, "people")
        if len(p) == 0:
            return
        p = p.sort_values("card_code", kind="stable").reset_index(drop=True)
        n = len(p)
        reg, reg_ok = _secs(p["registered_on"])
        dereg, dereg_ok = _secs(p["deregistered_on"] if "deregistered_on" in p else [None] * n)
        reg, dereg = reg // DAY * DAY, dereg // DAY * DAY
        rng = self.rng["people"]
        born_year = rng.integers(1966, 2004, n)
        born_month = rng.integers(1, 13, n)
        edu = rng.choice(len(EDUCATION), n, p=EDUCATION_P)
        rank = rng.choice(len(RANKS), n, p=RANKS_P)
        leader = p["is_leader"].fillna(0).to_numpy() if "is_leader" in p else np.zeros(n)
        col = lambda c: p[c] if c in p else pd.Series([None] * n)  # noqa: E731
        cols = [
            _text(p["card_code"]),
            _text(col("name")),
            _text(col("job")),
            pa.array(["矿领导" if leader[i] == 1 else RANKS[rank[i]] for i in range(n)]),
            _text(col("team")),
            pa.array([f"{y}-{m:02d}" for y, m in zip(born_year, born_month, strict=True)]),
            pa.array([EDUCATION[e] for e in edu]),
            _flag_text(col("is_leader")),
            _flag_text(col("is_special")),
        ]
        records = _records(cols).to_numpy(zero_copy_only=False)
        first, last = self.day0, self.t_hi // DAY * DAY
        days = set(range(first, last + DAY, DAY)) | set(reg[reg_ok]) | set(dereg[dereg_ok])
        same_day = reg_ok & dereg_ok & (reg == dereg)
        bodies, times = [], []
        for day in sorted(days):
            shown = reg_ok & (reg <= day) & (~dereg_ok | (dereg > day))
            if same_day.any() and (same_day & (reg == day)).any():
                bodies.append("".join(records[shown | (same_day & (reg == day))]))
                times.append(day + MINUTE)
            bodies.append("".join(records[shown]))
            times.append(day + 5 * MINUTE)
        arr = pa.array(bodies, pa.string())
        model, name, maker = self.positioning
        extra = f"{self.headcount};{model};{name};{maker};{self.cert_positioning}"
        self._emit("RYXX", arr, np.arange(len(bodies) + 1), np.array(times), extra)

    # -- personnel snapshots --------------------------------------------------------------------

    def _write_ryss(self) -> None:
        """Snapshots every 5 minutes rebuilt from shaft_trips and presence (rules in the docstring)."""
        trips, stays, people = (_rows(self.tables, t) for t in ("shaft_trips", "presence", "people"))
        if len(trips) == 0:
            return
        cards = pd.Index(
            sorted(
                set(trips["card_code"].astype(str))
                | set(stays["card_code"].astype(str) if len(stays) else [])
            )
        )
        tc = cards.get_indexer(trips["card_code"].astype(str)).astype(np.int64)
        down, _ = _secs(trips["down_at"])
        up, up_ok = _secs(trips["up_at"])
        order = np.lexsort((down, tc))
        tc, down, up, up_ok = tc[order], down[order], up[order], up_ok[order]
        n_trips = len(tc)

        if len(stays):
            sc = cards.get_indexer(stays["card_code"].astype(str)).astype(np.int64)
            ent, _ = _secs(stays["entered_at"])
            left, left_ok = _secs(stays["left_at"])
            s_order = np.lexsort((ent, sc))
            stays = stays.iloc[s_order].reset_index(drop=True)
            sc, ent, left, left_ok = sc[s_order], ent[s_order], left[s_order], left_ok[s_order]
        else:
            sc = ent = left = np.zeros(0, np.int64)
            left_ok = np.zeros(0, bool)
        base = int(min(down.min(), ent.min() if len(ent) else down.min())) - DAY
        shift = np.int64(1) << np.int64(34)  # seconds since `base` fit in 34 bits (500 years)
        tkey = tc * shift + (down - base)
        skey = sc * shift + (ent - base)
        s_trip = np.searchsorted(tkey, skey, side="right") - 1
        keep = s_trip >= 0
        keep[keep] &= tc[s_trip[keep]] == sc[keep]
        keep[keep] &= ~up_ok[s_trip[keep]] | (ent[keep] < up[s_trip[keep]])
        stays = stays[keep].reset_index(drop=True)  # stays outside every trip are not positioning data
        sc, ent, left, left_ok, s_trip = sc[keep], ent[keep], left[keep], left_ok[keep], s_trip[keep]
        skey = skey[keep]

        # when a card whose trip has no up_at vanishes from the snapshots
        last_stay = np.full(n_trips, -1)
        np.maximum.at(last_stay, s_trip, np.arange(len(s_trip)))
        k_max = -(
            (self.day0 - max(self.t_hi, int(up[up_ok].max()) if up_ok.any() else 0)) // SNAPSHOT_SECONDS
        )
        cap = self.day0 + SNAPSHOT_SECONDS * (k_max + 1)
        pidx = (
            pd.Index(people["card_code"].astype(str)).get_indexer(cards)
            if len(people)
            else np.full(len(cards), -1)
        )
        if len(people) and "deregistered_on" in people:
            dsec, dok = _secs(people["deregistered_on"])
            card_dereg = np.where((pidx >= 0) & dok[pidx], dsec[pidx] // DAY * DAY, cap)
        else:
            card_dereg = np.full(len(cards), cap)
        next_down = np.full(n_trips, cap)
        same = tc[1:] == tc[:-1]
        next_down[:-1][same] = down[1:][same]
        has_last = last_stay >= 0
        last_left = np.full(n_trips, cap)
        ll_ok = has_last.copy()
        ll_ok[has_last] &= left_ok[last_stay[has_last]]
        last_left[ll_ok] = left[last_stay[ll_ok]]
        vanish = np.minimum.reduce([last_left, next_down, card_dereg[tc], np.full(n_trips, cap)])

        def kidx(t: np.ndarray) -> np.ndarray:
            return -((self.day0 - t) // SNAPSHOT_SECONDS)  # first snapshot at or after t

        k_first = kidx(down)
        k_up = np.where(up_ok, kidx(up), k_max + 1)
        # flag 1 on [k_first, k_stop); a trip that never comes up shows in at least one snapshot
        k_stop = np.where(up_ok, k_up, np.maximum(np.minimum(kidx(vanish), k_max + 1), k_first + 1))

        # which record's 行进轨迹 lists each stay: key (trip, k, flag 2)
        ks = kidx(ent)
        st_trip_up = up_ok[s_trip] & (ks == k_up[s_trip])
        listed = st_trip_up | ((ks >= k_first[s_trip]) & (ks < k_stop[s_trip]))
        station_str = _text(stays["station_code"] if len(stays) else [])
        ent_str = _ts(ent)
        tokens = pc.binary_join_element_wise(station_str, ent_str, "&", options=JOIN).to_numpy(
            zero_copy_only=False
        )
        s_rkey = ((s_trip * (1 << 21) + ks) * 2 + st_trip_up)[listed]
        tok_order = np.argsort(s_rkey, kind="stable")
        s_rkey, tokens = s_rkey[tok_order], tokens[listed][tok_order]

        card_str = _text(cards)
        if len(people):
            ptake = pa.array(pidx, mask=pidx < 0)
            card_name = _text(people["name"] if "name" in people else [None] * len(people)).take(ptake)
            card_leader = _flag_text(
                people["is_leader"] if "is_leader" in people else [None] * len(people)
            ).take(ptake)
            card_special = _flag_text(
                people["is_special"] if "is_special" in people else [None] * len(people)
            ).take(ptake)
        else:
            card_name = card_leader = card_special = pa.nulls(len(cards), pa.string())
        down_str, up_str = _ts(down), _ts(up, up_ok)
        area_str = _text(stays["area_code"] if len(stays) else [])
        areas = _rows(self.tables, "areas")
        restricted_areas = areas.loc[areas["area_type"] == "限制区域", "area_code"] if len(areas) else []
        restricted = (
            pc.is_in(area_str, pa.array(list(restricted_areas), pa.string()))
            .to_numpy(zero_copy_only=False)
            .astype(bool)
        )
        durations = up[up_ok] - down[up_ok]
        labour = "三八制" if len(durations) == 0 or np.median(durations) > 7.5 * HOUR else "四六制"
        rng = self.rng["ryss"]

        per_chunk = DAY // SNAPSHOT_SECONDS  # a day of snapshots at a time: tens of thousands of records
        for ka in range(0, k_max + 1, per_chunk):
            kb = min(ka + per_chunk, k_max + 1)
            lo, hi = np.maximum(k_first, ka), np.minimum(k_stop, kb)
            counts = np.clip(hi - lo, 0, None)
            r_trip = np.repeat(np.arange(n_trips), counts)
            r_k = np.repeat(lo, counts) + (
                np.arange(len(r_trip)) - np.repeat(np.cumsum(counts) - counts, counts)
            )
            two = np.flatnonzero(up_ok & (k_up >= ka) & (k_up < kb))
            r_trip = np.concatenate((r_trip, two))
            r_k = np.concatenate((r_k, k_up[two]))
            r_two = np.concatenate((np.zeros(len(r_trip) - len(two), bool), np.ones(len(two), bool)))
            o = np.lexsort((r_two, down[r_trip], tc[r_trip], r_k))
            r_trip, r_k, r_two = r_trip[o], r_k[o], r_two[o]
            n = len(r_trip)
            snap = self.day0 + SNAPSHOT_SECONDS * r_k
            at = np.where(r_two, up[r_trip], snap)
            # the current stay: the trip's last stay entered at or before the snapshot (before up_at for flag 2)
            qkey = tc[r_trip] * shift + (at - base) + np.where(r_two, 0, 1)
            cur = np.searchsorted(skey, qkey, side="left") - 1
            cur_ok = cur >= 0
            cur_ok[cur_ok] &= s_trip[cur[cur_ok]] == r_trip[cur_ok]
            cur_take = pa.array(np.where(cur_ok, cur, 0), mask=~cur_ok)
            rkey = (r_trip * (1 << 21) + r_k) * 2 + r_two
            a_ = np.searchsorted(s_rkey, rkey, side="left")
            b_ = np.searchsorted(s_rkey, rkey, side="right")
            traj = np.full(n, None, dtype=object)
            for i in np.flatnonzero(b_ > a_):
                traj[i] = ",".join(tokens[a_[i] : b_[i]])
            in_restricted = np.zeros(n, bool)
            in_restricted[cur_ok] = restricted[cur[cur_ok]]
            status = np.where(in_restricted, "2", np.where(at - down[r_trip] > OVERTIME_SECONDS, "1", "0"))
            card_take = pa.array(tc[r_trip])
            cols = [
                card_str.take(card_take),
                card_name.take(card_take),
                pa.array(np.where(r_two, "2", "1")),
                down_str.take(pa.array(r_trip)),
                pc.if_else(pa.array(r_two), up_str.take(pa.array(r_trip)), pa.scalar(None, pa.string())),
                area_str.take(cur_take),
                ent_str.take(cur_take),
                station_str.take(cur_take),
                ent_str.take(cur_take),
                labour,
                pa.array(rng.integers(0, 120, n)).cast(pa.string()),
                pa.array(status),
                card_leader.take(card_take),
                card_special.take(card_take),
                pa.array(traj, pa.string()),
            ]
            records = _records(cols) if n else pa.array([], pa.string())
            bounds = np.searchsorted(r_k, np.arange(ka, kb + 1), side="left")
            self._emit("RYSS", records, bounds, self.day0 + SNAPSHOT_SECONDS * np.arange(ka, kb))

    # -- monitoring -----------------------------------------------------------------------------

    def _counter_readings(self) -> tuple[np.ndarray, np.ndarray, pa.Array]:
        """Belt-scale cumulative readings: point index, time, value text (rules in the docstring)."""
        prod = _rows(self.tables, "production")
        if len(prod) == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), pa.array([], pa.string())
        pt = self._point_idx(prod["point_code"])
        start, _ = _secs(prod["period_start"])
        end, _ = _secs(prod["period_end"])
        tonnes = prod["tonnes"].fillna(0).to_numpy(np.float64)
        d = _decimals(tonnes)
        units = np.round(tonnes * 10**d).astype(np.int64)
        order = np.lexsort((start, pt))
        pt, start, end, units = pt[order], start[order], end[order], units[order]
        month = start.astype("datetime64[s]").astype("datetime64[M]").astype(np.int64)
        rng = self.rng["counter"]
        out_p, out_t, out_v = [], [], []
        for p in np.unique(pt):
            sel = np.flatnonzero(pt == p)
            s_, e_, u_, m_ = start[sel], end[sel], units[sel].tolist(), month[sel]
            random_reset = rng.random(len(sel)) < RANDOM_RESET_PER_PERIOD
            counter = int(rng.integers(10_000, 2_000_000)) * 10**d
            times, values = [int(s_[0])], [counter]
            for i in range(len(sel)):
                if i and s_[i] > e_[i - 1]:
                    times.append(int(s_[i]))
                    values.append(counter)
                if i and (m_[i] != m_[i - 1] or random_reset[i]) and u_[i] < counter:
                    counter = 0
                counter += u_[i]
                times.append(int(e_[i]))
                values.append(counter)
            out_p.append(np.full(len(times), p))
            out_t.append(np.array(times, np.int64))
            out_v.append(np.array(values, np.int64))
        values = np.concatenate(out_v)
        return np.concatenate(out_p), np.concatenate(out_t), _num(values / 10**d)

    def _write_cdss(self) -> None:
        """Real-time values: analog per stats period, switch changes, belt-scale counter."""
        stats = _rows(self.tables, "sensor_stats")
        vt = np.array([v or "" for v in self.p_vtype], dtype=object)
        if len(stats):
            a_pt = self._point_idx(stats["point_code"])
            analog = ~np.isin(vt[a_pt], ["KG", "LJ"])
            a_pt = a_pt[analog]
            a_t, _ = _secs(stats["period_start"][analog])
            a_val = _num(stats["avg_value"].to_numpy(np.float64)[analog])
            st = stats["status"][analog] if "status" in stats else pd.Series([None] * int(analog.sum()))
            a_status = _int_text(st.fillna(0).to_numpy(), st.notna().to_numpy())
        else:
            a_pt, a_t = np.zeros(0, np.int64), np.zeros(0, np.int64)
            a_val = a_status = pa.array([], pa.string())
        sw = _rows(self.tables, "switch_events")
        if len(sw):
            s_pt = self._point_idx(sw["point_code"])
            s_t, _ = _secs(sw["changed_at"])
            s_val = pa.array(
                [
                    SWITCH_TEXT[self.p_type[p]][int(v)] if self.p_type[p] in SWITCH_TEXT else str(int(v))
                    for p, v in zip(s_pt, sw["state"], strict=True)
                ],
                pa.string(),
            )
        else:
            s_pt, s_t, s_val = np.zeros(0, np.int64), np.zeros(0, np.int64), pa.array([], pa.string())
        c_pt, c_t, c_val = self._counter_readings()
        pt = np.concatenate((a_pt, s_pt, c_pt))
        t = np.concatenate((a_t, s_t, c_t))
        value = pa.concat_arrays([a_val, s_val, c_val])
        status = pa.concat_arrays([a_status, pa.array(["0"] * (len(s_pt) + len(c_pt)), pa.string())])
        file_secs = t // HOUR * HOUR + HOUR
        order = np.lexsort((pt, t, file_secs))

        def build(idx: np.ndarray) -> list:
            take = pa.array(pt[idx])
            return [
                self.p_code.take(take),
                self.p_name.take(take),
                self.p_loc.take(take),
                value.take(pa.array(idx)),
                self.p_unit.take(take),
                status.take(pa.array(idx)),
                _ts(t[idx]),
            ]

        self._write_stream("CDSS", file_secs, order, build)

    def _write_tjsj(self) -> None:
        """Period statistics, one record per sensor_stats row."""
        stats = _rows(self.tables, "sensor_stats")
        if len(stats) == 0:
            return
        pt = self._point_idx(stats["point_code"])
        start, _ = _secs(stats["period_start"])
        end, _ = _secs(stats["period_end"])
        max_at, max_ok = _secs(stats["max_at"] if "max_at" in stats else [None] * len(stats))
        min_at, min_ok = _secs(stats["min_at"] if "min_at" in stats else [None] * len(stats))
        vmax, vmin, vavg = (stats[c].to_numpy(np.float64) for c in ("max_value", "min_value", "avg_value"))
        file_secs = -(-end // HOUR) * HOUR
        order = np.lexsort((pt, end, file_secs))

        def build(idx: np.ndarray) -> list:
            take = pa.array(pt[idx])
            return [
                self.p_code.take(take),
                self.p_name.take(take),
                self.p_loc.take(take),
                self.p_unit.take(take),
                _ts(start[idx]),
                _ts(end[idx]),
                _num(vmax[idx]),
                _ts(max_at[idx], max_ok[idx]),
                _num(vmin[idx]),
                _ts(min_at[idx], min_ok[idx]),
                _num(vavg[idx]),
                _ts(end[idx]),
            ]

        self._write_stream("TJSJ", file_secs, order, build)

    def _write_ycbj(self) -> None:
        """Alarms: open copies, closed copies, handling copies and re-sent copies."""
        al = _rows(self.tables, "alarms")
        if len(al) == 0:
            return
        n = len(al)
        pt = self._point_idx(al["point_code"])
        started, _ = _secs(al["started_at"])
        ended, end_ok = _secs(al["ended_at"])
        entered, ent_ok = _secs(al["entered_at"] if "entered_at" in al else [None] * n)

        def tick(t: np.ndarray) -> np.ndarray:
            return t // YCBJ_TICK_SECONDS * YCBJ_TICK_SECONDS + YCBJ_TICK_SECONDS

        t_open = tick(started)
        sent_open = ~end_ok | (t_open < ended)
        t_closed = tick(ended)
        handled_later = end_ok & ent_ok & (tick(entered) > t_closed)
        t_final = np.where(handled_later, tick(entered), t_closed)
        resend = end_ok & (self.rng["ycbj"].random(n) < RESEND_CLOSED_SHARE)
        t_resend = t_final + YCBJ_TICK_SECONDS * self.rng["ycbj"].integers(1, 13, n)
        # copies: (alarm, upload time, kind) with kind 0 open-so-far, 1 closed without handling, 2 canonical
        copies = [
            (np.flatnonzero(sent_open & end_ok), t_open, 0),
            (np.flatnonzero(~end_ok), t_open, 2),
            (np.flatnonzero(handled_later), t_closed, 1),
            (np.flatnonzero(end_ok), t_final, 2),
            (np.flatnonzero(resend), t_resend, 2),
        ]
        c_alarm = np.concatenate([c[0] for c in copies])
        c_time = np.concatenate([c[1][c[0]] for c in copies])
        c_kind = np.concatenate([np.full(len(c[0]), c[2]) for c in copies])
        order = np.lexsort((started[c_alarm], pt[c_alarm], c_time))
        c_alarm, c_time, c_kind = c_alarm[order], c_time[order], c_kind[order]

        cols_text = {
            c: (al[c] if c in al else pd.Series([None] * n)) for c in ("cause", "measure", "entered_by")
        }
        vals = {
            c: (al[c].to_numpy(np.float64) if c in al else np.full(n, np.nan))
            for c in ("max_value", "min_value", "avg_value")
        }
        at = {c: _secs(al[c] if c in al else [None] * n) for c in ("max_at", "min_at")}
        m = len(c_alarm)
        vmax, vmin, vavg = (vals[c][c_alarm].copy() for c in ("max_value", "min_value", "avg_value"))
        max_at, max_ok = at["max_at"][0][c_alarm].copy(), at["max_at"][1][c_alarm].copy()
        min_at, min_ok = at["min_at"][0][c_alarm].copy(), at["min_at"][1][c_alarm].copy()
        for i in np.flatnonzero(c_kind == 0):
            so_far = self._stats_so_far(al["point_code"].iloc[c_alarm[i]], started[c_alarm[i]], c_time[i])
            vmax[i], max_at[i], max_ok[i], vmin[i], min_at[i], min_ok[i], vavg[i] = so_far
        closed = (c_kind > 0) & end_ok[c_alarm]
        handled = c_kind == 2
        take = pa.array(pt[c_alarm])
        null = pa.scalar(None, pa.string())
        hmask = pa.array(handled)
        cols = [
            self.p_code.take(take),
            self.p_name.take(take),
            self.p_loc.take(take),
            self.p_unit.take(take),
            _text(al["alarm_type"]).take(pa.array(c_alarm)),
            _ts(started[c_alarm]),
            _ts(ended[c_alarm], closed),
            _num(vmax),
            _ts(max_at, max_ok),
            _num(vmin),
            _ts(min_at, min_ok),
            _num(vavg),
            pc.if_else(hmask, _text(cols_text["cause"]).take(pa.array(c_alarm)), null),
            pc.if_else(hmask, _text(cols_text["measure"]).take(pa.array(c_alarm)), null),
            pc.if_else(hmask, _ts(entered[c_alarm], ent_ok[c_alarm]), null),
            pc.if_else(hmask, _text(cols_text["entered_by"]).take(pa.array(c_alarm)), null),
            _ts(c_time),
        ]
        records = _records(cols)
        cut = np.concatenate(([0], np.flatnonzero(np.diff(c_time)) + 1, [m]))
        self._emit("YCBJ", records, cut, c_time[cut[:-1]])

    def _stats_so_far(self, point: str, started: int, upload: int) -> tuple:
        """Max, max_at, ok, min, min_at, ok, avg of a point's stats periods ending in (started, upload]."""
        if not hasattr(self, "_stats_by_point"):
            stats = _rows(self.tables, "sensor_stats")
            self._stats_by_point = {}
            if len(stats):
                end, _ = _secs(stats["period_end"])
                max_at, max_ok = _secs(stats["max_at"] if "max_at" in stats else [None] * len(stats))
                min_at, min_ok = _secs(stats["min_at"] if "min_at" in stats else [None] * len(stats))
                frame = pd.DataFrame(
                    {
                        "point": stats["point_code"].astype(str),
                        "end": end,
                        "max": stats["max_value"],
                        "min": stats["min_value"],
                        "avg": stats["avg_value"],
                        "max_at": max_at,
                        "max_ok": max_ok,
                        "min_at": min_at,
                        "min_ok": min_ok,
                    }
                )
                for p, g in frame.sort_values(["point", "end"], kind="stable").groupby("point", sort=False):
                    self._stats_by_point[p] = g
        g = self._stats_by_point.get(str(point))
        if g is None:
            return (np.nan, 0, False, np.nan, 0, False, np.nan)
        ends = g["end"].to_numpy()
        a, b = np.searchsorted(ends, started, "right"), np.searchsorted(ends, upload, "right")
        if b <= a:
            return (np.nan, 0, False, np.nan, 0, False, np.nan)
        w = g.iloc[a:b]
        i_max, i_min = int(np.argmax(w["max"].to_numpy())), int(np.argmin(w["min"].to_numpy()))
        return (
            float(w["max"].iloc[i_max]),
            int(w["max_at"].iloc[i_max]),
            bool(w["max_ok"].iloc[i_max]),
            float(w["min"].iloc[i_min]),
            int(w["min_at"].iloc[i_min]),
            bool(w["min_ok"].iloc[i_min]),
            round(float(w["avg"].mean()), 3),
        )


def _gb18030(content: bytes) -> bytes:
    """Re-encode a file as GB18030 unless the result would also read as UTF-8 (the reader tries UTF-8 first)."""
    encoded = content.decode("utf-8").encode("gb18030")
    if encoded == content:
        return content
    try:
        encoded.decode("utf-8")
    except UnicodeDecodeError:
        return encoded
    return content
