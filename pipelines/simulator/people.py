"""Personnel positioning: who goes down when, the chain of areas on each trip, and the roster over time."""

from __future__ import annotations

import numpy as np

from pipelines.simulator.mine import DAY_S, MineSim

K = 14  # columns of stays per trip (9 for three workplaces, plus room for evacuations)


def _roles(s: MineSim) -> np.ndarray:
    return np.array([s.L.teams[t].role for t in s.L.people["team_idx"]])


def _register_mechanism_crews(s: MineSim) -> None:
    """Put the crews of hidden faces and over-manning on the roster for their windows."""
    rng, P = s.rng, s.L.people
    for t in s.L.teams:
        if t.role == "outsourced":
            pl = s.plans("hidden_workface")[0]
        elif t.role == "extra":
            pl = s.spec.active("over_manning")
        else:
            continue
        reg = int(np.floor(pl.start_day)) - rng.integers(0, 4, len(t.members))
        P["registered"][t.members] = np.where(reg < 0, reg - 30, reg)
        dereg = int(np.ceil(pl.end_day)) + rng.integers(1, 11, len(t.members))
        P["deregistered"][t.members] = np.where(dereg < s.D, dereg, -1)


def build_people(s: MineSim) -> None:
    """Trips and stays of every card, with evacuations, accidents and the planted mechanisms."""
    rng, L, pp = s.rng, s.L, s.p.people
    P = L.people
    _register_mechanism_crews(s)
    roles = _roles(s)
    M, D, nsh = len(roles), s.D, s.n_shifts
    reg = P["registered"]
    dereg = np.where(P["deregistered"] < 0, 10**6, P["deregistered"])
    day = np.arange(D)[:, None]
    work = (rng.random((D, M)) < pp.work_prob) & (reg[None, :] <= day) & (day < dereg[None, :])
    # leave blocks (the look-alike of a hurt worker kept off work), drawn from a random stream of their own
    side = s.side_rng(102)
    on_leave = np.flatnonzero(side.random(M) < pp.leave_per_year * D / 365.0)
    starts = side.integers(-pp.leave_days[1], D, len(on_leave))
    lengths = side.integers(pp.leave_days[0], pp.leave_days[1] + 1, len(on_leave))
    for m, a, n in zip(on_leave.tolist(), starts.tolist(), lengths.tolist(), strict=True):
        work[max(0, a):max(0, a + n), m] = False
    allowed = {
        1: ("vent", "safety", "leader", "electro"),
        2: ("electro", "longwall", "vent", "safety", "leader", "transport"),
        3: ("vent", "safety", "leader"),
    }
    for code, keep in allowed.items():
        days_ = np.flatnonzero(s.mine_stop == code)
        if len(days_):
            block = ~np.isin(roles, keep)
            work[np.ix_(days_, np.flatnonzero(block))] = False
    # crews of mechanism teams work only inside their windows (the hidden crew on production shifts)
    hidden_plans = s.plans("hidden_workface")
    prod_shifts = [k for k in range(nsh) if k != L.maintenance_shift]
    hidden_shift = int(rng.choice(prod_shifts))
    for t in L.teams:
        if t.role in ("outsourced", "extra"):
            pl = hidden_plans[0] if t.role == "outsourced" else s.spec.active("over_manning")
            in_win = s.window_mask_days(pl) & (s.mine_stop == 0)
            work[np.ix_(~in_win, t.members)] = False
    # the crew of a face under an accident stop stays home
    for acc in s.accidents:
        team = next(i for i, t in enumerate(L.teams) if t.areas == [L.faces[acc.face].area] and t.role in ("longwall",
                                                                                                            "heading"))
        d0 = acc.t // DAY_S + 1
        rest = s.stop_min[acc.face, acc.t // 60:]
        d1 = min(D, d0 + int((rest.argmin() if not rest.all() else len(rest)) // 1440) + 1)
        work[d0:d1, L.teams[team].members] = False
    group = P["group"]
    shift = (group[None, :] - day // 7) % nsh
    for t in L.teams:
        if t.role == "outsourced":
            shift[:, t.members] = hidden_shift
    d_idx, m_idx = np.nonzero(work)
    sh = shift[d_idx, m_idx]
    N = len(d_idx)
    team_idx = P["team_idx"][m_idx]
    trip_role = roles[m_idx]
    shift_start = d_idx.astype(np.int64) * DAY_S + np.array(L.shift_hours)[sh] * 3600
    down = shift_start - (rng.uniform(*pp.arrive_before_min, N) * 60).astype(np.int64)
    leave = shift_start + s.shift_len * 3600 + (rng.uniform(*pp.leave_after_min, N) * 60).astype(np.int64)
    double = (rng.random(N) < pp.double_shift_prob) & np.isin(trip_role, ("longwall", "heading", "electro"))
    ds = s.spec.active("double_shift")
    if ds:
        in_win = (d_idx + 1 > ds.start_day) & (d_idx < ds.end_day) & np.isin(trip_role, ("longwall", "electro"))
        double |= in_win & (rng.random(N) < 0.15)
        s.decoy(ds, f"{int((double & in_win).sum())} legitimate double shifts by face and electrical crews")
    leave = leave + double * s.shift_len * 3600

    shaft = L.area_of_role("shaft")[0]
    roads = np.array(L.area_of_role("roadway"))
    restricted = set(L.area_of_role("restricted"))
    nw = np.ones(N, dtype=np.int64)
    W = np.full((N, 3), -1, dtype=np.int64)
    wt = rng.uniform(0.5, 1.5, (N, 3))
    shaft_only = np.zeros(N, dtype=bool)
    for ti, t in enumerate(L.teams):
        rows = np.flatnonzero(team_idx == ti)
        if len(rows) == 0:
            continue
        areas = np.array(t.areas)
        if t.role in ("longwall", "heading", "outsourced"):
            W[rows, 0] = areas[0]
        elif t.role == "extra":
            W[rows, 0] = areas[rng.integers(0, len(areas), len(rows))]
        else:
            nw[rows] = rng.integers(1, t.max_work_areas + 1, len(rows))
            first = np.array([a for a in areas if a not in restricted])
            W[rows, 0] = first[rng.integers(0, len(first), len(rows))]
            W[rows, 1:] = areas[rng.integers(0, len(areas), (len(rows), 2))]
        if t.role == "outsourced" and hidden_plans[0].mechanism == "cards_left_at_shaft":
            shaft_only[rows] = True
    wt = np.where(np.isin(W, list(restricted)) & (np.arange(3)[None, :] > 0), wt * 0.05, wt)
    wt = np.where(np.arange(3)[None, :] < nw[:, None], wt, 0.0)
    s_in = (rng.uniform(*pp.shaft_stay_min, N) * 60).astype(np.int64)
    s_out = (rng.uniform(*pp.shaft_stay_min, N) * 60).astype(np.int64)
    r_in = (L.travel_min * rng.uniform(0.8, 1.2, N) * 60).astype(np.int64)
    r_out = (L.travel_min * rng.uniform(0.8, 1.2, N) * 60).astype(np.int64)
    r_mid = (rng.uniform(3, 10, (N, 3)) * 60).astype(np.int64)
    work_total = np.maximum(leave - down - s_in - r_in - (r_mid[:, 0] * (nw > 1)) - (r_mid[:, 1] * (nw > 2)), 1800)
    wdur = (work_total[:, None] * wt / wt.sum(axis=1, keepdims=True)).astype(np.int64)

    area = np.full((N, K), -1, dtype=np.int64)
    enter = np.zeros((N, K), dtype=np.int64)
    area[:, 0] = shaft
    enter[:, 0] = down
    area[:, 1] = roads[rng.integers(0, len(roads), N)]
    enter[:, 1] = down + s_in
    t = enter[:, 1] + r_in
    road_mid = roads[rng.integers(0, len(roads), (N, 3))]
    road_out = roads[rng.integers(0, len(roads), N)]
    for i in range(3):
        has = nw > i
        last = nw == i + 1
        col = 2 + 2 * i
        area[has, col] = W[has, i]
        enter[has, col] = t[has]
        t = t + np.where(has, wdur[:, i], 0)
        area[has, col + 1] = np.where(last, road_out, road_mid[:, i])[has]
        enter[has, col + 1] = t[has]
        t = t + np.where(has, np.where(last, r_out, r_mid[:, i]), 0)
    nst = 3 + 2 * nw
    area[np.arange(N), nst - 1] = shaft
    enter[np.arange(N), nst - 1] = t
    up = t + s_out
    # cards left at the shaft: the card sits in the 井口 area all shift while its holder works elsewhere
    if shaft_only.any():
        area[shaft_only, 1:] = -1
        nst[shaft_only] = 1
        up[shaft_only] = leave[shaft_only] + (rng.uniform(20, 45, int(shaft_only.sum())) * 60).astype(np.int64)

    # a card cannot be underground twice: drop a trip that starts before the card's previous one ended
    order = np.lexsort((down, m_idx))
    keep = np.ones(N, dtype=bool)
    prev_m, prev_up = -1, -1
    for i in order.tolist():
        if m_idx[i] == prev_m and down[i] < prev_up + 1800:
            keep[i] = False
            continue
        prev_m, prev_up = m_idx[i], up[i]
    keep &= down >= 0
    keep &= down < D * DAY_S
    sel = np.flatnonzero(keep)
    sel = sel[np.argsort(down[sel], kind="stable")]
    area, enter, nst, up, down, m_idx, trip_role = area[sel], enter[sel], nst[sel], up[sel], down[sel], m_idx[sel], \
        trip_role[sel]
    N = len(sel)
    dead = np.zeros(N, dtype=bool)  # trips removed afterwards (people who cannot come back)

    def left_of(i: int, j: int) -> int:
        return int(enter[i, j + 1]) if j + 1 < nst[i] else int(up[i])

    def at(face_area: int, sec: int) -> list[tuple[int, int]]:
        """(trip, column) of the stays in that area at that second."""
        lo, hi = np.searchsorted(down, sec - 20 * 3600), np.searchsorted(down, sec, side="right")
        sub_enter = enter[lo:hi]
        n_sub = nst[lo:hi][:, None]
        cols_ = np.arange(K)[None, :]
        left = np.empty_like(sub_enter)
        left[:, :-1] = sub_enter[:, 1:]
        left = np.where(cols_ == n_sub - 1, up[lo:hi][:, None], left)
        hit = (area[lo:hi] == face_area) & (sub_enter <= sec) & (sec < left) & (cols_ < n_sub) & ~dead[lo:hi, None]
        ii, jj = np.nonzero(hit)
        return list(zip((ii + lo).tolist(), jj.tolist(), strict=True))

    def cut_after(i: int, j: int, when: int, then: list[tuple[int, int]]) -> None:
        """End stay j at `when`, then follow `then` ([(area, duration)], ending at the shaft)."""
        col = j + 1
        tt = when
        for a, dur in then:
            area[i, col] = a
            enter[i, col] = tt
            tt += dur
            col += 1
        area[i, col:] = -1
        nst[i] = col
        up[i] = tt

    def insert(i: int, j: int, items: list[tuple[int, int]]) -> None:
        """Insert stays (area, entered) after column j."""
        n = len(items)
        if nst[i] + n > K:
            return
        area[i, j + 1 + n:nst[i] + n] = area[i, j + 1:nst[i]].copy()
        enter[i, j + 1 + n:nst[i] + n] = enter[i, j + 1:nst[i]].copy()
        for k, (a, e) in enumerate(items):
            area[i, j + 1 + k] = a
            enter[i, j + 1 + k] = e
        nst[i] += n

    def travel_out() -> list[tuple[int, int]]:
        return [(int(roads[rng.integers(len(roads))]), int(L.travel_min * rng.uniform(0.8, 1.2) * 60)),
                (shaft, int(rng.uniform(*pp.shaft_stay_min) * 60))]

    # genuine handling: people leave the face within minutes of the cut and come back after power returns
    for face, cross, back in s.evacuations:
        fa = L.faces[face].area
        for i, j in at(fa, cross):
            ev = cross + int(rng.uniform(1, 12) * 60)
            nxt = left_of(i, j)
            if ev >= nxt - 60:
                continue
            ret = back + int(rng.uniform(5, 30) * 60)
            items = [(int(roads[rng.integers(len(roads))]), ev)]
            if ret < nxt - 300:
                items.append((fa, ret))
            insert(i, j, items)

    # long breakdowns: the crew is often sent up mid-shift and comes back on a later shift (the look-alike of
    # a crew leaving after an accident), drawn from a random stream of their own
    side = s.side_rng(101)
    op = s.p.output
    for face, t_min, dur in s.breakdowns:
        if dur < op.breakdown_crew_out_min_hours * 60 or side.random() >= op.breakdown_crew_out_prob:
            continue
        sent = t_min * 60 + int(side.uniform(20, 90) * 60)
        for i, j in at(L.faces[face].area, sent):
            if trip_role[i] not in ("longwall", "heading", "electro", "outsourced", "extra"):
                continue
            out = [(int(roads[side.integers(len(roads))]), int(L.travel_min * side.uniform(0.8, 1.2) * 60)),
                   (shaft, int(side.uniform(*pp.shaft_stay_min) * 60))]
            cut_after(i, j, sent + int(side.uniform(0, 15) * 60), out)

    # accidents: victims vanish, come up a day later, or come up hurt mid-shift; the rest leave
    victims_all: list[int] = []
    for acc in s.accidents:
        fa = L.faces[acc.face].area
        here = at(fa, acc.t)
        here = [(i, j) for i, j in here if trip_role[i] in ("longwall", "heading", "electro", "outsourced", "extra")] or here
        if not here:
            continue
        lo_v, hi_v = s.p.anomalies.victims
        n_v = int(rng.integers(1, 3)) if acc.kind == "injury" else int(rng.integers(lo_v, hi_v + 1))
        pick = rng.permutation(len(here))[:n_v]
        vic = [here[k] for k in pick.tolist()]
        for i, j in here:
            if (i, j) in vic:
                continue
            cut_after(i, j, acc.t + int(rng.uniform(3, 20) * 60), travel_out())
        for i, j in vic:
            m = int(m_idx[i])
            acc.victims.append(m)
            if acc.kind == "vanished_cards":
                area[i, j + 1:] = -1
                nst[i] = j + 1
                up[i] = -1
            elif acc.kind == "late_surfacing":
                cut_after(i, j, acc.t + int(rng.uniform(20, 30) * 3600), travel_out())
            else:
                cut_after(i, j, acc.t + int(rng.uniform(10, 40) * 60), travel_out())
            # later trips of the victim: none if dead, none for weeks if hurt
            gone_until = 10**12 if acc.kind != "injury" else acc.t + int(rng.uniform(15, 40) * DAY_S)
            dead |= (m_idx == m) & (down > acc.t) & (down < gone_until)
            victims_all.append(m)
            if acc.kind != "injury" and (acc.reported or acc.plan.opts.get("deregister", True)):
                dd = acc.t // DAY_S + int(rng.integers(1, 7))
                if dd < D:
                    P["deregistered"][m] = dd
    live = ~dead
    area, enter, nst, up, down, m_idx = area[live], enter[live], nst[live], up[live], down[live], m_idx[live]
    N = len(down)

    # flatten into presence rows, merging consecutive stays in the same area
    cols = np.arange(K)[None, :]
    valid = cols < nst[:, None]
    same = np.zeros_like(valid)
    same[:, 1:] = (area[:, 1:] == area[:, :-1]) & valid[:, 1:]
    valid &= ~same
    ti, tj = np.nonzero(valid)
    p_area = area[ti, tj]
    p_enter = enter[ti, tj]
    nxt_same = np.zeros(len(ti), dtype=bool)
    nxt_same[:-1] = ti[1:] == ti[:-1]
    p_left = np.where(nxt_same, np.roll(p_enter, -1), up[ti])
    end = D * DAY_S
    keep = p_enter < end
    ti, p_area, p_enter, p_left = ti[keep], p_area[keep], p_enter[keep], p_left[keep]
    p_left = np.where((p_left > end) | (p_left < 0), -1, p_left)
    trip_up = np.where((up > end) | (up < 0), -1, up)
    # the station where the card entered the area
    st_area = np.array([st[2] for st in L.stations])
    order = np.argsort(st_area, kind="stable")
    counts = np.bincount(st_area, minlength=len(L.areas))
    offs = np.concatenate([[0], np.cumsum(counts)[:-1]])
    p_station = order[offs[p_area] + (rng.random(len(p_area)) * counts[p_area]).astype(np.int64)]
    s.trips = dict(member=m_idx, down=down, up=trip_up)
    s.presence = dict(member=m_idx[ti], area=p_area, station=p_station, entered=p_enter, left=p_left)
    s.people_moves = np.bincount(np.concatenate([down // 900, trip_up[trip_up >= 0] // 900]), minlength=s.Q + 200)[:s.Q]

    # truth rows for people-side mechanisms
    cards = P["card_code"]
    for t in L.teams:
        if t.role == "outsourced":
            pl = hidden_plans[0]
            hf = next(f for f in L.faces if f.type == "hidden")
            for hp in hidden_plans:
                s.anomaly(hp, f"hidden face {hf.code} in area {L.areas[hf.area].code} ({L.areas[hf.area].name}); "
                              f"crew cards {'|'.join(cards[t.members])}")
        elif t.role == "extra":
            s.anomaly(s.spec.active("over_manning"), f"{len(t.members)} extra cards ({t.name}) on longwalls; "
                                                     f"cards {'|'.join(cards[t.members])}")
    for acc in s.accidents:
        if acc.reported:
            s.decoy(acc.plan, f"reported accident {acc.accident_id} at face {L.faces[acc.face].code} ({acc.kind}), "
                              f"cards {'|'.join(cards[acc.victims])}")
        else:
            s.anomaly(acc.plan, f"accident {acc.accident_id} at face {L.faces[acc.face].code}; cards "
                                f"{'|'.join(cards[acc.victims])}; spike {acc.spike}")
