"""Synthetic mine_features-shaped frames with planted cases, for model behaviour tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.ranker import DetectorParams
from models.spec import FeatureSpec

COLUMNS = {
    # column: (family, direction)
    "op_max_month_capacity_ratio": ("overproduction", "higher"),
    "op_peak_headcount_ratio": ("overproduction", "higher"),
    "op_kwh_per_tonne": ("overproduction", "higher"),
    "op_hoist_share_vs_history": ("overproduction", "higher"),
    "hw_undeclared_work_share": ("hidden_workface", "higher"),
    "hw_idle_cards_per_shift": ("hidden_workface", "higher"),
    "hw_quiet_circuit_hoist_corr": ("hidden_workface", "higher"),
    "af_n_alarms": ("alarm_falsification", "none"),
    "af_alarm_rate_vs_history": ("alarm_falsification", "lower"),
    "af_cut_missing_share": ("alarm_falsification", "higher"),
    "af_people_stayed_share": ("alarm_falsification", "higher"),
    "ca_n_open_trip_events": ("concealed_accident", "higher"),
    "ca_n_events_with_deregistration": ("concealed_accident", "higher"),
    "ca_max_co_spike_ratio": ("concealed_accident", "higher"),
    "ca_n_reported_accidents": ("concealed_accident", "none"),
}


def make_spec() -> FeatureSpec:
    """The catalog facts of the synthetic columns."""
    return FeatureSpec({c: f for c, (f, _) in COLUMNS.items()}, {c: d for c, (_, d) in COLUMNS.items()})


def make_frame(n_mines: int = 60, n_dates: int = 3, seed: int = 0) -> pd.DataFrame:
    """Honest mines: one row per (mine_code, as_of) with context columns and noisy, innocent features."""
    rng = np.random.default_rng(seed)
    codes = [f"1400{i:08d}" for i in range(n_mines)]
    bands = np.array(["small", "medium", "large"])[np.arange(n_mines) % 3]
    dates = pd.date_range("2024-03-01", periods=n_dates, freq="30D").date
    frame = pd.DataFrame(
        [(d, c, b) for d in dates for c, b in zip(codes, bands, strict=True)],
        columns=["as_of", "mine_code", "size_band"],
    )
    n = len(frame)
    frame["mine_name"] = "mine " + frame["mine_code"].str[-3:]
    frame["approved_capacity_tpy"] = frame["size_band"].map({"small": 3e5, "medium": 9e5, "large": 3e6})
    frame["op_max_month_capacity_ratio"] = rng.normal(0.85, 0.07, n)
    frame["op_peak_headcount_ratio"] = rng.normal(0.80, 0.08, n)
    frame["op_kwh_per_tonne"] = rng.normal(25, 3, n) * frame["size_band"].map({"small": 1.3, "medium": 1.0, "large": 0.8})
    frame["op_hoist_share_vs_history"] = rng.normal(1.0, 0.05, n)
    frame["hw_undeclared_work_share"] = rng.beta(2, 30, n)
    frame["hw_idle_cards_per_shift"] = rng.poisson(1.0, n).astype(float)
    frame["hw_quiet_circuit_hoist_corr"] = rng.normal(0.1, 0.15, n)
    frame["af_n_alarms"] = rng.poisson(8, n).astype(float)
    frame["af_alarm_rate_vs_history"] = rng.normal(1.0, 0.15, n)
    frame["af_cut_missing_share"] = np.where(rng.random(n) < 0.2, rng.uniform(0, 0.1, n), 0.0)
    frame["af_people_stayed_share"] = rng.beta(1, 12, n)
    frame["ca_n_open_trip_events"] = (rng.random(n) < 0.05).astype(float)
    frame["ca_n_events_with_deregistration"] = 0.0
    frame["ca_max_co_spike_ratio"] = np.where(rng.random(n) < 0.3, rng.normal(1.5, 0.3, n), np.nan)
    frame["ca_n_reported_accidents"] = rng.poisson(0.2, n).astype(float)
    # NULLs as the mart leaves them: mines without alarms or history
    frame.loc[rng.random(n) < 0.1, "af_people_stayed_share"] = np.nan
    frame.loc[rng.random(n) < 0.05, "op_hoist_share_vs_history"] = np.nan
    return frame


def plant_overproduction(frame: pd.DataFrame, rows: np.ndarray, strength: float = 1.0) -> None:
    """Overproducing mines: output and headcount above approved, power per tonne up (in place)."""
    frame.loc[rows, "op_max_month_capacity_ratio"] += 0.45 * strength
    frame.loc[rows, "op_peak_headcount_ratio"] += 0.35 * strength
    frame.loc[rows, "op_hoist_share_vs_history"] += 0.25 * strength


@pytest.fixture
def spec() -> FeatureSpec:
    return make_spec()


@pytest.fixture
def frame() -> pd.DataFrame:
    return make_frame()


FAST_DETECTORS = DetectorParams(n_estimators=50)


def inspect(frame: pd.DataFrame, truth: np.ndarray, seed: int = 0, recall: float = 0.85) -> pd.DataFrame:
    """Biased inspection labels for overproduction: targeted where the rule looks bad, plus a few random ones.

    Adds label_overproduction (1 / 0 / NaN) and inspection_kind; inspectors miss 1 - recall of the cases.
    """
    rng = np.random.default_rng(seed)
    n = len(frame)
    suspicion = (frame["op_max_month_capacity_ratio"].to_numpy() - 0.85) / 0.1
    targeted = rng.random(n) < 0.5 / (1.0 + np.exp(-(suspicion - 2.0)))
    random = ~targeted & (rng.random(n) < 0.15)
    inspected = targeted | random
    found = truth.astype(bool) & (rng.random(n) < recall)
    out = frame.copy()
    out["label_overproduction"] = np.where(inspected, found.astype(float), np.nan)
    out["inspection_kind"] = np.where(targeted, "targeted", np.where(random, "random", None))
    return out


@pytest.fixture
def labelled() -> tuple[pd.DataFrame, np.ndarray]:
    """A frame with 10 overproducing mines (every date) and biased inspection labels, and the truth."""
    frame = make_frame()
    bad_mines = frame["mine_code"].unique()[[2, 7, 11, 19, 23, 31, 38, 44, 50, 57]]
    truth = frame["mine_code"].isin(bad_mines).to_numpy()
    rng = np.random.default_rng(1)
    plant_overproduction(frame, np.flatnonzero(truth), strength=1.0)
    frame.loc[truth, "op_max_month_capacity_ratio"] += rng.normal(0, 0.1, truth.sum())
    return inspect(frame, truth), truth
