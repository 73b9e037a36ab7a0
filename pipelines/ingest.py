"""ingest stage: load canonical tables and source files (national networking files, vendor exports) into DuckDB."""

from __future__ import annotations

import argparse
import codecs
import hashlib
import logging
import multiprocessing
import os
import sys
import tempfile
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines import warehouse as wh
from pipelines.adapters import load_profiles
from pipelines.adapters.base import Parsed, Profile
from pipelines.params import load_section
from pipelines.schema import LOAD_ORDER, TABLES, Table

log = logging.getLogger(__name__)

DEFAULT_WAREHOUSE = Path("data/warehouse.duckdb")
CANONICAL_SUFFIXES = (".csv", ".parquet")
DONE = ("loaded", "rejected")  # statuses whose content is never read again
PROBLEMS = ("error", "rejected", "incomplete")
PARALLEL_PARSE_BYTES = 32 << 20
MAX_NOTES = 40
PARSE_BATCH_BYTES = 4 << 20  # a parse task: consecutive files up to this size (small files are parsed together)
PARSE_BATCH_FILES = 2000
ROW_GROUP_ROWS = 122_880  # DuckDB's row group size


@dataclass(frozen=True)
class IngestParams:
    """Tunable values of the ingest stage (params.yaml, section `ingest`)."""

    memory_limit: str = "3GB"  # DuckDB's cap; it spills to `<warehouse>.tmp` beyond it
    threads: int = 2
    parse_workers: int = 2  # processes parsing source files while DuckDB loads
    raw_text_limit: int = 2000  # characters of a rejected row's raw text kept in `rejects`


class ProfileProblem(Exception):
    """A profile's derive step failed; the run is retried without that profile's new files."""

    def __init__(self, profile: str, message: str):
        super().__init__(message)
        self.profile = profile
        self.message = message


