"""The DuckDB warehouse: canonical and raw tables, row validation in SQL, rejects, the ingest manifest, the lock."""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from pipelines.schema import (
    AREA_CODE_LEN,
    BINARY_COLUMNS,
    CARD_CODE_LEN,
    DATE,
    DUCKDB_TYPES,
    FLOAT,
    INT,
    INTERVALS,
    STATION_CODE_LEN,
    TABLES,
    TEXT,
    TIMESTAMP,
    Table,
)

log = logging.getLogger(__name__)

LINEAGE = ("_file_id", "_record")
# codes that embed the mine code: area = mine + 4 digits, station = area + 6, card = mine + 5 (contract)
MINE_PREFIXED = {"area_code": AREA_CODE_LEN, "station_code": STATION_CODE_LEN, "card_code": CARD_CODE_LEN}
TYPE_HINTS = {
    INT: "not a whole number",
    FLOAT: "not a number",
    DATE: "not a valid date (YYYY-MM-DD)",
    TIMESTAMP: "not a valid timestamp (YYYY-MM-DD HH:MM:SS)",
}
# `_check` value of a row identical to one already kept: counted as duplicate, not rejected
SAME = 0

MANIFEST_DDL = (
    """create table if not exists ingest_runs (
        run_id bigint, started_at timestamp, finished_at timestamp, data_dir varchar,
        status varchar, message varchar)""",
    """create table if not exists ingest_files (
        file_id bigint, run_id bigint, path varchar, sha256 varchar, bytes bigint, profile varchar,
        kind varchar, mine_code varchar, encoding varchar, status varchar, message varchar,
        rows_read bigint, rows_loaded bigint, rows_rejected bigint, rows_duplicate bigint)""",
    """create table if not exists rejects (
        run_id bigint, file_id bigint, file varchar, record bigint, table_name varchar,
        field varchar, reason varchar, raw varchar, stage varchar)""",
    """create table if not exists duplicates (
        run_id bigint, file_id bigint, record bigint, table_name varchar, reason varchar)""",
)


class WarehouseError(Exception):
    """A problem the user must fix (path, lock, input folder); the message says what and where."""


class WarehouseBusy(WarehouseError):
    """Another ingest holds the warehouse lock."""


class FileProblem(Exception):
    """Reading input files failed mid-run; the run is retried without the file(s) to blame.

    `file_ids` holds one file when the error names it, else every file the failed query read.
    """

    def __init__(self, file_ids: list[int], message: str):
        super().__init__(message)
        self.file_ids = file_ids
        self.message = message


