"""Each planted mechanism leaves the evidence it should, and each decoy its innocent look-alike, in the raw tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from simulator_helpers import MECH_DAYS, MECH_START, frame, mech_specs, seconds

from pipelines.simulator.config import SimulateParams
from pipelines.simulator.mine import simulate_mine
from pipelines.simulator.plan import Plan

DAY = 86400


def plan_of(mech, key: str):
    res, spec = mech[key]
    name = key.split(":")[0]
    pls = [p for p in spec.plans if p.mechanism == name]
    if ":" in key:
        pls = [p for p in pls if p.opts.get("variant") == key.split(":")[1]]
    return res, spec, pls[0]


def daily(res, table: str = "production") -> pd.Series:
    df = frame(res, table)
    d = seconds(df["period_start"]) // DAY
    return df.groupby(d)["tonnes"].sum().reindex(range(MECH_DAYS), fill_value=0.0)


def reports(res) -> pd.Series:
    df = frame(res, "production_reports")
    return pd.Series(df["reported_tonnes"].to_numpy(), index=seconds(pd.to_datetime(df["date"])) // DAY)


def meter(res, circuit: str, face_code: str | None = None, k: int = 0) -> pd.DataFrame:
    df = frame(res, "power")
    df = df[df["circuit"] == circuit]
    if face_code is not None:
        df = df[df["face_code"] == face_code]
    code = sorted(df["meter_code"].unique())[k]
    df = df[df["meter_code"] == code].copy()
    df["t"] = seconds(df["interval_end"]) - 900
    return df


def days_in(pl, idx) -> np.ndarray:
    idx = np.asarray(idx)
    return (idx >= np.ceil(pl.start_day)) & (idx < np.floor(pl.end_day))


def crew_cards(res, mechanism: str) -> list[str]:
    detail = next(a["detail"] for a in res.anomalies if a["mechanism"] == mechanism)
    return detail.split("cards ")[1].split(";")[0].split("|")


def headcount(res) -> pd.Series:
    tr = frame(res, "shaft_trips")
    t = np.concatenate([seconds(tr["down_at"]), seconds(tr["up_at"].dropna())])
    d = np.concatenate([np.ones(len(tr)), -np.ones(tr["up_at"].notna().sum())])
    o = np.argsort(t, kind="stable")
    return pd.Series(np.cumsum(d[o]), index=t[o])


# ---- hidden workface ------------------------------------------------------------------------------------
def test_crew_in_restricted_area(mech) -> None:
    res, spec, pl = plan_of(mech, "crew_in_restricted_area")
    pr = frame(res, "presence")
    areas = frame(res, "areas").set_index("area_code")
    cards = crew_cards(res, pl.mechanism)
    mine = pr[pr["card_code"].isin(cards)]
    hours = pd.Series((seconds(mine["left_at"]) - seconds(mine["entered_at"])) / 3600)
    by_type = hours.groupby(areas.loc[mine["area_code"], "area_type"].to_numpy()).sum()
    assert by_type.get("限制区域", 0) > 100  # people-hours where nobody should work
    assert not frame(res, "workfaces")["area_code"].isin(mine["area_code"]).any()
    belt, rep = daily(res), reports(res)
    win = days_in(pl, rep.index)
    assert belt[rep.index[win]].sum() > 1.1 * rep[win].sum()  # the hidden face's coal is weighed, not reported
    other = meter(res, "other")
    in_win = (other["t"] >= pl.start_day * DAY) & (other["t"] < pl.end_day * DAY)
    assert other.loc[in_win, "kwh"].mean() > 1.2 * other.loc[~in_win, "kwh"].mean()


def test_cards_left_at_shaft(mech) -> None:
    res, spec, pl = plan_of(mech, "cards_left_at_shaft")
    pr = frame(res, "presence")
    areas = frame(res, "areas").set_index("area_code")
    mine = pr[pr["card_code"].isin(crew_cards(res, pl.mechanism))]
    assert len(mine) > 20
    assert (areas.loc[mine["area_code"], "area_type"] == "井口区域").all()
    assert ((seconds(mine["left_at"]) - seconds(mine["entered_at"])) > 6 * 3600).mean() > 0.9
    belt = daily(res)
    win = days_in(pl, belt.index)
    quiet = (belt.index < pl.start_day) | (belt.index >= 41)
    assert belt[win].mean() > 1.12 * belt[quiet].mean()  # output rises while the crew's cards sit at the shaft


def test_power_misbooked(mech) -> None:
    res, spec, pl = plan_of(mech, "power_misbooked")
    drain = meter(res, "drainage", k=0)
    prod = frame(res, "production")
    q = seconds(prod["period_start"])
    belt = prod.groupby(q)["tonnes"].sum()
    d = drain.set_index("t")["kwh"]
    in_win = (d.index >= pl.start_day * DAY) & (d.index < pl.end_day * DAY)
    before = (d.index >= 16 * DAY) & (d.index < pl.start_day * DAY)
    corr_win = np.corrcoef(d[in_win], belt.reindex(d.index[in_win]).fillna(0))[0, 1]
    corr_before = np.corrcoef(d[before], belt.reindex(d.index[before]).fillna(0))[0, 1]
    assert corr_win > 0.3 and corr_win > corr_before + 0.2  # a pump circuit that follows the shifts
    rep = reports(res)
    assert (rep[days_in(pl, rep.index)] <= spec.capacity_tpy / 365).all()


@pytest.mark.parametrize(("utilisation", "over"), [(1.0, True), (0.62, False)])
def test_hidden_face_over_capacity_is_overproduction_too(utilisation: float, over: bool) -> None:
    """The rulebook's output test whatever the cause: with the hidden face's output on top, a mine planned at
    capacity truly produces above 110 % and that window is overproduction too; one planned at 62 % stays under."""
    p = SimulateParams()
    spec = mech_specs(p)[0]
    spec.plans = [Plan("hidden_workface", "crew_in_restricted_area", 3.0, 20.0)]
    spec.utilisation = utilisation
    res = simulate_mine(spec, p, MECH_START, 24)
    derived = [a for a in res.anomalies if a["mechanism"] == "hidden_face_over_capacity"]
    windows = res.facts["windows"].get("overproduction", [])
    if over:
        assert len(derived) == 1 and derived[0]["family"] == "overproduction"
        hw = next(a for a in res.anomalies if a["family"] == "hidden_workface")
        assert (derived[0]["start_at"], derived[0]["end_at"]) == (hw["start_at"], hw["end_at"])
        assert windows == [(3.0, 20.0)]  # inspectors can find it
        ratio = float(derived[0]["detail"].split(" x ")[0].rsplit(" ", 1)[1])
        belt = frame(res, "production")
        in_win = (seconds(belt["period_start"]) >= 3 * DAY) & (seconds(belt["period_start"]) < 20 * DAY)
        weighed = belt.loc[in_win, "tonnes"].sum() / 17 / (spec.capacity_tpy / 365)
        assert ratio > 1.10 and weighed == pytest.approx(ratio, abs=0.03)  # the belt scale weighs it (no under-weighing here)
    else:
        assert derived == [] and windows == []


# ---- overproduction ------------------------------------------------------------------------------------
def test_over_capacity_shaded(mech) -> None:
    res, spec, pl = plan_of(mech, "over_capacity_shaded")
    belt, rep = daily(res), reports(res)
    cap_day = spec.capacity_tpy / 365
    assert belt[days_in(pl, belt.index)].mean() > 1.1 * cap_day
    assert (rep[days_in(pl, rep.index)] <= cap_day).all()


def test_underweigh_shaded(mech) -> None:
    res, spec, pl = plan_of(mech, "underweigh_shaded")
    pw = frame(res, "power")
    pw = pw[pw["circuit"].isin(["hoist", "transport", "face", "heading"])]
    kwh = pw.groupby((seconds(pw["interval_end"]) - 900) // DAY)["kwh"].sum()
    belt = daily(res)
    win = days_in(pl, belt.index)
    # an analyst's power-implied output: kWh = fixed + a * tonnes fitted on the mine's other days
    fit = ~win & (belt.index >= 17) & (belt > 0)
    a, fixed = np.polyfit(belt[fit], kwh[fit], 1)
    implied = (kwh - fixed) / a
    assert implied[win].sum() > 1.15 * belt[win].sum()  # power says more coal than the scale
    rep = reports(res)
    assert (rep[days_in(pl, rep.index)] <= spec.capacity_tpy / 365).all()


def test_maintenance_production(mech) -> None:
    res, spec, pl = plan_of(mech, "maintenance_production")
    decl = frame(res, "declarations")
    d = decl[(decl["kind"] == "maintenance") & decl["face_code"].isna()]
    start = seconds(pd.to_datetime(d["start_date"])) // DAY
    row = d[start == int(pl.start_day)].iloc[0]
    assert row["declared_at"] < pd.Timestamp(row["start_date"])  # filed in advance: looks legitimate
    first, last = int(pl.start_day), int(pl.end_day) - 1
    belt, rep = daily(res), reports(res)
    assert belt[first:last + 1].sum() < 0.05 * belt[last + 2:last + 6].mean() * (last - first + 1)
    assert (rep[(rep.index >= first) & (rep.index <= last)] == 0).all()
    hoist = meter(res, "hoist", k=0)
    hoist = hoist[(hoist["t"] >= first * DAY) & (hoist["t"] < (last + 1) * DAY)]
    hour = (hoist["t"] % DAY) // 3600
    assert hoist.loc[hour < 6, "kwh"].mean() > 2 * hoist.loc[hour >= 9, "kwh"].mean()  # night hoist peaks
    pr = frame(res, "presence")
    faces = frame(res, "workfaces")
    lw = faces.loc[faces["face_type"] == "longwall", "area_code"]
    # crews at the longwalls in the middle of every night of the declared stop (presence, not entries: when
    # crews enter depends on the shift rotation and travel times, which vary from mine to mine)
    e, left = seconds(pr["entered_at"]), seconds(pr["left_at"].fillna(pd.Timestamp("2100-01-01")))
    at_lw = pr["area_code"].isin(lw).to_numpy()
    at_night = [int((at_lw & (e <= t) & (left > t)).sum()) for t in np.arange(first, last + 1) * DAY + 2 * 3600]
    assert min(at_night) >= 5


def test_over_manning(mech) -> None:
    res, spec, pl = plan_of(mech, "over_manning")
    hc = headcount(res)
    win = (hc.index >= pl.start_day * DAY) & (hc.index < pl.end_day * DAY)
    assert hc[win].max() > spec.approved_headcount
    assert hc[hc.index < (pl.start_day - 4) * DAY].max() <= spec.approved_headcount


# ---- alarm falsification -------------------------------------------------------------------------------
def _cut_alarms(res, pl, inside: bool = True) -> pd.DataFrame:
    al = frame(res, "alarms")
    sensors = frame(res, "sensors").set_index("point_code")
    al = al[(al["alarm_type"] == "001") & al["point_code"].map(sensors["cutoff_high"]).notna()]
    al = al[al["max_value"] >= al["point_code"].map(sensors["cutoff_high"])]
    t = seconds(al["started_at"])
    w = (t >= pl.start_day * DAY) & (t < pl.end_day * DAY)
    return al[w if inside else ~w]


def _linked(res, point: str, stype: str) -> str:
    links = frame(res, "sensor_links")
    sensors = frame(res, "sensors").set_index("point_code")
    linked = links.loc[links["point_code"] == point, "linked_point_code"]
    return next(c for c in linked if sensors.loc[c, "sensor_type"] == stype)


def _switched_off(res, point: str, a: int, b: int) -> bool:
    sw = frame(res, "switch_events")
    sw = sw[(sw["point_code"] == point) & (sw["state"] == 0)]
    t = seconds(sw["changed_at"])
    return bool(((t >= a) & (t <= b)).any())


def test_fake_power_cut_without_relay(mech) -> None:
    res, spec, pl = plan_of(mech, "fake_power_cut:no_relay")
    cut = _cut_alarms(res, pl)
    assert len(cut) >= 1
    for _, a in cut.iterrows():
        s = seconds(pd.Series([a["started_at"]]))[0]
        assert not _switched_off(res, _linked(res, a["point_code"], "1009"), s - 600, s + 1800)


def test_fake_power_cut_with_live_feed(mech) -> None:
    res, spec, pl = plan_of(mech, "fake_power_cut:feed_live")
    cut = _cut_alarms(res, pl)
    assert len(cut) >= 1
    for _, a in cut.iterrows():
        s = seconds(pd.Series([a["started_at"]]))[0]
        assert _switched_off(res, _linked(res, a["point_code"], "1009"), s - 600, s + 1800)
        assert not _switched_off(res, _linked(res, a["point_code"], "1011"), s - 600, s + 1800)


def _people_at(res, area: str, t: int) -> set[str]:
    pr = frame(res, "presence")
    pr = pr[pr["area_code"] == area]
    e, left = seconds(pr["entered_at"]), seconds(pr["left_at"].fillna(pd.Timestamp("2100-01-01")))
    return set(pr.loc[(e <= t) & (left > t), "card_code"])


def _area_of(res, point: str) -> str:
    return frame(res, "sensors").set_index("point_code").loc[point, "area_code"]


def test_fake_evacuation_people_stay(mech) -> None:
    res, spec, pl = plan_of(mech, "fake_evacuation")
    cut = _cut_alarms(res, pl)
    stayed, total = 0, 0
    for _, a in cut.iterrows():
        s = seconds(pd.Series([a["started_at"]]))[0]
        before = _people_at(res, _area_of(res, a["point_code"]), s)
        if before:
            total += len(before)
            stayed += len(before & _people_at(res, _area_of(res, a["point_code"]), s + 20 * 60))
    assert total > 0 and stayed / total > 0.8


def test_genuine_cuts_relay_feed_and_evacuation(mech) -> None:
    """Outside any falsification window: relay within seconds, feed shows no voltage, people gone within minutes."""
    res, spec, pl = plan_of(mech, "sensor_tampering:capped")
    cut = _cut_alarms(res, pl, inside=False)
    al = frame(res, "alarms")
    al2 = al[al["alarm_type"] == "002"]
    assert len(cut) >= 1
    stayed, total = 0, 0
    for _, a in cut.iterrows():
        s = seconds(pd.Series([a["started_at"]]))[0]
        assert _switched_off(res, _linked(res, a["point_code"], "1009"), s - 600, s + 1800)
        assert _switched_off(res, _linked(res, a["point_code"], "1011"), s - 600, s + 1800)
        area = _area_of(res, a["point_code"])
        before = _people_at(res, area, s)
        total += len(before)
        stayed += len(before & _people_at(res, area, s + 20 * 60))
    assert total == 0 or stayed / total < 0.3
    # handling texts vary, entries come minutes after the close and name a duty officer
    assert al2["cause"].nunique() >= 1 and al[al["alarm_type"] == "001"]["measure"].nunique() >= 2
    delay = (al["entered_at"] - al["ended_at"]).dt.total_seconds().dropna()
    assert delay.between(0, 3 * 3600).mean() > 0.9
    assert al["entered_by"].dropna().str.len().between(2, 3).all()


def test_fake_clearing(mech) -> None:
    res, spec, pl = plan_of(mech, "fake_clearing")
    al = frame(res, "alarms")
    t = seconds(al["started_at"])
    w = al[(al["alarm_type"] == "001") & (t >= pl.start_day * DAY) & (t < pl.end_day * DAY)
           & al["point_code"].str.contains("MN0001")]
    assert len(w) >= 2
    assert w["cause"].nunique() == 1 and w["measure"].nunique() == 1  # copy-paste handling texts
    assert ((w["entered_at"] - w["ended_at"]).dt.total_seconds() > DAY).all()
    st = frame(res, "sensor_stats")
    sensors = frame(res, "sensors").set_index("point_code")
    still_high = 0
    for _, a in w.iterrows():
        after = st[(st["point_code"] == a["point_code"]) & (st["period_start"] >= a["ended_at"])
                   & (st["period_start"] < a["ended_at"] + pd.Timedelta(minutes=15))]
        still_high += int((after["max_value"] >= sensors.loc[a["point_code"], "alarm_high"]).any())
    assert still_high >= 1


def _point_stats(res, key_detail: str) -> tuple[pd.DataFrame, str]:
    detail = next(a["detail"] for a in res.anomalies if a["mechanism"] == "sensor_tampering")
    point = detail.split()[1]
    st = frame(res, "sensor_stats")
    return st[st["point_code"] == point], point


def test_sensor_tampering_capped(mech) -> None:
    res, spec, pl = plan_of(mech, "sensor_tampering:capped")
    st, point = _point_stats(res, "capped")
    t = seconds(st["period_start"])
    w = st[(t >= pl.start_day * DAY) & (t < pl.end_day * DAY) & (st["status"] & 4 == 0)]
    assert w["max_value"].max() < 1.0
    assert (w["max_value"] >= 0.85).sum() >= 3  # sitting just below the alarm threshold
    al = frame(res, "alarms")
    ta = seconds(al["started_at"])
    others = al[(al["alarm_type"] == "001") & (al["point_code"] != point) & (ta >= pl.start_day * DAY)
                & (ta < pl.end_day * DAY)]
    assert len(others) >= 1  # the gas was there: neighbouring points saw it


def test_sensor_tampering_flatline(mech) -> None:
    res, spec, pl = plan_of(mech, "sensor_tampering:flatline")
    st, point = _point_stats(res, "flatline")
    t = seconds(st["period_start"])
    w = st[(t >= pl.start_day * DAY + 3600) & (t < pl.end_day * DAY - 3600) & (st["status"] & 4 == 0)]
    assert w["max_value"].nunique() == 1 and (w["max_value"] == w["min_value"]).all()


def test_sensor_tampering_pause(mech) -> None:
    res, spec, pl = plan_of(mech, "sensor_tampering:pause")
    st, point = _point_stats(res, "pause")
    t = seconds(st["period_start"])
    w = st[(t >= pl.start_day * DAY) & (t < pl.end_day * DAY)]
    paused = w[(w["status"] & 64) > 0]
    assert len(paused) >= 3
    # paused exactly when the gas would have neared the alarm (faces now run at 0.4-0.7 %, so 0.2 below it)
    assert paused["max_value"].max() <= 0.8
    al = frame(res, "alarms")
    assert not (al[(al["point_code"] == point) & (al["alarm_type"] == "007")]["started_at"]
                .isin(paused["period_start"])).any()


def test_calibrations_look_like_calibrations(mech) -> None:
    """Test gas ~2 % on one sensor after another: status 4, alarm 007, relay cuts and feed confirms."""
    res, spec, pl = plan_of(mech, "breakdown")
    al = frame(res, "alarms")
    cal = al[al["alarm_type"] == "007"].sort_values("started_at")
    assert len(cal) >= 10
    assert cal["max_value"].between(1.9, 2.1).all()
    st = frame(res, "sensor_stats")
    one = cal.iloc[0]
    p = st[(st["point_code"] == one["point_code"]) & (st["period_end"] > one["started_at"])
           & (st["period_start"] <= one["started_at"])]
    assert (p["status"] & 4 > 0).all()
    relayed = [c for _, c in cal.iterrows() if frame(res, "sensor_links")["point_code"].eq(c["point_code"]).any()]
    s = seconds(pd.Series([relayed[0]["started_at"]]))[0]
    assert _switched_off(res, _linked(res, relayed[0]["point_code"], "1009"), s - 120, s + 600)
    assert _switched_off(res, _linked(res, relayed[0]["point_code"], "1011"), s - 120, s + 600)


# ---- concealed accidents -------------------------------------------------------------------------------
def _accident(res, concealment: str | None = None, reported: int = 0) -> dict:
    return next(a for a in res.accidents if a["reported"] == reported and (concealment is None
                                                                         or a["concealment"] == concealment))


def _victim_trips(res, acc: dict) -> pd.DataFrame:
    tr = frame(res, "shaft_trips")
    t = pd.Timestamp(acc["occurred_at"])
    tr = tr[tr["card_code"].isin(acc["card_codes"].split("|"))]
    return tr[(tr["down_at"] <= t) & (tr["up_at"].isna() | (tr["up_at"] > t))]


def _no_report(res, acc: dict) -> bool:
    rep = frame(res, "accident_reports")
    return rep.empty or not (rep["occurred_at"] == pd.Timestamp(acc["occurred_at"])).any()


def test_vanished_cards(mech) -> None:
    res, spec, pl = plan_of(mech, "vanished_cards")
    acc = _accident(res, "vanished_cards")
    trips = _victim_trips(res, acc)
    assert len(trips) == acc["deaths"] and trips["up_at"].isna().all()
    pr = frame(res, "presence")
    last = pr[pr["card_code"].isin(trips["card_code"])].sort_values("entered_at").groupby("card_code").tail(1)
    assert last["left_at"].isna().all() and (last["area_code"] == acc["area_code"]).all()
    people = frame(res, "people").set_index("card_code")
    gone = pd.to_datetime(people.loc[trips["card_code"], "deregistered_on"])
    assert ((gone - pd.Timestamp(acc["occurred_at"]).normalize()).dt.days.between(1, 7)).all()
    assert _no_report(res, acc)
    decl = frame(res, "declarations")
    t = pd.Timestamp(acc["occurred_at"])
    # the stop that covers the accident, filed after it (a routine maintenance filed later for a later date is not it)
    late = decl[(decl["face_code"] == acc["face_code"]) & (decl["declared_at"] > t)
                & (pd.to_datetime(decl["start_date"]) <= t.normalize())]
    assert len(late) == 1 and late.iloc[0]["kind"] == "maintenance"
    fm = meter(res, "face", acc["face_code"])
    t = seconds(pd.Series([pd.Timestamp(acc["occurred_at"])]))[0]
    after = fm[(fm["t"] > t + 3600) & (fm["t"] < t + 3 * DAY)]["kwh"].mean()
    before = fm[(fm["t"] < t) & (fm["t"] > t - 3 * DAY)]["kwh"].mean()
    assert after < 0.5 * before  # the face's power ends abruptly
    al = frame(res, "alarms")
    co = al[(al["alarm_type"] == "001") & (abs((al["started_at"] - pd.Timestamp(acc["occurred_at"]))
                                               .dt.total_seconds()) < 900)]
    assert len(co) >= 1  # a CO spike just before


def test_late_surfacing(mech) -> None:
    res, spec, pl = plan_of(mech, "late_surfacing")
    acc = _accident(res, "late_surfacing")
    trips = _victim_trips(res, acc)
    assert len(trips) == acc["deaths"] > 0
    hours = (trips["up_at"] - pd.Timestamp(acc["occurred_at"])).dt.total_seconds() / 3600
    assert hours.between(20, 32).all()
    assert _no_report(res, acc)


def test_concealed_injury(mech) -> None:
    res, spec, pl = plan_of(mech, "concealed_injury")
    acc = _accident(res, "concealed_injury")
    trips = _victim_trips(res, acc)
    assert len(trips) == acc["injuries"] > 0
    t = pd.Timestamp(acc["occurred_at"])
    assert ((trips["up_at"] - t).dt.total_seconds() < 3 * 3600).all()  # came up mid-shift
    tr = frame(res, "shaft_trips")
    later = tr[tr["card_code"].isin(trips["card_code"]) & (tr["down_at"] > t) & (tr["down_at"] < t + pd.Timedelta(days=14))]
    assert later.empty  # then off work for weeks
    assert frame(res, "people").set_index("card_code").loc[trips["card_code"], "deregistered_on"].isna().all()
    assert _no_report(res, acc)


# ---- decoys --------------------------------------------------------------------------------------------
def test_reported_accident_has_a_report(mech) -> None:
    res, spec, pl = plan_of(mech, "reported_accident")
    acc = _accident(res, reported=1)
    assert _victim_trips(res, acc)["up_at"].isna().all()  # the same physical signs ...
    rep = frame(res, "accident_reports")
    row = rep[rep["occurred_at"] == pd.Timestamp(acc["occurred_at"])]
    assert len(row) == 1 and row.iloc[0]["deaths"] == acc["deaths"]  # ... but reported within hours
    assert (row.iloc[0]["reported_at"] - row.iloc[0]["occurred_at"]).total_seconds() < 4 * 3600


def test_breakdown_nobody_missing(mech) -> None:
    res, spec, pl = plan_of(mech, "breakdown")
    tr = frame(res, "shaft_trips")
    t = seconds(tr["down_at"])
    w = tr[(t >= pl.start_day * DAY) & (t < pl.end_day * DAY)]
    assert w["up_at"].notna().all()
    onoff = frame(res, "sensors")
    onoff = onoff[onoff["sensor_type"] == "1004"]["point_code"]
    assert any(_switched_off(res, p, int(pl.start_day * DAY) - 900, int(pl.start_day * DAY) + 900) for p in onoff)


def test_long_breakdowns_send_crews_up_who_come_back(db) -> None:
    """Crews sent up mid-shift by a breakdown look like a crew leaving after an accident, but all come back."""
    rows = db.execute("""
        with t as (
            select mine_code, card_code, down_at, up_at, date_diff('second', down_at, up_at) / 3600.0 as h,
                   lead(down_at) over (partition by mine_code, card_code order by down_at) as next_down
            from shaft_trips
        ),
        med as (select mine_code, median(h) as mh from t where h > 2 group by mine_code),
        early as (
            select t.*, time_bucket(interval 1 hour, up_at) as hour
            from t join med using (mine_code) where h >= 1 and h < 0.75 * mh
        ),
        acc as (select mine_code, cast(occurred_at as timestamp) as at from truth_accidents)
        select e.mine_code, e.hour, count(*) as n,
               count(*) filter (where next_down is not null and next_down < up_at + interval 3 day) as back
        from early as e
        where not exists (select 1 from acc as a where a.mine_code = e.mine_code
                          and e.up_at between a.at and a.at + interval 4 hour)
        group by all having count(*) >= 3
    """).fetchall()
    assert rows, "no crew was sent up early by a breakdown"
    end = db.execute("select max(down_at) - interval 3 day from shaft_trips").fetchone()[0]
    for _, hour, n, back in rows:
        if hour < end:
            assert back == n  # nobody hurt: everyone goes down again within days


def test_double_shift_within_approved(mech) -> None:
    res, spec, pl = plan_of(mech, "double_shift")
    tr = frame(res, "shaft_trips")
    dur = (tr["up_at"] - tr["down_at"]).dt.total_seconds() / 3600
    t = seconds(tr["down_at"])
    shift_h = 24 / (4 if spec.four_shift else 3)
    # a single shift lasts its length plus about an hour of travel; a double one twice the length (4 x 6 h or 3 x 8 h)
    assert (dur[(t >= pl.start_day * DAY) & (t < pl.end_day * DAY)] > 1.5 * shift_h + 1).sum() >= 5
    hc = headcount(res)
    assert hc[(hc.index >= pl.start_day * DAY) & (hc.index < pl.end_day * DAY)].max() <= spec.approved_headcount


def test_declared_maintenance_in_advance_and_quiet(mech) -> None:
    res, spec, pl = plan_of(mech, "declared_maintenance")
    decl = frame(res, "declarations")
    d = decl[(decl["kind"] == "maintenance") & decl["face_code"].isna()].iloc[0]
    assert d["declared_at"] < pd.Timestamp(d["start_date"])
    first = (pd.Timestamp(d["start_date"]) - pd.Timestamp("2025-06-20")).days
    last = (pd.Timestamp(d["end_date"]) - pd.Timestamp("2025-06-20")).days
    belt = daily(res)
    assert belt[first:last + 1].max() < 0.05 * belt.median()
    hoist = meter(res, "hoist", k=0)
    hour = (hoist["t"] % DAY) // 3600
    quiet = hoist[(hoist["t"] >= first * DAY) & (hoist["t"] < (last + 1) * DAY)]
    assert quiet.loc[hour[quiet.index] < 6, "kwh"].mean() < 1.5 * quiet.loc[hour[quiet.index] >= 9, "kwh"].mean()


def test_drainage_peak_is_seasonal(mech) -> None:
    res, spec, pl = plan_of(mech, "drainage_peak")
    drain = pd.concat([meter(res, "drainage", k=0), meter(res, "drainage", k=1)])
    day = drain["t"] // DAY
    peak, early = day.between(30, 40), day < 10
    # the first pump saturates at 22 h a day, so a mine that already pumps long hours in June shows the peak
    # mostly as the second pump coming in
    assert drain.loc[peak, "kwh"].sum() > 1.2 * drain.loc[early, "kwh"].sum() * 11 / 10
    second = drain["meter_code"] == drain["meter_code"].max()
    assert drain.loc[peak & second, "kwh"].sum() > 2 * drain.loc[early & second, "kwh"].sum() * 11 / 10
    # pumps start in the night valley tariff: night hours draw more than the afternoon
    hour = (drain["t"] % DAY) // 3600
    early = (day < 10) & (drain["meter_code"] == drain["meter_code"].min())
    assert drain.loc[early & (hour < 6), "kwh"].mean() > 1.2 * drain.loc[early & hour.between(18, 22), "kwh"].mean()


def test_sensor_fault_is_flagged(mech) -> None:
    res, spec, pl = plan_of(mech, "sensor_fault")
    detail = next(d["detail"] for d in res.decoys if d["decoy"] == "sensor_fault")
    point = detail.split()[1]
    st = frame(res, "sensor_stats")
    st = st[st["point_code"] == point]
    assert ((st["status"] & 128) > 0).sum() > 12
    al = frame(res, "alarms")
    assert ((al["point_code"] == point) & (al["alarm_type"] == "004")).any()


@pytest.mark.parametrize("key", ["crew_in_restricted_area", "over_capacity_shaded", "vanished_cards"])
def test_truth_windows_recorded(mech, key: str) -> None:
    res, spec, pl = plan_of(mech, key)
    fams = {a["mechanism"] for a in res.anomalies}
    assert key in fams
