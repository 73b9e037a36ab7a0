"""Helpers shared by the simulator tests: mechanism mines, table access, time conversion."""

from __future__ import annotations

import datetime as dt

import numpy as np

from pipelines.simulator.config import SimulateParams
from pipelines.simulator.mine import MineResult
from pipelines.simulator.plan import MineSpec, Plan, plan_mines

START = dt.date(2025, 6, 1)
DAYS = 61
MECH_START = dt.date(2025, 6, 20)  # 45 days from here cross the rainy-season peak (late July)
MECH_DAYS = 45


# each mine hosts a few mechanisms in separate windows (days), so their evidence does not overlap
MECH_MINES: list[list[tuple[str, str, float, float, dict]]] = [
    [("hidden_workface", "crew_in_restricted_area", 3, 16, {}),
     ("overproduction", "over_capacity_shaded", 20, 40, {}),
     ("alarm_falsification", "fake_power_cut", 4, 40, {"variant": "no_relay"}),
     ("decoy", "breakdown", 17, 20, {})],
    [("hidden_workface", "cards_left_at_shaft", 3, 16, {}),
     ("overproduction", "underweigh_shaded", 20, 40, {}),
     ("alarm_falsification", "fake_evacuation", 4, 40, {}),
     ("decoy", "double_shift", 30, 36, {})],
    [("hidden_workface", "power_misbooked", 25, 44, {}),
     ("overproduction", "maintenance_production", 5, 14, {}),
     ("alarm_falsification", "fake_clearing", 16, 44, {})],
    [("overproduction", "over_manning", 5, 20, {}),
     ("alarm_falsification", "sensor_tampering", 22, 44, {"variant": "capped"}),
     ("concealed_accident", "vanished_cards", 10, 30, {"spike": "co", "late_declaration": True, "deregister": True}),
     ("decoy", "sensor_fault", 35, 38, {})],
    [("alarm_falsification", "sensor_tampering", 5, 25, {"variant": "flatline"}),
     ("concealed_accident", "late_surfacing", 28, 44, {"spike": "ch4", "late_declaration": True, "deregister": True}),
     ("decoy", "declared_maintenance", 12, 16, {}),
     ("decoy", "drainage_peak", 0, 45, {})],
    [("alarm_falsification", "sensor_tampering", 5, 25, {"variant": "pause"}),
     ("alarm_falsification", "fake_power_cut", 27, 44, {"variant": "feed_live"}),
     ("concealed_accident", "concealed_injury", 8, 28, {"spike": "none"}),
     ("decoy", "reported_accident", 30, 40, {"variant": "vanished_cards", "spike": "ch4"})],
]


def mech_specs(p: SimulateParams) -> list[MineSpec]:
    """Mines drawn as usual, then given exactly the mechanisms above (gassy, two longwalls, so events happen)."""
    specs = plan_mines(len(MECH_MINES), MECH_DAYS, 23, p)
    for spec, plans in zip(specs, MECH_MINES, strict=True):
        spec.plans = [Plan(f, m, float(a), float(b), dict(o)) for f, m, a, b, o in plans]
        spec.gas_class = "high"
        spec.capacity_tpy = 1_200_000.0
        spec.approved_headcount = 140
        spec.n_longwalls, spec.n_headings = 2, 2
        spec.utilisation = 0.97 if spec.active("near_capacity") else 0.8
    return specs


def frame(res: MineResult, table: str):
    """A table of one simulated mine as pandas."""
    return res.tables[table].to_pandas()


def seconds(ts) -> np.ndarray:
    """Seconds since the mechanism data set's start for a timestamp series."""
    base = np.datetime64(MECH_START.isoformat())
    return ((ts.to_numpy(dtype="datetime64[s]") - base) / np.timedelta64(1, "s")).astype(np.int64)
