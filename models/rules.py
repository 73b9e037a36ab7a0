"""Today's regulatory rules per family, as continuous scores so they rank: the baseline every model must beat.

Each score is scaled so that a value >= 1 means the rule fires; below 1 it says how close a mine came.
A mine with no evidence for the rule (NULL feature) scores 0.

- overproduction: 煤矿重大事故隐患判定标准 (2021) counts a month's raw-coal output above approved capacity
  by more than 10 % as a major hazard, and so is people underground above 核定下井人数. Score =
  max(op_max_month_capacity_ratio / 1.10, op_peak_headcount_ratio / 1.00).
- hidden_workface: regulators have no direct rule; they apply the same output/headcount rule, so the
  score is the overproduction score.
- alarm_falsification: alarms that reached the cut-off with no power-cut record; one such alarm is
  already a breach. Score = 1 + af_cut_missing_share when the share is > 0, else 0, so the rule fires on
  any such alarm and the share orders the mines where it fires.
- concealed_accident: shaft trips that never closed with no accident report. Score =
  ca_n_open_trip_events (fires at 1 event).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.spec import FAMILIES

MONTH_OUTPUT_LIMIT = 1.10  # monthly output above capacity / 12 by more than 10 % (判定标准 2021)
HEADCOUNT_LIMIT = 1.00  # more people underground at once than 核定下井人数

RULE_COLUMNS = {
    "overproduction": ("op_max_month_capacity_ratio", "op_peak_headcount_ratio"),
    "hidden_workface": ("op_max_month_capacity_ratio", "op_peak_headcount_ratio"),
    "alarm_falsification": ("af_cut_missing_share",),
    "concealed_accident": ("ca_n_open_trip_events",),
}


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    if name not in frame.columns:
        return pd.Series(np.nan, index=frame.index, dtype=float)
    return pd.to_numeric(frame[name], errors="coerce").astype(float)


def rule_score(frame: pd.DataFrame, family: str) -> pd.Series:
    """The family's rule as a continuous score (>= 1 = the rule fires, 0 = no evidence); see the module doc."""
    if family in ("overproduction", "hidden_workface"):
        month = _column(frame, "op_max_month_capacity_ratio") / MONTH_OUTPUT_LIMIT
        heads = _column(frame, "op_peak_headcount_ratio") / HEADCOUNT_LIMIT
        score = pd.concat([month, heads], axis=1).max(axis=1, skipna=True)
    elif family == "alarm_falsification":
        share = _column(frame, "af_cut_missing_share")
        # any alarm at the cut-off without a cut fires the rule; the share then orders the mines
        score = share.where(~(share > 0), 1.0 + share)
    elif family == "concealed_accident":
        score = _column(frame, "ca_n_open_trip_events")
    else:
        raise ValueError(f"unknown family {family!r}; expected one of {FAMILIES}")
    return score.fillna(0.0).clip(lower=0.0).rename(f"rule_{family}")


def rule_fires(frame: pd.DataFrame, family: str) -> pd.Series:
    """Whether the regulators' rule flags the mine (score >= 1)."""
    return (rule_score(frame, family) >= 1.0).rename(f"rule_fires_{family}")


def rule_scores(frame: pd.DataFrame) -> pd.DataFrame:
    """One rule score column per family, named by the family."""
    return pd.DataFrame({f: rule_score(frame, f).to_numpy() for f in FAMILIES}, index=frame.index)
