"""What the evidence-table benchmarks share: arguments, the warehouse they read, and the timed build of their tables."""

from __future__ import annotations

import argparse
import resource
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import duckdb

from features.runner import Window, build_features, load_models, render
from pipelines.schema import DUCKDB_TYPES, TABLES


def parse_args(description: str) -> argparse.Namespace:
    """--mines, --days, --data, --db and --threads."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--mines", type=int, default=60)
    parser.add_argument("--days", type=int, default=150)
    parser.add_argument("--data", type=Path, help="simulator output folder instead of synthetic rows")
    parser.add_argument("--db", type=Path, help="DuckDB file to keep the generated warehouse in (reused)")
    parser.add_argument("--threads", type=int, default=2)
    return parser.parse_args()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def cpu_seconds() -> float:
    """User + system CPU of this process: a fair figure when other jobs share the machine."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def load_folder(con: duckdb.DuckDBPyConnection, folder: Path) -> None:
    """Load a simulator output folder (one parquet file or folder per table) with lineage columns."""
    for table in TABLES.values():
        single, many = folder / f"{table.name}.parquet", folder / table.name
        if single.exists():
            source = f"read_parquet('{single}')"
        elif many.is_dir():
            source = f"read_parquet('{many}/**/*.parquet')"
        else:
            cols = ", ".join(f"{c.name} {DUCKDB_TYPES[c.kind]}" for c in table.columns)
            con.execute(f"create table {table.name} ({cols}, _file_id bigint, _record bigint)")
            continue
        con.execute(
            f"create table {table.name} as select *, 0::bigint as _file_id, row_number() over () as _record "
            f"from {source}"
        )


def open_warehouse(
    args: argparse.Namespace,
    probe: str,
    last_sql: str,
    start: date,
    create_synthetic: Callable[[duckdb.DuckDBPyConnection, int, int], None],
    counted: tuple[str, ...],
) -> tuple[duckdb.DuckDBPyConnection, Window]:
    """The warehouse (loaded, generated, or reused from --db when `probe` exists) and the window ending at its last day."""
    con = duckdb.connect(str(args.db) if args.db else ":memory:")
    con.execute(f"set threads = {args.threads}")
    t0 = time.perf_counter()
    exists = con.execute("select count(*) from information_schema.tables where table_name = ?", [probe]).fetchone()[0]
    if not exists:
        if args.data:
            load_folder(con, args.data)
        else:
            create_synthetic(con, args.mines, args.days)
    load_s = time.perf_counter() - t0
    last = con.execute(last_sql).fetchone()[0]
    as_of = (last - timedelta(seconds=1)).date() if last else start + timedelta(days=args.days - 1)
    rows = {t: con.execute(f"select count(*) from {t}").fetchone()[0] for t in counted}
    print(f"load/generate: {load_s:.1f} s; as_of {as_of}; input rows: {rows}")
    return con, Window(as_of)


def build_timed(con: duckdb.DuckDBPyConnection, window: Window, targets: set[str], threads: int) -> None:
    """Build the targets' inputs, then each target, printing wall and CPU time, rows and peak memory."""
    inputs = {m.name for m in load_models(targets)} - targets
    t0, c0 = time.perf_counter(), cpu_seconds()
    build_features(con, window, inputs)
    print(f"staging inputs {sorted(inputs)}: {time.perf_counter() - t0:.1f} s, cpu {cpu_seconds() - c0:.1f} s")
    for model in load_models(targets):
        if model.name not in targets:
            continue
        t0, c0 = time.perf_counter(), cpu_seconds()
        con.execute(f"create or replace table {model.name} as {render(model.sql, window)}")
        elapsed, cpu = time.perf_counter() - t0, cpu_seconds() - c0
        n = con.execute(f"select count(*) from {model.name}").fetchone()[0]
        print(f"{model.name}: {elapsed:.1f} s wall, {cpu:.1f} s cpu (user+sys, {threads} threads), {n} rows, "
              f"peak memory so far {peak_rss_mb():.0f} MB")
