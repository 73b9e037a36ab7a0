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
# # Review the model: metrics against the baselines, SHAP summary, the worst misses
#
# Reads the latest scoring from the features database (`MINEWATCH_FEATURES`, default
# `data/demo/features.duckdb`), the champion models from MLflow (`MLFLOW_TRACKING_URI`), the metrics
# of `minewatch evaluate` (`MINEWATCH_METRICS`, default `metrics.json`) when present, and, on
# simulated data, the ground truth (`MINEWATCH_TRUTH`, a `_truth/` folder) to list the misses.

# %%
import json
import os
from pathlib import Path

import duckdb
import matplotlib
import pandas as pd

matplotlib.use(os.environ.get("MPLBACKEND", "Agg"))
import matplotlib.pyplot as plt

from models.explain import contributions, mean_abs_contributions
from models.spec import FAMILIES
from pipelines.modelling import configure_mlflow, load_champions

features = Path(os.environ.get("MINEWATCH_FEATURES", "data/demo/features.duckdb"))
warehouse = Path(os.environ.get("MINEWATCH_WAREHOUSE", str(features.with_name("warehouse.duckdb"))))
metrics_path = Path(os.environ.get("MINEWATCH_METRICS", "metrics.json"))
truth_dir = os.environ.get("MINEWATCH_TRUTH")
figures = Path(os.environ.get("MINEWATCH_FIGURES", "data/notebooks"))
figures.mkdir(parents=True, exist_ok=True)
con = duckdb.connect(str(features), read_only=True)
con.execute(f"attach '{warehouse}' as warehouse (read_only)")
con.execute("set search_path = 'main,warehouse.main'")

# %% [markdown]
# ## Metrics of the last `minewatch evaluate` (fresh seeds, findings before the cutoff only)

# %%
if metrics_path.exists():
    summary = json.loads(metrics_path.read_text(encoding="utf-8"))["summary"]
    table = pd.DataFrame(summary).T[["ap", "ap_rule", "ap_lift_rule", "ap_lift_random", "precision_at_k", "recall_at_k"]]
    print(table.round(2).to_string())
else:
    print(f"{metrics_path} not found: run `minewatch evaluate` to fill this section")

# %% [markdown]
# ## The latest scoring

# %%
as_of = con.execute("select max(as_of) from scores").fetchone()[0]
scores = con.execute("select * from scores where as_of = ? order by risk, rank", [as_of]).df()
wide = scores.pivot(index="mine_code", columns="risk", values="score")
wide.sort_values("overall", ascending=False).head(15)

# %% [markdown]
# ## What the champion models rely on (mean |SHAP| on the scored mines)

# %%
configure_mlflow()
champions = load_champions()
frame = con.execute("select * from mine_features where as_of = ? order by mine_code", [as_of]).df()
fig, axes = plt.subplots(1, len(FAMILIES), figsize=(18, 5))
for ax, family in zip(axes, FAMILIES, strict=True):
    model, version = champions[family]
    if model is None:
        ax.set_title(f"{family}\n(no champion: rule baseline)")
        ax.axis("off")
        continue
    contribs, _ = contributions(model.pu_, frame)
    top = mean_abs_contributions(contribs).sort_values().tail(10)
    ax.barh(top.index, top.to_numpy())
    ax.set_title(f"{family}\n{version}")
fig.tight_layout()
fig.savefig(figures / "02-shap-summary.png", dpi=90)

# %% [markdown]
# ## The worst misses: planted cases ranked low, and clean mines ranked high (simulated data only)

# %%
if truth_dir and (Path(truth_dir) / "anomalies.csv").exists():
    anomalies = pd.read_csv(Path(truth_dir) / "anomalies.csv", dtype={"mine_code": str})
    end = pd.Timestamp(as_of) + pd.Timedelta(days=1)
    live = anomalies[(pd.to_datetime(anomalies["start_at"]) < end)
                     & (pd.to_datetime(anomalies["end_at"]) >= end - pd.Timedelta(days=30))]
    rows = []
    for family in FAMILIES:
        ranked = scores[scores["risk"] == family].set_index("mine_code")
        positives = set(live.loc[live["family"] == family, "mine_code"])
        for mine, r in ranked.iterrows():
            rows.append({"family": family, "mine_code": mine, "rank": r["rank"], "planted": mine in positives,
                         "mechanisms": ", ".join(live.loc[(live["family"] == family) & (live["mine_code"] == mine),
                                                          "mechanism"])})
    review = pd.DataFrame(rows)
    misses = review[review["planted"]].sort_values("rank", ascending=False).groupby("family").head(3)
    false_alarms = review[~review["planted"]].sort_values("rank").groupby("family").head(3)
    print("planted but ranked lowest:\n", misses.to_string(index=False))
    print("\nclean but ranked highest:\n", false_alarms.to_string(index=False))
else:
    print("no ground truth given (MINEWATCH_TRUTH): the misses need simulated data")

# %%
con.close()
