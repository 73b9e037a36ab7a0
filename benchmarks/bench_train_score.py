"""Benchmark training and scoring (features excluded) on one 60-mine, 150-day data set.

    python benchmarks/bench_train_score.py [--dir data/evaluate/seed-9101]

The folder holds `warehouse.duckdb` and a `features.duckdb` whose snapshots are already built (as
`minewatch evaluate` leaves them); a missing snapshot is built first and not timed.
"""

from __future__ import annotations

import argparse
import resource
import time
from datetime import timedelta
from pathlib import Path

from models.ranker import score_families
from pipelines.build_features import BuildFeaturesParams, connect
from pipelines.modelling import TrainParams, as_of_grid, data_span, ensure_feature_history
from pipelines.params import load_section
from pipelines.train import train


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=Path("data/evaluate/seed-9101"))
    args = parser.parse_args()
    params = load_section("train", TrainParams)
    con = connect(args.dir / "warehouse.duckdb", args.dir / "features.duckdb",
                  BuildFeaturesParams(params.window_days, params.history_days))
    first, last = data_span(con)
    ensure_feature_history(con, as_of_grid(first, last, params), params)  # untimed
    started = time.perf_counter()
    result = train(con, params, last + timedelta(days=1))
    trained = time.perf_counter() - started
    frame = con.execute("select * from mine_features where as_of = ?", [last]).df()
    started = time.perf_counter()
    scores = score_families(result.rankers, frame)
    scored = time.perf_counter() - started
    con.close()
    print(f"data: {args.dir}, {frame['mine_code'].nunique()} mines, {len(result.frame):,} training snapshots "
          f"({first} to {last})")
    print(f"train 4 families (validation fit + final fit): {trained:.1f} s")
    print(f"score {len(scores)} mines, every family and overall: {scored:.2f} s")
    print(f"train + score: {trained + scored:.1f} s (target <= 60 s, features excluded)")
    print(f"peak memory: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
