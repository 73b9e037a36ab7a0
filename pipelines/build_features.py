"""Build the point-in-time feature and evidence tables in the warehouse as of a date."""

from __future__ import annotations

import argparse
import logging
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from features.runner import Window, build_features, run_checks
from pipelines.params import load_section

log = logging.getLogger(__name__)
DEFAULT_WAREHOUSE = Path("data/warehouse.duckdb")
DEFAULT_FEATURES = Path("data/features.duckdb")


@dataclass(frozen=True)
class BuildFeaturesParams:
    window_days: int = 30
    history_days: int = 90
    memory_limit: str = "8GB"
    threads: int = 2


def latest_data_date(con: duckdb.DuckDBPyConnection) -> date:
    """The last day with belt-scale or power data: the default as-of date."""
    row = con.execute(
        "select cast(greatest((select max(period_end) from production), (select max(interval_end) from power))"
        " - interval 1 second as date)"
    ).fetchone()
    if row is None or row[0] is None:
        raise SystemExit("build-features: the warehouse holds no production or power data; run `minewatch ingest`")
    return row[0]


def connect(warehouse: Path, features: Path, params: BuildFeaturesParams | None = None,
            read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """The features database, with the warehouse attached read-only behind it on the search path."""
    if not warehouse.exists():
        raise SystemExit(f"no warehouse at {warehouse}; run `minewatch ingest DATA_DIR` first")
    features.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(features), read_only=read_only)
    params = params or BuildFeaturesParams()
    con.execute(f"set memory_limit = '{params.memory_limit}'")
    con.execute(f"set threads = {params.threads}")
    con.execute(f"attach '{warehouse}' as warehouse (read_only)")
    con.execute("set search_path = 'main,warehouse.main'")
    return con


def run(
    warehouse: Path, features: Path, as_of: date | None, params: BuildFeaturesParams
) -> tuple[Window, dict[str, int]]:
    """Materialise the feature tables; returns the window and the row count of each table."""
    con = connect(warehouse, features, params)
    try:
        window = Window(as_of or latest_data_date(con), params.window_days, params.history_days)
        con.execute("begin transaction")
        try:
            built = build_features(con, window)
            con.execute("commit")
        except Exception:
            con.execute("rollback")
            raise
        counts = {t: con.execute(f"select count(*) from {t}").fetchone()[0] for t in built}
        failures = {name: frame for name, frame in run_checks(con, window).items() if not frame.empty}
        for name, frame in failures.items():
            log.warning("check %s found %d offending rows:\n%s", name, len(frame), frame.head(10).to_string())
        return window, counts
    finally:
        con.close()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--as-of", type=date.fromisoformat, default=None,
                        help="as-of date T (YYYY-MM-DD): features read only data before T + 1 day "
                        "(default: the last day with data)")
    parser.add_argument("--window-days", type=int, default=None, help="trailing window in days (params: 30)")
    parser.add_argument("--history-days", type=int, default=None,
                        help="own-history window before it, in days (params: 90)")
    parser.add_argument("--history", action="store_true",
                        help="also build the as-of dates the models train on (every train.step_days), "
                        "ending with the as-of date itself")
    parser.add_argument("--warehouse", type=Path, default=DEFAULT_WAREHOUSE,
                        help="DuckDB warehouse written by ingest (read only here)")
    parser.add_argument("--features", type=Path, default=DEFAULT_FEATURES,
                        help="DuckDB file the feature and evidence tables are written to")


def main(args: argparse.Namespace) -> int:
    params = load_section("build_features", BuildFeaturesParams, args.params)
    overrides = {k: v for k, v in (("window_days", args.window_days), ("history_days", args.history_days)) if v}
    params = BuildFeaturesParams(**{**params.__dict__, **overrides})
    started = time.perf_counter()
    if args.history:
        return build_history(args, params, started)
    window, counts = run(args.warehouse, args.features, args.as_of, params)
    print(f"features as of {window.as_of} (window {window.window_days} d, history {window.history_days} d) "
          f"built in {time.perf_counter() - started:.1f} s in {args.features}")
    for table, n in counts.items():
        if not table.startswith("stg_"):
            print(f"  {table:<24} {n:>10,} rows")
    return 0


def build_history(args: argparse.Namespace, params: BuildFeaturesParams, started: float) -> int:
    """Build the training snapshots and the as-of date (last, so the evidence tables are its own)."""
    from pipelines.modelling import TrainParams, as_of_grid, data_span, ensure_feature_history

    train_params = load_section("train", TrainParams, args.params)
    con = connect(args.warehouse, args.features, params)
    try:
        first, last = data_span(con)
        as_of = args.as_of or last
        dates = as_of_grid(first, as_of, train_params)
        ensure_feature_history(con, dates, train_params)
        rows = con.execute("select as_of, count(*) from mine_features group by all order by 1").fetchall()
    finally:
        con.close()
    print(f"feature history built in {time.perf_counter() - started:.1f} s in {args.features}:")
    for day, n in rows:
        print(f"  as of {day}: {n} mines")
    return 0