@dataclass
class Entry:
    """One file under DATA_DIR and what became of it in this run."""

    path: Path
    profile: str  # 'canonical:<table>', a profile's name, or '' when nothing reads the file
    table: str | None = None
    sha256: str | None = None
    size: int = 0
    encoding: str | None = None
    status: str = "new"
    message: str | None = None
    kind: str | None = None
    mine_code: str | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    rows_duplicate: int = 0
    file_id: int = 0
    rows_in_file: int | None = None  # a Parquet file's row count, from its footer
    read_path: Path | None = None  # the file DuckDB reads (a UTF-8 copy of a GB18030 CSV)
    columns: dict[str, str] = field(default_factory=dict)  # header name -> contract column name


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `minewatch ingest`."""
    parser.add_argument("data_dir", nargs="?", type=Path, help="folder of canonical tables and source files")
    parser.add_argument(
        "--warehouse", type=Path, default=DEFAULT_WAREHOUSE, help=f"DuckDB file (default {DEFAULT_WAREHOUSE})"
    )
    parser.add_argument("--report", action="store_true", help="print the manifest of a run instead of ingesting")
    parser.add_argument("--run", type=int, default=None, help="with --report: the run to print (default: latest)")


def main(args: argparse.Namespace) -> int:
    """Run the stage from parsed command-line arguments."""
    params = load_section("ingest", IngestParams, args.params)
    try:
        if args.report:
            print(report(args.warehouse, args.run, params))
            return 0
        if args.data_dir is None:
            raise wh.WarehouseError("give a DATA_DIR to ingest, or --report to print a run's manifest")
        run_id = ingest(args.data_dir, args.warehouse, params)
        # after a big run, a summary per profile and status; `--report` lists every file
        print(report(args.warehouse, run_id, params, per_file=False))
        return 0
    except wh.WarehouseError as exc:
        print(f"minewatch ingest: {exc}", file=sys.stderr)
        return 2


def ingest(
    data_dir: Path,
    warehouse: Path,
    params: IngestParams = IngestParams(),
    profiles: list[Profile] | None = None,
) -> int:
    """Load every new file under `data_dir` into the warehouse in one transaction; return the run id."""
    data_dir = Path(data_dir)
    if not data_dir.exists():
        raise wh.WarehouseError(f"data directory {data_dir} does not exist")
    if not data_dir.is_dir():
        raise wh.WarehouseError(f"data directory {data_dir} is not a directory")
    warehouse = Path(warehouse)
    wh.check_writable(warehouse)
    profiles = load_profiles() if profiles is None else profiles
    with wh.exclusive_lock(warehouse), tempfile.TemporaryDirectory(prefix="minewatch-ingest-") as tmp:
        entries = discover(data_dir, warehouse, profiles)
        if not entries:
            log.warning("%s holds no files", data_dir)
        prepare(entries, Path(tmp))
        try:
            con = wh.connect(warehouse, params.memory_limit, params.threads)
        except duckdb.Error as exc:
            raise wh.WarehouseError(f"cannot open the warehouse {warehouse}: {wh.first_line(exc)}") from exc
        try:
            return _run_with_retries(con, data_dir, entries, profiles, params)
        finally:
            con.close()


def discover(data_dir: Path, warehouse: Path, profiles: list[Profile]) -> list[Entry]:
    """Every file under `data_dir`: canonical table entries first (in load order), then source files."""
    own = {warehouse.resolve()} | {
        warehouse.with_name(warehouse.name + s).resolve() for s in (".lock", ".wal", ".tmp")
    }

    def is_own(path: Path) -> bool:  # the warehouse's own files, should it sit inside DATA_DIR
        return path.name.startswith(warehouse.name) and path.resolve() in own

    canonical: list[Entry] = []
    others: list[Path] = []
    for child in sorted(data_dir.iterdir()):
        if _hidden(child) or is_own(child):
            continue
        # not is_file(): a dangling link or unreadable entry named like a table is reported, not ignored
        stem = child.name.split(".")[0] if not child.is_dir() else child.name
        if stem in TABLES and not child.is_dir() and child.suffix.lower() in CANONICAL_SUFFIXES:
            canonical.append(Entry(child, f"canonical:{stem}", stem))
        elif stem in TABLES and child.is_dir():
            for f in _walk(child):
                if f.suffix.lower() in CANONICAL_SUFFIXES:
                    canonical.append(Entry(f, f"canonical:{stem}", stem))
                else:
                    log.warning("%s: not a .csv or .parquet file inside table folder %s; not read", f, stem)
        elif child.is_dir():
            others.extend(f for f in _walk(child) if not is_own(f))
        else:
            others.append(child)
    canonical.sort(key=lambda e: (LOAD_ORDER.index(e.table), str(e.path)))
    sources: list[Entry] = []
    for path in others:
        profile = next((p for p in profiles if _claims(p, path)), None)
        sources.append(Entry(path, profile.name if profile else ""))
    return canonical + sources


def _hidden(path: Path) -> bool:
    """Whether an entry under DATA_DIR is left out."""
    # dot-files and folders starting with `_` (the simulator's `_truth/`) are never input; files starting
    # with `_` are (a real vendor export names its hourly files `_2020-10-03_2020-10-03 00.csv`)
    return path.name.startswith(".") or (path.name.startswith("_") and path.is_dir())


def _walk(folder: Path) -> Iterator[Path]:
    """Files below `folder`, sorted, hidden entries left out (os.scandir: no stat per file)."""
    with os.scandir(folder) as listing:
        children = sorted(listing, key=lambda d: d.name)
    for child in children:
        if child.name.startswith("."):
            continue
        try:
            is_dir = child.is_dir()
        except OSError:
            is_dir = False
        if is_dir and not child.name.startswith("_"):
            yield from _walk(Path(child.path))
        elif not is_dir:
            yield Path(child.path)


def _claims(profile: Profile, path: Path) -> bool:
    """Whether the profile reads the file; a profile that fails to judge does not claim it."""
    try:
        return bool(profile.claims(path))
    except Exception:
        log.exception("%s.claims failed on %s", profile.name, path)
        return False


def prepare(entries: list[Entry], tmp: Path) -> None:
    """Hash canonical files; decode-check CSVs (GB18030 copies to UTF-8); read canonical headers; no writes.

    Source files are only sized here: the parse workers hash them from the bytes they read anyway.
    """
    for e in entries:
        if not e.profile:
            e.status, e.message = "ignored", "no profile reads this file"
    for e in entries:
        if e.table is not None:
            _hash_or_fail(e, tmp)
        elif e.profile:
            e.read_path = e.path
            try:
                e.size = os.stat(e.path).st_size  # sizes parse tasks; a file that cannot be read fails in parse
            except OSError:
                e.size = 0
    probe = duckdb.connect()
    try:
        for e in entries:
            if e.table is not None and e.status == "new":
                _read_header(e, probe)
    finally:
        probe.close()


def _hash_or_fail(e: Entry, tmp: Path) -> None:
    """Hash one file; a file that cannot be read is an error naming it."""
    try:
        _hash(e, tmp)
    except OSError as exc:
        e.status, e.message = "error", f"{e.path}: cannot read: {exc.strerror or exc}"


def _hash(e: Entry, tmp: Path) -> None:
    """sha256 and size; for CSV also strict UTF-8 decoding, falling back to GB18030."""
    e.size = 0
    if e.path.suffix.lower() != ".csv":
        digest = hashlib.sha256()
        fd = os.open(e.path, os.O_RDONLY)
        try:
            while chunk := os.read(fd, 1 << 20):
                digest.update(chunk)
                e.size += len(chunk)
        finally:
            os.close(fd)
        e.sha256 = digest.hexdigest()
        e.read_path = e.path
        return
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8 = True
    with open(e.path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
            e.size += len(chunk)
            if utf8:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    utf8 = False
    if utf8:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8 = False
    e.sha256 = digest.hexdigest()
    e.read_path = e.path
    if utf8:
        e.encoding = "utf-8"
        return
    try:
        text = e.path.read_bytes().decode("gb18030")
    except UnicodeDecodeError as exc:
        e.status = "error"
        e.message = f"{e.path}: neither UTF-8 nor GB18030 text (bad byte at offset {exc.start})"
        return
    e.encoding = "gb18030"
    e.read_path = tmp / f"{e.sha256}.csv"
    e.read_path.write_text(text, encoding="utf-8")


def _read_header(e: Entry, probe: duckdb.DuckDBPyConnection) -> None:
    """Map the file's columns to the contract; a missing required column rejects the whole file."""
    if e.status != "new":
        return
    table = TABLES[e.table]
    try:
        if e.path.suffix.lower() == ".parquet":
            meta = pq.ParquetFile(e.read_path)
            names = list(meta.schema_arrow.names)
            rows = e.rows_in_file = meta.metadata.num_rows
        else:
            if e.size == 0:
                raise ValueError("empty file (no header row)")
            names = wh.csv_columns(probe, e.read_path)
            rows = None
    except Exception as exc:
        kind = "Parquet" if e.path.suffix.lower() == ".parquet" else "CSV"
        e.status, e.message = "error", f"{e.path}: not a readable {kind} file: {wh.first_line(exc)}"
        return
    e.columns = {n: n.replace("\ufeff", "").strip().lower() for n in names}
    present = set(e.columns.values())
    missing = [c for c in table.required if c not in present]
    extra = [n for n, c in e.columns.items() if c not in table.names]
    if missing:
        e.status = "rejected"
        e.message = (
            f"{e.path}: required column{'s' if len(missing) > 1 else ''} {', '.join(missing)} missing "
            f"(table {table.name}; the file has: {', '.join(names)})"
        )
        e.rows_read = rows if rows is not None else wh.csv_count(probe, e.read_path)
        e.rows_rejected = e.rows_read
    elif extra:
        e.message = f"extra columns ignored: {', '.join(extra)}"


