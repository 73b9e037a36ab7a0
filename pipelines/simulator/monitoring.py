"""Safety monitoring: one-minute values per analog point, period statistics, switch changes and alarms."""

from __future__ import annotations

import numpy as np

from pipelines.simulator import names
from pipelines.simulator.mine import MineSim
from pipelines.simulator.output import GAS_INDEX

QUANTUM = {"0001": 0.01, "0043": 0.01, "0004": 1.0, "0002": 0.1, "0003": 0.1}
DECIMALS = {"0001": 2, "0043": 2, "0004": 0, "0002": 1, "0003": 1}
FLAT_KINDS = ("ch4_in", "ch4_ref", "co_in", "co_ref")  # fresh air and refuge chambers: exact zeros, no hold
PAUSE_BELOW_ALARM = 0.2  # a tampered point is paused while the gas is within this of its alarm threshold
EPS = 1e-4  # values are quantised in float32: compare with thresholds to within a fraction of a quantum


def _runs(mask: np.ndarray, gap: int = 0) -> list[tuple[int, int]]:
    """[start, end) of the True runs of a 1-d mask, merging runs separated by at most `gap` samples."""
    d = np.diff(mask.astype(np.int8), prepend=0, append=0)
    starts, ends = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
    out: list[tuple[int, int]] = []
    for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
        if out and a - out[-1][1] <= gap:
            out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def _merge(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in sorted(intervals):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def ar1(x: np.ndarray, phi: float, gain: float = 1.0) -> np.ndarray:
    """y[t] = gain * x[t] + phi * y[t-1] along the last axis (truncated exponential kernel; numpy only)."""
    n = int(np.ceil(np.log(1e-4) / np.log(phi))) if phi > 0 else 1
    kernel = gain * phi ** np.arange(n)
    if x.ndim == 1:
        return np.convolve(x, kernel)[: len(x)]
    return np.stack([np.convolve(row, kernel)[: x.shape[-1]] for row in x])


def _slow(rng: np.random.Generator, hours: int, sd: float) -> np.ndarray:
    """A slowly wandering component (hourly AR(1)), per minute."""
    x = ar1(rng.normal(0, sd, hours), 0.95, np.sqrt(1 - 0.95**2))
    return np.repeat(x, 60)


def _noise(rng: np.random.Generator, n: int, sd: float, phi: float = 0.6) -> np.ndarray:
    return ar1(rng.normal(0, sd, n), phi, np.sqrt(1 - phi**2))


def deadband(x: np.ndarray, width: np.ndarray, block: int = 32) -> np.ndarray:
    """Hold each row's value until its input moves more than `width` away (a play operator), vectorised.

    y[t] = clip(y[t-1], x[t] - w, x[t] + w) composes clips, and clips compose into clips: a prefix scan
    within blocks of minutes (log2(block) whole-array steps), then a short loop carries each block's end on.
    """
    a, n = x.shape
    nb = -(-n // block)
    pad = np.concatenate([x, np.repeat(x[:, -1:], nb * block - n, axis=1)], axis=1) if nb * block > n else x
    w = width[:, None, None].astype(x.dtype)
    rows = pad.reshape(a, nb, block)
    lo, hi = rows - w, rows + w
    step = 1
    while step < block:
        # compose the clip `step` minutes earlier (applied first) with this minute's clip
        b_lo, b_hi = lo[..., step:], hi[..., step:]
        new_lo = np.minimum(np.maximum(lo[..., :-step], b_lo), b_hi)
        hi[..., step:] = np.minimum(np.maximum(hi[..., :-step], b_lo), b_hi)
        lo[..., step:] = new_lo
        step *= 2
    carry = np.empty((a, nb), dtype=x.dtype)
    y = x[:, 0].copy()
    end_lo, end_hi = lo[..., -1], hi[..., -1]
    for j in range(nb):
        carry[:, j] = y
        y = np.minimum(np.maximum(y, end_lo[:, j]), end_hi[:, j])
    out = np.minimum(np.maximum(carry[..., None], lo), hi)
    return out.reshape(a, nb * block)[:, :n]


def _bump(n: int, rise: int, hold: int, tau: float) -> np.ndarray:
    """Shape 0..1..0 of a gas episode: linear rise, hold, exponential decay."""
    t = np.arange(n, dtype=float)
    up = np.clip((t + 1) / max(rise, 1), 0, 1)
    down = np.where(t >= rise + hold, np.exp(-(t - rise - hold) / tau), 1.0)
    return up * down


def build_monitoring(s: MineSim) -> None:
    """Draw values, then derive everything a monitoring system records from them."""
    rng, L, mp = s.rng, s.L, s.p.monitoring
    T = s.T
    analog = [i for i, pt in enumerate(L.points) if pt.value_type == "MN"]
    row_of = {pi: r for r, pi in enumerate(analog)}
    A = len(analog)
    gas_i = GAS_INDEX[s.spec.gas_class]
    # gas follows output with a lag of tens of minutes (RuleKit: methane rises with the production flag)
    a = 1 / 25.0
    Imin = ar1(np.repeat(np.clip(s.intensity, 0, 1.6), 15, axis=1), 1 - a, a)
    tot = s.tonnes.sum(axis=0)
    tot = tot / max(tot.mean() * 1.5, 1e-9)
    Tmin = ar1(np.repeat(np.clip(tot, 0, 2), 15), 1 - a, a)
    face_B = rng.uniform(*mp.ch4_base[gas_i], s.F)
    face_C = rng.uniform(*mp.ch4_coupling[gas_i], s.F)
    # ventilation is sized so that the upper corner (x1.15) at brisk output (x1.3) stays under the alarm:
    # genuine exceedances come from gas events; shrinking both keeps the face's coupling ratio
    shrink = np.minimum(1.0, mp.ch4_face_peak / ((face_B + face_C * 1.3) * 1.15))
    face_B, face_C = face_B * shrink, face_C * shrink
    day_of = np.arange(T) // 1440
    V = np.zeros((A, T), dtype=np.float32)  # float32 halves memory traffic; outputs are rounded in float64
    exact = np.zeros(A, dtype=bool)  # rows drawn as exact readings already (no hold, no quantising noise)
    day_cycle = np.sin(2 * np.pi * (np.arange(T) % 1440) / 1440.0)
    hours = s.D * 24
    for r, pi in enumerate(analog):
        pt = L.points[pi]
        f = pt.face
        k = pt.kind
        if k.startswith("ch4_") and k not in ("ch4_ret", "ch4_in", "ch4_ref"):
            m = {"ch4_t0": 1.15, "ch4_t1": 1.0, "ch4_t2": 0.9, "ch4_h1": 1.0, "ch4_h2": 0.85}[k]
            base = face_B[f] * m * rng.uniform(0.9, 1.1)
            v = base + face_C[f] * m * Imin[f] + _slow(rng, hours, 0.02 + 0.05 * base)
            v += _noise(rng, T, mp.ch4_noise * (0.5 + base))
        elif k == "ch4_ret":
            base = float(np.mean(face_B)) * 0.5
            v = base + float(np.mean(face_C)) * 0.35 * Tmin + _slow(rng, hours, 0.015) + _noise(rng, T, mp.ch4_noise * 0.6)
            if gas_i == 0:
                # a low-gas mine's total return moves less than the sensor resolves on many days (webGas)
                flat = rng.random(s.D) < mp.ret_flat_day_share
                day_level = np.round(v.reshape(s.D, 1440).mean(axis=1), 2)
                v = np.where(flat[day_of], day_level[day_of], v)
        elif k in ("ch4_in", "ch4_ref", "co_in", "co_ref"):
            v = np.zeros(T)  # fresh air and refuge chambers read exactly zero for days
            exact[r] = True
            level = 0.01 if k.startswith("ch4") else 1.0
            for t in rng.integers(0, T, rng.poisson(s.D / 10.0)):
                v[t:t + int(rng.integers(1, 30))] = level
            if k.startswith("ch4"):
                # on some days a trace of methane reaches the point (webGas: intake and refuge points at 0.04-0.05)
                trace = rng.random(s.D) < mp.fresh_air_ch4_day_share
                if trace.any():
                    drift = np.clip(rng.uniform(0.01, 0.05, s.D)[day_of] + _slow(rng, hours, 0.01), 0, None)
                    v = np.where(trace[day_of], drift, v)
                    exact[r] = False
        elif k == "co_face":
            v = rng.uniform(0, 3) + 2.0 * Imin[f] + _slow(rng, hours, 0.4) + _noise(rng, T, 0.25)
        elif k in ("co_ret", "co_belt") and (gas_i == 0 or k == "co_belt"):
            # away from a face CO reads 0 ppm for whole days, a ppm or few only while coal is cut (webGas)
            quiet = rng.random(s.D) < mp.co_quiet_day_share
            level = np.where(quiet, 0, rng.integers(mp.co_active_ppm[0], mp.co_active_ppm[1] + 1, s.D))
            v = level[day_of] * (Tmin > 0.5)
            exact[r] = True
        elif k == "co_ret":
            v = rng.uniform(1, 4) + 1.5 * Tmin + _slow(rng, hours, 0.4) + _noise(rng, T, 0.25)
        elif k.startswith("wind"):
            base = rng.uniform(1.2, 3.5) if k == "wind_face" else rng.uniform(4.0, 8.0)
            v = base + _slow(rng, hours, 0.08) + _noise(rng, T, 0.03)
        else:  # temperature
            base = rng.uniform(18, 27) if k == "temp_face" else rng.uniform(20, 28)
            drive = Imin[f] if f >= 0 else Tmin
            v = base + 1.2 * drive + 0.3 * day_cycle + _slow(rng, hours, 0.15) + _noise(rng, T, 0.02)
        V[r] = v

    # planted gas episodes
    def add_bump(pi: int, t0: int, peak_level: float, rise: int, hold: int, tau: float, share: float = 1.0) -> None:
        r = row_of[pi]
        n = min(T - t0, rise + hold + int(6 * tau))
        if n <= 0:
            return
        add = max(0.0, peak_level - V[r, t0]) * share
        V[r, t0:t0 + n] += add * _bump(n, rise, hold, tau)

    for ev in s.events:
        f = L.faces[ev.face]
        add_bump(ev.point, ev.t0, ev.peak, ev.rise, ev.hold, ev.tau)
        src = L.points[ev.point].kind
        for other in s.points_of(ev.face, ("ch4_t0", "ch4_t1", "ch4_t2", "ch4_h1", "ch4_h2")):
            if other == ev.point:
                continue
            share = 0.6 if L.points[other].kind in ("ch4_t2", "ch4_h2") else 0.45
            if f.type == "longwall" and src == "ch4_t1" and L.points[other].kind == "ch4_t0":
                share = 0.7
            add_bump(other, ev.t0 + 1, ev.peak * 0.85, ev.rise, ev.hold, ev.tau, share)
    for acc in s.accidents:
        t0 = acc.t // 60 - int(rng.integers(1, 9))
        if acc.spike == "ch4":
            pts = s.points_of(acc.face, ("ch4_t1", "ch4_h1"))
            if pts:
                add_bump(pts[0], max(0, t0), float(rng.uniform(2.0, 3.8)), int(rng.integers(1, 3)),
                         int(rng.integers(2, 6)), float(rng.uniform(15, 40)))
        elif acc.spike == "co":
            pts = s.points_of(acc.face, ("co_face",)) or [i for i, p in enumerate(L.points) if p.kind == "co_ret"]
            add_bump(pts[0], max(0, t0), float(rng.uniform(60, 400)), int(rng.integers(2, 6)), int(rng.integers(10, 31)),
                     float(rng.uniform(60, 180)))

    calib = np.zeros((A, T), dtype=bool)
    fault = np.zeros((A, T), dtype=bool)
    absent = np.zeros((A, T), dtype=bool)
    pause = np.zeros((A, T), dtype=bool)
    if s.tamper:
        pi, ta, tb, variant = s.tamper
        r = row_of[pi]
        tb = min(tb, T)
        if variant == "flatline":
            V[r, ta:tb] = round(float(rng.uniform(0.0, 0.06)), 2)
        elif variant == "capped":
            cap = L.points[pi].alarm_high - float(rng.uniform(0.03, 0.12))
            V[r, ta:tb] = np.minimum(V[r, ta:tb], cap)
        else:
            # paused whenever the gas nears the alarm; the screen keeps the last value shown before
            seg = V[r, ta:tb]
            hi = seg > L.points[pi].alarm_high - PAUSE_BELOW_ALARM
            for a0, b0 in _runs(hi):
                seg[a0:b0] = seg[a0 - 1] if a0 > 0 else L.points[pi].alarm_high - PAUSE_BELOW_ALARM
            pause[r, ta:tb] = hi
    for pi, tc, dur in s.calibrations:
        r = row_of[pi]
        V[r, tc - 1] = rng.uniform(0.6, 1.2)
        V[r, tc:tc + dur] = 2.0 + rng.normal(0, 0.015, dur)
        V[r, tc + dur] = rng.uniform(0.4, 0.9)
        calib[r, tc - 1:tc + dur + 1] = True
    pause &= ~calib  # a calibration shows as a calibration, even inside a paused stretch
    for pi, fa, fb, mode in s.faults:
        r = row_of[pi]
        if mode == "absent":
            absent[r, fa:fb] = True
        else:
            fault[r, fa:fb] = True
            V[r, fa:fb] = 0.0
    # a sensor holds its reading until the gas moves `report_deadband` quanta away from it: a play operator
    # of half-width (deadband - 1/2) quanta followed by rounding changes the reading exactly then
    quanta = np.array([QUANTUM.get(L.points[pi].sensor_type, 0.01) for pi in analog])
    width = np.maximum(0.0, mp.report_deadband - 0.5 - 1e-3) * quanta
    held = ~exact & (width > 0)
    if held.any():
        V[held] = deadband(V[held], width[held])
    for r, pi in enumerate(analog):
        pt = L.points[pi]
        q = quanta[r]
        V[r] = np.clip(np.round(V[r] / q) * q, pt.range_low or 0.0, pt.range_high or 1e9)
        if pt.kind in FLAT_KINDS:
            V[r] = np.clip(V[r], 0, None)

    alarms: list[dict] = []
    sw_point: list[int] = []
    sw_sec: list[int] = []
    sw_state: list[int] = []
    relay_iv: dict[int, list[tuple[int, int]]] = {}
    feed_iv: dict[int, list[tuple[int, int]]] = {}
    alarm_mask = np.zeros((A, T), dtype=bool)
    cut_mask = np.zeros((A, T), dtype=bool)
    s.evacuations = []  # (face, second the alarm/cut began, second power came back)
    handling = [pl for pl in s.plans("alarm_falsification")]

    def handling_at(minute: int) -> str:
        for pl in handling:
            if pl.mechanism in ("fake_power_cut", "fake_evacuation", "fake_clearing") and \
                    pl.start_day * 1440 <= minute < pl.end_day * 1440:
                return pl.mechanism
        return "genuine"

    def stats(r: int, a: int, b: int) -> tuple[float, int, float, int, float]:
        # an event that starts and ends within one minute still has that minute's reading
        a = min(a, V.shape[1] - 1)
        b = max(b, a + 1)
        seg = V[r, a:b]
        i_max, i_min = int(np.argmax(seg)), int(np.argmin(seg))
        return (round(float(seg[i_max]), 3), (a + i_max) * 60 + int(rng.integers(0, 60)), round(float(seg[i_min]), 3),
                (a + i_min) * 60 + int(rng.integers(0, 60)), round(float(seg.mean()), 3))

    def add_alarm(pi: int, typ: str, start_s: int, end_s: int | None, st: tuple, text: tuple[str, str],
                  delay_min: float | None = None) -> None:
        entered = None
        if end_s is not None:
            d = delay_min if delay_min is not None else rng.uniform(*mp.entry_delay_min)
            entered = end_s + int(d * 60)
        hi = end_s if end_s is not None else T * 60 - 1

        def inside(x: int) -> int:
            return int(min(max(x, start_s), hi))

        alarms.append(dict(point=pi, type=typ, started=start_s, ended=end_s, max=st[0], max_at=inside(st[1]), min=st[2],
                           min_at=inside(st[3]), avg=st[4], cause=text[0], measure=text[1], entered=entered,
                           by=s.officer(end_s if end_s is not None else start_s) if entered is not None else None))

    variants = {pl.mechanism: pl.opts.get("variant") for pl in handling}
    for r, pi in enumerate(analog):
        pt = L.points[pi]
        if pt.alarm_high is None:
            continue
        valid = ~calib[r] & ~fault[r] & ~absent[r] & ~pause[r]
        for a0, b0 in _runs((V[r] >= pt.alarm_high - EPS) & valid, gap=2):
            alarm_mask[r, a0:b0] = True
            how = handling_at(a0) if pt.face >= 0 else "genuine"
            start_s = a0 * 60 + int(rng.integers(0, 60))
            end_s = b0 * 60 + int(rng.integers(0, 60)) if b0 < T else None
            b_stat = b0
            text = s.cause_measure("exceed")
            delay = None
            if how == "fake_clearing":
                early = a0 + int(rng.integers(2, 9))
                if early < b0:
                    end_s, b_stat = early * 60 + int(rng.integers(0, 60)), early
                text = (names.COPY_CAUSE, names.COPY_MEASURE)
                delay = rng.uniform(1, 3) * 1440
            if pt.kind.startswith("co"):
                text = ("一氧化碳浓度升高", "查明原因，加强通风，浓度正常后恢复")
            add_alarm(pi, "001", start_s, end_s, stats(r, a0, b_stat), text, delay)
        if pt.cutoff_high is None or pt.relay < 0:
            continue
        above = V[r] >= pt.cutoff_high - EPS
        below = np.flatnonzero((V[r] < pt.restore_high - EPS) | fault[r] | absent[r])
        edges = np.flatnonzero(np.diff(above.astype(np.int8), prepend=0) == 1)
        last_end = -1
        for a0 in edges.tolist():
            if a0 < last_end:
                continue
            j = np.searchsorted(below, a0)
            b0 = int(below[j]) if j < len(below) else T
            last_end = b0
            is_cal = bool(calib[r, a0])
            cut_mask[r, a0:b0] = True
            how = "genuine" if is_cal else handling_at(a0)
            cross = a0 * 60 + int(rng.integers(0, 58))
            if is_cal:
                back = b0 * 60 + int(rng.integers(30, 180))
            else:
                back = b0 * 60 + int(rng.uniform(*mp.restore_delay_min) * 60)
            back = back if back < T * 60 else None
            relay_on = how != "fake_power_cut" or variants.get("fake_power_cut") != "no_relay"
            feed_on = how != "fake_power_cut"
            if relay_on:
                relay_iv.setdefault(pt.relay, []).append((cross + int(rng.integers(1, 3)), back if back else T * 60 + 1))
            if feed_on and pt.feed >= 0:
                relay_iv_end = back + int(rng.integers(1, 6)) if back else T * 60 + 1
                feed_iv.setdefault(pt.feed, []).append((cross + int(rng.integers(3, 7)), relay_iv_end))
            if not is_cal and relay_on:
                add_alarm(pi, "002", cross, back, stats(r, a0, b0), ("甲烷超限断电", "断电撤人，瓦斯浓度降至复电值后复电"))
            if not is_cal and how == "fake_power_cut" and relay_on and rng.random() < 0.3:
                add_alarm(pt.feed, "003", cross + 5, back, (1.0, cross + 5, 1.0, cross + 5, 1.0), ("馈电状态异常", "已处理"))
            if not is_cal and pt.face >= 0 and how in ("genuine", "fake_clearing"):
                s.evacuations.append((pt.face, cross, back if back else T * 60))
    # calibrations, faults
    for pi, tc, dur in s.calibrations:
        r = row_of[pi]
        a0, b0 = tc - 1, tc + dur + 1
        add_alarm(pi, "007", a0 * 60 + int(rng.integers(0, 60)), b0 * 60 + int(rng.integers(0, 60)), stats(r, a0, b0),
                  s.cause_measure("calibration"), rng.uniform(3, 60))
    for pi, fa, fb, mode in s.faults:
        r = row_of[pi]
        end_s = fb * 60 + int(rng.integers(0, 60)) if fb < T else None
        st = (0.0, fa * 60, 0.0, fa * 60, 0.0)
        add_alarm(pi, "006" if mode == "absent" else "004", fa * 60 + int(rng.integers(0, 60)), end_s, st,
                  s.cause_measure("fault"))

    # heading feed sensors: power off around shift changes (log-normal minutes), relay untouched
    for fi, f in enumerate(L.faces):
        if f.type != "heading":
            continue
        feed = s.points_of(fi, ("feed",))[0]
        active_day = s.intensity[fi].reshape(s.D, 96).sum(axis=1) > 0
        for d in np.flatnonzero(active_day).tolist():
            for h in L.shift_hours:
                if rng.random() < mp.heading_feed_off_prob:
                    a0 = (d * 1440 + h * 60 - int(rng.integers(0, 20))) * 60 + int(rng.integers(0, 60))
                    minutes = rng.lognormal(np.log(mp.heading_feed_off_median_min), mp.heading_feed_off_sigma)
                    dur = max(1, int(np.clip(minutes, *mp.heading_feed_off_clip_min) * 60))
                    if a0 > 0:
                        feed_iv.setdefault(feed, []).append((a0, min(a0 + dur, T * 60 + 1)))
    for pi, ivs in list(relay_iv.items()) + list(feed_iv.items()):
        for a0, b0 in _merge(ivs):
            sw_point.append(pi)
            sw_sec.append(a0)
            sw_state.append(0)
            if b0 < T * 60:
                sw_point.append(pi)
                sw_sec.append(b0)
                sw_state.append(1)
    # equipment on/off follows face activity; the main belt runs while any coal flows
    for pi, pt in enumerate(L.points):
        if pt.kind in ("onoff", "onoff_belt"):
            # the shearer or heading machine runs in a quarter-hour when it cuts a tenth of its rate or more
            run = (s.intensity[pt.face] > 0.1) if pt.kind == "onoff" else (s.tonnes.sum(axis=0) > 0.01)
            ch = np.flatnonzero(np.diff(run.astype(np.int8)) != 0) + 1
            for q in ch.tolist():
                sw_point.append(pi)
                sw_sec.append(q * 900 + int(rng.integers(0, 900)))
                sw_state.append(int(run[q]))
    fans = [i for i, pt in enumerate(L.points) if pt.kind in ("fan_main", "fan_standby")]
    s.fan_switch = []  # (second the standby fan took over, second the main fan came back)
    for m0 in range(0, s.D, 30):
        d = m0 + int(rng.integers(0, min(30, s.D - m0)))
        t = d * DAY + int(rng.integers(9 * 3600, 11 * 3600))
        t2 = t + int(rng.uniform(2, 6) * 3600)
        gap = int(rng.integers(20, 61))
        if t2 + gap >= T * 60:
            continue
        s.fan_switch.append((t + gap, t2))
        for pi_, sec, st in ((fans[0], t, 0), (fans[1], t + gap, 1), (fans[1], t2, 0), (fans[0], t2 + gap, 1)):
            sw_point.append(pi_)
            sw_sec.append(sec)
            sw_state.append(st)
    s.switch = (np.array(sw_point, dtype=np.int64), np.array(sw_sec, dtype=np.int64), np.array(sw_state, dtype=np.int64))
    s.alarms = alarms
    s.n_alarms = len(alarms)

    # period statistics: max/min and where they occurred, by a pass over the k minutes of each period
    k = mp.period_minutes
    nper = T // k
    Vr = V.reshape(A, nper, k)
    vmax, vmin = Vr[..., 0].copy(), Vr[..., 0].copy()
    i_max = np.zeros((A, nper), dtype=np.int64)
    i_min = np.zeros((A, nper), dtype=np.int64)
    total = Vr[..., 0].astype(np.float64)
    for j in range(1, k):
        col = Vr[..., j]
        up_ = col > vmax
        vmax = np.where(up_, col, vmax)
        i_max[up_] = j
        dn = col < vmin
        vmin = np.where(dn, col, vmin)
        i_min[dn] = j
        total += col
    dec = np.array([DECIMALS.get(L.points[pi].sensor_type, 2) for pi in analog])[:, None]
    scale = 10.0**dec
    avg = np.round(total / k * scale) / scale
    vmax = np.round(vmax.astype(np.float64) * scale) / scale
    vmin = np.round(vmin.astype(np.float64) * scale) / scale

    def any_k(mask: np.ndarray) -> np.ndarray:
        return mask.reshape(A, nper, k).any(axis=2)

    status = (any_k(alarm_mask) * 1 + any_k(cut_mask) * 2 + any_k(calib) * 4 + any_k(pause) * 64 + any_k(fault) * 128)
    keep = ~any_k(absent)
    rows, per = np.nonzero(keep)
    jitter = rng.integers(0, 60, (2, len(rows)))
    s.stats = dict(
        point=np.asarray(analog, dtype=np.int64)[rows],
        start=per.astype(np.int64) * k * 60,
        end=(per.astype(np.int64) + 1) * k * 60,
        avg=avg[rows, per],
        max=vmax[rows, per],
        max_at=per.astype(np.int64) * k * 60 + i_max[rows, per] * 60 + jitter[0],
        min=vmin[rows, per],
        min_at=per.astype(np.int64) * k * 60 + i_min[rows, per] * 60 + jitter[1],
        status=status[rows, per].astype(np.int64),
    )


DAY = 86400
