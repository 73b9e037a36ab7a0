"""simulate: generate a realistic multi-mine data set (canonical tables, ground truth, optional national files)."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import time
from pathlib import Path

from pipelines.simulator.config import load_params
from pipelines.simulator.run import simulate

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `minewatch simulate`."""
    parser.add_argument("--out", required=True, type=Path, help="output directory (tables, _truth/, national/)")
    parser.add_argument("--mines", type=int, default=12, help="number of mines (default 12)")
    parser.add_argument("--days", type=int, default=150, help="number of days (default 150)")
    parser.add_argument("--seed", type=int, default=1, help="random seed; same seed, same bytes (default 1)")
    parser.add_argument("--start", type=dt.date.fromisoformat, default=None,
                        help="first day, YYYY-MM-DD (default from params.yaml simulate.default_start, 2025-05-01)")
    parser.add_argument("--format", choices=("parquet", "csv"), default="parquet", help="table format (default parquet)")
    parser.add_argument("--national", type=int, default=0, metavar="K",
                        help="also write section-B national networking files for the first K mines")


def main(args: argparse.Namespace) -> int:
    """Run the stage."""
    p = load_params(getattr(args, "params", None))
    if args.mines < 1 or args.days < 2:
        raise SystemExit("simulate: --mines must be >= 1 and --days >= 2")
    if args.national < 0 or args.national > args.mines:
        raise SystemExit("simulate: --national K must be between 0 and --mines")
    start = args.start or dt.date.fromisoformat(p.default_start)
    t0 = time.perf_counter()
    counts = simulate(args.out, args.mines, args.days, args.seed, start, args.format, args.national, p)
    log.info("simulated %d mines x %d days from %s in %.1f s into %s", args.mines, args.days, start,
             time.perf_counter() - t0, args.out)
    for name, n in counts.items():
        log.info("  %-20s %12d rows", name, n)
    return 0