def _run_with_retries(
    con: duckdb.DuckDBPyConnection, data_dir: Path, entries: list[Entry], profiles: list[Profile], params: IngestParams
) -> int:
    """Run in one transaction; a file or profile that fails mid-run is marked and the run redone without it."""
    for _ in range(len(entries) + len(profiles) + 1):
        snapshot = [(e.status, e.message, e.rows_read, e.rows_rejected) for e in entries]
        con.execute("begin transaction")
        try:
            run_id = _run(con, data_dir, entries, profiles, params)
            con.execute("commit")
            return run_id
        except wh.FileProblem as exc:
            con.execute("rollback")
            suspects = [e for e in entries if e.file_id in exc.file_ids]
            _restore(entries, snapshot)
            if len(suspects) == 1:
                culprits = {suspects[0].file_id: exc.message}
            else:  # find the file(s) at fault by reading each alone
                culprits = {e.file_id: msg for e in suspects if (msg := _probe(e)) is not None}
            if not culprits:
                raise RuntimeError(f"ingest failed while reading {len(suspects)} files: {exc.message}") from exc
            for e in entries:
                if e.file_id in culprits:
                    e.status, e.message = "error", f"{e.path}: {culprits[e.file_id]}"
                    log.warning("%s; redoing the run without it", e.message)
        except ProfileProblem as exc:
            con.execute("rollback")
            _restore(entries, snapshot)
            for e in entries:
                if e.profile == exc.profile and e.status == "new":
                    e.status, e.message = "error", exc.message
            log.warning("%s; redoing the run without its new files", exc.message)
        except BaseException:
            con.execute("rollback")
            raise
    raise RuntimeError("ingest kept failing; giving up")


def _restore(entries: list[Entry], snapshot: list[tuple]) -> None:
    """Put the entries back as they were before a failed attempt."""
    for e, (status, message, read, rejected) in zip(entries, snapshot, strict=True):
        e.status, e.message, e.rows_read, e.rows_rejected = status, message, read, rejected
        e.rows_loaded = e.rows_duplicate = 0
        if e.table is None:
            e.kind = e.mine_code = e.encoding = None


def _run(
    con: duckdb.DuckDBPyConnection, data_dir: Path, entries: list[Entry], profiles: list[Profile], params: IngestParams
) -> int:
    """One attempt of the whole run, inside the caller's transaction."""
    wh.create_tables(con)
    run_id = con.execute("select coalesce(max(run_id), 0) + 1 from ingest_runs").fetchone()[0]
    next_id = con.execute("select coalesce(max(file_id), 0) + 1 from ingest_files").fetchone()[0]
    started = datetime.now().replace(microsecond=0)
    con.execute("insert into ingest_runs values (?, ?, null, ?, 'running', null)", [run_id, started, str(data_dir)])
    done, seen = _mark_skipped(con, entries)
    for e in entries:
        e.file_id = next_id
        next_id += 1
    _insert_manifest(con, run_id, entries)

    by_profile = {p.name: p for p in profiles}
    derived: dict[str, tuple[Profile, list[str], dict[str, str]]] = {}
    new_sources = [e for e in entries if e.table is None and e.status == "new"]
    if new_sources:
        _parse_sources(con, run_id, new_sources, by_profile, params, done, seen)
    for name, profile in by_profile.items():
        mines = sorted({e.mine_code for e in entries if e.profile == name and e.status == "loaded" and e.mine_code})
        if mines:
            derived[name] = (profile, mines, _derive(con, profile, mines))

    for table_name in LOAD_ORDER:
        table = TABLES[table_name]
        files = [e for e in entries if e.table == table_name and e.status == "new"]
        if files:
            log.info("loading %s from %d file(s)", table_name, len(files))
            _load_canonical(con, run_id, table, files, params)
        for profile, mines, selects in derived.values():
            if table_name in selects:
                _load_derived(con, run_id, table, profile, mines, selects[table_name], params)

    for name, (_, _, selects) in derived.items():
        if "_superseded" in selects:
            _record_superseded(con, run_id, name, selects["_superseded"])
    _count(con, entries)
    _update_manifest(con, entries, derived)
    problems = [e for e in entries if e.status in PROBLEMS]
    rejected = con.execute("select count(*) from rejects where run_id = ?", [run_id]).fetchone()[0]
    status = "completed" if not problems and not rejected else "completed_with_problems"
    message = f"{len(problems)} file(s) with problems, {rejected} row(s) rejected" if status != "completed" else None
    con.execute(
        "update ingest_runs set finished_at = ?, status = ?, message = ? where run_id = ?",
        [datetime.now().replace(microsecond=0), status, message, run_id],
    )
    return run_id


def _mark_skipped(con: duckdb.DuckDBPyConnection, entries: list[Entry]) -> tuple[dict[str, str], dict[str, Path]]:
    """Files whose content was already loaded (or appears twice in this run) are skipped.

    Returns the loaded contents (sha256 -> path) and those of this run so far, for the source files,
    which are hashed while they are parsed.
    """
    done = dict(
        con.execute(
            f"select sha256, min(path) from ingest_files where status in {DONE} and sha256 is not null group by sha256"
        ).fetchall()
    )
    seen: dict[str, Path] = {}
    for e in entries:
        if e.sha256 is None or e.status in ("error", "ignored"):
            continue
        if e.sha256 in done:
            e.status, e.message = "skipped", f"already loaded (same content as {done[e.sha256]})"
            e.rows_read = e.rows_rejected = 0
        elif e.sha256 in seen:
            e.status, e.message = "skipped", f"same content as {seen[e.sha256]} in this run"
            e.rows_read = e.rows_rejected = 0
        else:
            seen[e.sha256] = e.path
    return done, seen


