"""Simulate one mine end to end: schedule, output, monitoring, people, power, and its ground truth."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from pipelines.simulator import calendar, names
from pipelines.simulator.config import SimulateParams
from pipelines.simulator.layout import Layout, build_layout
from pipelines.simulator.plan import MineSpec, Plan
from pipelines.simulator.tables import build_tables

DAY_S = 86400
FALSIFY_HANDLING = ("fake_power_cut", "fake_evacuation", "fake_clearing")


@dataclass
class Event:
    """A methane exceedance at a face: planted before the values are drawn."""

    face: int
    point: int
    t0: int  # minute the gas starts to rise
    peak: float
    rise: int
    hold: int
    tau: float
    handling: str  # genuine, or the falsification mechanism in force
    plan: Plan | None = None


@dataclass
class Accident:
    accident_id: str
    face: int
    t: int  # second of the accident
    kind: str  # vanished_cards, late_surfacing, injury
    reported: bool
    plan: Plan
    victims: list[int] = field(default_factory=list)  # member indices
    spike: str = "none"


@dataclass
class MineResult:
    """One mine's canonical tables (pyarrow) and truth rows."""

    index: int
    mine_code: str
    tables: dict[str, pa.Table]
    anomalies: list[dict]
    accidents: list[dict]
    decoys: list[dict]
    facts: dict


