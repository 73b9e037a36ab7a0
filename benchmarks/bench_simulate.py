"""Benchmark `minewatch simulate`: wall time, peak memory (parent and worker processes) and rows per table."""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import shutil
import tempfile
import time
from pathlib import Path

from pipelines.simulator.config import load_params
from pipelines.simulator.run import simulate


def main() -> None:
    """Run one simulation and print its figures."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--mines", type=int, default=60)
    ap.add_argument("--days", type=int, default=150)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--format", choices=("parquet", "csv"), default="parquet")
    ap.add_argument("--out", type=Path, default=None, help="keep the output here (default: a temporary folder, removed)")
    ap.add_argument("--params", default=None)
    args = ap.parse_args()
    p = load_params(args.params)
    out = args.out or Path(tempfile.mkdtemp(prefix="bench-simulate-"))
    t0 = time.perf_counter()
    counts = simulate(out, args.mines, args.days, args.seed, dt.date.fromisoformat(p.default_start), args.format, 0, p)
    wall = time.perf_counter() - t0
    ru_self, ru_child = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = ru_self.ru_utime + ru_self.ru_stime + ru_child.ru_utime + ru_child.ru_stime
    self_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    print(f"simulate --mines {args.mines} --days {args.days} --seed {args.seed} --format {args.format} "
          f"(sensor_stats period {p.monitoring.period_minutes} min, {p.workers} workers)")
    print(f"wall time            {wall:10.1f} s   (target <= 180 s)")
    print(f"CPU time             {cpu:10.1f} s   (all processes; / {p.workers} = wall on an idle machine)")
    print(f"peak RSS parent      {self_mb:10.0f} MB")
    print(f"peak RSS worker      {child_mb:10.0f} MB   (largest single worker)")
    print(f"peak RSS bound       {self_mb + p.workers * child_mb:10.0f} MB   (parent + workers, target <= 4096 MB)")
    print(f"output size          {size / 1e6:10.1f} MB")
    total = 0
    for name, n in counts.items():
        print(f"rows {name:<20} {n:12,d}")
        total += n
    print(f"rows {'total':<20} {total:12,d}")
    if args.out is None:
        shutil.rmtree(out)


if __name__ == "__main__":
    main()