def _skip(e: Entry, done: dict[str, str], seen: dict[str, Path]) -> bool:
    """Mark a just-hashed source file skipped if its content was loaded before or earlier in this run."""
    if e.sha256 in done:
        e.status, e.message = "skipped", f"already loaded (same content as {done[e.sha256]})"
    elif e.sha256 in seen:
        e.status, e.message = "skipped", f"same content as {seen[e.sha256]} in this run"
    else:
        seen[e.sha256] = e.path
        return False
    e.rows_read = e.rows_rejected = 0
    e.kind = e.mine_code = e.encoding = None
    return True


def _executemany(con: duckdb.DuckDBPyConnection, sql: str, rows: list[list]) -> None:
    """Run `sql` once per row, if there are rows."""
    if rows:  # DuckDB refuses an empty parameter list
        con.executemany(sql, rows)


MANIFEST_COLUMNS = (
    "file_id", "run_id", "path", "sha256", "bytes", "profile", "kind", "mine_code", "encoding", "status",
    "message", "rows_read", "rows_loaded", "rows_rejected", "rows_duplicate",
)


def _manifest_table(run_id: int, entries: list[Entry]) -> pa.Table:
    """The entries as rows of `ingest_files`."""
    values = {
        "file_id": [e.file_id for e in entries], "run_id": [run_id] * len(entries),
        "path": [str(e.path) for e in entries], "sha256": [e.sha256 for e in entries],
        "bytes": [e.size for e in entries], "profile": [e.profile or None for e in entries],
        "kind": [e.kind for e in entries], "mine_code": [e.mine_code for e in entries],
        "encoding": [e.encoding for e in entries], "status": [e.status for e in entries],
        "message": [e.message for e in entries], "rows_read": [e.rows_read for e in entries],
        "rows_loaded": [e.rows_loaded for e in entries], "rows_rejected": [e.rows_rejected for e in entries],
        "rows_duplicate": [e.rows_duplicate for e in entries],
    }
    types = {"file_id": pa.int64(), "run_id": pa.int64(), "bytes": pa.int64(), "rows_read": pa.int64(),
             "rows_loaded": pa.int64(), "rows_rejected": pa.int64(), "rows_duplicate": pa.int64()}
    return pa.table({c: pa.array(values[c], types.get(c, pa.string())) for c in MANIFEST_COLUMNS})


def _insert_manifest(con: duckdb.DuckDBPyConnection, run_id: int, entries: list[Entry]) -> None:
    wh.append_arrow(con, "ingest_files", _manifest_table(run_id, entries))
    # a file rejected as a whole: one reject naming the missing column(s), the rows counted in the manifest
    _executemany(
        con,
        "insert into rejects values (?, ?, ?, null, ?, ?, ?, null, 'read')",
        [[run_id, e.file_id, str(e.path), e.table, _missing(e), e.message] for e in entries if e.status == "rejected"],
    )


def _missing(e: Entry) -> str:
    """The required columns a canonical file lacks."""
    return ", ".join(c for c in TABLES[e.table].required if c not in set(e.columns.values()))


def _parse_sources(
    con: duckdb.DuckDBPyConnection, run_id: int, entries: list[Entry], profiles: dict[str, Profile], params: IngestParams,
    done: dict[str, str], seen: dict[str, Path],
) -> None:
    """Hash and parse new source files (in worker processes when there are many) and append their raw tables.

    A file whose content was loaded before (`done`) or earlier in this run (`seen`) is skipped: the
    workers know `done` and do not parse those; a copy within this run is dropped here.
    """
    for name in {e.profile for e in entries}:
        profile = profiles[name]
        for raw_name, schema in profile.raw_schemas.items():
            wh.ensure_raw_table(con, _raw_name(profile, raw_name), schema)
    # worker processes pay for themselves only on a large batch (each imports pyarrow and the profiles)
    workers = params.parse_workers if sum(e.size for e in entries) > PARALLEL_PARSE_BYTES else 1
    buffer = _RawBuffer(con)
    rejects: list[list] = []
    taken = 0
    for shipment in _parse_all(entries, profiles, workers, frozenset(done)):
        batch = entries[taken : taken + len(shipment.parsed)]
        taken += len(batch)
        keep = np.ones(len(batch), bool)
        for k, (e, parsed, sha, size) in enumerate(zip(batch, shipment.parsed, shipment.hashes, shipment.sizes, strict=True)):
            if sha is not None:
                e.sha256, e.size = sha, size
                if _skip(e, done, seen):
                    keep[k] = False
                    continue
            _take_parsed(e, parsed)
            rejects += [
                [run_id, e.file_id, str(e.path), r.record, r.table, r.field, r.reason, (r.raw or "")[: params.raw_text_limit]]
                for r in parsed.rejects
            ]
        ids = np.array([e.file_id for e in batch], np.int64)
        for name, rows in shipment.raw.items():
            counts = shipment.counts[name]
            if not keep.all():  # a copy of an earlier file of this run: its rows are not loaded
                rows = rows.filter(pa.array(np.repeat(keep, counts)))
                counts = np.where(keep, counts, 0)
            buffer.add(name, rows, np.repeat(ids, counts))
    buffer.flush()
    if rejects:
        cols = ["run_id", "file_id", "file", "record", "table_name", "field", "reason", "raw"]
        batch = {c: [r[i] for r in rejects] for i, c in enumerate(cols)}
        wh.append_arrow(con, "rejects", pa.table({**batch, "stage": ["parse"] * len(rejects)}))


