"""The adapter interface: a profile parses its files into raw tables, then derives canonical rows in SQL.

Two steps, so that ingest stays incremental and idempotent:
1. `parse(path, data)` turns ONE file into raw record tables (pure, no warehouse). The warehouse
   stores them in `raw_<profile>_<kind>` tables, tagged with the file's manifest id (`_file_id`).
2. `derive(con, mine_codes)` returns, per canonical table, one SQL select over those raw tables
   (all files ever ingested for these mines) that yields the contract's columns plus the lineage
   columns `_file_id` and `_record`. The warehouse validates those rows like any canonical input and
   replaces the rows this profile derived earlier for the same mines, in one transaction.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

LINEAGE = ("_file_id", "_record")


@dataclass(frozen=True)
class Reject:
    """One record kept aside: which record of the file, which field, why, and the raw text."""

    record: int | None  # 1-based record number in the file (header = 0); None for a file-level problem
    field: str | None
    reason: str
    raw: str
    table: str | None = None  # the canonical or raw table the record was meant for


@dataclass
class Parsed:
    """What one file yielded."""

    status: str  # "ok", "incomplete" (not read now; read again on a later run) or "error" (unreadable)
    encoding: str | None = None  # "utf-8" or "gb18030"
    message: str | None = None  # for incomplete/error: what is wrong, naming the line/record
    mine_code: str | None = None
    kind: str | None = None  # file type, e.g. "RYSS"
    uploaded_at: str | None = None  # header/file-name upload time, ISO text
    records: int = 0  # data records in the file (header excluded)
    raw: dict[str, pa.Table] = field(default_factory=dict)  # raw table name -> rows, each with `_record`
    rejects: list[Reject] = field(default_factory=list)


class Profile(ABC):
    """A family of source files (e.g. the 42号 national networking files) and how to read it."""

    name: str  # short identifier, stored in the manifest
    raw_schemas: dict[str, pa.Schema]  # raw table name -> schema (without `_file_id`, with `_record`)

    @abstractmethod
    def claims(self, path: Path) -> bool:
        """True when this profile reads the file at `path` (by name, cheaply)."""

    @abstractmethod
    def parse(self, path: Path, data: bytes) -> Parsed:
        """Parse one file's bytes; never raises on bad content (report it in the result)."""

    def parse_many(self, files: list[tuple[Path, bytes]]) -> list[Parsed]:
        """Several files, each as `parse` reads it (a profile may read them together when that is faster)."""
        return [self.parse(path, data) for path, data in files]

    @abstractmethod
    def derive(self, con: duckdb.DuckDBPyConnection, mine_codes: list[str]) -> dict[str, str]:
        """Canonical table -> SQL select over the raw tables, restricted to `mine_codes`.

        Each select yields the contract's columns (in order) plus `_file_id` and `_record` of the
        record behind the row. The special key `"_superseded"` may map to a select of
        (`_file_id`, `_record`, `reason`) naming records dropped as duplicates (e.g. an open YCBJ copy
        replaced by its closed copy), so the manifest can count them.
        """
