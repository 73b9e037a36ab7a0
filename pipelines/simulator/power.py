"""Power: 15-minute kWh per meter and circuit, calibrated to a mine-specific kWh per tonne."""

from __future__ import annotations

import numpy as np

from pipelines.simulator import calendar
from pipelines.simulator.mine import MineSim


def build_power(s: MineSim) -> None:
    """kWh per meter and 15-minute interval; a hidden face's power lands on the circuit its mechanism books it to."""
    rng, L, pw = s.rng, s.L, s.p.power
    Q = s.Q
    cap_mt = s.spec.capacity_tpy / 1e6
    slot = np.arange(Q) % 96
    hour = slot // 4
    day = np.arange(Q) // 96
    kwh: dict[int, np.ndarray] = {}
    m_of = {}
    for mi, m in enumerate(L.meters):
        m_of.setdefault(m.circuit, []).append(mi)

    # fixed loads: main fans run round the clock; the standby fan only during monthly switch-over tests
    fan_kw = max(pw.fan_kw_min, rng.uniform(*pw.fan_kw_per_mt) * cap_mt)
    vent_main = fan_kw * 0.25 * (1 + rng.normal(0, 0.004, Q))
    vent_standby = np.full(Q, rng.uniform(0.2, 0.8))
    for a, b in getattr(s, "fan_switch", []):
        qa, qb = a // 900, b // 900 + 1
        vent_main[qa:qb], vent_standby[qa:qb] = vent_standby[qa:qb], fan_kw * 0.25 * (1 + rng.normal(0, 0.004, qb - qa))
    # drainage: pumps start in the night valley tariff and run longer in the rainy season
    doy = calendar.day_of_year(s.start, s.D)
    rainy = rng.uniform(*pw.rainy_factor)
    peak = s.spec.active("drainage_peak")
    if peak:
        rainy = rng.uniform(2.6, 3.6)
        s.decoy(peak, f"rainy-season drainage peak x{rainy:.1f}")
    season = 1 + (rainy - 1) * calendar.rainy_season(doy, pw.rainy_peak_doy, pw.rainy_width_days)
    # pump-hours needed per day; the second pump takes what the first cannot
    hours_d = np.clip(rng.uniform(*pw.pump_hours) * season * (1 + rng.normal(0, 0.12, s.D)), 2, 44)
    off = (slot - 92) % 96  # slots since 23:00
    pump_kw = rng.uniform(*pw.pump_kw_per_mt) * cap_mt
    on1 = np.clip(np.minimum(hours_d[day], 22) * 4 - off, 0, 1)
    on2 = np.clip(np.maximum(hours_d[day] - 22, 0) * 4 - off, 0, 1)
    drain1 = pump_kw * 0.25 * on1 * (1 + rng.normal(0, 0.02, Q))
    drain2 = pump_kw * 0.8 * 0.25 * on2 * (1 + rng.normal(0, 0.02, Q))
    other_kw = rng.uniform(*pw.other_kw_per_mt) * cap_mt
    daytime = ((hour >= 8) & (hour < 18)).astype(float)
    other = other_kw * 0.25 * (0.75 + 0.25 * daytime) * (1 + rng.normal(0, 0.05, Q))
    aux_hoist = rng.uniform(30, 80) * 0.25 + rng.uniform(2.0, 4.0) * s.people_moves
    hoist_idle = rng.uniform(20, 50) * 0.25
    face_aux = {}
    for fi, f in enumerate(L.faces):
        active = (s.intensity[fi].reshape(s.D, 96).sum(axis=1) > 0)[day]
        if f.type == "heading":
            face_aux[fi] = rng.uniform(30, 75) * 0.25 + rng.uniform(90, 200) * 0.25 * np.clip(s.intensity[fi], 0, 1.2)
        else:
            # emulsion pumps, lighting, crusher idling: mostly while the face is being worked
            running = np.convolve((s.intensity[fi] > 0.02).astype(float), np.ones(4) / 4, mode="same")
            face_aux[fi] = rng.uniform(30, 80) * 0.25 * np.where(active, 0.3 + 0.7 * running, 0.2)
    total = s.tonnes.sum(axis=0)
    belt_idle = rng.uniform(40, 120) * 0.25 * (total > 0.01)
    fixed = [vent_main, vent_standby, drain1, drain2, other, aux_hoist, belt_idle] + [
        face_aux[fi] for fi, f in enumerate(L.faces) if f.type != "hidden"]
    fixed_total = float(sum(x.sum() for x in fixed)) + hoist_idle * Q
    e_t = max(float(s.tonnes_honest.sum()), 1.0)
    a = (s.spec.kwh_per_tonne * e_t - fixed_total) / e_t
    if a < 4.0:
        scale = max(0.2, (s.spec.kwh_per_tonne - 4.0) * e_t / fixed_total)
        vent_main, vent_standby, drain1, drain2, other = (x * scale for x in (vent_main, vent_standby, drain1, drain2, other))
        aux_hoist = aux_hoist * scale
        belt_idle = belt_idle * scale
        face_aux = {k: v * scale for k, v in face_aux.items()}
        a = 4.0
    a_h, a_t, a_f = (a * x for x in pw.variable_split)
    kwh[m_of["hoist"][0]] = hoist_idle + a_h * total * (1 + rng.normal(0, 0.03, Q))
    kwh[m_of["hoist"][1]] = aux_hoist
    kwh[m_of["ventilation"][0]] = vent_main
    kwh[m_of["ventilation"][1]] = vent_standby
    kwh[m_of["drainage"][0]] = drain1
    kwh[m_of["drainage"][1]] = drain2
    kwh[m_of["transport"][0]] = belt_idle + a_t * total * (1 + rng.normal(0, 0.03, Q))
    kwh[m_of["other"][0]] = other
    for mi, m in enumerate(L.meters):
        if m.face >= 0:
            kwh[mi] = face_aux[m.face] + a_f * s.tonnes[m.face] * (1 + rng.normal(0, 0.04, Q))
    for fi, f in enumerate(L.faces):
        if f.type != "hidden":
            continue
        hidden_kwh = face_aux[fi] * (s.tonnes[fi] > 0) + a_f * s.tonnes[fi]
        mech = s.plans("hidden_workface")[0].mechanism
        if mech == "power_misbooked":
            target = m_of["drainage"][0]
        elif mech == "crew_in_restricted_area":
            target = m_of["other"][0]
        else:
            target = next(mi for mi, m in enumerate(L.meters) if m.face == 0)
        kwh[target] = kwh[target] + hidden_kwh
    s.power = {mi: np.round(np.clip(v, 0, None), 2) for mi, v in kwh.items()}
