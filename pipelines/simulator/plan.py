"""The mine population: registry attributes, planted anomalies with their windows, and decoys."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pipelines.schema import FAMILIES, GAS_CLASSES
from pipelines.simulator import names
from pipelines.simulator.config import MinesParams, SimulateParams

MECHANISMS = {
    "hidden_workface": ("crew_in_restricted_area", "cards_left_at_shaft", "power_misbooked"),
    "overproduction": ("over_capacity_shaded", "underweigh_shaded", "maintenance_production", "over_manning"),
    "alarm_falsification": ("fake_power_cut", "fake_evacuation", "fake_clearing", "sensor_tampering"),
    "concealed_accident": ("vanished_cards", "late_surfacing", "concealed_injury"),
}
DECOYS = (
    "reported_accident",
    "breakdown",
    "double_shift",
    "declared_maintenance",
    "drainage_peak",
    "near_capacity",
    "sensor_fault",
)


@dataclass
class Plan:
    """One planted anomaly or decoy: what, when (days from the start, may be fractional), extra choices."""

    family: str  # a risk family, or "decoy"
    mechanism: str
    start_day: float
    end_day: float
    opts: dict = field(default_factory=dict)


@dataclass
class MineSpec:
    """Everything decided about a mine before its data are generated."""

    index: int
    mine_code: str
    mine_name: str
    province: str
    city: str
    county: str
    group_name: str
    capacity_tpy: float
    approved_headcount: int
    gas_class: str
    four_shift: bool
    n_longwalls: int
    n_headings: int
    utilisation: float
    kwh_per_tonne: float
    seed: np.random.SeedSequence
    plans: list[Plan] = field(default_factory=list)

    def active(self, mechanism: str) -> Plan | None:
        """The plan of a mechanism or decoy if this mine has it."""
        return next((p for p in self.plans if p.mechanism == mechanism), None)

    def family_plans(self, family: str) -> list[Plan]:
        """The planted mechanisms of one family."""
        return [p for p in self.plans if p.family == family]


def _window(rng: np.random.Generator, days: int, lo: int, hi: int) -> tuple[float, float]:
    """A window inside [0, days): the length drawn in [lo, hi] days, shortened to fit."""
    length = float(min(rng.integers(lo, hi + 1), max(2, days * 0.6)))
    start = float(rng.uniform(min(3.0, days * 0.15), max(days - length * 0.5, 4.0)))
    start = min(start, days - 2.0)
    return start, min(float(days), start + length)


def draw_capacity(rng: np.random.Generator, mp: MinesParams) -> float:
    """An approved capacity in tonnes/year inside [capacity_min_tpy, capacity_max_tpy] (see MinesParams)."""
    while True:
        cap = float(np.exp(rng.normal(np.log(mp.capacity_median_tpy), mp.capacity_sigma)))
        if cap <= mp.capacity_max_tpy:
            break
    cap = max(cap, mp.capacity_min_tpy)
    standard = np.array(mp.capacity_standard_mt) * 1e6
    if len(standard) and rng.random() < mp.capacity_standard_share:
        cap = float(standard[np.argmin(np.abs(np.log(standard / cap)))])
    else:
        cap = round(cap / mp.capacity_step_tpy) * mp.capacity_step_tpy
    return float(np.clip(cap, mp.capacity_min_tpy, mp.capacity_max_tpy))


def plan_mines(n: int, days: int, seed: int, p: SimulateParams) -> list[MineSpec]:
    """Draw n mines with their registry attributes, anomalies and decoys (seeded)."""
    root = np.random.SeedSequence(seed)
    children = root.spawn(n + 1)
    rng = np.random.default_rng(children[0])
    mp, ap = p.mines, p.anomalies
    specs: list[MineSpec] = []
    used: set[str] = set()
    for i in range(n):
        prov_i = int(rng.choice(len(names.PROVINCES), p=np.array(names.PROVINCE_WEIGHTS) / sum(names.PROVINCE_WEIGHTS)))
        prov_code, province, cities = names.PROVINCES[prov_i]
        city_i = int(rng.integers(len(cities)))
        city, counties = cities[city_i]
        county_i = int(rng.integers(len(counties)))
        county = counties[county_i]
        while True:
            # national code: province, city, county digits, then a serial that often starts with zeros
            code = f"{prov_code}{city_i + 1:02d}{county_i + 21:02d}{int(rng.integers(1, 4000)):06d}"
            if code not in used:
                used.add(code)
                break
        place = names.SURNAMES[int(rng.integers(len(names.SURNAMES)))] + "家" + names.PLACE_WORDS[
            int(rng.integers(len(names.PLACE_WORDS)))
        ]
        suffix = names.MINE_SUFFIX[int(rng.integers(len(names.MINE_SUFFIX)))]
        mine_name = f"{county[:-1] if len(county) > 2 else county}{place}{suffix}"
        cap = draw_capacity(rng, mp)
        cap_mt = cap / 1e6
        headcount = int(np.clip(round((mp.headcount_base + mp.headcount_per_mt * cap_mt) * rng.uniform(0.9, 1.1) / 5) * 5,
                                mp.headcount_min, mp.headcount_max))
        gas = GAS_CLASSES[int(rng.choice(3, p=np.array(mp.gas_class_probs) / sum(mp.gas_class_probs)))]
        n_lw = 1 if cap_mt < 0.9 else (2 if cap_mt < 2.4 else 3)
        if cap_mt >= 0.6 and rng.random() < 0.2:
            n_lw = min(3, n_lw + 1)
        n_hd = int(np.clip(n_lw + rng.integers(-1, 2), 1, 4))
        specs.append(
            MineSpec(
                index=i,
                mine_code=code,
                mine_name=mine_name,
                province=province,
                city=city,
                county=county,
                group_name=names.GROUPS[int(rng.integers(len(names.GROUPS)))] if cap_mt >= 0.9 or rng.random() < 0.5 else "",
                capacity_tpy=cap,
                approved_headcount=headcount,
                gas_class=gas,
                four_shift=bool(rng.random() < mp.four_shift_share),
                n_longwalls=n_lw,
                n_headings=n_hd,
                utilisation=float(rng.uniform(*p.output.utilisation)),
                kwh_per_tonne=float(rng.uniform(*p.power.kwh_per_tonne)),
                seed=children[i + 1],
            )
        )
    # positives per family: a shuffled share of mines, each with one or two mechanisms and its own window
    for fam_i, family in enumerate(FAMILIES):
        k = int(round(ap.positive_share[fam_i] * n))
        if n >= 4:
            k = max(k, 1)
        if family == "alarm_falsification":
            # falsified handling needs alarms to handle: gassy mines are likelier to have it (and the
            # registry's gas-class shares stay as drawn)
            w = np.array([ap.falsification_gassy_weight if s.gas_class != "low" else 1.0 for s in specs])
            chosen = rng.choice(n, size=min(k, n), replace=False, p=w / w.sum())
        else:
            chosen = rng.permutation(n)[:k]
        mechs = MECHANISMS[family]
        for j, mine_i in enumerate(sorted(chosen)):
            spec = specs[mine_i]
            # cycle through mechanisms so every mechanism appears when there are enough positives
            picks = [mechs[(j + fam_i) % len(mechs)]]
            if rng.random() < 0.3:
                picks.append(mechs[int(rng.integers(len(mechs)))])
            for mech in dict.fromkeys(picks):
                start, end = _window(rng, days, *ap.window_days)
                opts: dict = {}
                if family == "concealed_accident":
                    end = min(float(days), start + 20.0)
                    opts["spike"] = str(rng.choice(["ch4", "co", "none"], p=[0.4, 0.35, 0.25]))
                    opts["late_declaration"] = bool(rng.random() < 0.7)
                    opts["deregister"] = bool(rng.random() < 0.8)
                if mech == "sensor_tampering":
                    opts["variant"] = str(rng.choice(["flatline", "capped", "pause"]))
                if mech == "fake_power_cut":
                    opts["variant"] = str(rng.choice(["no_relay", "feed_live"]))
                spec.plans.append(Plan(family, mech, start, end, opts))
    # decoys, drawn independently of the positives
    for spec in specs:
        for decoy in DECOYS:
            if rng.random() >= ap.decoy_share:
                continue
            if decoy == "near_capacity" and spec.family_plans("overproduction"):
                continue
            if decoy == "drainage_peak":
                start, end = 0.0, float(days)
            elif decoy == "reported_accident":
                start, _ = _window(rng, days, 10, 20)
                end = min(float(days), start + 10.0)
            else:
                start, end = _window(rng, days, 2, 6)
            opts = {}
            if decoy == "reported_accident":
                opts["variant"] = str(rng.choice(["vanished_cards", "late_surfacing", "injury"]))
                opts["spike"] = str(rng.choice(["ch4", "co", "none"]))
            spec.plans.append(Plan("decoy", decoy, start, end, opts))
        if spec.active("near_capacity"):
            spec.utilisation = float(rng.uniform(0.93, 0.99))
    return specs