class MineSim:
    """The state of one mine's simulation; `run` fills the tables."""

    def __init__(self, spec: MineSpec, p: SimulateParams, start: dt.date, days: int):
        self.spec, self.p, self.start, self.D = spec, p, start, days
        self.rng = np.random.default_rng(spec.seed)
        self.L: Layout = build_layout(spec, self.rng, days, p)
        self.T = days * 1440
        self.Q = days * 96
        self.n_shifts = len(self.L.shift_hours)
        self.shift_len = 24 // self.n_shifts
        self.F = len(self.L.faces)
        self.declarations: list[dict] = []
        self.events: list[Event] = []
        self.accidents: list[Accident] = []
        self.breakdowns: list[tuple[int, int, int]] = []  # (face, first minute, minutes), set by output
        self.truth_anomalies: list[dict] = []
        self.truth_decoys: list[dict] = []
        self.derived_plans: list[Plan] = []  # truth implied by a planted mechanism (output.label_hidden_face_overproduction)

    # ---- helpers -------------------------------------------------------------------------------
    def window_mask_days(self, plan: Plan) -> np.ndarray:
        d = np.arange(self.D)
        return (d + 1 > plan.start_day) & (d < plan.end_day)

    def window_slots(self, plan: Plan) -> np.ndarray:
        q = np.arange(self.Q) / 96.0
        return (q >= plan.start_day) & (q < plan.end_day)

    def face_idx(self, kind: str) -> list[int]:
        return [i for i, f in enumerate(self.L.faces) if f.type == kind]

    def points_of(self, face: int, kinds: tuple[str, ...]) -> list[int]:
        return [i for i, pt in enumerate(self.L.points) if pt.face == face and pt.kind in kinds]

    def plans(self, family: str | None = None, mechanism: str | None = None) -> list[Plan]:
        return [pl for pl in self.spec.plans if (family is None or pl.family == family)
                and (mechanism is None or pl.mechanism == mechanism)]

    def side_rng(self, key: int) -> np.random.Generator:
        """A random stream of its own (by key), so a later addition draws without shifting the main stream."""
        return np.random.default_rng(np.random.SeedSequence(self.spec.seed.entropy,
                                                            spawn_key=(*self.spec.seed.spawn_key, key)))

    def sec(self, days: float) -> int:
        return int(round(days * DAY_S))

    # ---- run -----------------------------------------------------------------------------------
    def run(self) -> MineResult:
        from pipelines.simulator import monitoring, output, people, power

        self.plan_calendar()
        output.plan_stops(self)
        output.build_output(self)
        monitoring.build_monitoring(self)
        people.build_people(self)
        power.build_power(self)
        output.build_reports(self)
        tables = build_tables(self)
        return MineResult(self.spec.index, self.spec.mine_code, tables, self.truth_anomalies, self.truth_accident_rows(),
                          self.truth_decoys, self.facts())

    # ---- declarations and stop days -------------------------------------------------------------
    def declare(self, kind: str, first: int, last: int, face: int, declared_at: int) -> None:
        first, last = max(0, first), min(self.D - 1, last)
        if last < first:
            return
        self.declarations.append(dict(kind=kind, first=first, last=last, face=face, declared_at=declared_at))

    def plan_calendar(self) -> None:
        rng, p = self.rng, self.p
        self.mine_stop = np.zeros(self.D, dtype=np.int8)  # 1 holiday, 2 maintenance, 3 shutdown
        self.face_stop = np.zeros((self.F, self.D), dtype=bool)
        self.illicit = np.zeros(self.D, dtype=bool)  # production during a declared stop
        self.holiday = np.zeros(self.D, dtype=bool)
        office_hour = lambda: int(rng.integers(8 * 3600, 17 * 3600))  # noqa: E731
        for first, last, name in calendar.holiday_blocks(self.start, self.D):
            self.holiday[first:last + 1] = True
            if rng.random() < p.output.holiday_stop_prob:
                n = min(last - first + 1, 7 if name == "春节" else 3)
                self.declare("holiday", first, first + n - 1, -1, (first - int(rng.integers(5, 16))) * DAY_S + office_hour())
        longwalls = self.face_idx("longwall")
        for _ in range(int(rng.integers(p.output.maintenance_per_mine[0], p.output.maintenance_per_mine[1] + 1))):
            n = int(rng.integers(*p.output.maintenance_days))
            first = int(rng.integers(0, max(1, self.D - n)))
            face = int(rng.choice(longwalls)) if rng.random() < 0.7 else -1
            self.declare("maintenance", first, first + n - 1, face, (first - int(rng.integers(1, 11))) * DAY_S + office_hour())
        dm = self.spec.active("declared_maintenance")
        if dm:
            first = int(dm.start_day)
            n = int(rng.integers(2, 7))
            self.declare("maintenance", first, first + n - 1, -1, (first - int(rng.integers(2, 10))) * DAY_S + office_hour())
            dm.start_day, dm.end_day = float(first), min(float(self.D), first + n)
            self.decoy(dm, f"declared maintenance of the whole mine, {n} days, filed in advance")
        mp = self.spec.active("maintenance_production")
        if mp:
            first = int(mp.start_day)
            n = int(min(rng.integers(5, 11), max(1, mp.end_day - mp.start_day)))
            self.declare("maintenance", first, first + n - 1, -1, (first - int(rng.integers(2, 8))) * DAY_S + office_hour())
            mp.start_day, mp.end_day = float(first), min(float(self.D), first + n)
            self.illicit[first:first + n] = True
            self.anomaly(mp, f"declared maintenance {n} days; night production with the belt scale off")
        for d in self.declarations:
            sl = slice(d["first"], d["last"] + 1)
            code = {"holiday": 1, "maintenance": 2, "shutdown": 3}[d["kind"]]
            if d["face"] < 0:
                self.mine_stop[sl] = np.maximum(self.mine_stop[sl], code)
            else:
                self.face_stop[d["face"], sl] = True

    # ---- truth ---------------------------------------------------------------------------------
    def ts(self, seconds: float) -> str:
        t = dt.datetime.combine(self.start, dt.time()) + dt.timedelta(seconds=int(seconds))
        return t.strftime("%Y-%m-%d %H:%M:%S")

    def anomaly(self, plan: Plan, detail: str) -> None:
        self.truth_anomalies.append(dict(mine_code=self.spec.mine_code, family=plan.family, mechanism=plan.mechanism,
                                         start_at=self.ts(plan.start_day * DAY_S), end_at=self.ts(plan.end_day * DAY_S),
                                         detail=detail))

    def decoy(self, plan: Plan, detail: str) -> None:
        self.truth_decoys.append(dict(mine_code=self.spec.mine_code, decoy=plan.mechanism,
                                      start_at=self.ts(plan.start_day * DAY_S), end_at=self.ts(plan.end_day * DAY_S),
                                      detail=detail))

    def truth_accident_rows(self) -> list[dict]:
        rows = []
        cards = self.L.people["card_code"]
        for a in self.accidents:
            f = self.L.faces[a.face]
            deaths = len(a.victims) if a.kind != "injury" else 0
            rows.append(dict(mine_code=self.spec.mine_code, accident_id=a.accident_id, occurred_at=self.ts(a.t),
                             area_code=self.L.areas[f.area].code, face_code=f.code,
                             card_codes="|".join(cards[v] for v in a.victims), deaths=deaths,
                             injuries=len(a.victims) - deaths, reported=int(a.reported),
                             concealment="" if a.reported else a.plan.mechanism))
        return rows

    def facts(self) -> dict:
        """What the inspection planner may use: true windows per family (for detection) and visible hints."""
        fams = {}
        for pl in [*self.spec.plans, *self.derived_plans]:
            if pl.family != "decoy":
                fams.setdefault(pl.family, []).append((pl.start_day, pl.end_day))
        return dict(windows=fams, capacity=self.spec.capacity_tpy, gas_class=self.spec.gas_class,
                    n_alarms=getattr(self, "n_alarms", 0), reported_accidents=sum(a.reported for a in self.accidents))

    def officer(self, second: int) -> str:
        """The duty officer on the dispatch desk at that second."""
        k = int(second // (self.shift_len * 3600))
        return self.L.officers[k % len(self.L.officers)]

    def cause_measure(self, kind: str) -> tuple[str, str]:
        rng = self.rng
        if kind == "calibration":
            return names.CALIBRATION_CAUSE, str(rng.choice(names.CALIBRATION_MEASURE))
        if kind == "fault":
            i = int(rng.integers(len(names.FAULT_CAUSES)))
            return names.FAULT_CAUSES[i], names.FAULT_MEASURES[i]
        return str(rng.choice(names.CAUSES)), str(rng.choice(names.MEASURES))


def simulate_mine(spec: MineSpec, p: SimulateParams, start: dt.date, days: int) -> MineResult:
    """Generate every table of one mine."""
    return MineSim(spec, p, start, days).run()
