# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # The four sources of one mine, side by side
#
# Output (belt scale and declared reports), people underground (positioning), power by circuit and
# safety-monitoring alarms for one mine, day by day. Where the sources disagree is where MineWatch
# looks. Set `MINEWATCH_WAREHOUSE` (default `data/demo/warehouse.duckdb`) and optionally
# `MINEWATCH_MINE` (default: the mine ranked first overall in the latest scoring, else the first mine).

# %%
import os
from pathlib import Path

import duckdb
import matplotlib

matplotlib.use(os.environ.get("MPLBACKEND", "Agg"))
import matplotlib.pyplot as plt

warehouse = Path(os.environ.get("MINEWATCH_WAREHOUSE", "data/demo/warehouse.duckdb"))
features = Path(os.environ.get("MINEWATCH_FEATURES", str(warehouse.with_name("features.duckdb"))))
figures = Path(os.environ.get("MINEWATCH_FIGURES", "data/notebooks"))
figures.mkdir(parents=True, exist_ok=True)
con = duckdb.connect(str(warehouse), read_only=True)

# %%
mine = os.environ.get("MINEWATCH_MINE")
if not mine and features.exists():
    f = duckdb.connect(str(features), read_only=True)
    has_scores = f.execute("select count(*) from information_schema.tables where table_name = 'scores'").fetchone()[0]
    if has_scores:
        mine = f.execute(
            "select mine_code from scores where risk = 'overall' and as_of = (select max(as_of) from scores) "
            "order by rank limit 1"
        ).fetchone()[0]
    f.close()
mine = mine or con.execute("select min(mine_code) from mines").fetchone()[0]
con.execute("select * from mines where mine_code = ?", [mine]).df().T

# %% [markdown]
# ## Daily output, power and people

# %%
daily = con.execute(
    """
    with belt as (
        select cast(period_start as date) as day, sum(tonnes) as belt_tonnes
        from production where mine_code = $mine group by all
    ),
    reports as (select date as day, reported_tonnes from production_reports where mine_code = $mine),
    power as (
        select cast(interval_end - interval 15 minute as date) as day,
            sum(kwh) filter (where circuit = 'hoist') as hoist_kwh,
            sum(kwh) filter (where circuit in ('face', 'heading')) as face_kwh,
            sum(kwh) filter (where circuit in ('drainage', 'other')) as quiet_kwh,
            sum(kwh) as total_kwh
        from power where mine_code = $mine group by all
    ),
    people as (
        select cast(down_at as date) as day, count(*) as trips, count(distinct card_code) as cards
        from shaft_trips where mine_code = $mine group by all
    ),
    alarms as (
        select cast(started_at as date) as day, count(*) as alarms
        from alarms where mine_code = $mine and alarm_type in ('001', '002') group by all
    )
    select * from belt
    full join reports using (day) full join power using (day) full join people using (day)
    full join alarms using (day)
    order by day
    """,
    {"mine": mine},
).df()
daily.describe().T

# %%
fig, axes = plt.subplots(4, 1, figsize=(11, 10), sharex=True)
axes[0].plot(daily["day"], daily["belt_tonnes"], label="belt scale")
axes[0].plot(daily["day"], daily["reported_tonnes"], label="reported", alpha=0.8)
axes[0].set_ylabel("t/day")
axes[0].legend()
axes[1].plot(daily["day"], daily["hoist_kwh"], label="hoist")
axes[1].plot(daily["day"], daily["face_kwh"], label="face + heading")
axes[1].plot(daily["day"], daily["quiet_kwh"], label="drainage + other")
axes[1].set_ylabel("kWh/day")
axes[1].legend()
axes[2].plot(daily["day"], daily["cards"], label="cards underground")
axes[2].set_ylabel("cards/day")
axes[3].bar(daily["day"], daily["alarms"].fillna(0), label="over-limit alarms")
axes[3].set_ylabel("alarms/day")
fig.suptitle(f"mine {mine}: the four sources")
fig.tight_layout()
fig.savefig(figures / f"01-sources-{mine}.png", dpi=90)

# %% [markdown]
# ## Power against output: the mine's own line (以电核产)

# %%
fit = daily.dropna(subset=["belt_tonnes", "hoist_kwh"])
fig, ax = plt.subplots(figsize=(6, 4))
ax.scatter(fit["belt_tonnes"], fit["hoist_kwh"] + fit["face_kwh"].fillna(0), s=10)
ax.set_xlabel("belt-scale t/day")
ax.set_ylabel("hoist + face kWh/day")
fig.savefig(figures / f"01-power-vs-output-{mine}.png", dpi=90)
print(f"correlation of belt tonnes with hoist kWh: {fit['belt_tonnes'].corr(fit['hoist_kwh']):.2f}")

# %%
con.close()
