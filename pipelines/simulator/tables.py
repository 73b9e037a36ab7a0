"""Turn one simulated mine's arrays into the contract's tables (pyarrow, exact columns, order and types)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.schema import TABLES

if TYPE_CHECKING:
    from pipelines.simulator.mine import MineSim

EPOCH = dt.date(1970, 1, 1)


def ts(start: dt.date, seconds: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    """Timestamps (no zone, whole seconds) from seconds since the start date; `null` marks empty values."""
    base = (start - EPOCH).days * 86400
    us = (np.asarray(seconds, dtype=np.int64) + base) * 1_000_000
    return pa.array(us, type=pa.timestamp("us"), mask=null)


def dates(start: dt.date, day_index: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    """Dates from day indices relative to the start date."""
    d = np.asarray(day_index, dtype=np.int64) + (start - EPOCH).days
    return pa.array(d.astype(np.int32), type=pa.date32(), mask=null)


def take(values: list[str] | np.ndarray, idx: np.ndarray) -> pa.Array:
    """Text column by index into a small list of values (fast for millions of rows)."""
    return pc.take(pa.array(list(values), type=pa.string()), pa.array(np.asarray(idx, dtype=np.int64)))


def const(value: str, n: int) -> pa.Array:
    return take([value], np.zeros(n, dtype=np.int64))


def table(name: str, cols: dict[str, object]) -> pa.Table:
    """A contract table from columns given by name (missing optional columns become nulls)."""
    schema = TABLES[name].arrow_schema()
    n = max(len(v) for v in cols.values()) if cols else 0
    arrays = []
    for f in schema:
        v = cols.get(f.name)
        if v is None:
            arrays.append(pa.nulls(n, type=f.type))
        elif isinstance(v, pa.Array | pa.ChunkedArray):
            arrays.append(v.cast(f.type))
        else:
            arrays.append(pa.array(v, type=f.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def _dedupe(rows: list[dict], key: tuple[str, ...]) -> list[dict]:
    seen, out = set(), []
    for r in rows:
        k = tuple(r[c] for c in key)
        if k not in seen:
            seen.add(k)
            out.append(r)
    return out


def build_tables(s: MineSim) -> dict[str, pa.Table]:
    """Every canonical table of section A for this mine except inspections (drawn across mines)."""
    L, spec, start, rng = s.L, s.spec, s.start, s.rng
    code = spec.mine_code
    out: dict[str, pa.Table] = {}
    out["mines"] = table("mines", dict(
        mine_code=[code], mine_name=[spec.mine_name], province=[spec.province], city=[spec.city], county=[spec.county],
        group_name=[spec.group_name or None], approved_capacity_tpy=[spec.capacity_tpy],
        approved_headcount=[spec.approved_headcount], gas_class=[spec.gas_class]))
    faces = [f for f in L.faces if f.type != "hidden"]
    out["workfaces"] = table("workfaces", dict(
        mine_code=[code] * len(faces), face_code=[f.code for f in faces], face_name=[f.name for f in faces],
        face_type=[f.type for f in faces], area_code=[L.areas[f.area].code for f in faces],
        declared_from=dates(start, np.array([f.declared_from for f in faces])),
        declared_to=pa.nulls(len(faces), pa.date32())))
    decl = _dedupe(sorted(s.declarations, key=lambda d: (d["first"], d["kind"], d["face"])), ("kind", "first", "face"))
    out["declarations"] = table("declarations", dict(
        mine_code=[code] * len(decl), kind=[d["kind"] for d in decl],
        start_date=dates(start, np.array([d["first"] for d in decl], dtype=np.int64)),
        end_date=dates(start, np.array([d["last"] for d in decl], dtype=np.int64)),
        face_code=[L.faces[d["face"]].code if d["face"] >= 0 else None for d in decl],
        declared_at=ts(start, np.array([d["declared_at"] for d in decl], dtype=np.int64))))
    rd, rt = s.reports
    out["production_reports"] = table("production_reports", dict(
        mine_code=const(code, len(rd)), date=dates(start, rd), reported_tonnes=rt))
    out["areas"] = table("areas", dict(
        mine_code=[code] * len(L.areas), area_code=[a.code for a in L.areas], area_name=[a.name for a in L.areas],
        area_type=[a.type for a in L.areas], approved_headcount=[a.limit for a in L.areas]))
    out["stations"] = table("stations", dict(
        mine_code=[code] * len(L.stations), station_code=[st[0] for st in L.stations],
        station_name=[st[1] for st in L.stations], x=[st[3] for st in L.stations], y=[st[4] for st in L.stations],
        z=[st[5] for st in L.stations]))
    P = L.people
    on_roster = np.flatnonzero(P["registered"] < s.D)
    order = on_roster[np.argsort(P["card_code"][on_roster])]
    dereg = P["deregistered"][order]
    out["people"] = table("people", dict(
        mine_code=const(code, len(order)), card_code=P["card_code"][order].tolist(), name=P["name"][order].tolist(),
        job=P["job"][order].tolist(), team=P["team"][order].tolist(), is_leader=P["is_leader"][order].astype(np.int64),
        is_special=P["is_special"][order].astype(np.int64), registered_on=dates(start, P["registered"][order]),
        deregistered_on=dates(start, np.where(dereg < 0, 0, dereg), dereg < 0)))
    cards = P["card_code"]
    tr = s.trips
    o = np.lexsort((tr["down"], cards[tr["member"]]))
    out["shaft_trips"] = table("shaft_trips", dict(
        mine_code=const(code, len(o)), card_code=take(cards, tr["member"][o]), down_at=ts(start, tr["down"][o]),
        up_at=ts(start, np.maximum(tr["up"][o], 0), tr["up"][o] < 0)))
    pr = s.presence
    o = np.lexsort((pr["entered"], cards[pr["member"]]))
    out["presence"] = table("presence", dict(
        mine_code=const(code, len(o)), card_code=take(cards, pr["member"][o]),
        area_code=take([a.code for a in L.areas], pr["area"][o]),
        station_code=take([st[0] for st in L.stations], pr["station"][o]), entered_at=ts(start, pr["entered"][o]),
        left_at=ts(start, np.maximum(pr["left"][o], 0), pr["left"][o] < 0)))
    pts = L.points
    out["sensors"] = table("sensors", dict(
        mine_code=[code] * len(pts), point_code=[p.code for p in pts], sensor_type=[p.sensor_type for p in pts],
        value_type=[p.value_type for p in pts], unit=[p.unit or None for p in pts],
        range_low=[p.range_low for p in pts], range_high=[p.range_high for p in pts],
        alarm_high=[p.alarm_high for p in pts], alarm_clear_high=[p.alarm_clear_high for p in pts],
        cutoff_high=[p.cutoff_high for p in pts], restore_high=[p.restore_high for p in pts],
        location=[p.location for p in pts], area_code=[L.areas[p.area].code for p in pts],
        x=[p.xyz[0] for p in pts], y=[p.xyz[1] for p in pts], z=[p.xyz[2] for p in pts]))
    links = [(p.code, "D", pts[p.relay].code) for p in pts if p.relay >= 0] + \
            [(p.code, "D", pts[p.feed].code) for p in pts if p.feed >= 0]
    out["sensor_links"] = table("sensor_links", dict(
        mine_code=[code] * len(links), point_code=[x[0] for x in links], relation=[x[1] for x in links],
        linked_point_code=[x[2] for x in links]))
    codes = [p.code for p in pts]
    st = s.stats
    n = len(st["point"])
    out["sensor_stats"] = table("sensor_stats", dict(
        mine_code=const(code, n), point_code=take(codes, st["point"]), period_start=ts(start, st["start"]),
        period_end=ts(start, st["end"]), avg_value=st["avg"], max_value=st["max"], max_at=ts(start, st["max_at"]),
        min_value=st["min"], min_at=ts(start, st["min_at"]), status=st["status"]))
    sp, ss, sv = s.switch
    o = np.lexsort((ss, sp))
    out["switch_events"] = table("switch_events", dict(
        mine_code=const(code, len(o)), point_code=take(codes, sp[o]), changed_at=ts(start, ss[o]), state=sv[o]))
    al = _dedupe(sorted(s.alarms, key=lambda a: (a["point"], a["started"], a["type"])), ("point", "type", "started"))

    def opt_ts(key: str) -> pa.Array:
        v = np.array([a[key] if a[key] is not None else -1 for a in al], dtype=np.int64)
        return ts(start, np.maximum(v, 0), v < 0)

    out["alarms"] = table("alarms", dict(
        mine_code=[code] * len(al), point_code=[codes[a["point"]] for a in al], alarm_type=[a["type"] for a in al],
        started_at=ts(start, np.array([a["started"] for a in al], dtype=np.int64)), ended_at=opt_ts("ended"),
        max_value=[a["max"] for a in al], max_at=opt_ts("max_at"), min_value=[a["min"] for a in al],
        min_at=opt_ts("min_at"), avg_value=[a["avg"] for a in al], cause=[a["cause"] for a in al],
        measure=[a["measure"] for a in al], entered_at=opt_ts("entered"), entered_by=[a["by"] for a in al]))
    belts = [i for i, p in enumerate(pts) if p.kind == "belt"]
    nb, Q = s.belt.shape
    q = np.tile(np.arange(Q, dtype=np.int64), nb)
    out["production"] = table("production", dict(
        mine_code=const(code, nb * Q), point_code=take(codes, np.repeat(np.array(belts), Q)),
        period_start=ts(start, q * 900), period_end=ts(start, (q + 1) * 900), tonnes=s.belt.ravel()))
    meters = sorted(s.power)
    mcodes = [L.meters[m].code for m in meters]
    circuits = [L.meters[m].circuit for m in meters]
    fcodes = [L.faces[L.meters[m].face].code if L.meters[m].face >= 0 else None for m in meters]
    mi = np.repeat(np.arange(len(meters)), s.Q)
    q = np.tile(np.arange(s.Q, dtype=np.int64), len(meters))
    out["power"] = table("power", dict(
        mine_code=const(code, len(mi)), meter_code=take(mcodes, mi), circuit=take(circuits, mi),
        face_code=pc.take(pa.array(fcodes, type=pa.string()), pa.array(mi)), interval_end=ts(start, (q + 1) * 900),
        kwh=np.concatenate([s.power[m] for m in meters])))
    rep = [a for a in s.accidents if a.reported]
    from pipelines.simulator import names

    out["accident_reports"] = table("accident_reports", dict(
        mine_code=[code] * len(rep), report_id=[f"{code}-R{a.accident_id[-2:]}" for a in rep],
        occurred_at=ts(start, np.array([a.t for a in rep], dtype=np.int64)),
        reported_at=ts(start, np.array([a.t + int(rng.uniform(0.5, 3) * 3600) for a in rep], dtype=np.int64)),
        kind=[str(rng.choice(names.ACCIDENT_KINDS)) for _ in rep],
        deaths=[len(a.victims) if a.kind != "injury" else 0 for a in rep],
        injuries=[len(a.victims) if a.kind == "injury" else 0 for a in rep]))
    return out
