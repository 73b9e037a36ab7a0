"""Benchmark: National42 parse throughput, file by file and in runs as ingest parses them (MB/s, peak memory)."""

from __future__ import annotations

import argparse
import random
import resource
import tempfile
import time
from pathlib import Path

from pipelines.adapters.national42 import National42
from pipelines.ingest import PARSE_BATCH_BYTES, PARSE_BATCH_FILES

MINE = "140100000001"


def _cdss(rng: random.Random, hour: int, points: int) -> str:
    """An hour of readings: every point every 5 minutes (one per statistics period)."""
    out = [f"{MINE};示范煤矿;2025-05-01 {hour + 1:02d}:00:00~"]
    for second in range(0, 3600, 300):
        at = f"2025-05-01 {hour:02d}:{second // 60:02d}:{second % 60:02d}"
        for p in range(points):
            out.append(f"{MINE}MN0001{p:03d};环境瓦斯;1201工作面回风巷{p}号;{rng.random():.2f};%CH4;0;{at}~")
    out.append("||")
    return "".join(out)


def _ryss(rng: random.Random, minute: int, people: int) -> str:
    """A 5-minute snapshot of everyone underground with a short trajectory each."""
    at = f"2025-05-01 {8 + minute // 60:02d}:{minute % 60:02d}:00"
    out = [f"{MINE};示范煤矿;{at}~"]
    for c in range(people):
        area = f"{MINE}{rng.randrange(1, 30):04d}"
        station = f"{area}{rng.randrange(1, 4):06d}"
        out.append(
            f"{MINE}{c:05d};工人{c};1;2025-05-01 07:30:00;;{area};{at};{station};{at};正常班;"
            f"{rng.random() * 50:.1f};0;0;0;{station}&{at}~"
        )
    out.append("||")
    return "".join(out)


def generate(folder: Path, megabytes: float, seed: int) -> list[Path]:
    """Write what a mine uploads in an hour (one CDSS file, twelve RYSS snapshots) until `megabytes` are written."""
    rng = random.Random(seed)
    paths, written, i = [], 0, 0
    while written < megabytes * 1e6:
        if i % 13:
            name, text = f"{MINE}_RYSS_20250501{8 + i // 12 % 12:02d}{i % 12 * 5:02d}00.txt", _ryss(rng, i % 600, 250)
        else:
            name, text = f"{MINE}_CDSS_20250501{i // 13 % 23:02d}0000.txt", _cdss(rng, i // 13 % 23, 300)
        data = text.encode("gb18030" if i % 10 == 9 else "utf-8")  # a share of older systems' files
        path = folder / f"{i:05d}" / name
        path.parent.mkdir()
        path.write_bytes(data)
        paths.append(path)
        written += len(data)
        i += 1
    return paths


def measure(paths: list[Path]) -> None:
    """Parse every file once alone (`parse`) and once in runs of files as ingest does (`parse_many`); print the figures."""
    profile = National42()
    profile.parse(paths[0], paths[0].read_bytes())  # warm-up: pyarrow's first conversion imports pandas
    files = [(path, path.read_bytes()) for path in paths]
    mb = sum(len(data) for _, data in files) / 1e6
    print(f"files            {len(files)}")
    print(f"bytes            {mb:.1f} MB")
    for label, runs in (("one by one", [[f] for f in files]), ("in runs", _runs(files))):
        records = rejects = 0
        start, cpu = time.perf_counter(), time.process_time()
        for run in runs:
            for parsed in profile.parse_many(run) if len(run) > 1 else [profile.parse(*run[0])]:
                records += parsed.records
                rejects += len(parsed.rejects)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        print(f"{label:<16} {wall:.2f} s wall, {cpu:.2f} s CPU -> {mb / wall:.1f} MB/s, {mb / cpu:.1f} MB per CPU-second "
              f"({records} records, {rejects} rejected)")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory      {peak_mb:.0f} MB (RSS of this process, the files held in memory)")


def _runs(files: list[tuple[Path, bytes]]) -> list[list[tuple[Path, bytes]]]:
    """Consecutive files up to ingest's task size, as `minewatch ingest` hands them to a parse worker."""
    runs: list[list[tuple[Path, bytes]]] = [[]]
    size = 0
    for f in files:
        if size >= PARSE_BATCH_BYTES or len(runs[-1]) >= PARSE_BATCH_FILES:
            runs.append([])
            size = 0
        runs[-1].append(f)
        size += len(f[1])
    return runs


def main() -> None:
    """Generate files (or take --dir) and measure."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dir", type=Path, help="parse the national files under this folder instead of generating")
    parser.add_argument("--mb", type=float, default=100.0, help="megabytes of files to generate")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    profile = National42()
    if args.dir:
        measure(sorted(p for p in args.dir.rglob("*.txt") if profile.claims(p)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        paths = generate(Path(tmp), args.mb, args.seed)
        print(f"generated        {len(paths)} files in {time.perf_counter() - start:.1f} s")
        measure(paths)


if __name__ == "__main__":
    main()
