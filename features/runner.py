"""Render and run the feature SQL in dependency order; run the checks (no file paths, no model code)."""

from __future__ import annotations

import hashlib
import re
import string
from dataclasses import dataclass
from datetime import date, timedelta
from importlib import resources

import duckdb
import pandas as pd

LAYERS = ("staging", "evidence", "marts")


@dataclass(frozen=True)
class SqlModel:
    name: str
    layer: str
    sql: str

    @property
    def grain(self) -> str:
        return self.sql.splitlines()[0]

    @property
    def materialized(self) -> str:
        """`view` when line 2 says `-- materialized: view` (big pass-through staging), else `table`."""
        lines = self.sql.splitlines()
        return "view" if len(lines) > 1 and lines[1].strip() == "-- materialized: view" else "table"


@dataclass(frozen=True)
class Window:
    """The point in time and the trailing windows every time-dependent table is cut at."""

    as_of: date
    window_days: int = 30
    history_days: int = 90

    def variables(self) -> dict[str, str]:
        end = self.as_of + timedelta(days=1)  # data strictly before T + 1 day
        window_start = end - timedelta(days=self.window_days)
        history_start = window_start - timedelta(days=self.history_days)
        return {
            "as_of": f"date '{self.as_of.isoformat()}'",
            "as_of_end": f"timestamp '{end.isoformat()} 00:00:00'",
            "window_start": f"timestamp '{window_start.isoformat()} 00:00:00'",
            "history_start": f"timestamp '{history_start.isoformat()} 00:00:00'",
            "window_days": str(self.window_days),
            "history_days": str(self.history_days),
        }


def _read(layer: str) -> list[SqlModel]:
    root = resources.files("features") / layer
    out: list[SqlModel] = []
    if not root.is_dir():
        return out
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".sql"):
            out.append(SqlModel(entry.name[:-4], layer, entry.read_text(encoding="utf-8")))
    return out


def dependencies(models: list[SqlModel]) -> dict[str, set[str]]:
    """Feature table -> the feature tables its SQL reads."""
    names = {m.name for m in models}
    return {
        m.name: {n for n in names if n != m.name and re.search(rf"\b{n}\b", _strip_comments(m.sql))}
        for m in models
    }


def load_models(only: set[str] | None = None) -> list[SqlModel]:
    """The feature tables' SQL (all, or `only` and what they read), ordered so inputs come first."""
    models = [m for layer in LAYERS for m in _read(layer)]
    deps = dependencies(models)
    ordered: list[SqlModel] = []
    done: set[str] = set()
    by_name = {m.name: m for m in models}

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in done:
            return
        if name in path:
            raise ValueError(f"feature SQL has a cycle: {' -> '.join(path + (name,))}")
        for dep in sorted(deps[name]):
            visit(dep, path + (name,))
        done.add(name)
        ordered.append(by_name[name])

    for m in models:
        if only is None or m.name in only:
            visit(m.name, ())
    return ordered


def load_checks() -> list[SqlModel]:
    return _read("checks")


def _strip_comments(sql: str) -> str:
    return re.sub(r"--[^\n]*", "", sql)


def render(sql: str, window: Window) -> str:
    """Fill `$as_of`, `$as_of_end`, `$window_start`, `$history_start`, `$window_days`, `$history_days`."""
    return string.Template(sql).substitute(window.variables())


def build_features(
    con: duckdb.DuckDBPyConnection, window: Window, only: set[str] | None = None
) -> list[str]:
    """Materialise the feature tables as of `window.as_of`; `mine_features` keeps one row set per as-of."""
    built = []
    for model in load_models(only):
        body = render(model.sql, window)
        if model.name == "mine_features":
            con.execute(f"create or replace temp table _mine_features_new as {body}")
            if _columns(con, "mine_features") != _columns(con, "_mine_features_new"):
                # the feature definitions changed: rows of other as-of dates no longer fit
                _drop(con, "mine_features")
                con.execute("create table mine_features as select * from _mine_features_new")
            else:
                con.execute("delete from mine_features where as_of = (select max(as_of) from _mine_features_new)")
                con.execute("insert into mine_features by name select * from _mine_features_new")
            con.execute("drop table _mine_features_new")
        else:
            # pass-through staging of big tables stays a temporary view: no copy, gone at close
            _drop(con, model.name)
            if model.materialized == "view":
                con.execute(f"create or replace temp view {model.name} as {body}")
            else:
                con.execute(f"create table {model.name} as {body}")
        built.append(model.name)
    return built


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    """Column names of a table in this database (or the temp one), empty when it does not exist."""
    return [
        r[0]
        for r in con.execute(
            "select column_name from duckdb_columns() where table_name = ?"
            " and database_name in (current_database(), 'temp') order by column_index",
            [table],
        ).fetchall()
    ]


def sql_fingerprint() -> str:
    """A hash of every feature SQL file: features built by other definitions are stale."""
    digest = hashlib.sha256()
    for model in load_models():
        digest.update(model.name.encode())
        digest.update(model.sql.encode())
    return digest.hexdigest()[:12]


def _drop(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Drop the view or table of that name in this database or the temp one (a previous build made either).

    Looked up in the catalog first: a failed DROP would abort the caller's transaction.
    """
    kinds = con.execute(
        "select 'view' from duckdb_views() where view_name = ? and database_name in (current_database(), 'temp')"
        " and not internal union all "
        "select 'table' from duckdb_tables() where table_name = ? and database_name in (current_database(), 'temp')",
        [name, name],
    ).fetchall()
    for (kind,) in kinds:
        con.execute(f"drop {kind} if exists {name}")


def run_checks(con: duckdb.DuckDBPyConnection, window: Window) -> dict[str, pd.DataFrame]:
    """Each check returns offending rows; an empty frame means it passes."""
    return {c.name: con.execute(render(c.sql, window)).df() for c in load_checks()}
