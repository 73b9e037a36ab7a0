"""Benchmark ingest: canonical Parquet rows/s against a bare DuckDB copy, peak memory, national files MB/s.

Usage:
    python benchmarks/bench_ingest.py                      # synthetic 60 mines x 150 days of sensor_stats (~20M rows)
    python benchmarks/bench_ingest.py --data DIR           # output of `minewatch simulate` (with --national K for MB/s)

Prints canonical Parquet ingest against a bare DuckDB copy of the same files (ratio, target <= 2x),
peak memory (target < 4 GB), and, when DIR has a `national` folder, national-file ingest in MB/s
(target >= 20 MB/s): bytes of the national files / wall seconds of `minewatch ingest` on them.

Each measured step runs in its own process, so its peak memory (ru_maxrss) is its own.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipelines.schema import TABLES  # noqa: E402

BARE = """
import sys, duckdb
from pathlib import Path
data, db, memory_limit, threads = Path(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
con = duckdb.connect(db, config={"memory_limit": memory_limit, "threads": threads, "preserve_insertion_order": False})
con.execute("set enable_progress_bar = false")
for entry in sorted(data.iterdir()):
    name = entry.name.split(".")[0]
    if name not in sys.argv[5].split(","):
        continue
    pattern = f"{entry}/**/*.parquet" if entry.is_dir() else str(entry)
    if entry.is_dir() or entry.suffix == ".parquet":
        con.execute(f"create table {name} as select * from read_parquet('{pattern}', union_by_name = true)")
con.close()
"""


def generate(out: Path, mines: int, days: int, points: int) -> None:
    """Contract-shaped Parquet: mines, sensors, and one sensor_stats part per mine at 5-minute periods."""
    import duckdb

    out.mkdir(parents=True, exist_ok=True)
    (out / "sensor_stats").mkdir(exist_ok=True)
    con = duckdb.connect(config={"threads": 2, "memory_limit": "2GB", "preserve_insertion_order": False})
    con.execute(
        f"""
        create table m as select lpad(cast(140100000000 + range as varchar), 12, '0') as mine_code,
            '矿' || range as mine_name, '山西' as province, null::varchar as city, null::varchar as county,
            null::varchar as group_name, 900000.0 + range * 10000 as approved_capacity_tpy,
            (100 + range)::bigint as approved_headcount, 'high' as gas_class
        from range({mines})
        """
    )
    con.execute(f"copy m to '{out / 'mines.parquet'}'")
    con.execute(
        f"""
        copy (select m.mine_code, 'P' || lpad(p.range::varchar, 3, '0') as point_code, '0001' as sensor_type,
                     'MN' as value_type, '%CH4' as unit, 0.0 as range_low, 4.0 as range_high, 1.0 as alarm_high,
                     1.0 as alarm_clear_high, 1.5 as cutoff_high, 1.0 as restore_high, '回风巷' as location,
                     null::varchar as area_code, null::double as x, null::double as y, null::double as z
              from m, range({points}) p) to '{out / 'sensors.parquet'}'
        """
    )
    periods = days * 288
    for (code,) in con.execute("select mine_code from m order by 1").fetchall():
        con.execute(
            f"""
            copy (
                select '{code}' as mine_code, 'P' || lpad(p.range::varchar, 3, '0') as point_code,
                       timestamp '2025-05-01' + to_minutes(5 * t.range) as period_start,
                       timestamp '2025-05-01' + to_minutes(5 * t.range + 5) as period_end,
                       round(0.2 + 0.1 * sin(t.range / 50.0 + p.range), 2) as avg_value,
                       round(0.3 + 0.1 * sin(t.range / 50.0 + p.range), 2) as max_value,
                       timestamp '2025-05-01' + to_minutes(5 * t.range + 2) as max_at,
                       round(0.1 + 0.1 * sin(t.range / 50.0 + p.range), 2) as min_value,
                       timestamp '2025-05-01' + to_minutes(5 * t.range + 3) as min_at,
                       0::bigint as status
                from range({points}) p, range({periods}) t
            ) to '{out / 'sensor_stats' / f'part-{code}.parquet'}'
            """
        )
    con.close()


def measure(cmd: list[str]) -> tuple[float, float, float, int]:
    """Run a command; return wall seconds, CPU seconds (user + system), peak RSS in MB and the exit code.

    CPU seconds are reported beside wall time because other work on a shared machine inflates wall time.
    """
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def canonical_rows(data: Path) -> tuple[int, list[str]]:
    """Rows in the canonical Parquet tables of `data` and the table names present."""
    import pyarrow.parquet as pq

    rows, names = 0, []
    for entry in sorted(data.iterdir()):
        name = entry.name.split(".")[0]
        if name not in TABLES:
            continue
        files = sorted(entry.rglob("*.parquet")) if entry.is_dir() else [entry] if entry.suffix == ".parquet" else []
        if files:
            names.append(name)
            rows += sum(pq.ParquetFile(f).metadata.num_rows for f in files)
    return rows, names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="a `minewatch simulate` output folder (default: generate)")
    parser.add_argument("--work", type=Path, default=ROOT / "bench-out" / "ingest", help="scratch folder")
    parser.add_argument("--mines", type=int, default=60)
    parser.add_argument("--days", type=int, default=150)
    parser.add_argument("--points", type=int, default=8, help="synthetic: points per mine")
    parser.add_argument("--memory-limit", default="3GB")
    parser.add_argument("--reuse", action="store_true", help="reuse synthetic data generated by an earlier run")
    parser.add_argument("--national-over-canonical", action="store_true",
                        help="also time the national files onto the warehouse already holding the canonical tables")
    args = parser.parse_args()

    work = args.work
    data = args.data
    for old in work.glob("*") if work.exists() else []:
        if old.name != "data" or data is not None or not args.reuse:
            shutil.rmtree(old) if old.is_dir() and not old.is_symlink() else old.unlink()
    work.mkdir(parents=True, exist_ok=True)
    if data is None and args.reuse and (work / "data").exists():
        data = work / "data"
    elif data is None:
        data = work / "data"
        start = time.perf_counter()
        generate(data, args.mines, args.days, args.points)
        print(f"generated synthetic data in {time.perf_counter() - start:.1f} s: {data}")
    rows, names = canonical_rows(data)
    mb = sum(f.stat().st_size for n in names for f in (data / n).rglob("*.parquet")) / 1e6 + sum(
        (data / f"{n}.parquet").stat().st_size for n in names if (data / f"{n}.parquet").exists()
    ) / 1e6

    python = sys.executable
    bare_s, bare_cpu, bare_mb, rc = measure([python, "-c", BARE, str(data), str(work / "bare.duckdb"), args.memory_limit, "2",
                                   ",".join(names)])
    assert rc == 0, "bare copy failed"

    # canonical tables only: a folder of links to the Parquet entries, so national files wait for the next step
    canon = work / "canonical"
    canon.mkdir()
    for n in names:
        for entry in (data / n, data / f"{n}.parquet"):
            if entry.exists():
                (canon / entry.name).symlink_to(entry.resolve())
    params = work / "params.yaml"
    params.write_text(f"ingest:\n  memory_limit: {args.memory_limit}\n  threads: 2\n", encoding="utf-8")
    wh = work / "warehouse.duckdb"
    # the CLI imports only the chosen stage's module
    cli = [python, "-m", "pipelines", "--params", str(params), "ingest"]
    ing_s, ing_cpu, ing_mb, rc = measure([*cli, str(canon), "--warehouse", str(wh)])
    assert rc == 0, "ingest failed"

    print()
    print(f"canonical Parquet: {len(names)} tables, {rows:,} rows, {mb:,.0f} MB")
    for label, secs, cpu, peak in (
        ("bare create table as read_parquet", bare_s, bare_cpu, bare_mb),
        ("minewatch ingest (validated)", ing_s, ing_cpu, ing_mb),
    ):
        print(f"  {label:<34} {secs:7.1f} s wall {cpu:7.1f} s cpu  {rows / secs:12,.0f} rows/s  peak {peak:6,.0f} MB")
    print(f"  ingest / bare: {ing_s / bare_s:.2f}x wall, {ing_cpu / bare_cpu:.2f}x cpu (target <= 2x); "
          f"peak memory target < 4096 MB")
    print(f"  machine load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")

    national = data / "national"
    if national.is_dir():
        files = [f for f in national.rglob("*") if f.is_file()]
        size = sum(f.stat().st_size for f in files) / 1e6
        print(f"national files: {len(files):,} files, {size:,.1f} MB (ingest of the `national` folder alone, end to end)")
        # first onto a warehouse holding only the registry (what national files refer to but never carry);
        # with --national-over-canonical also onto the canonical warehouse above, where every row the
        # national files give is already loaded and goes to `duplicates` (a heavier case)
        bases = {"registry only": _registry_warehouse(cli, data, work)}
        if args.national_over_canonical:
            bases["over canonical tables"] = wh
        only = work / "national_only"
        only.mkdir()
        (only / "national").symlink_to(national.resolve())
        for label, base in bases.items():
            nat_s, nat_cpu, nat_mb, rc = measure([*cli, str(only), "--warehouse", str(base)])
            assert rc == 0, "national ingest failed"
            print(f"  onto {label:<22} {nat_s:7.1f} s wall {nat_cpu:7.1f} s cpu  = {size / nat_s:5.1f} MB/s wall, "
                  f"{size / nat_cpu:5.1f} MB per cpu-second  peak {nat_mb:6,.0f} MB")
        print(f"  target >= 20 MB/s wall on {os.cpu_count()} cores; load average now {os.getloadavg()[0]:.1f} "
              "(cpu seconds count every process: parse workers included)")
    else:
        print("national files: none in the data (run `minewatch simulate --national K` and pass --data)")


def _registry_warehouse(cli: list[str], data: Path, work: Path) -> Path:
    """A warehouse holding only the `mines` table of `data` (the registry the national files refer to)."""
    folder = work / "registry"
    folder.mkdir()
    for entry in (data / "mines.parquet", data / "mines.csv", data / "mines"):
        if entry.exists():
            (folder / entry.name).symlink_to(entry.resolve())
    warehouse = work / "registry.duckdb"
    subprocess.run([*cli, str(folder), "--warehouse", str(warehouse)], cwd=ROOT, stdout=subprocess.DEVNULL, check=True)
    return warehouse


if __name__ == "__main__":
    main()
