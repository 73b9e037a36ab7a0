"""On simulated mines, each planted mechanism moves its family's feature the expected way; decoys do not."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from features.runner import Window, build_features
from pipelines.schema import TABLES

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]

# mechanism -> the mine_features column that must be higher than at the family's clean mines
EXPECTED = {
    "crew_in_restricted_area": "hw_restricted_hours_share",
    "cards_left_at_shaft": "hw_idle_cards_per_shift",
    "power_misbooked": "hw_quiet_circuit_hoist_corr",
    "over_capacity_shaded": "op_belt_report_ratio",
    "underweigh_shaded": "op_implied_belt_ratio",
    "maintenance_production": "op_stop_day_power_ratio",
    "over_manning": "op_peak_headcount_ratio",
    "fake_clearing": "af_gas_high_after_close_share",
    "fake_evacuation": "af_people_stayed_share",
    "vanished_cards": "ca_n_cards_unaccounted",
    "late_surfacing": "ca_n_cards_unaccounted",
}


def load(con: duckdb.DuckDBPyConnection, data: Path) -> None:
    for name, table in TABLES.items():
        single, folder = data / f"{name}.parquet", data / name
        source = f"'{single}'" if single.exists() else f"'{folder}/*.parquet'"
        con.execute(
            f"create table {name} as select {', '.join(table.names)}, 0::bigint as _file_id, "
            f"row_number() over () as _record from read_parquet({source})"
        )


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    out = tmp_path_factory.mktemp("mech") / "raw"
    subprocess.run([sys.executable, "-m", "pipelines", "simulate", "--out", str(out), "--mines", "24",
                    "--days", "80", "--seed", "4242"], check=True, cwd=ROOT)
    con = duckdb.connect()
    load(con, out)
    last = con.execute("select max(interval_end) from power").fetchone()[0]
    as_of = (last - timedelta(seconds=1)).date()
    build_features(con, Window(as_of, 30, 49))
    features = con.execute("select * from mine_features").df().set_index("mine_code")
    con.close()
    anomalies = pd.read_csv(out / "_truth" / "anomalies.csv", dtype={"mine_code": str})
    end = pd.Timestamp(as_of + timedelta(days=1))
    live = anomalies[(pd.to_datetime(anomalies["start_at"]) < end)
                     & (pd.to_datetime(anomalies["end_at"]) >= end - pd.Timedelta(days=30))]
    decoys = pd.read_csv(out / "_truth" / "decoys.csv", dtype={"mine_code": str})
    return features, anomalies, live, decoys


def test_each_mechanism_moves_its_feature_above_clean_mines(simulated):
    features, anomalies, live, _ = simulated
    checked = 0
    for mechanism, column in EXPECTED.items():
        rows = live[live["mechanism"] == mechanism]
        if rows.empty:
            continue
        family = rows["family"].iloc[0]
        dirty = set(anomalies.loc[anomalies["family"] == family, "mine_code"])
        clean = features.loc[~features.index.isin(dirty), column].fillna(0)
        for mine in sorted(set(rows["mine_code"])):
            value = features.at[mine, column]
            if pd.isna(value) and column.startswith("af_"):
                continue  # a campaign can be live with no exceedance in the window: no alarm to judge
            assert pd.notna(value) and value > clean.median(), (
                f"{mechanism} at {mine}: {column} = {value}, clean mines' median {clean.median()}"
            )
            checked += 1
    assert checked >= 5, f"only {checked} planted mechanisms were live in the window: the test says little"


def test_decoys_do_not_look_like_their_family(simulated):
    features, anomalies, _, decoys = simulated
    concealed = set(anomalies.loc[anomalies["family"] == "concealed_accident", "mine_code"])
    reported_only = set(decoys.loc[decoys["decoy"].isin(["reported_accident", "double_shift", "breakdown"]),
                                   "mine_code"]) - concealed
    assert reported_only, "no accident-like decoy without a concealed accident in this seed"
    for mine in reported_only:
        assert features.at[mine, "ca_n_cards_unaccounted"] == 0, mine
    over = set(anomalies.loc[anomalies["family"] == "overproduction", "mine_code"])
    maintained = set(decoys.loc[decoys["decoy"] == "declared_maintenance", "mine_code"]) - over
    for mine in maintained:
        ratio = features.at[mine, "op_stop_day_power_ratio"]
        assert pd.isna(ratio) or ratio < 0.5, f"{mine}: honest maintenance looks like production ({ratio})"
