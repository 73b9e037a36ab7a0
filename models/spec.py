"""Catalog facts the models need (each feature's family and direction), taken as arguments, never read here."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

FAMILIES = ("hidden_workface", "overproduction", "alarm_falsification", "concealed_accident")
DIRECTIONS = ("higher", "lower", "none")
SIGNS = {"higher": 1.0, "lower": -1.0, "none": 0.0}


@dataclass(frozen=True)
class FeatureSpec:
    """Per feature column: its risk family and which way is suspicious (context columns left out)."""

    family: Mapping[str, str]
    direction: Mapping[str, str] = field(default_factory=dict)
    evidence: Mapping[str, str] = field(default_factory=dict)  # column -> the way of cheating it shows

    def __post_init__(self) -> None:
        unknown = {c: d for c, d in self.direction.items() if d not in DIRECTIONS}
        if unknown:
            raise ValueError(f"unknown direction(s): {unknown}")
        missing = sorted(set(self.family) - set(self.direction))
        if missing:
            raise ValueError(f"no direction for: {', '.join(missing)}")

    @classmethod
    def from_entries(cls, entries: Iterable[object]) -> FeatureSpec:
        """From catalog entries (anything with .column, .family, .direction); context entries are skipped."""
        family, direction, evidence = {}, {}, {}
        for e in entries:
            if e.family in FAMILIES:
                family[e.column] = e.family
                direction[e.column] = e.direction
                if getattr(e, "evidence", None):
                    evidence[e.column] = e.evidence
        return cls(family, direction, evidence)

    def columns(self, family: str | None = None, directional: bool = False) -> list[str]:
        """Feature columns of one family (or all), in catalog order; `directional` drops direction 'none'."""
        return [
            c
            for c, f in self.family.items()
            if (family is None or f == family) and not (directional and self.direction[c] == "none")
        ]

    def directions(self, family: str | None = None, directional: bool = False) -> dict[str, str]:
        """column -> direction for `columns(family, directional)`: the argument every estimator here takes."""
        return {c: self.direction[c] for c in self.columns(family, directional)}

    def groups(self, family: str | None = None) -> dict[str, str]:
        """column -> evidence group for the family's directional columns that have one."""
        return {c: self.evidence[c] for c in self.columns(family, directional=True) if c in self.evidence}


def signs(directions: Mapping[str, str]) -> np.ndarray:
    """+1 for 'higher', -1 for 'lower', 0 for 'none', in the mapping's order."""
    return np.array([SIGNS[d] for d in directions.values()], dtype=float)


def feature_matrix(frame: pd.DataFrame, columns: Iterable[str]) -> np.ndarray:
    """The named columns as a float matrix (NULL -> NaN); a column absent from the frame is all NaN."""
    columns = list(columns)
    out = np.full((len(frame), len(columns)), np.nan)
    for j, c in enumerate(columns):
        if c in frame.columns:
            out[:, j] = pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return out


def oriented_matrix(frame: pd.DataFrame, directions: Mapping[str, str]) -> np.ndarray:
    """Feature matrix with 'lower' columns sign-flipped so larger always means more suspicious."""
    s = signs(directions)
    # 'none' columns keep their sign: they are context to a model, never evidence on their own
    return feature_matrix(frame, directions) * np.where(s == 0, 1.0, s)