class _RawBuffer:
    """Collects raw rows per table and appends them in large batches (one insert per file is slow).

    Until the last flush, a table gets whole row groups only (the rest waits for the next flush): a
    parallel insert leaves a partly filled row group per thread, which the commit logs to the WAL and
    the checkpoint rewrites and merges.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, limit: int = 1 << 30):
        # bytes of Arrow buffers held before appending: the checkpoint's cost grows with the number of
        # appends (12 mines x 30 days: 128 MB -> 10.8 s, 512 MB -> 3.1 s, 1 GB -> 1.1 s; peak RSS unchanged)
        self.con, self.limit = con, limit
        self.parts: dict[str, list[tuple[pa.Table, np.ndarray]]] = {}
        self.size = 0

    def add(self, name: str, rows: pa.Table, file_ids: np.ndarray) -> None:
        """Hold rows for raw table `name` (`file_ids`: each row's file); append once the buffer is full."""
        if rows.num_rows:
            self.parts.setdefault(name, []).append((rows, file_ids))
            self.size += rows.nbytes
            if self.size >= self.limit:
                self.flush(last=False)

    def flush(self, last: bool = True) -> None:
        """Append what is held (before the `last` flush, whole row groups), one insert per raw table."""
        held: dict[str, list[tuple[pa.Table, np.ndarray]]] = {}
        size = 0
        for name, parts in self.parts.items():
            rows = pa.concat_tables([t for t, _ in parts], promote_options="default")
            ids = np.concatenate([f for _, f in parts])
            n = rows.num_rows
            cut = n if last else n - n % ROW_GROUP_ROWS
            if cut:
                wh.append_arrow(self.con, name, rows.slice(0, cut).append_column("_file_id", pa.array(ids[:cut])))
            if cut < n:
                rest = rows.slice(cut).combine_chunks()  # a copy: the appended rows' buffers can go
                held[name] = [(rest, ids[cut:])]
                size += rest.nbytes
        self.parts, self.size = held, size


@dataclass
class _Shipment:
    """What parsing a run of consecutive files gave, in a form cheap to send between processes.

    `parsed` holds each file's result without its raw rows; `raw` the raw rows of all of them per
    warehouse table, file after file; `counts[table]` how many of those rows each file gave.
    """

    parsed: list[Parsed]
    raw: dict[str, pa.Table]
    counts: dict[str, list[int]]
    hashes: list[str | None]  # each file's sha256 (None: the file could not be read)
    sizes: list[int]


def _batches(entries: list[Entry], profiles: dict[str, Profile]) -> list[list[tuple[Profile, str]]]:
    """Runs of consecutive files to parse per task: up to PARSE_BATCH_BYTES, or PARSE_BATCH_FILES files."""
    batches: list[list[tuple[Profile, str]]] = []
    size = 0
    for e in entries:
        if not batches or size >= PARSE_BATCH_BYTES or len(batches[-1]) >= PARSE_BATCH_FILES:
            batches.append([])
            size = 0
        batches[-1].append((profiles[e.profile], str(e.path)))
        size += e.size
    return batches


def _parse_all(
    entries: list[Entry], profiles: dict[str, Profile], workers: int, loaded: frozenset[str] = frozenset()
) -> Iterator[_Shipment]:
    """Shipments covering the files in order; in worker processes when asked, in this one if the pool breaks.

    At most a few batches are in flight, so parsed files never pile up in memory while DuckDB loads.
    """
    batches = _batches(entries, profiles)
    done = 0
    if workers > 1 and len(batches) >= 2:
        try:
            # spawn, not fork: this process holds DuckDB's threads and locks
            with ProcessPoolExecutor(
                max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                initializer=_set_done, initargs=(loaded,),  # sent once per worker, not with every task
            ) as pool:
                pending: deque = deque()
                for batch in batches:
                    pending.append(pool.submit(_parse_batch, batch, True))
                    if len(pending) > 2 * workers:
                        yield pending.popleft().result()
                        done += 1
                while pending:
                    yield pending.popleft().result()
                    done += 1
        except BrokenProcessPool as exc:
            # e.g. a script that starts ingest without an `if __name__ == "__main__":` guard
            left = sum(len(b) for b in batches[done:])
            log.warning("parse workers failed (%s); parsing the remaining %d files here", exc, left)
    _set_done(loaded)
    for batch in batches[done:]:
        yield _parse_batch(batch, False)


_DONE: frozenset[str] = frozenset()  # sha256 of contents already loaded: a parse worker does not parse them


def _set_done(done: frozenset[str]) -> None:
    """Tell this process which contents are already loaded."""
    global _DONE
    _DONE = done


def _parse_batch(jobs: list[tuple[Profile, str]], compact: bool) -> _Shipment:
    """Parse a run of files (consecutive files of one profile together) and pack the results.

    `compact`: the shipment crosses to another process; its raw tables are copied into contiguous
    buffers first (a pickled slice would carry its whole parent table).
    """
    results: list[Parsed] = []
    hashes: list[str | None] = []
    sizes: list[int] = []
    start = 0
    while start < len(jobs):
        stop = start + 1
        while stop < len(jobs) and jobs[stop][0] is jobs[start][0]:
            stop += 1
        results += _parse_files(jobs[start][0], [path for _, path in jobs[start:stop]], hashes, sizes)
        start = stop
    parts: dict[str, list[pa.Table]] = {}
    counts: dict[str, list[int]] = {}
    for k, ((profile, _), parsed) in enumerate(zip(jobs, results, strict=True)):
        if parsed.status == "ok":
            if parsed.mine_code is None:
                parsed.mine_code = _single_mine(parsed)
            for raw_name, rows in parsed.raw.items():
                name = _raw_name(profile, raw_name)
                parts.setdefault(name, []).append(rows)
                counts.setdefault(name, [0] * len(jobs))[k] = rows.num_rows
        parsed.raw = {}
    raw = {name: pa.concat_tables(tables, promote_options="default") for name, tables in parts.items()}
    if compact:
        raw = {name: rows.combine_chunks() for name, rows in raw.items()}
    return _Shipment(results, raw, counts, hashes, sizes)


def _parse_files(profile: Profile, paths: list[str], hashes: list[str | None], sizes: list[int]) -> list[Parsed]:
    """Read, hash and parse files of one profile; a file that cannot be read or makes the profile raise is an 'error'.

    Appends each file's sha256 and size to `hashes` and `sizes`; a file whose content is already
    loaded (`_DONE`) is not parsed (its result says 'skipped').
    """
    files: list[tuple[Path, bytes]] = []
    unread: dict[int, Parsed] = {}
    for k, path in enumerate(paths):
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            unread[k] = Parsed(status="error", message=f"{path}: cannot read: {exc.strerror or exc}")
            hashes.append(None)
            sizes.append(0)
            continue
        sha = hashlib.sha256(data).hexdigest()
        hashes.append(sha)
        sizes.append(len(data))
        if sha in _DONE:
            unread[k] = Parsed(status="skipped")
        else:
            files.append((Path(path), data))
    try:
        parsed = iter(profile.parse_many(files))
    except Exception:  # find the file that makes it raise: read each alone
        parsed = iter([_parse_one(profile, path, data) for path, data in files])
    return [unread[k] if k in unread else next(parsed) for k in range(len(paths))]


def _parse_one(profile: Profile, path: Path, data: bytes) -> Parsed:
    """Parse one file; a profile that raises yields an 'error' result instead."""
    try:
        return profile.parse(path, data)
    except Exception as exc:
        return Parsed(status="error", message=f"{path}: {profile.name} failed to parse it: {type(exc).__name__}: {exc}")


def _raw_name(profile: Profile, name: str) -> str:
    """The warehouse table of a profile's raw table: `raw_<profile>_<kind>`."""
    return name if name.startswith("raw_") else f"raw_{profile.name}_{name}"


def _take_parsed(e: Entry, parsed: Parsed) -> None:
    """Record what parsing one source file gave: status, encoding, mine, records."""
    e.encoding, e.kind, e.mine_code = parsed.encoding, parsed.kind, parsed.mine_code
    if parsed.status != "ok":
        e.status = parsed.status if parsed.status in ("incomplete", "error") else "error"
        e.message = parsed.message or f"{e.path}: {parsed.status}"
        return
    e.status, e.message, e.rows_read = "loaded", parsed.message, parsed.records
    if e.mine_code is None:
        e.mine_code = _single_mine(parsed)


def _single_mine(parsed: Parsed) -> str | None:
    """The mine of a file that did not say it: the one `mine_code` its raw rows carry, if only one."""
    codes: set[str] = set()
    for rows in parsed.raw.values():
        if "mine_code" in rows.column_names:
            codes.update(c for c in rows.column("mine_code").unique().to_pylist() if c)
    return codes.pop() if len(codes) == 1 else None


def _derive(con: duckdb.DuckDBPyConnection, profile: Profile, mines: list[str]) -> dict[str, str]:
    """The profile's canonical selects for these mines; drop what it derived for them before."""
    try:
        selects = profile.derive(con, mines)
    except Exception as exc:
        raise ProfileProblem(profile.name, f"profile {profile.name}: derive failed: {type(exc).__name__}: {exc}") from exc
    unknown = sorted(set(selects) - set(TABLES) - {"_superseded"})
    if unknown:
        raise ProfileProblem(profile.name, f"profile {profile.name}: derive returned unknown tables {unknown}")
    files = _profile_files_sql(profile.name, mines)
    con.execute(f"delete from rejects where stage = 'validate' and file_id in ({files})")
    con.execute(f"delete from duplicates where file_id in ({files})")
    return selects


def _profile_files_sql(profile: str, mines: list[str]) -> str:
    """SQL listing the file ids a profile read for these mines."""
    codes = ", ".join(wh.lit(m) for m in mines)
    return f"select file_id from ingest_files where profile = {wh.lit(profile)} and mine_code in ({codes})"


def _load_canonical(
    con: duckdb.DuckDBPyConnection, run_id: int, table: Table, files: list[Entry], params: IngestParams
) -> None:
    """Validate and insert one table's new canonical files (CSV and Parquet read separately)."""
    parquet = [e for e in files if e.path.suffix.lower() == ".parquet"]
    csv = [e for e in files if e.path.suffix.lower() == ".csv"]
    if parquet:
        renames: dict[str, str] = {}
        for e in parquet:
            renames.update(e.columns)
        try:
            wh.parquet_view(con, "_src", [(e.file_id, e.read_path) for e in parquet], renames)
        except duckdb.Error as exc:
            raise _blame(parquet, exc) from exc
        raw = [c for c in wh.relation_types(con, "_src") if c not in wh.LINEAGE]
        _checked_load(con, table, raw, run_id, params, parquet, sum(e.rows_in_file for e in parquet))
        con.execute("drop view if exists _src")
        for e in parquet:
            e.rows_read = e.rows_in_file
    if csv:
        inputs = [wh.CsvInput(e.file_id, e.read_path, e.columns) for e in csv]
        raw, counts = wh.stage_csv(con, "_src", inputs, params.raw_text_limit)
        for e in csv:
            e.rows_read = counts.get(e.file_id, 0)
        staged = con.execute("select count(*) from _src_rows").fetchone()[0]  # malformed lines are not staged
        _checked_load(con, table, raw, run_id, params, csv, staged)
        con.execute("drop view if exists _src")
        con.execute("drop table if exists _src_rows")
    for e in files:
        e.status = "loaded"


def _checked_load(
    con: duckdb.DuckDBPyConnection, table: Table, raw: list[str], run_id: int, params: IngestParams,
    files: list[Entry], rows: int,
) -> None:
    """Validate and insert the `rows` rows of view `_src`; a read error becomes a FileProblem."""
    try:
        wh.load_rows(con, table, "_src", raw, run_id, "validate", params.raw_text_limit, rows)
    except duckdb.Error as exc:
        raise _blame(files, exc) from exc


def _blame(files: list[Entry], exc: duckdb.Error) -> Exception:
    """A DuckDB error while reading input files: a FileProblem for the file it names, or for all it read."""
    if isinstance(exc, duckdb.BinderException | duckdb.CatalogException | duckdb.ParserException):
        return exc  # our SQL is wrong, not the file: fail the run
    text = str(exc)
    named = [e for e in files if str(e.read_path) in text or str(e.path) in text]
    suspects = named[:1] or files
    return wh.FileProblem([e.file_id for e in suspects], f"cannot be read: {wh.first_line(exc)}")


def _probe(e: Entry) -> str | None:
    """Read one canonical file in full on a scratch connection; the error text, or None when it reads."""
    con = duckdb.connect()
    try:
        if e.path.suffix.lower() == ".parquet":
            reader = f"read_parquet({wh.lit(str(e.read_path))})"
        else:
            reader = wh.csv_reader(e.read_path, "_probe")
        cols = wh.relation_types(con, reader)
        decode = ", ".join(f"count({wh.q(c)})" for c in cols) or "count(*)"
        con.execute(f"select {decode} from {reader}").fetchall()
        return None
    except duckdb.Error as exc:
        return f"cannot be read: {wh.first_line(exc)}"
    finally:
        con.close()


def _load_derived(
    con: duckdb.DuckDBPyConnection, run_id: int, table: Table, profile: Profile, mines: list[str], sql: str,
    params: IngestParams,
) -> None:
    """Replace the rows this profile derived for these mines with a fresh, validated derivation."""
    try:
        con.execute(f"create or replace temp table _derived as {sql}")
    except duckdb.Error as exc:
        raise ProfileProblem(
            profile.name, f"profile {profile.name}: the select for {table.name} failed: {wh.first_line(exc)}"
        ) from exc
    have = set(wh.relation_types(con, "_derived"))
    lacking = [c for c in [*table.names, *wh.LINEAGE] if c not in have]
    if lacking:
        raise ProfileProblem(profile.name, f"profile {profile.name}: the select for {table.name} lacks {lacking}")
    codes = ", ".join(wh.lit(m) for m in mines)
    con.execute(
        f"delete from {wh.q(table.name)} where mine_code in ({codes}) and _file_id in "
        f"(select file_id from ingest_files where profile = {wh.lit(profile.name)})"
    )
    log.info("loading %s derived by %s for %d mine(s)", table.name, profile.name, len(mines))
    rows = con.execute("select count(*) from _derived").fetchone()[0]  # a table: its count is free
    wh.load_rows(con, table, "_derived", table.names, run_id, "validate", params.raw_text_limit, rows)
    con.execute("drop table if exists _derived")


def _record_superseded(con: duckdb.DuckDBPyConnection, run_id: int, profile: str, sql: str) -> None:
    """Records a profile dropped as re-sent copies count as duplicates of their file."""
    try:
        con.execute(
            f"insert into duplicates select distinct {int(run_id)}, _file_id, _record, null, reason from ({sql})"
        )
    except duckdb.Error as exc:
        raise ProfileProblem(profile, f"profile {profile}: the _superseded select failed: {wh.first_line(exc)}") from exc


def _count(con: duckdb.DuckDBPyConnection, entries: list[Entry]) -> None:
    """Rows loaded, rejected and duplicate per new canonical file, measured in the warehouse; they must reconcile."""
    new = {e.file_id: e for e in entries if e.table is not None and e.status == "loaded"}
    if not new:
        return
    ids = ", ".join(str(i) for i in new)
    for fid, n in con.execute(f"select file_id, count(*) from rejects where file_id in ({ids}) group by 1").fetchall():
        new[fid].rows_rejected = n
    for fid, n in con.execute(f"select file_id, count(*) from duplicates where file_id in ({ids}) group by 1").fetchall():
        new[fid].rows_duplicate = n
    for table in sorted({e.table for e in new.values()}):
        for fid, n in con.execute(
            f"select _file_id, count(*) from {wh.q(table)} where _file_id in ({ids}) group by 1"
        ).fetchall():
            new[fid].rows_loaded = n
    for e in new.values():
        if e.rows_read != e.rows_loaded + e.rows_rejected + e.rows_duplicate:
            raise RuntimeError(
                f"manifest does not reconcile for {e.path}: read {e.rows_read}, loaded {e.rows_loaded}, "
                f"rejected {e.rows_rejected}, duplicate {e.rows_duplicate}"
            )


def _update_manifest(
    con: duckdb.DuckDBPyConnection, entries: list[Entry], derived: dict[str, tuple[Profile, list[str], dict]]
) -> None:
    """Write this run's outcome per file; recount every source file of this run or of a re-derived mine."""
    if entries:
        con.execute("create or replace temp table _manifest as select * from ingest_files limit 0")
        wh.append_arrow(con, "_manifest", _manifest_table(0, entries))
        sets = ", ".join(f"{c} = m.{c}" for c in MANIFEST_COLUMNS if c not in ("file_id", "run_id", "path"))
        con.execute(f"update ingest_files set {sets} from _manifest m where ingest_files.file_id = m.file_id")
        con.execute("drop table _manifest")
    sources = [str(e.file_id) for e in entries if e.table is None and e.status == "loaded"]
    scopes = [f"select file_id from ingest_files where file_id in ({', '.join(sources)})"] if sources else []
    scopes += [_profile_files_sql(name, mines) for name, (_, mines, _) in derived.items()]
    if not scopes:
        return
    # a source record counts once: rejected if it or a row derived from it was rejected, else duplicate if
    # it was dropped as a copy, else loaded (it is in the raw tables and what it says is in the canonical ones)
    con.execute(
        f"""
        create or replace temp table _recount as
        with f as (
            select file_id, rows_read from ingest_files
            where status = 'loaded' and file_id in ({' union '.join(scopes)})
        ),
        rej as (
            select distinct r.file_id, r.record from rejects r join f using (file_id)
            where r.record between 1 and f.rows_read
        ),
        dup as (
            select distinct d.file_id, d.record from duplicates d join f using (file_id)
            where d.record between 1 and f.rows_read
        ),
        rej_n as (select file_id, count(*) as n from rej group by file_id),
        dup_n as (select file_id, count(*) as n from (select * from dup anti join rej using (file_id, record)) group by file_id)
        select f.file_id, coalesce(rej_n.n, 0) as rejected, coalesce(dup_n.n, 0) as duplicate
        from f left join rej_n using (file_id) left join dup_n using (file_id)
        """
    )
    con.execute(
        "update ingest_files set rows_rejected = c.rejected, rows_duplicate = c.duplicate, "
        "rows_loaded = ingest_files.rows_read - c.rejected - c.duplicate "
        "from _recount c where ingest_files.file_id = c.file_id"
    )
    con.execute("drop table _recount")


def report(
    warehouse: Path, run_id: int | None = None, params: IngestParams = IngestParams(), per_file: bool = True
) -> str:
    """The manifest of one run (default: the latest) as text, with totals that reconcile.

    Without `per_file`, files are summed per profile and status (the problem files are still named).
    """
    warehouse = Path(warehouse)
    if not warehouse.exists():
        raise wh.WarehouseError(f"warehouse {warehouse} does not exist; run `minewatch ingest DATA_DIR` first")
    try:
        con = wh.connect(warehouse, params.memory_limit, params.threads, read_only=True)
    except duckdb.Error as exc:
        raise wh.WarehouseError(
            f"cannot open {warehouse} for reading (is an ingest writing it now?): {wh.first_line(exc)}"
        ) from exc
    try:
        if "ingest_runs" not in wh.existing_tables(con):
            raise wh.WarehouseError(f"warehouse {warehouse} holds no ingest run yet")
        if run_id is None:
            run_id = con.execute("select max(run_id) from ingest_runs").fetchone()[0]
        run = con.execute("select * from ingest_runs where run_id = ?", [run_id]).fetchone()
        if run is None:
            raise wh.WarehouseError(f"warehouse {warehouse} has no run {run_id}")
        files = con.execute(
            "select file_id, status, coalesce(profile, '-'), coalesce(encoding, '-'), rows_read, rows_loaded, "
            "rows_rejected, rows_duplicate, coalesce(left(sha256, 12), '-'), path, message "
            "from ingest_files where run_id = ? order by file_id",
            [run_id],
        ).fetchall()
        reasons = con.execute(
            "select coalesce(table_name, '-'), coalesce(field, '-'), reason, count(*) from rejects "
            "where run_id = ? group by all order by 4 desc, 1, 2 limit 20",
            [run_id],
        ).fetchall()
    finally:
        con.close()
    _, started, finished, data_dir, status, message = run
    head = f"{'status':<11} {'profile':<30} {'encoding':<8} {'read':>10} {'loaded':>10} {'rejected':>9} {'duplicate':>9}"
    lines = [
        f"run {run_id}: {status}; data {data_dir}; started {started}, finished {finished}",
        *([f"  {message}"] if message else []),
        "",
        f"{'file':>6} {head}  {'sha256':<12}  path" if per_file else f"{'files':>6} {head}",
    ]
    totals = [0, 0, 0, 0]
    groups: dict[tuple[str, str, str], list[int]] = {}
    notes = []
    for fid, st, prof, enc, *counts, sha, path, msg in files:
        counts = [c or 0 for c in counts]
        totals = [t + c for t, c in zip(totals, counts, strict=True)]
        group = groups.setdefault((st, prof, enc), [0, 0, 0, 0, 0])
        group[:] = [group[0] + 1, *(g + c for g, c in zip(group[1:], counts, strict=True))]
        if per_file:
            lines.append(
                f"{fid:>6} {st:<11} {prof:<30} {enc:<8} {counts[0]:>10} {counts[1]:>10} {counts[2]:>9} "
                f"{counts[3]:>9}  {sha:<12}  {_short(path, data_dir)}"
            )
        if msg and st not in ("skipped", "ignored"):
            notes.append(f"  file {fid} ({st}, {_short(path, data_dir)}): {msg}")
    if not per_file:
        for (st, prof, enc), (n, *c) in sorted(groups.items()):
            lines.append(f"{n:>6} {st:<11} {prof:<30} {enc:<8} {c[0]:>10} {c[1]:>10} {c[2]:>9} {c[3]:>9}")
    lines.append(
        f"{'total':>6} {len(files):<11} {'':<30} {'':<8} {totals[0]:>10} {totals[1]:>10} {totals[2]:>9} {totals[3]:>9}"
    )
    if notes:
        shown = notes if per_file else notes[:MAX_NOTES]
        lines += ["", "messages:", *shown]
        if len(shown) < len(notes):
            lines.append(f"  … {len(notes) - len(shown)} more: minewatch ingest --report --run {run_id}")
    if reasons:
        lines += ["", f"rejected rows by table, field and reason (select * from rejects where run_id = {run_id}):"]
        lines += [f"  {n:>8}  {t}.{f}: {r}" for t, f, r, n in reasons]
    return "\n".join(lines)


def _short(path: str, data_dir: str) -> str:
    """A path relative to the data folder when it lies inside it."""
    try:
        return str(Path(path).relative_to(data_dir))
    except ValueError:
        return path
