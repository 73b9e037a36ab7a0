"""The whole job on one data directory: ingest, features, training on findings before the as-of date, scoring, targets.csv."""

from __future__ import annotations

import argparse
import os
import time
from datetime import date
from pathlib import Path

from pipelines.build_features import BuildFeaturesParams, connect
from pipelines.ingest import IngestParams, ingest
from pipelines.modelling import TrainParams, data_span
from pipelines.params import load_section
from pipelines.score import ScoreParams, score, write_targets
from pipelines.train import register, train


def run(data: Path, as_of: date | None, out: Path, params_path: str | None = None) -> Path:
    """Run every stage into `out` (warehouse, features, MLflow store unless MLFLOW_TRACKING_URI is set, targets.csv)."""
    out.mkdir(parents=True, exist_ok=True)
    if not os.environ.get("MLFLOW_TRACKING_URI"):
        # keep this run's registry beside its outputs so runs on other data never mix their champions
        os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{(out / 'mlflow.db').resolve()}"
    train_params = load_section("train", TrainParams, params_path)
    warehouse, features = out / "warehouse.duckdb", out / "features.duckdb"
    ingest(data, warehouse, load_section("ingest", IngestParams, params_path))
    con = connect(warehouse, features, BuildFeaturesParams(train_params.window_days, train_params.history_days))
    try:
        as_of = as_of or data_span(con)[1]
        # findings of inspections that ended on the as-of date or later are never read
        result = train(con, train_params, cutoff=as_of)
        register(result, train_params, str(data))
        targets, _ = score(con, as_of, train_params, load_section("score", ScoreParams, params_path))
    finally:
        con.close()
    path = out / "targets.csv"
    write_targets(targets, path)
    return path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, required=True, help="data directory that follows the data contract")
    parser.add_argument("--as-of", type=date.fromisoformat, default=None,
                        help="as-of date T: data before T + 1 day, findings before T (default: last day with data)")
    parser.add_argument("--out", type=Path, required=True, help="output folder (targets.csv and the databases)")


def main(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    path = run(args.data, args.as_of, args.out, args.params)
    print(f"targets: {path} ({time.perf_counter() - started:.0f} s)")
    return 0
