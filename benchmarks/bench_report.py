"""Time `minewatch report --top 50` (HTML and PDF) and print wall time, CPU time, peak memory and sizes.

Needs a scored run folder (warehouse.duckdb, features.duckdb, mlflow.db from `minewatch run`). Without
--run it simulates 60 mines x 75 days into --cache and runs the pipeline there once (about 10 minutes),
then reuses it. The target: reports for the top 50 mines in at most 60 s.
Usage: .venv/bin/python benchmarks/bench_report.py [--run DIR] [--top 50] [--no-pdf] [--lang en]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MINEWATCH = [sys.executable, "-m", "pipelines"]


def prepare(cache: Path, mines: int, days: int, seed: int) -> Path:
    """A scored run folder in `cache` (made once: simulate, then `minewatch run`)."""
    run = cache / "run"
    if (run / "targets.csv").exists():
        return run
    raw = cache / "raw"
    if not (raw / "mines.parquet").exists():
        subprocess.run([*MINEWATCH, "simulate", "--out", str(raw), "--mines", str(mines), "--days", str(days),
                        "--seed", str(seed)], check=True, cwd=ROOT)
    subprocess.run([*MINEWATCH, "run", "--data", str(raw), "--out", str(run)], check=True, cwd=ROOT)
    return run


class ChromiumCPU(threading.Thread):
    """CPU seconds of the report's Chromium processes, read from /proc while they run.

    Chromium's renderers are forked by its zygote and never reaped by the stage, so getrusage misses
    them; their command lines carry the profile folder the stage creates (minewatch-chromium-*).
    """

    def __init__(self, every: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.every, self.seen, self.done = every, {}, threading.Event()
        self.tick = os.sysconf("SC_CLK_TCK")

    def run(self) -> None:
        while not self.done.wait(self.every):
            for proc in Path("/proc").glob("[0-9]*"):
                try:
                    cmd = (proc / "cmdline").read_bytes()
                    if b"minewatch-chromium-" not in cmd or b"--type=" not in cmd:  # the browser is in getrusage
                        continue
                    fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                self.seen[proc.name] = max(self.seen.get(proc.name, 0), int(fields[11]) + int(fields[12]))

    def seconds(self) -> float:
        self.done.set()
        self.join()
        return sum(self.seen.values()) / self.tick


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=None, help="scored run folder (default: build one in --cache)")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "minewatch-bench-report")
    parser.add_argument("--mines", type=int, default=60)
    parser.add_argument("--days", type=int, default=75)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--top", type=int, default=50)
    parser.add_argument("--lang", choices=("en", "zh"), default="en")
    parser.add_argument("--pdf", action=argparse.BooleanOptionalAction, default=True)
    args = parser.parse_args()

    run = args.run or prepare(args.cache, args.mines, args.days, args.seed)
    out = Path(tempfile.mkdtemp(prefix="bench-report-"))
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{(run / 'mlflow.db').resolve()}"}
    cmd = [*MINEWATCH, "report", "--warehouse", str(run / "warehouse.duckdb"), "--features",
           str(run / "features.duckdb"), "--out", str(out), "--top", str(args.top), "--lang", args.lang,
           "--pdf" if args.pdf else "--no-pdf"]
    sampler = ChromiumCPU()
    sampler.start()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    browser_cpu = sampler.seconds()
    if done.returncode:
        print(done.stderr[-4000:], file=sys.stderr)
        return done.returncode
    phases = [line.split(": ", 1)[-1] for line in done.stderr.splitlines() if "pipelines.report:" in line]
    html = sorted(p for p in out.glob("*.html") if p.name != "index.html")
    pdfs = sorted(out.glob("*.pdf"))
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(f"report --top {args.top} ({args.lang}, pdf={'yes' if args.pdf else 'no'}) on {run}")
    for phase in phases:
        print(f"  {phase}")
    print(f"wall time        {wall:8.1f} s   (target <= 60 s)  {'OK' if wall <= 60 else 'OVER'}")
    print(f"CPU time         {cpu:8.1f} s   (the stage: python, duckdb, chromium's browser process)")
    if args.pdf:
        print(f"Chromium CPU     {browser_cpu:8.1f} s   (renderers and helpers, sampled from /proc)")
    print(f"CPU / cores      {(cpu + browser_cpu) / (os.cpu_count() or 1):8.1f} s   (wall time on an idle machine "
          f"is about this, on {os.cpu_count()} cores)")
    # ru_maxrss of children is the largest single child: the stage itself or one Chromium process
    print(f"peak memory      {after.ru_maxrss / 1024:8.0f} MB (largest process)")
    print(f"reports          {len(html):8d}     {sum(p.stat().st_size for p in html) / len(html) / 1024:.0f} KB each")
    if pdfs:
        print(f"PDFs             {len(pdfs):8d}     {sum(p.stat().st_size for p in pdfs) / len(pdfs) / 1024:.0f} KB each")
    print(f"load average     {os.getloadavg()[0]:8.2f}     (other work on the machine slows the wall time)")
    shutil.rmtree(out, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
