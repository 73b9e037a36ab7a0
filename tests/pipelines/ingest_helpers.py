"""Small contract-shaped inputs and a toy source-file profile for the ingest and warehouse tests."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.adapters.base import Parsed, Profile, Reject
from pipelines.schema import DUCKDB_TYPES, TABLES

MINE_A = "140100000001"
MINE_B = "140100000002"

MINES_CSV = (
    "mine_code,mine_name,province,approved_capacity_tpy,approved_headcount,gas_class\n"
    f"{MINE_A},一号矿,山西,1200000,150,high\n"
    f"{MINE_B},二号矿,山西,900000,120,low\n"
)


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    """Write text to `path`, creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


def write_parquet(path: Path, table: str, rows: list[dict]) -> Path:
    """Write rows as Parquet with the contract's Arrow types (missing keys are null)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    schema = TABLES[table].arrow_schema()
    data = {f.name: [r.get(f.name) for r in rows] for f in schema}
    pq.write_table(pa.table(data, schema=schema), path)
    return path


def sensors_rows(mine: str, points: list[str]) -> list[dict]:
    return [{"mine_code": mine, "point_code": p, "sensor_type": "0001", "value_type": "MN"} for p in points]


def stats_rows(mine: str, point: str, n: int, start: int = 0) -> list[dict]:
    """n consecutive 5-minute sensor_stats periods of one point."""
    rows = []
    for i in range(start, start + n):
        t0 = datetime(2025, 5, 1) + (i * 5) * _MINUTE
        rows.append({
            "mine_code": mine, "point_code": point, "period_start": t0, "period_end": t0 + 5 * _MINUTE,
            "avg_value": 0.2, "max_value": 0.3, "min_value": 0.1, "status": 0,
        })
    return rows


_MINUTE = datetime(2025, 1, 1, 0, 1) - datetime(2025, 1, 1)


def basic_dir(root: Path) -> Path:
    """mines.csv, sensors.parquet and a sensor_stats folder of two nested Parquet parts and one CSV part."""
    write(root / "mines.csv", MINES_CSV)
    write_parquet(root / "sensors.parquet", "sensors", sensors_rows(MINE_A, ["P1", "P2"]) + sensors_rows(MINE_B, ["P1"]))
    write_parquet(root / "sensor_stats" / f"mine={MINE_A}" / "part-0.parquet", "sensor_stats", stats_rows(MINE_A, "P1", 10))
    write_parquet(root / "sensor_stats" / f"mine={MINE_B}" / "part-0.parquet", "sensor_stats", stats_rows(MINE_B, "P1", 5))
    write(
        root / "sensor_stats" / "extra.csv",
        "mine_code,point_code,period_start,period_end,avg_value,max_value,min_value\n"
        f"{MINE_A},P2,2025-05-01 00:00:00,2025-05-01 00:05:00,0.1,0.2,0.0\n"
        f"{MINE_A},P2,2025-05-01 00:05:00,2025-05-01 00:10:00,0.1,0.2,0.0\n",
    )
    return root


def counts(warehouse: Path) -> dict[str, int]:
    """Rows per canonical and manifest table (a fingerprint of the warehouse's content)."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        names = [r[0] for r in con.execute("select table_name from duckdb_tables() order by 1").fetchall()]
        return {n: con.execute(f'select count(*) from "{n}"').fetchone()[0] for n in names}
    finally:
        con.close()


def query(warehouse: Path, sql: str, params: list | None = None) -> list[tuple]:
    """Rows of one query on the warehouse, opened read-only."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


READINGS = pa.schema([
    ("mine_code", pa.string()), ("point_code", pa.string()), ("value", pa.float64()),
    ("read_at", pa.timestamp("us")), ("_record", pa.int64()),
])


class ToyProfile(Profile):
    """A toy source format: `<mine>_TOY_<n>.toy`, lines `point;value;time`, last line `END`.

    It derives `sensors` (one per point, from its latest reading) and names older readings of a point
    as superseded: enough to exercise raw tables, derive, replacement and the manifest's accounting.
    """

    name = "toy"
    raw_schemas = {"readings": READINGS}

    def claims(self, path: Path) -> bool:
        return path.suffix == ".toy"

    def parse(self, path: Path, data: bytes) -> Parsed:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return Parsed(status="error", message=f"{path.name}: not UTF-8")
        if not text.endswith("END\n"):
            return Parsed(status="incomplete", message=f"{path.name}: no END line yet")
        mine = path.name.split("_")[0]
        lines = text.splitlines()[:-1]
        rows, rejects = [], []
        for i, line in enumerate(lines, 1):
            parts = line.split(";")
            try:
                point, value, at = parts
                rows.append({"mine_code": mine, "point_code": point, "value": float(value),
                             "read_at": datetime.fromisoformat(at), "_record": i})
            except ValueError as exc:
                rejects.append(Reject(i, None, f"bad record: {exc}", line, "raw_toy_readings"))
        return Parsed(status="ok", encoding="utf-8", mine_code=mine, kind="TOY", records=len(lines),
                      raw={"readings": pa.Table.from_pylist(rows, schema=READINGS)}, rejects=rejects)

    def derive(self, con: duckdb.DuckDBPyConnection, mine_codes: list[str]) -> dict[str, str]:
        mines = ", ".join(f"'{m}'" for m in mine_codes)
        ranked = (
            "select *, row_number() over (partition by mine_code, point_code "
            "order by read_at desc, _file_id desc, _record desc) as rn "
            f"from raw_toy_readings where mine_code in ({mines})"
        )
        given = {"mine_code": "mine_code", "point_code": "point_code", "sensor_type": "'0001'",
                 "value_type": "'MN'", "location": "'v=' || value"}
        cols = ", ".join(
            f"{given.get(c.name, f'null::{DUCKDB_TYPES[c.kind]}')} as {c.name}" for c in TABLES["sensors"].columns
        )
        return {
            "sensors": f"select {cols}, _file_id, _record from ({ranked}) where rn = 1",
            "_superseded": f"select _file_id, _record, 'older reading of the point' as reason from ({ranked}) where rn > 1",
        }
