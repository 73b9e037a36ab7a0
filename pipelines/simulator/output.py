"""Face activity, planned events (breakdowns, exceedances, accidents, calibrations, faults), belt scale and reports."""

from __future__ import annotations

import numpy as np

from pipelines.simulator.mine import DAY_S, FALSIFY_HANDLING, Accident, Event, MineSim
from pipelines.simulator.plan import Plan

HIDDEN_FACE_OVER_CAPACITY = 1.10  # monthly output above capacity/12 by more than 10 % (判定标准 2021)

METHANE_KINDS = ("ch4_t0", "ch4_t1", "ch4_t2", "ch4_h1", "ch4_h2", "ch4_ret", "ch4_in", "ch4_ref")
GAS_INDEX = {"low": 0, "high": 1, "outburst": 2}


def _templates(s: MineSim) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Planned intensity over the 96 slots of a day: longwall, heading, and the night-only variant."""
    slot = np.arange(96)
    per_shift = s.shift_len * 4
    shift = slot // per_shift
    pos = slot - shift * per_shift
    prod = shift != s.L.maintenance_shift
    lw = np.where(pos == 0, 0.2, np.where(pos == 1, 0.6, np.where(pos == 2, 0.9, np.where(pos == per_shift - 1, 0.6, 1.0))))
    night = np.where(shift == 0, lw, 0.0)  # illicit night production runs whatever the shift plan says
    lw = np.where(prod, lw, 0.03)
    hd = np.where(prod, np.where(pos < 2, 0.4, 1.0), 0.0)
    return lw, hd, night


def plan_stops(s: MineSim) -> None:
    """Planned intensity per face, then the events that stop faces or move gas."""
    rng, p, L = s.rng, s.p, s.L
    lw_t, hd_t, night_t = _templates(s)
    s.templates = (lw_t, hd_t)
    inten = np.zeros((s.F, s.Q))
    for fi, f in enumerate(L.faces):
        tmpl = hd_t if f.type == "heading" else lw_t
        day = np.tile(tmpl, s.D).reshape(s.D, 96)
        factor = np.ones(s.D)
        factor[s.mine_stop > 0] = 0.0
        factor[s.face_stop[fi]] = 0.0
        factor[s.holiday & (s.mine_stop == 0)] *= 0.85
        if f.type == "hidden":
            factor[:] = 0.0
            for pl in s.plans("hidden_workface"):
                factor[s.window_mask_days(pl) & (s.mine_stop == 0)] = 1.0
        day = day * factor[:, None]
        if f.type == "longwall":
            day[s.illicit] = night_t * 0.8
        if f.type == "heading":
            r = rng.gamma(4.0, 0.25, s.Q) * (rng.random(s.Q) > 0.25)
        else:
            r = rng.gamma(6.0, 1 / 6.0, s.Q) * (rng.random(s.Q) > 0.08)
        inten[fi] = day.ravel() * r
    s.I_plan = inten
    s.stop_min = np.zeros((s.F, s.T), dtype=bool)
    months = s.D / 30.0
    gas_i = GAS_INDEX[s.spec.gas_class]
    mp = p.monitoring

    def production_minute(fi: int, lo_day: float = 0.0, hi_day: float | None = None) -> int | None:
        hi_day = s.D if hi_day is None else hi_day
        lo, hi = int(lo_day * 96), max(int(lo_day * 96) + 1, int(hi_day * 96))
        cand = np.flatnonzero(inten[fi, lo:hi] > 0.5)
        if len(cand) == 0:
            return None
        q = lo + int(cand[int(rng.integers(len(cand)))])
        return q * 15 + int(rng.integers(0, 15))

    # breakdowns: a face stops for hours, nobody missing; (face, first minute, minutes) kept for the crews
    s.breakdowns = []
    for fi, f in enumerate(L.faces):
        if f.type == "hidden":
            continue
        for _ in range(rng.poisson(p.output.breakdowns_per_face_month * months)):
            t = production_minute(fi)
            if t is None:
                continue
            dur = int(np.clip(rng.exponential(5.0), p.output.breakdown_hours[0], p.output.breakdown_hours[1]) * 60)
            s.stop_min[fi, t:t + dur] = True
            s.breakdowns.append((fi, t, dur))
    bd = s.spec.active("breakdown")
    longwalls = s.face_idx("longwall")
    if bd:
        fi = int(rng.choice(longwalls))
        t = production_minute(fi, bd.start_day, min(s.D, bd.start_day + 2)) or int(bd.start_day * 1440)
        dur = int(rng.uniform(1.0, 3.0) * 1440)
        s.stop_min[fi, t:t + dur] = True
        s.breakdowns.append((fi, t, dur))
        bd.start_day, bd.end_day = t / 1440, min(s.D, (t + dur) / 1440)
        filed = ""
        if rng.random() < 0.5:
            s.declare("maintenance", t // 1440, (t + dur) // 1440, fi, t * 60 + int(rng.integers(2, 10)) * 3600)
            filed = "; a maintenance declaration filed a few hours after it began"
        s.decoy(bd, f"face {L.faces[fi].code} broke down for {dur / 60:.0f} h, nobody missing{filed}")

    # methane exceedances (more of them where handling is falsified, so the falsification shows)
    s.events = []
    handling = [pl for pl in s.plans("alarm_falsification") if pl.mechanism in FALSIFY_HANDLING]
    tamper = s.spec.active("sensor_tampering")
    gas_faces = [fi for fi, f in enumerate(L.faces) if f.type in ("longwall", "heading")]
    face_points = {fi: s.points_of(fi, ("ch4_t0", "ch4_t1", "ch4_h1")) for fi in gas_faces}
    s.tamper = None
    if tamper:
        fi = int(rng.choice(longwalls))
        pt = face_points[fi][int(rng.integers(len(face_points[fi])))]
        s.tamper = (pt, int(tamper.start_day * 1440), int(tamper.end_day * 1440), tamper.opts.get("variant", "capped"))
        s.anomaly(tamper, f"point {L.points[pt].code} ({L.points[pt].location}) {s.tamper[3]} while face "
                          f"{L.faces[fi].code} works")
    starts: list[tuple[int, int, Plan | None]] = []
    rate = mp.exceed_per_face_month[gas_i]
    for fi in gas_faces:
        for _ in range(rng.poisson(rate * months * (1.3 if L.faces[fi].type == "heading" else 1.0))):
            t = production_minute(fi)
            if t is not None:
                starts.append((fi, t, None))
    for pl in handling + ([tamper] if tamper else []):
        n = max(3, rng.poisson(max(rate, 1.5) * s.p.anomalies.exceed_boost * (pl.end_day - pl.start_day) / 30.0))
        for _ in range(n):
            fi = int(rng.choice(gas_faces)) if pl is not tamper else L.points[s.tamper[0]].face
            t = production_minute(fi, pl.start_day, pl.end_day)
            if t is not None:
                starts.append((fi, t, pl))
    for fi, t, pl in starts:
        pts = face_points[fi]
        pt = s.tamper[0] if pl is tamper and tamper is not None else pts[int(rng.integers(len(pts)))]
        how, owner = "genuine", None
        for h in handling:
            if h.start_day * 1440 <= t < h.end_day * 1440:
                how, owner = h.mechanism, h
                break
        peak = float(rng.uniform(1.05, 1.5) if rng.random() < 0.4 else rng.uniform(1.5, 2.8))
        ev = Event(fi, pt, t, peak, int(rng.integers(2, 9)), int(rng.integers(2, 11)), float(rng.uniform(4, 12)), how, owner)
        t_alarm = t + ev.rise // 2
        end = t + ev.rise + ev.hold + int(3 * ev.tau) + int(rng.integers(10, 41))
        if how == "fake_power_cut":
            ev.hold *= 3
            ev.tau *= 1.5
        elif how == "fake_clearing":
            ev.hold *= 2
            s.stop_min[fi, t_alarm:t_alarm + int(rng.integers(5, 13))] = True
        else:
            s.stop_min[fi, t_alarm:end] = True
        s.events.append(ev)
    for h in handling:
        n = sum(1 for e in s.events if e.plan is h)
        s.anomaly(h, f"{n} exceedances handled with {h.mechanism}" + (f" ({h.opts['variant']})" if "variant" in h.opts else ""))

    # accidents: concealed ones (a family) and reported ones (a decoy)
    acc_plans = s.plans("concealed_accident") + ([s.spec.active("reported_accident")] if s.spec.active("reported_accident") else [])
    for k, pl in enumerate(acc_plans):
        reported = pl.family == "decoy"
        kind = pl.opts.get("variant", "injury") if reported else {"vanished_cards": "vanished_cards",
                                                                    "late_surfacing": "late_surfacing",
                                                                    "concealed_injury": "injury"}[pl.mechanism]
        cands = longwalls if rng.random() < 0.75 else gas_faces
        fi = int(rng.choice(cands))
        t_min = production_minute(fi, pl.start_day, min(s.D, pl.start_day + 3))
        if t_min is None:
            t_min = production_minute(fi, pl.start_day)
        if t_min is None:
            continue
        t = t_min * 60 + int(rng.integers(0, 60))
        acc = Accident(f"{s.spec.mine_code}-A{k + 1:02d}", fi, t, kind, reported, pl, spike=pl.opts.get("spike", "none"))
        stop = int(rng.uniform(2, 8) * 60) if kind == "injury" else int(rng.uniform(7, 20) * 1440)
        s.stop_min[fi, t_min:t_min + stop] = True
        day = t // DAY_S
        if reported:
            s.declare("shutdown", day, day + stop // 1440, fi, t + int(rng.integers(2, 12)) * 3600)
        elif pl.opts.get("late_declaration") and kind != "injury":
            s.declare("maintenance", day, day + stop // 1440, fi, t + int(rng.integers(1, 5)) * DAY_S)
        pl.start_day = t / DAY_S
        s.accidents.append(acc)

    # calibrations: every methane point every ~15 days, one after another on the maintenance shift
    s.calibrations = []
    ch4_points = [i for i, pt in enumerate(L.points) if pt.kind in METHANE_KINDS]
    first = int(rng.integers(0, mp.calibration_days))
    for d in range(first, s.D, mp.calibration_days):
        d = int(np.clip(d + rng.integers(-1, 2), 0, s.D - 1))
        t = d * 1440 + L.shift_hours[L.maintenance_shift] * 60 + int(rng.integers(30, 90))
        for pt in ch4_points:
            dur = int(rng.integers(2, 5))
            if t + dur + 3 < s.T:
                s.calibrations.append((pt, t, dur))
            t += int(rng.integers(8, 21))
    # sensor faults and station outages
    s.faults = []
    analog = [i for i, pt in enumerate(L.points) if pt.value_type == "MN"]
    for _ in range(rng.poisson(mp.faults_per_mine_month * months)):
        pt = int(rng.choice(analog))
        a = int(rng.integers(0, s.T))
        dur = int(rng.uniform(*mp.fault_hours) * 60)
        s.faults.append((pt, a, min(s.T, a + dur), "absent" if rng.random() < 0.4 else "fault"))
    sf = s.spec.active("sensor_fault")
    if sf:
        fi = int(rng.choice(longwalls))
        pt = s.points_of(fi, ("ch4_t1",))[0]
        a = int(sf.start_day * 1440)
        dur = int(rng.uniform(1.0, 3.0) * 1440)
        s.faults.append((pt, a, min(s.T, a + dur), "fault"))
        sf.end_day = min(s.D, (a + dur) / 1440)
        s.decoy(sf, f"point {L.points[pt].code} faulty (status 128, alarm 004) for {dur / 60:.0f} h while the face works")


def build_output(s: MineSim) -> None:
    """Tonnes per face and 15-minute slot, and what the belt scales weigh."""
    rng, p, L = s.rng, s.p, s.L
    stop_frac = s.stop_min.reshape(s.F, s.Q, 15).mean(axis=2)
    inten = s.I_plan * (1.0 - stop_frac)
    lw_t, hd_t = s.templates
    daily = s.spec.capacity_tpy / 365.0 * s.spec.utilisation
    rate = np.zeros(s.F)
    for fi, f in enumerate(L.faces):
        e_day = (hd_t.sum() * 0.75) if f.type == "heading" else (lw_t.sum() * 0.92)
        rate[fi] = daily * f.share / e_day
    mult = np.ones((s.F, s.Q))
    declared = np.array([f.type != "hidden" for f in L.faces])
    for pl in s.plans("overproduction"):
        w = s.window_slots(pl)
        if pl.mechanism in ("over_capacity_shaded", "underweigh_shaded"):
            factor = float(rng.uniform(*p.anomalies.overproduction_factor))
            mult[np.ix_(declared, w)] = factor / s.spec.utilisation
            extra = "; reports shaded to look within capacity"
            if pl.mechanism == "underweigh_shaded":
                extra = "; belt scale under-weighs" + extra
            s.anomaly(pl, f"true output {factor:.2f} x capacity/365 per day{extra}")
        elif pl.mechanism == "over_manning":
            mult[np.ix_(declared, w)] = float(rng.uniform(1.08, 1.2))
    s.intensity = inten
    s.tonnes = rate[:, None] * mult * inten
    s.tonnes_honest = (rate[:, None] * inten)[declared].sum(axis=0)
    n_belts = sum(1 for pt in L.points if pt.kind == "belt")
    s.belt_true = np.zeros((n_belts, s.Q))
    for fi in range(s.F):
        s.belt_true[fi % n_belts] += s.tonnes[fi]
    factor = np.ones(s.Q)
    for pl in s.plans():
        if pl.mechanism in ("underweigh_shaded", "power_misbooked"):
            uw = float(rng.uniform(*p.anomalies.underweigh_factor))
            factor[s.window_slots(pl)] *= uw
            pl.opts["underweigh"] = uw
    factor[np.repeat(s.illicit, 96)] = 0.02
    noise = 1.0 + rng.normal(0, p.output.belt_noise, s.belt_true.shape)
    s.belt = np.round(np.clip(s.belt_true * factor * noise, 0, None), 2)
    hidden = [fi for fi, f in enumerate(L.faces) if f.type == "hidden"]
    s.hidden_weighed = (s.tonnes[hidden].sum(axis=0) * factor) if hidden else np.zeros(s.Q)
    label_hidden_face_overproduction(s)


def label_hidden_face_overproduction(s: MineSim) -> None:
    """The rulebook's output test holds whatever the cause: a hidden face that lifts the mine's true output
    above 110 % of capacity/365 per day, on average over the face's window, makes that window overproduction too.

    判定标准 (2021) counts a month's output above approved capacity by more than 10 % as a major hazard;
    inspectors who find the hidden face weigh its coal with the rest. The hidden face's windows last
    about 15-70 days, so the window stands in for the month. Only the truth changes: no table does.
    """
    true_day = s.tonnes.sum(axis=0).reshape(s.D, 96).sum(axis=1)
    cap_day = s.spec.capacity_tpy / 365.0
    for pl in s.plans("hidden_workface"):
        w = s.window_mask_days(pl)
        ratio = float(true_day[w].mean() / cap_day) if w.any() else 0.0
        if ratio > HIDDEN_FACE_OVER_CAPACITY:
            derived = Plan("overproduction", "hidden_face_over_capacity", pl.start_day, pl.end_day)
            s.derived_plans.append(derived)
            s.anomaly(derived, f"hidden face lifts true output to {ratio:.2f} x capacity/365 per day over its window "
                               f"({pl.mechanism}); the rulebook's limit is {HIDDEN_FACE_OVER_CAPACITY:.2f}")


def build_reports(s: MineSim) -> None:
    """Declared daily production reports: close to the belt scale, shaded where a mechanism says so."""
    rng, p = s.rng, s.p
    belt_day = s.belt.sum(axis=0).reshape(s.D, 96).sum(axis=1)
    eps = np.clip(rng.normal(0, p.output.report_noise, s.D), -p.output.report_clip, p.output.report_clip)
    rep = belt_day * (1 + eps)
    cap_day = s.spec.capacity_tpy / 365.0
    for pl in s.plans():
        w = s.window_mask_days(pl)
        if pl.mechanism in ("over_capacity_shaded", "underweigh_shaded", "power_misbooked"):
            shade = cap_day * rng.uniform(0.86, 0.99, s.D)
            rep[w] = np.minimum(rep[w], shade[w])
        elif pl.mechanism == "crew_in_restricted_area":
            hid = s.hidden_weighed.reshape(s.D, 96).sum(axis=1)
            rep[w] = np.maximum(0, belt_day[w] - hid[w]) * (1 + eps[w])
    rep[s.illicit] = 0.0
    keep = rng.random(s.D) >= p.output.report_missing_prob
    keep &= ~((s.mine_stop > 0) & ~s.illicit & (rng.random(s.D) < 0.5))
    s.reports = (np.flatnonzero(keep), np.round(rep[keep], 1))
