"""Shared simulator fixtures: one small data set on disk, and mines with hand-picked mechanisms in memory."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from simulator_helpers import DAYS, MECH_DAYS, MECH_START, START, mech_specs

from pipelines.simulator.config import SimulateParams
from pipelines.simulator.mine import MineResult, simulate_mine
from pipelines.simulator.plan import MineSpec
from pipelines.simulator.run import PARTITIONED, simulate


@pytest.fixture(scope="session")
def sim_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 6-mine, 61-day data set written by the real stage code."""
    out = tmp_path_factory.mktemp("sim")
    simulate(out, 6, DAYS, 11, START, "parquet", 0, SimulateParams())
    return out


@pytest.fixture(scope="session")
def db(sim_dir: Path) -> duckdb.DuckDBPyConnection:
    """DuckDB views over the data set, one per table, plus the truth files."""
    con = duckdb.connect()
    from pipelines.schema import TABLES

    for name in TABLES:
        src = f"{sim_dir}/{name}/*.parquet" if name in PARTITIONED else f"{sim_dir}/{name}.parquet"
        con.sql(f"create view {name} as select * from read_parquet('{src}')")
    for name in ("anomalies", "accidents", "decoys", "mine_truth"):
        con.sql(f"create view truth_{name} as select * from read_csv('{sim_dir}/_truth/{name}.csv', all_varchar=true)")
    return con


@pytest.fixture(scope="session")
def mech() -> dict[str, tuple[MineResult, MineSpec]]:
    """Mechanism or decoy name -> (the simulated mine that has it, its spec)."""
    p = SimulateParams()
    out = {}
    for spec in mech_specs(p):
        res = simulate_mine(spec, p, MECH_START, MECH_DAYS)
        for pl in spec.plans:
            key = pl.mechanism if pl.mechanism != "sensor_tampering" else f"sensor_tampering:{pl.opts['variant']}"
            if pl.mechanism == "fake_power_cut":
                key = f"fake_power_cut:{pl.opts['variant']}"
            out[key] = (res, spec)
    return out
