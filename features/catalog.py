"""The feature catalog: family, unit, direction and plain descriptions (zh/en) for every column."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml

FAMILIES = ("hidden_workface", "overproduction", "alarm_falsification", "concealed_accident", "context")
DIRECTIONS = ("higher", "lower", "none")


@dataclass(frozen=True)
class Entry:
    table: str
    column: str
    family: str
    unit: str
    direction: str
    zh: str
    en: str
    reason_zh: str | None = None
    reason_en: str | None = None
    evidence: str | None = None  # the way of cheating the column is evidence of (columns it moves together)

    def reason(self, value: float, lang: str = "en", **context: object) -> str:
        """The plain-words reason with the number filled in (falls back to the description)."""
        template = self.reason_zh if lang == "zh" else self.reason_en
        if template is None:
            label = self.zh if lang == "zh" else self.en
            return f"{label}: {value:.3g}"
        return template.format(value=value, **context)


@cache
def load_catalog() -> dict[tuple[str, str], Entry]:
    """(table, column) -> entry, from every features/catalog/*.yaml."""
    out: dict[tuple[str, str], Entry] = {}
    root = resources.files("features") / "catalog"
    for item in sorted(root.iterdir(), key=lambda e: e.name):
        if not item.name.endswith(".yaml"):
            continue
        doc = yaml.safe_load(item.read_text(encoding="utf-8"))
        table = doc["table"]
        for column, spec in doc["columns"].items():
            out[(table, column)] = Entry(table=table, column=column, **spec)
    return out


def table_entries(table: str) -> dict[str, Entry]:
    return {col: e for (t, col), e in load_catalog().items() if t == table}
