"""Fixtures for SQL unit tests: an in-memory warehouse with the contract's empty tables."""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd
import pytest

from features.runner import Window, build_features
from pipelines.schema import DUCKDB_TYPES, TABLES


def create_canonical_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Every contract table, empty, with the warehouse's lineage columns."""
    for table in TABLES.values():
        cols = ", ".join(f"{c.name} {DUCKDB_TYPES[c.kind]}" for c in table.columns)
        con.execute(f"create table {table.name} ({cols}, _file_id bigint, _record bigint)")


def insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict]) -> None:
    """Insert hand-written rows; missing columns are null, lineage gets the row number."""
    frame = pd.DataFrame(rows)
    frame["_file_id"] = frame.get("_file_id", 1)
    frame["_record"] = range(1, len(frame) + 1)
    con.register("_rows", frame)
    con.execute(f"insert into {table} by name select * from _rows")
    con.unregister("_rows")


@pytest.fixture
def con():
    c = duckdb.connect()
    create_canonical_tables(c)
    yield c
    c.close()


def build(
    con: duckdb.DuckDBPyConnection,
    as_of: str,
    only: set[str] | None = None,
    window_days: int = 30,
    history_days: int = 90,
) -> Window:
    """Build the feature tables (all, or `only` and their inputs) as of `as_of`."""
    window = Window(date.fromisoformat(as_of), window_days, history_days)
    build_features(con, window, only)
    return window
