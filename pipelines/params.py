"""Load one section of params.yaml into a frozen dataclass (defaults apply where a key is absent)."""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

T = TypeVar("T")
DEFAULT_PATH = Path("params.yaml")


class ParamsError(ValueError):
    """params.yaml names an unknown key or holds a value of the wrong shape."""


def _build(cls: type[T], values: dict[str, Any], where: str) -> T:
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ParamsError(f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(fields)}")
    kwargs: dict[str, Any] = {}
    for name, value in values.items():
        hint = hints[name]
        if dataclasses.is_dataclass(hint) and isinstance(value, dict):
            value = _build(hint, value, f"{where}.{name}")
        elif typing.get_origin(hint) is tuple and isinstance(value, list):
            value = tuple(value)
        kwargs[name] = value
    return cls(**kwargs)


def load_section(section: str, cls: type[T], path: Path | str | None = None) -> T:
    """Read `section` of the YAML file at `path` (default ./params.yaml, if present) into `cls`."""
    path = Path(path) if path else DEFAULT_PATH
    if not path.exists():
        return cls()
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    values = data.get(section) or {}
    if not isinstance(values, dict):
        raise ParamsError(f"{path}: section '{section}' must be a mapping")
    return _build(cls, values, f"{path}:{section}")
