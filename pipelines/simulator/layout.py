"""One mine's declared layout: areas, stations, faces, monitoring points, meters, teams and the roster."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pipelines.simulator import names
from pipelines.simulator.plan import MineSpec


@dataclass
class Area:
    code: str
    name: str
    type: str
    role: str  # shaft, roadway, return, substation, pump, refuge, face, restricted
    limit: int | None
    xyz: tuple[float, float, float]
    face: int = -1


@dataclass
class Face:
    code: str
    name: str
    type: str  # longwall, heading, hidden
    area: int
    share: float  # share of the mine's planned output
    declared_from: int  # days relative to the simulation start (negative = before)
    declared_to: int | None = None


@dataclass
class Point:
    code: str
    sensor_type: str
    value_type: str
    unit: str
    kind: str  # model of the values, e.g. ch4_t0, co_face, wind, relay, feed, onoff, fan, belt
    location: str
    area: int
    face: int = -1
    range_low: float | None = None
    range_high: float | None = None
    alarm_high: float | None = None
    alarm_clear_high: float | None = None
    cutoff_high: float | None = None
    restore_high: float | None = None
    xyz: tuple[float, float, float] = (0.0, 0.0, 0.0)
    relay: int = -1  # index of the 1009 point this analog point cuts
    feed: int = -1  # index of the 1011 point that confirms the cut


@dataclass
class Meter:
    code: str
    circuit: str
    face: int = -1  # index of the face it feeds


@dataclass
class Team:
    role: str
    name: str
    crew: int  # people per shift
    areas: list[int]
    max_work_areas: int
    members: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


@dataclass
class Layout:
    areas: list[Area]
    stations: list[tuple[str, str, int, float, float, float]]  # code, name, area index, x, y, z
    faces: list[Face]
    points: list[Point]
    meters: list[Meter]
    teams: list[Team]
    people: dict[str, np.ndarray]  # card_code, name, job, team, is_leader, is_special, registered, deregistered, team_idx
    officers: list[str]  # duty officers who enter alarm handling
    shift_hours: tuple[int, ...]
    maintenance_shift: int
    travel_min: float

    def area_of_role(self, role: str) -> list[int]:
        """Indices of the areas with this role."""
        return [i for i, a in enumerate(self.areas) if a.role == role]


def _person_name(rng: np.random.Generator) -> str:
    n = 1 if rng.random() < 0.35 else 2
    return names.SURNAMES[int(rng.integers(len(names.SURNAMES)))] + "".join(
        names.GIVEN[int(rng.integers(len(names.GIVEN)))] for _ in range(n)
    )


def build_layout(spec: MineSpec, rng: np.random.Generator, days: int, p) -> Layout:
    """Draw the mine's areas, stations, faces, points, meters and roster."""
    code = spec.mine_code
    base_x, base_y = float(rng.uniform(3.74e7, 3.96e7)), float(rng.uniform(3.9e6, 4.3e6))
    surface_z = float(rng.uniform(800, 1400))
    depth = float(rng.uniform(150, 700))
    areas: list[Area] = []

    def add_area(name: str, typ: str, role: str, x: float, y: float, limit: int | None = None, face: int = -1) -> int:
        z = surface_z - (0 if role == "shaft" else depth + rng.uniform(-40, 40))
        areas.append(Area(f"{code}{len(areas) + 1:04d}", name, typ, role, limit, (base_x + x, base_y + y, round(z, 1)), face))
        return len(areas) - 1

    add_area(names.SHAFT_AREAS[0], "井口区域", "shaft", 0, 0)
    for j, name in enumerate(names.ROADWAY_AREAS):
        add_area(name, "其它区域", "roadway", 150 + 600 * j, rng.uniform(-80, 80))
    for name, role in names.SERVICE_AREAS:
        add_area(name, "其它区域", role, rng.uniform(100, 1500), rng.uniform(-300, 300))

    seam = int(rng.choice([2, 3, 4, 5, 8, 9, 11, 15]))
    faces: list[Face] = []
    p_out = p.output
    heading_share = p_out.heading_share
    lw_total = max(0.4, 1.0 - heading_share * spec.n_headings)
    lw_shares = rng.dirichlet(np.full(spec.n_longwalls, 4.0)) * lw_total
    panel = 1
    for i in range(spec.n_longwalls):
        fc = f"{seam}{1 + i // 2}{panel:02d}"
        panel += 1
        faces.append(Face(fc, f"{fc}综采工作面", "longwall", -1, float(lw_shares[i]), -int(rng.integers(30, 500))))
    for _ in range(spec.n_headings):
        fc = f"{seam}{1 + panel // 3}{panel:02d}"
        panel += 1
        road = str(rng.choice(["运输顺槽", "回风顺槽", "切眼", "开拓巷道"]))
        faces.append(Face(fc, f"{fc}{road}掘进工作面", "heading", -1, heading_share, -int(rng.integers(10, 200))))
    people_p = p.people
    crew_total = spec.approved_headcount * rng.uniform(*people_p.crew_share_of_approved)
    lw_crew = max(6, int(round(crew_total * 0.42 / max(1, spec.n_longwalls))))
    hd_crew = max(4, int(round(crew_total * 0.18 / max(1, spec.n_headings))))
    for i, f in enumerate(faces):
        crew = lw_crew if f.type == "longwall" else hd_crew
        limit = int(np.ceil(crew * people_p.area_limit_factor)) + 5
        f.area = add_area(f.name, "重点区域", "face", rng.uniform(800, 4000), rng.uniform(-2500, 2500), limit, i)
    n_restricted = int(rng.integers(1, 4))
    for name in list(rng.choice(names.RESTRICTED_AREAS, n_restricted, replace=False)):
        add_area(str(name), "限制区域", "restricted", rng.uniform(500, 3500), rng.uniform(-2500, 2500), 5)
    # an undeclared face, when a hidden_workface mechanism is planted: never in `workfaces`
    hidden = [pl for pl in spec.plans if pl.family == "hidden_workface"]
    if hidden:
        share = float(rng.uniform(*p.anomalies.hidden_face_share))
        mech = hidden[0].mechanism
        restricted = [i for i, a in enumerate(areas) if a.role == "restricted"]
        area = restricted[0] if mech != "power_misbooked" else faces[0].area
        fc = f"{seam}{3 + panel // 3}{panel:02d}"
        faces.append(Face(fc, f"{fc}工作面", "hidden", area, share, 0))

    stations: list[tuple[str, str, int, float, float, float]] = []
    for ai, a in enumerate(areas):
        n_st = 1 if a.role in ("shaft", "refuge", "substation", "pump") else int(rng.integers(1, 4))
        for s in range(n_st):
            x = a.xyz[0] + rng.uniform(-120, 120) * (s > 0)
            y = a.xyz[1] + rng.uniform(-120, 120) * (s > 0)
            stations.append((f"{a.code}{s + 1:06d}", f"{a.name}{s + 1}号基站", ai, round(x, 1), round(y, 1), a.xyz[2]))

    # monitoring points; thresholds per AQ 1029
    points: list[Point] = []
    seq: dict[str, int] = {}

    def add_point(stype: str, kind: str, location: str, area: int, face: int = -1, **kw) -> int:
        vt = "KG" if stype.startswith("10") else ("LJ" if stype == "3001" else "MN")
        seq[stype] = seq.get(stype, 0) + 1
        st = [s for s in stations if s[2] == area]
        s = st[int(rng.integers(len(st)))]
        xyz = (round(s[3] + rng.normal(0, 15), 1), round(s[4] + rng.normal(0, 15), 1), round(s[5] + rng.normal(0, 2), 1))
        unit = names_unit(stype)
        points.append(Point(f"{code}{vt}{stype}{seq[stype]:03d}", stype, vt, unit, kind, location, area, face, xyz=xyz, **kw))
        return len(points) - 1

    ch4_face = dict(range_low=0.0, range_high=4.0, alarm_high=1.0, alarm_clear_high=1.0, cutoff_high=1.5, restore_high=1.0)
    ch4_return = dict(range_low=0.0, range_high=4.0, alarm_high=1.0, alarm_clear_high=1.0, cutoff_high=1.0, restore_high=1.0)
    co = dict(range_low=0.0, range_high=500.0, alarm_high=24.0, alarm_clear_high=24.0)
    for fi, f in enumerate(faces):
        if f.type == "hidden":
            continue
        ar = f.area
        relay = add_point("1009", "relay", f"{f.name}断电器", ar, fi)
        feed = add_point("1011", "feed", f"{f.name}馈电传感器", ar, fi)
        if f.type == "longwall":
            for kind, loc, th in (("ch4_t0", "上隅角甲烷", ch4_face), ("ch4_t1", "工作面甲烷", ch4_face),
                                  ("ch4_t2", "回风巷甲烷", ch4_return)):
                add_point("0001", kind, f"{f.code}{loc}", ar, fi, relay=relay, feed=feed, **th)
            add_point("0004", "co_face", f"{f.code}回风巷一氧化碳", ar, fi, **co)
            add_point("0002", "wind_face", f"{f.code}回风巷风速", ar, fi, range_low=0.0, range_high=15.0)
            add_point("0003", "temp_face", f"{f.code}工作面温度", ar, fi, range_low=0.0, range_high=40.0, alarm_high=30.0,
                      alarm_clear_high=30.0)
            add_point("1004", "onoff", f"{f.code}采煤机开停", ar, fi)
        else:
            stype = "0043" if spec.gas_class == "outburst" else "0001"
            add_point(stype, "ch4_h1", f"{f.code}掘进工作面甲烷", ar, fi, relay=relay, feed=feed, **ch4_face)
            add_point("0001", "ch4_h2", f"{f.code}掘进回风甲烷", ar, fi, relay=relay, feed=feed, **ch4_return)
            if spec.gas_class != "low":
                add_point("0004", "co_face", f"{f.code}掘进回风一氧化碳", ar, fi, **co)
            add_point("1001", "localfan", f"{f.code}局部通风机", ar, fi)
            add_point("1004", "onoff", f"{f.code}掘进机开停", ar, fi)
    ret = next(i for i, a in enumerate(areas) if a.role == "return")
    roadways = [i for i, a in enumerate(areas) if a.role == "roadway"]
    refuge = next(i for i, a in enumerate(areas) if a.role == "refuge")
    sub = next(i for i, a in enumerate(areas) if a.role == "substation")
    total_ret = dict(range_low=0.0, range_high=4.0, alarm_high=0.75, alarm_clear_high=0.75)
    add_point("0001", "ch4_ret", "总回风巷甲烷", ret, **total_ret)
    add_point("0004", "co_ret", "总回风巷一氧化碳", ret, **co)
    add_point("0002", "wind_ret", "总回风巷风速", ret, range_low=0.0, range_high=15.0)
    intake = 0.5 if spec.gas_class != "low" else 1.0
    add_point("0001", "ch4_in", "进风大巷甲烷", roadways[1], range_low=0.0, range_high=4.0, alarm_high=intake,
              alarm_clear_high=intake)
    add_point("0004", "co_in", "进风大巷一氧化碳", roadways[1], **co)
    add_point("0001", "ch4_ref", "避难硐室甲烷", refuge, range_low=0.0, range_high=4.0, alarm_high=1.0, alarm_clear_high=1.0)
    add_point("0004", "co_ref", "避难硐室一氧化碳", refuge, **co)
    add_point("0004", "co_belt", "主运输大巷胶带机头一氧化碳", roadways[1], **co)
    add_point("0003", "temp_sub", "中央变电所温度", sub, range_low=0.0, range_high=40.0, alarm_high=34.0, alarm_clear_high=34.0)
    add_point("1010", "fan_main", "主通风机(1号)", ret)
    add_point("1010", "fan_standby", "主通风机(2号)", ret)
    add_point("1004", "onoff_belt", "主运输胶带机开停", roadways[1])
    n_belts = 2 if spec.capacity_tpy / 1e6 >= p.mines.belt_points_large_mt else 1
    for b in range(n_belts):
        add_point("3001", "belt", f"{'主斜井' if b == 0 else '副斜井'}胶带输送机皮带秤", roadways[1])

    meters = [Meter("E001", "hoist"), Meter("E002", "hoist"), Meter("E003", "ventilation"), Meter("E004", "ventilation"),
              Meter("E005", "drainage"), Meter("E006", "drainage"), Meter("E007", "transport"), Meter("E008", "other")]
    for fi, f in enumerate(faces):
        if f.type != "hidden":
            meters.append(Meter(f"E{len(meters) + 1:03d}", "face" if f.type == "longwall" else "heading", fi))

    # teams and roster
    face_areas = [f.area for f in faces if f.type != "hidden"]
    teams: list[Team] = []
    n_lw = 0
    n_hd = 0
    for f in faces:
        if f.type == "longwall":
            n_lw += 1
            teams.append(Team("longwall", names.TEAM_JOBS["longwall"][0].format(n=_cn(n_lw)), lw_crew, [f.area], 1))
        elif f.type == "heading":
            n_hd += 1
            teams.append(Team("heading", names.TEAM_JOBS["heading"][0].format(n=_cn(n_hd)), hd_crew, [f.area], 1))
    small = max(2, int(round(crew_total * 0.1)))
    pump = next(i for i, a in enumerate(areas) if a.role == "pump")
    teams.append(Team("electro", "机电队", small, face_areas + [sub, pump], 3))
    teams.append(Team("transport", "运输队", small, roadways, 2))
    teams.append(Team("vent", "通风队", max(2, small // 2), face_areas + [ret] + [i for i, a in enumerate(areas)
                                                                           if a.role == "restricted"], 3))
    teams.append(Team("safety", "安检科", max(2, small // 2), face_areas + [ret], 3))
    teams.append(Team("leader", "矿领导", 1, face_areas, 3))
    # crews that only exist while a mechanism runs: a hidden face's crew, and the surplus of over-manning
    if hidden:
        teams.append(Team("outsourced", "外包工程队", max(6, int(round(lw_crew * 0.7))), [faces[-1].area], 1))
    if spec.active("over_manning"):
        factor = float(rng.uniform(*p.anomalies.over_manning_factor))
        teams.append(Team("extra", "劳务派遣队", max(4, int(round(crew_total * (factor - 1.0)))),
                          [f.area for f in faces if f.type == "longwall"], 1))

    n_shifts = 4 if spec.four_shift else 3
    cols: dict[str, list] = {k: [] for k in ("name", "job", "team", "is_leader", "is_special", "registered", "deregistered",
                                             "team_idx", "group")}
    for ti, t in enumerate(teams):
        size = int(np.ceil(t.crew * n_shifts * p.people.roster_spare)) if t.role != "leader" else 6
        if t.role == "outsourced":
            size = t.crew + 2
        jobs = names.TEAM_JOBS["outsourced" if t.role == "extra" else t.role][1]
        job_names = [j for j, _ in jobs]
        weights = np.array([w for _, w in jobs], dtype=float)
        job_draw = rng.choice(len(job_names), size=size, p=weights / weights.sum())
        start_idx = len(cols["name"])
        for k in range(size):
            job = job_names[int(job_draw[k])]
            cols["name"].append(_person_name(rng))
            cols["job"].append(job)
            cols["team"].append(t.name)
            cols["is_leader"].append(1 if t.role == "leader" else 0)
            cols["is_special"].append(1 if job in names.SPECIAL_JOBS else 0)
            cols["registered"].append(-int(rng.integers(20, 3000)))
            cols["deregistered"].append(-1)
            cols["team_idx"].append(ti)
            cols["group"].append(k % n_shifts)
        t.members = np.arange(start_idx, len(cols["name"]))
    m = len(cols["name"])
    people = {k: np.array(v) for k, v in cols.items()}
    # joiners and leavers over the period (not the outsourced team, handled by its mechanism)
    regular = np.array([teams[t].role not in ("outsourced", "extra", "leader") for t in people["team_idx"]])
    idx = np.flatnonzero(regular)
    n_join = int(round(len(idx) * p.people.joiner_share))
    n_leave = int(round(len(idx) * p.people.leaver_share))
    if days > 3 and len(idx) > n_join + n_leave:
        pick = rng.permutation(idx)
        people["registered"][pick[:n_join]] = rng.integers(1, days, n_join)
        people["deregistered"][pick[n_join:n_join + n_leave]] = rng.integers(1, days, n_leave)
    for t in teams:
        if t.role in ("outsourced", "extra"):
            people["registered"][t.members] = days + 1  # not on the roster until their mechanism brings them
    people["card_code"] = np.array([f"{code}{i + 1:05d}" for i in rng.permutation(m)])
    officers = [_person_name(rng) for _ in range(int(rng.integers(3, 6)))]
    shift_hours = (0, 6, 12, 18) if spec.four_shift else (0, 8, 16)
    maintenance_shift = int(rng.integers(n_shifts))
    return Layout(areas, stations, faces, points, meters, teams, people, officers, shift_hours, maintenance_shift,
                  float(rng.uniform(*p.people.travel_min)))


def _cn(n: int) -> str:
    return "一二三四五六七八九十"[n - 1] if 1 <= n <= 10 else str(n)


def names_unit(stype: str) -> str:
    """The unit of a sensor type (text, as CDDY writes it)."""
    from pipelines.schema import SENSOR_TYPES

    return SENSOR_TYPES.get(stype, ("", "", ""))[2]
