"""Inspections across mines: routine, targeted at the already suspected, a few random, complaints; imperfect findings."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa

from pipelines.schema import FAMILIES
from pipelines.simulator.config import InspectionParams
from pipelines.simulator.tables import dates, table


def _active(windows: list[tuple[float, float]], lo: float, hi: float) -> bool:
    return any(a < hi and b > lo for a, b in windows)


def draw_inspections(facts: list[tuple[str, dict]], days: int, start: dt.date, rng: np.random.Generator,
                     ip: InspectionParams) -> pa.Table:
    """One row per completed inspection; findings only for the families examined."""
    rows: list[dict] = []
    n = len(facts)
    # what planners already suspect: truth blurred by visible hints (size, alarm counts) and plenty of noise
    suspicion = np.array([
        0.8 * bool(f["windows"]) + 0.3 * np.log(f["capacity"] / 1e6 + 0.5) + 0.3 * (f["gas_class"] != "low")
        + rng.normal(0, 0.7) for _, f in facts])
    n_targeted = int(round(ip.targeted_share * n))
    targeted = set(np.argsort(-suspicion, kind="stable")[:n_targeted].tolist())

    def add(i: int, kind: str, first: int, examined: list[str]) -> None:
        dur = int(rng.integers(ip.duration_days[0], ip.duration_days[1] + 1))
        last = first + dur - 1
        if first < 0 or last >= days:
            return
        code, f = facts[i]
        row = dict(mine_code=code, kind=kind, started_on=first, ended_on=last)
        bonus = ip.targeted_detect_bonus if kind in ("targeted", "complaint") else 0.0
        for k, fam in enumerate(FAMILIES):
            col = f"found_{fam}"
            if fam not in examined:
                row[col] = None
                continue
            if _active(f["windows"].get(fam, []), last + 1 - ip.lookback_days, last + 1):
                row[col] = int(rng.random() < min(0.95, ip.detect_prob[k] + bonus))
            else:
                row[col] = int(rng.random() < ip.false_find_prob)
        rows.append(row)

    for i, (_, f) in enumerate(facts):
        every = int(rng.integers(ip.routine_every_days[0], ip.routine_every_days[1] + 1))
        t = int(rng.integers(0, every))
        while t < days:
            fams = ["hidden_workface", "overproduction", "alarm_falsification"]
            if rng.random() < 0.4:
                fams.append("concealed_accident")
            add(i, "routine", t, fams)
            t += every
        for m0 in range(0, days, 30):
            if rng.random() < ip.random_share:
                add(i, "random", m0 + int(rng.integers(0, 30)), list(FAMILIES))
        if i in targeted:
            fams_true = list(f["windows"])
            fam = (str(rng.choice(fams_true)) if fams_true and rng.random() < 0.6
                   else str(rng.choice(FAMILIES)))
            extra = [str(rng.choice(FAMILIES))]
            add(i, "targeted", int(rng.integers(days // 3, max(days // 3 + 1, days - 5))), list(dict.fromkeys([fam] + extra)))
        for fam in ("concealed_accident", "overproduction"):
            for a, _b in f["windows"].get(fam, []):
                if rng.random() < ip.complaint_prob:
                    add(i, "complaint", int(a + rng.integers(3, 26)), [fam])
    rows.sort(key=lambda r: (r["mine_code"], r["started_on"], r["kind"]))
    counters: dict[str, int] = {}
    for r in rows:
        counters[r["mine_code"]] = counters.get(r["mine_code"], 0) + 1
        r["inspection_id"] = f"JC{start.year}{r['mine_code'][-6:]}{counters[r['mine_code']]:03d}"
    cols: dict[str, object] = {c: [r[c] for r in rows] for c in ("mine_code", "inspection_id", "kind")}
    cols["started_on"] = dates(start, np.array([r["started_on"] for r in rows], dtype=np.int64))
    cols["ended_on"] = dates(start, np.array([r["ended_on"] for r in rows], dtype=np.int64))
    for fam in FAMILIES:
        cols[f"found_{fam}"] = [r[f"found_{fam}"] for r in rows]
    return table("inspections", cols)
