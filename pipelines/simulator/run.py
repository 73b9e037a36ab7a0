"""Generate a whole data set: mines in a process pool, one mine at a time, written deterministically."""

from __future__ import annotations

import csv
import datetime as dt
import importlib
import logging
import multiprocessing as mp
import shutil
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from pipelines.schema import FAMILIES, TABLES
from pipelines.simulator.config import SimulateParams
from pipelines.simulator.inspections import draw_inspections
from pipelines.simulator.mine import DAY_S, simulate_mine
from pipelines.simulator.plan import MineSpec, plan_mines

log = logging.getLogger(__name__)

# big per-mine tables go to DIR/<table>/part-<mine_code>.<ext>; the rest to DIR/<table>.<ext>
PARTITIONED = ("shaft_trips", "presence", "sensor_stats", "switch_events", "alarms", "production", "power")
SMALL = tuple(t for t in TABLES if t not in PARTITIONED)


def write_table(t: pa.Table, path: Path, fmt: str) -> None:
    """Write one table as Parquet (native types) or CSV (header, `YYYY-MM-DD HH:MM:SS`, empty for null, UTF-8)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "parquet":
        # delta encoding for timestamps and integers (dictionary attempts on them cost seconds per mine)
        plain = [f.name for f in t.schema if pa.types.is_timestamp(f.type) or pa.types.is_integer(f.type)]
        pq.write_table(t, path, compression="zstd", use_dictionary=[c for c in t.column_names if c not in plain],
                       column_encoding={c: "DELTA_BINARY_PACKED" for c in plain})
        return
    # DuckDB quotes only the values that need it and writes nulls as empty fields
    con = duckdb.connect()
    con.execute("set threads = 1")
    con.register("t", t)
    con.execute(f"copy t to '{path}' (format csv, header, dateformat '%Y-%m-%d', "
                "timestampformat '%Y-%m-%d %H:%M:%S')")
    con.close()


def _work(job: tuple[MineSpec, SimulateParams, dt.date, int, str, str]) -> dict:
    """Simulate one mine in a worker, write its big tables, return the small ones and its truth."""
    spec, p, start, days, out_dir, fmt = job
    res = simulate_mine(spec, p, start, days)
    counts = {}
    for name in PARTITIONED:
        t = res.tables[name]
        counts[name] = t.num_rows
        write_table(t, Path(out_dir) / name / f"part-{res.mine_code}.{fmt}", fmt)
    return dict(index=res.index, mine_code=res.mine_code, small={k: res.tables[k] for k in SMALL if k in res.tables},
                counts=counts, anomalies=res.anomalies, accidents=res.accidents, decoys=res.decoys, facts=res.facts)


def _write_csv(path: Path, header: list[str], rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=header, lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({k: r.get(k, "") for k in header})


def _clean(out_dir: Path) -> None:
    """Remove what an earlier run wrote here, so stale mines never mix in."""
    for name in TABLES:
        for p in (out_dir / f"{name}.parquet", out_dir / f"{name}.csv"):
            p.unlink(missing_ok=True)
        if (out_dir / name).is_dir():
            shutil.rmtree(out_dir / name)
    for sub in ("_truth", "national"):
        if (out_dir / sub).is_dir():
            shutil.rmtree(out_dir / sub)


def national_writer():
    """The section-B writer, or a clear error while it does not exist."""
    try:
        return importlib.import_module("pipelines.simulator.national").write_national
    except ModuleNotFoundError as exc:
        raise SystemExit("simulate --national: pipelines/simulator/national.py (the networking-file writer) "
                         f"is not available yet ({exc})") from exc


def mine_frames(out_dir: Path, fmt: str, mine_code: str, small: dict[str, pa.Table]) -> dict:
    """Every section-A table of one mine as pandas frames (contract columns, second-precision timestamps)."""
    frames = {}
    for name in TABLES:
        if name in PARTITIONED:
            path = out_dir / name / f"part-{mine_code}.{fmt}"
            t = pq.read_table(path) if fmt == "parquet" else _read_csv(path, name)
        else:
            t = small[name]
            t = t.filter(pc.equal(t.column("mine_code"), mine_code))
        cols = [c.cast(pa.timestamp("s")) if pa.types.is_timestamp(c.type) else c for c in t.columns]
        frames[name] = pa.Table.from_arrays(cols, names=t.column_names).to_pandas()
    return frames


def _read_csv(path: Path, name: str) -> pa.Table:
    schema = TABLES[name].arrow_schema()
    opts = pacsv.ConvertOptions(column_types=schema, strings_can_be_null=True,
                                timestamp_parsers=["%Y-%m-%d %H:%M:%S"])
    return pacsv.read_csv(path, convert_options=opts).select(schema.names)


def simulate(out_dir: Path, mines: int, days: int, seed: int, start: dt.date, fmt: str = "parquet",
             national: int = 0, p: SimulateParams | None = None, specs: list[MineSpec] | None = None) -> dict[str, int]:
    """Write a full data set under out_dir; returns rows per table (`specs` overrides the drawn mines, for tests)."""
    p = p or SimulateParams()
    if 1440 % p.monitoring.period_minutes:
        raise ValueError("simulate.monitoring.period_minutes must divide a day")
    if national:
        writer = national_writer()
    out_dir.mkdir(parents=True, exist_ok=True)
    _clean(out_dir)
    specs = specs if specs is not None else plan_mines(mines, days, seed, p)
    jobs = [(s, p, start, days, str(out_dir), fmt) for s in specs]
    results: list[dict] = []
    workers = max(1, min(p.workers, mines))
    if workers == 1:
        for j in jobs:
            results.append(_work(j))
            log.debug("mine %s done", results[-1]["mine_code"])
    else:
        with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("fork")) as pool:
            for r in pool.map(_work, jobs):
                results.append(r)
                log.debug("mine %s done", r["mine_code"])
    counts: dict[str, int] = {name: 0 for name in TABLES}
    small: dict[str, pa.Table] = {}
    for name in SMALL:
        if name == "inspections":
            continue
        small[name] = pa.concat_tables([r["small"][name] for r in results])
    rng = np.random.default_rng(np.random.SeedSequence([seed, 7]))
    small["inspections"] = draw_inspections([(r["mine_code"], r["facts"]) for r in results], days, start, rng,
                                            p.inspections)
    for name, t in small.items():
        write_table(t, out_dir / f"{name}.{fmt}", fmt)
        counts[name] = t.num_rows
    for r in results:
        for name, n in r["counts"].items():
            counts[name] += n
    truth = out_dir / "_truth"
    _write_csv(truth / "anomalies.csv", ["mine_code", "family", "mechanism", "start_at", "end_at", "detail"],
               [a for r in results for a in r["anomalies"]])
    _write_csv(truth / "accidents.csv", ["mine_code", "accident_id", "occurred_at", "area_code", "face_code", "card_codes",
                                         "deaths", "injuries", "reported", "concealment"],
               [a for r in results for a in r["accidents"]])
    _write_csv(truth / "decoys.csv", ["mine_code", "decoy", "start_at", "end_at", "detail"],
               [d for r in results for d in r["decoys"]])
    rows = []
    t0 = dt.datetime.combine(start, dt.time())
    for r in results:
        for fam in FAMILIES:
            w = r["facts"]["windows"].get(fam, [])
            first = (t0 + dt.timedelta(seconds=int(min(a for a, _ in w) * DAY_S))).strftime("%Y-%m-%d %H:%M:%S") if w else ""
            rows.append(dict(mine_code=r["mine_code"], family=fam, is_positive=int(bool(w)), first_active_at=first))
    _write_csv(truth / "mine_truth.csv", ["mine_code", "family", "is_positive", "first_active_at"], rows)
    if national:
        for r in results[:national]:
            writer(out_dir, mine_frames(out_dir, fmt, r["mine_code"], small), seed)
    return counts