def q(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def lit(text: str) -> str:
    """A quoted SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def check_writable(warehouse: Path) -> None:
    """Fail clearly when the warehouse file or its folder cannot be written."""
    folder = warehouse.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WarehouseError(f"cannot create the warehouse folder {folder}: {exc.strerror or exc}") from exc
    if not folder.is_dir():
        raise WarehouseError(f"the warehouse folder {folder} is not a directory")
    if warehouse.exists() and (warehouse.is_dir() or not os.access(warehouse, os.W_OK)):
        raise WarehouseError(f"the warehouse {warehouse} is not a writable file")
    if not os.access(folder, os.W_OK):
        raise WarehouseError(f"the warehouse folder {folder} is not writable")


@contextmanager
def exclusive_lock(warehouse: Path) -> Iterator[Path]:
    """Hold `<warehouse>.lock` exclusively for the block; refuse at once if another ingest holds it."""
    lock_path = warehouse.with_name(warehouse.name + ".lock")
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise WarehouseError(f"cannot create the lock file {lock_path}: {exc.strerror or exc}") from exc
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "unknown"
            raise WarehouseBusy(
                f"another ingest is already running on {warehouse} (lock {lock_path} held by process "
                f"{holder}); wait for it to finish, then run again"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield lock_path
    finally:
        os.close(fd)  # closing the descriptor releases the flock


def connect(path: Path | str, memory_limit: str, threads: int, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse with bounded memory and threads; timestamps read as Beijing local time."""
    config = {
        "memory_limit": memory_limit,
        "threads": threads,
        "preserve_insertion_order": False,
    }
    con = duckdb.connect(str(path), read_only=read_only, config=config)
    con.execute("set enable_progress_bar = false")
    # the contract's timestamps are Beijing local time: zoned Parquet timestamps convert to it
    con.execute("set TimeZone = 'Asia/Shanghai'")
    return con


def create_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the canonical tables (contract columns and types plus lineage) and the manifest tables."""
    for table in TABLES.values():
        cols = ", ".join(f"{q(c.name)} {DUCKDB_TYPES[c.kind]}" for c in table.columns)
        con.execute(f"create table if not exists {q(table.name)} ({cols}, _file_id bigint, _record bigint)")
    for ddl in MANIFEST_DDL:
        con.execute(ddl)


def ensure_raw_table(con: duckdb.DuckDBPyConnection, name: str, schema: pa.Schema) -> None:
    """Create raw table `name` from a profile's Arrow schema plus `_file_id`, if it does not exist."""
    if name not in existing_tables(con):
        con.from_arrow(schema.empty_table()).project("*, null::bigint as _file_id").create(name)


def append_arrow(con: duckdb.DuckDBPyConnection, name: str, rows: pa.Table) -> None:
    """Append Arrow rows to table `name` by column name (absent columns stay null), creating it if needed.

    Through a relation, not `register`: inside a transaction a registered table stays referenced, and
    so in memory, until commit.
    """
    rel = con.from_arrow(rows)
    if name not in existing_tables(con):
        rel.create(name)
        return
    have = set(rows.column_names)
    cols = [r[0] for r in con.execute(f"describe {q(name)}").fetchall()]
    rel.project(", ".join(q(c) if c in have else f"null as {q(c)}" for c in cols)).insert_into(name)


def existing_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Names of the tables in the warehouse's main schema."""
    rows = con.execute(
        "select table_name from information_schema.tables where table_schema = 'main'"
    ).fetchall()
    return {r[0] for r in rows}


def relation_types(con: duckdb.DuckDBPyConnection, relation: str) -> dict[str, str]:
    """Column name -> DuckDB type of a table, view or parenthesised query."""
    rows = con.execute(f"describe select * from {relation}").fetchall()
    return {r[0]: r[1] for r in rows}


def csv_reader(path: Path, rejects: str | None = None) -> str:
    """read_csv of the contract's CSV (header row, commas, double quotes), every value as text.

    With `rejects`, malformed lines are kept in temp tables `<rejects>_errors` / `<rejects>_scans`;
    without, they are skipped (only to read the header).
    """
    extra = (
        f"store_rejects = true, rejects_table = '{rejects}_errors', rejects_scan = '{rejects}_scans'"
        if rejects
        else "ignore_errors = true"
    )
    return (
        f"read_csv({lit(str(path))}, header = true, all_varchar = true, delim = ',', quote = '\"', "
        f"escape = '\"', {extra})"
    )


def csv_columns(con: duckdb.DuckDBPyConnection, path: Path) -> list[str]:
    """The header of one CSV file as DuckDB reads it."""
    return [r[0] for r in con.execute(f"describe select * from {csv_reader(path)}").fetchall()]


def csv_count(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    """Data rows of one CSV file, well-formed or not (counted the way staging counts them)."""
    reader = csv_reader(path, "_count")
    good = con.execute(f"select count(*) from {reader}").fetchone()[0]
    bad = con.execute("select count(distinct line) from _count_errors").fetchone()[0] if _exists(con, "_count_errors") else 0
    con.execute("drop table if exists _count_errors")
    con.execute("drop table if exists _count_scans")
    return int(good + bad)


@dataclass(frozen=True)
class CsvInput:
    """One CSV file to stage: its manifest id, the path DuckDB reads, and header name -> column name."""

    file_id: int
    path: Path
    columns: dict[str, str]


def stage_csv(
    con: duckdb.DuckDBPyConnection, name: str, files: list[CsvInput], raw_limit: int
) -> tuple[list[str], dict[int, int]]:
    """Read CSV files as text into temp view `name` with `_file_id` and `_record`; malformed lines go to rejects.

    Returns the staged column names in order and the records read per file. `_record` is the 1-based data row of the file; rows are
    numbered by insertion order, so insertion order is preserved while staging.
    """
    columns: list[str] = []
    for f in files:
        columns += [c for c in f.columns.values() if c not in columns]
    stage = f"{name}_rows"
    cols = ", ".join(f"{q(c)} varchar" for c in columns)
    con.execute(f"create or replace temp table {q(stage)} ({cols}, _file_id bigint)")
    con.execute("create or replace temp table _csv_gaps (_file_id bigint, k_from bigint, adj bigint)")
    counts: dict[int, int] = {}
    con.execute("set preserve_insertion_order = true")
    try:
        for f in files:
            before = con.execute(f"select count(*) from {q(stage)}").fetchone()[0]
            select = ", ".join(f"{q(src)} as {q(dst)}" for src, dst in f.columns.items())
            reader = csv_reader(f.path, "_csv")
            try:
                con.execute(f"insert into {q(stage)} by name select {select}, {f.file_id} as _file_id from {reader}")
            except duckdb.Error as exc:
                raise FileProblem([f.file_id], f"cannot be read as CSV: {first_line(exc)}") from exc
            staged = con.execute(f"select count(*) from {q(stage)}").fetchone()[0] - before
            counts[f.file_id] = staged + _csv_rejects(con, f.file_id, raw_limit)
            con.execute("drop table if exists _csv_errors")
            con.execute("drop table if exists _csv_scans")
    finally:
        con.execute("set preserve_insertion_order = false")
    # rows are numbered in insertion order (rowids of uncommitted rows start at an offset, so rank them)
    k = "row_number() over (partition by s._file_id order by s.rowid)"
    if con.execute("select count(*) from _csv_gaps").fetchone()[0]:
        # good rows after a malformed line move down by the number of malformed lines before them
        record = "k + coalesce((select max(g.adj) from _csv_gaps g where g._file_id = n._file_id and g.k_from <= k), 0)"
    else:
        record = "k"
    con.execute(
        f"create or replace temp view {q(name)} as select n.* exclude (k), {record} as _record "
        f"from (select s.*, {k} as k from {q(stage)} s) n"
    )
    return columns, counts


def _csv_rejects(con: duckdb.DuckDBPyConnection, file_id: int, raw_limit: int) -> int:
    """Move DuckDB's malformed-line records of one file into rejects, note the gaps they leave; count them."""
    if not _exists(con, "_csv_errors"):
        return 0
    con.execute(
        f"""
        insert into rejects
        select f.run_id, f.file_id, f.path, e.record, split_part(f.profile, ':', 2), e.column_name,
               'malformed CSV line: ' || split_part(e.error_message, chr(10), 1), left(e.csv_line, {int(raw_limit)}),
               'read'
        from (select line - 1 as record, any_value(column_name) as column_name,
                     any_value(error_message) as error_message, any_value(csv_line) as csv_line
              from _csv_errors group by line) e
        cross join (select * from ingest_files where file_id = {int(file_id)}) f
        """
    )
    con.execute(
        f"""
        insert into _csv_gaps
        select {int(file_id)}, record - n + 1, n
        from (select line - 1 as record, row_number() over (order by line) as n
              from (select distinct line from _csv_errors))
        """
    )
    return int(con.execute("select count(distinct line) from _csv_errors").fetchone()[0])


def parquet_view(
    con: duckdb.DuckDBPyConnection, name: str, files: list[tuple[int, Path]], renames: dict[str, str]
) -> None:
    """Temp view `name` over Parquet files (columns by name) with `_file_id` and 1-based `_record`."""
    paths = "[" + ", ".join(lit(str(p)) for _, p in files) + "]"
    ids = "[" + ", ".join(str(int(i)) for i, _ in files) + "]"
    reader = f"read_parquet({paths}, union_by_name = true)"
    types = relation_types(con, reader)
    select = ", ".join(f"{q(c)} as {q(renames.get(c, c))}" for c in types)
    con.execute(
        f"create or replace temp view {q(name)} as select {select}, "
        f"{ids}[cast(file_index as bigint) + 1]::bigint as _file_id, file_row_number + 1 as _record from {reader}"
    )


def _exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Whether a table (temp tables included) exists."""
    return bool(con.execute("select count(*) from duckdb_tables() where table_name = ?", [table]).fetchone()[0])


def first_line(exc: BaseException) -> str:
    """The first line of an error's message (DuckDB's carry a long explanation after it)."""
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


@dataclass(frozen=True)
class Check:
    """One validation rule: rows where `condition` holds fail it.

    A rule that no row of the input can fail is left out of the per-row scan. Whether some row can is
    asked first, cheaply: on the distinct values of the text columns `values_of` when given (the
    condition reads them alone), else by the aggregate `may_fail` when given; a rule with neither is
    always applied.
    """

    field: str | None
    reason: str
    condition: str
    values_of: tuple[str, ...] = ()
    may_fail: str | None = None


def _typed_columns(table: Table, types: dict[str, str], clean: set[str] = frozenset()) -> tuple[list[str], set[str]]:
    """Select expressions casting source columns to the contract types; the set names columns with a `__s` twin.

    Text is trimmed and empty text read as null, except in the columns `clean`, where no value changes so.
    """
    exprs: list[str] = []
    twins: set[str] = set()
    for c in table.columns:
        target = DUCKDB_TYPES[c.kind]
        name = q(c.name)
        source = types.get(c.name)
        if source is None:
            exprs.append(f"null::{target} as {name}")
            continue
        text = source.upper() == "VARCHAR"
        given = f"nullif(trim(s.{name}), '')" if text and c.name not in clean else f"s.{name}"
        if c.kind == TEXT:
            exprs.append(f"{given if text else f'cast(s.{name} as varchar)'} as {name}")
        elif source.upper() == target:
            exprs.append(f"s.{name} as {name}")
        else:
            exprs.append(f"{given} as {q(c.name + '__s')}")
            exprs.append(f"try_cast({given} as {target}) as {name}")
            twins.add(c.name)
    return exprs, twins


def _row_checks(table: Table, twins: set[str], types: dict[str, str]) -> list[Check]:
    """Checks that look at one row alone, in the order the first failing one is reported."""
    checks: list[Check] = []
    for c in table.columns:
        if c.required:
            given = q(c.name + "__s") if c.name in twins else q(c.name)
            missing = f"{given} is null"
            if c.kind == TEXT:
                checks.append(Check(c.name, "required value missing", missing, (c.name,)))
            else:
                checks.append(Check(c.name, "required value missing", missing, may_fail=f"count(*) > count({given})"))
    for c in table.columns:
        if c.name in twins:
            checks.append(Check(c.name, TYPE_HINTS[c.kind], f"{q(c.name + '__s')} is not null and {q(c.name)} is null"))
            if c.kind == INT:
                # DuckDB rounds '1.5' to 2 when casting to an integer; a fraction is a type error here
                exact = f"try_cast({q(c.name + '__s')} as double)"
                checks.append(Check(c.name, TYPE_HINTS[INT], f"{exact} <> {q(c.name)}"))
        if c.kind == FLOAT and c.name in types:
            # min and max are finite only if every value is (DuckDB sorts NaN above infinity)
            finite = f"isfinite(min({q(c.name)})) and isfinite(max({q(c.name)}))"
            checks.append(Check(c.name, "not a finite number", f"not isfinite({q(c.name)})", may_fail=f"not ({finite})"))
    for c in table.columns:
        own = (c.name,) if c.kind == TEXT else ()
        if c.length is not None:
            checks.append(Check(c.name, f"must be {c.length} characters long", f"length({q(c.name)}) <> {c.length}", own))
        if c.digits:
            # ltrim of the digits leaves nothing: ~100x cheaper than a regular expression per row
            checks.append(Check(c.name, "must be digits only", f"ltrim({q(c.name)}, '0123456789') <> ''", own))
        if c.name in MINE_PREFIXED and c.name != "mine_code":
            checks.append(Check(c.name, "must start with the mine_code", f"not starts_with({q(c.name)}, mine_code)",
                                (c.name, "mine_code") if own else ()))
        if c.values is not None:
            allowed = ", ".join(lit(v) for v in c.values)
            checks.append(Check(c.name, f"must be one of: {', '.join(c.values)}", f"{q(c.name)} not in ({allowed})", own))
        if (table.name, c.name) in BINARY_COLUMNS:
            checks.append(Check(c.name, "must be 0 or 1", f"{q(c.name)} not in (0, 1)",
                                may_fail=f"min({q(c.name)}) < 0 or max({q(c.name)}) > 1"))
    for name, start, end in INTERVALS:
        if name == table.name:
            checks.append(Check(end, f"{end} is before {start}", f"{q(end)} < {q(start)}"))
    return checks


def _clean_text(con: duckdb.DuckDBPyConnection, table: Table, source: str, types: dict[str, str]) -> set[str]:
    """The text columns of `source` whose values trimming would not change (none empty or padded)."""
    columns = [c.name for c in table.columns if c.kind == TEXT and types.get(c.name, "").upper() == "VARCHAR"]
    clean = set()
    for c in columns:
        # on distinct values: codes repeat millions of times, and DuckDB reads a Parquet dictionary once
        padded = con.execute(
            f"select coalesce(bool_or({q(c)} <> trim({q(c)}) or {q(c)} = ''), false) from (select distinct {q(c)} from {source})"
        ).fetchone()[0]
        if not padded:
            clean.add(c)
    return clean


def _live(con: duckdb.DuckDBPyConnection, relation: str, checks: list[Check]) -> list[bool]:
    """Whether some row of `relation` can fail each check (the distinct values or an aggregate tell)."""
    live = [not c.values_of and c.may_fail is None for c in checks]
    aggregates = [(i, c.may_fail) for i, c in enumerate(checks) if not c.values_of and c.may_fail is not None]
    if aggregates:
        row = con.execute(f"select {', '.join(f'coalesce({a}, false)' for _, a in aggregates)} from {relation}").fetchone()
        for (i, _), v in zip(aggregates, row, strict=True):
            live[i] = bool(v)
    groups: dict[tuple[str, ...], list[int]] = {}
    for i, c in enumerate(checks):
        if c.values_of:
            groups.setdefault(c.values_of, []).append(i)
    for cols, ids in groups.items():
        # distinct codes are few (and DuckDB reads a Parquet dictionary once), so this costs far less than a row scan
        probes = ", ".join(f"coalesce(bool_or({checks[i].condition}), false)" for i in ids)
        distinct = ", ".join(q(c) for c in cols)
        row = con.execute(f"select {probes} from (select distinct {distinct} from {relation})").fetchone()
        for i, v in zip(ids, row, strict=True):
            live[i] = bool(v)
    return live


def _key_join(table: Table, left: str, right: str) -> str:
    """Join condition on the table's key; optional key columns match when both are empty."""
    parts = []
    for k in table.key:
        op = "=" if table.column(k).required else "is not distinct from"
        parts.append(f"{left}.{q(k)} {op} {right}.{q(k)}")
    return " and ".join(parts)


def load_rows(
    con: duckdb.DuckDBPyConnection,
    table: Table,
    source: str,
    raw_columns: list[str],
    run_id: int,
    stage: str,
    raw_limit: int,
    rows: int | None = None,
) -> None:
    """Validate the rows of relation `source` (with `_file_id`, `_record`) in SQL and insert the good ones.

    Bad rows go to `rejects` with the first failing check; rows identical to one already kept (in the
    warehouse or earlier in this input) go to `duplicates`. `rows` is the source's row count when the
    caller knows it (from Parquet footers), else it is counted.
    """
    types = {k: v for k, v in relation_types(con, source).items() if k not in LINEAGE}
    exprs, twins = _typed_columns(table, types, _clean_text(con, table, source, types))
    raw = [f"s.{q(c)} as {q(f'__raw{i}')}" for i, c in enumerate(raw_columns)]
    con.execute(
        f"create or replace temp view _typed as select s._file_id, s._record, {', '.join(exprs + raw)} from {source} s"
    )
    row_checks = _row_checks(table, twins, types)
    cols = ", ".join(q(c) for c in table.names)
    key = ", ".join(q(k) for k in table.key)
    required_key = " and ".join(f"{q(k)} is not null" for k in table.key if table.column(k).required) or "true"
    no_row_failure = " and ".join(f"not coalesce({c.condition}, false)" for c in row_checks) or "true"

    # within the input: candidate keys by hash first, then exact ranks only on those rows
    repeated = _repeated_hashes(con, f"select hash({key}) as h from _typed where {required_key}", rows)
    con.execute("create or replace temp table _dupcand (h ubigint)")
    if len(repeated):
        con.from_arrow(pa.table({"h": repeated})).insert_into("_dupcand")
    con.execute("create or replace temp table _dupres (_file_id bigint, _record bigint, dup varchar)")
    if con.execute("select count(*) from _dupcand").fetchone()[0]:
        con.execute(
            f"""
            insert into _dupres
            select _file_id, _record, case when rh = rh0 then 'same' else 'conflict' end
            from (
                select _file_id, _record, hash({cols}) as rh,
                       first_value(hash({cols})) over w as rh0, row_number() over w as rn
                from _typed
                where hash({key}) in (select h from _dupcand) and {required_key} and {no_row_failure}
                window w as (partition by {key} order by _file_id, _record)
            )
            where rn > 1
            """
        )
    # against the warehouse: a row whose key is already loaded (from earlier runs or other sources)
    con.execute("create or replace temp table _whdup (_file_id bigint, _record bigint, dup varchar)")
    if con.execute(f"select exists (select 1 from {q(table.name)})").fetchone()[0]:
        tcols = ", ".join(f"t.{q(c)}" for c in table.names)
        scols = ", ".join(f"s.{q(c)}" for c in table.names)
        con.execute(
            f"""
            insert into _whdup
            select s._file_id, s._record,
                   case when bool_and(hash({scols}) = hash({tcols})) then 'same' else 'conflict' end
            from _typed s join {q(table.name)} t on {_key_join(table, 's', 't')}
            group by s._file_id, s._record
            """
        )
    checks = list(row_checks)
    key_text = ", ".join(table.key)
    checks.append(
        Check(key_text, f"conflicting duplicate: another row with the same ({key_text}) differs", "_dup = 'conflict'")
    )
    joins = []
    for i, (cols_from, ref_table, cols_to) in enumerate(table.references):
        alias = f"_r{i}"
        on = " and ".join(f"s.{q(a)} = {alias}._k{j}" for j, a in enumerate(cols_from))
        inner = ", ".join(f"{q(b)} as _k{j}" for j, b in enumerate(cols_to))
        joins.append(f"left join (select distinct {inner}, true as _ok from {q(ref_table)}) {alias} on {on}")
        given = " and ".join(f"s.{q(a)} is not null" for a in cols_from)
        what = ", ".join(cols_from)
        checks.append(Check(what, f"unknown {ref_table}: no row with this ({what}) in {ref_table}",
                            f"{given} and {alias}._ok is null"))
    same_at = len(row_checks) + 1  # rows identical to a kept row are counted before reference checks
    live = _live(con, "_typed", row_checks) + [True] * (len(checks) - len(row_checks))
    whens = []
    for i, c in enumerate(checks, start=1):
        if live[i - 1]:  # a check no row can fail changes no row's first failing check
            whens.append(f"when {c.condition} then {i}")
        if i == same_at:
            whens.append(f"when _dup = 'same' then {SAME}")
    if con.execute("select exists (select 1 from _dupres) or exists (select 1 from _whdup)").fetchone()[0]:
        dup_source = (
            "(select t.*, coalesce(w.dup, d.dup) as _dup from _typed t "
            "left join _dupres d using (_file_id, _record) left join _whdup w using (_file_id, _record))"
        )
    else:
        dup_source = "(select *, null::varchar as _dup from _typed)"
    checked = (
        f"select s._file_id, s._record, case {' '.join(whens)} end as _check, s.* exclude (_file_id, _record) "
        f"from {dup_source} s {' '.join(joins)}"
    )
    # one scan validates and inserts: rows failing no check go in; a second scan, only when some rows were
    # left out, collects those for `rejects` and `duplicates` (the source is never read twice for clean data)
    given = con.execute(f"select count(*) from {source}").fetchone()[0] if rows is None else rows
    inserted = con.execute(
        f"insert into {q(table.name)} select {cols}, _file_id, _record from ({checked}) where _check is null"
    ).fetchone()[0]
    if inserted < given:
        _record_bad(con, table, checked, checks, len(raw_columns), run_id, stage, raw_limit)
    for tmp in ("_dupcand", "_dupres", "_whdup"):
        con.execute(f"drop table if exists {tmp}")
    con.execute("drop view if exists _typed")


NUMPY_KEY_ROWS = 100_000_000  # 800 MB of key hashes: above it the duplicate search stays in DuckDB


def _repeated_hashes(con: duckdb.DuckDBPyConnection, sql: str, rows: int | None) -> np.ndarray:
    """The hash values that query `sql` (one UBIGINT column) returns more than once.

    Sorted in place with numpy: about half the time of DuckDB's sort and a third of a hash aggregate
    over tens of millions of keys; 8 bytes per row, held only while sorting. Beyond NUMPY_KEY_ROWS rows,
    or when the count is not known beforehand, DuckDB's aggregate does it within its memory limit
    (spilling to disk), so a load far larger than memory still runs.
    """
    if rows is None or rows > NUMPY_KEY_ROWS:
        counted = con.sql(f"select h from ({sql}) as s(h) group by h having count(*) > 1").to_arrow_table()
        return np.sort(counted.column(0).to_numpy(zero_copy_only=False))
    reader = con.sql(sql).to_arrow_reader(1 << 20)
    hashes, n = np.empty(rows, np.uint64), 0  # one array, never the batches and their copy at once
    for batch in reader:
        part = batch.column(0).to_numpy(zero_copy_only=False)
        hashes[n : n + len(part)] = part
        n += len(part)
    hashes = hashes[:n]
    hashes.sort()
    same = hashes[1:] == hashes[:-1]
    return np.unique(hashes[1:][same])


def _record_bad(
    con: duckdb.DuckDBPyConnection, table: Table, checked: str, checks: list[Check], n_raw: int, run_id: int,
    stage: str, raw_limit: int,
) -> None:
    """Write the rows of query `checked` that failed a check to `rejects`, identical copies to `duplicates`."""
    con.execute(f"create or replace temp table _bad as select * from ({checked}) where _check is not null")
    con.execute("create or replace temp table _checkmap (id integer, field varchar, reason varchar)")
    con.executemany("insert into _checkmap values (?, ?, ?)", [[i, c.field, c.reason] for i, c in enumerate(checks, 1)])
    render = _render_raw(n_raw, raw_limit)
    con.execute(
        f"""
        insert into rejects
        select {int(run_id)}, b._file_id, f.path, b._record, {lit(table.name)}, m.field, m.reason, {render}, {lit(stage)}
        from _bad b join _checkmap m on m.id = b._check left join ingest_files f on f.file_id = b._file_id
        """
    )
    key_text = ", ".join(table.key)
    con.execute(
        f"""
        insert into duplicates
        select {int(run_id)}, _file_id, _record, {lit(table.name)}, 'identical to a row already kept (same '
               || {lit(key_text)} || ')'
        from _bad where _check = {SAME}
        """
    )
    con.execute("drop table _bad")
    con.execute("drop table _checkmap")


def _render_raw(n: int, limit: int) -> str:
    """SQL rendering the source columns of a bad row as one CSV line (the row's raw text)."""
    if n == 0:
        return "null"
    fields = []
    for i in range(n):
        v = f"cast(b.{q(f'__raw{i}')} as varchar)"
        fields.append(
            f"case when {v} is null then '' when regexp_matches({v}, '[,\"\\n\\r]') "
            f"then '\"' || replace({v}, '\"', '\"\"') || '\"' else {v} end"
        )
    return f"left(concat_ws(',', {', '.join(fields)}), {int(limit)})"
