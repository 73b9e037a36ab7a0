"""`minewatch run` end to end on a small simulated data set, then the notebooks on its outputs."""

import csv
import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
RISKS = {"hidden_workface", "overproduction", "alarm_falsification", "concealed_accident", "overall"}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    base = tmp_path_factory.mktemp("e2e")
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{base / 'mlflow.db'}"}
    py = [sys.executable, "-m", "pipelines"]
    subprocess.run([*py, "simulate", "--out", str(base / "raw"), "--mines", "6", "--days", "75", "--seed", "21"],
                   check=True, env=env, cwd=ROOT)
    subprocess.run([*py, "run", "--data", str(base / "raw"), "--as-of", "2025-07-10", "--out", str(base / "out")],
                   check=True, env=env, cwd=ROOT)
    return base


def test_targets_follow_the_output_contract(run_dir):
    with open(run_dir / "out" / "targets.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert set(rows[0]) >= {"as_of", "mine_code", "mine_name", "risk", "score", "rank", "top_reasons", "model_version"}
    mines = {r["mine_code"] for r in rows}
    assert len(mines) == 6 and all(len(m) == 12 for m in mines)
    assert {r["as_of"] for r in rows} == {"2025-07-10"}
    for risk in RISKS:
        ranked = [r for r in rows if r["risk"] == risk]
        assert {r["mine_code"] for r in ranked} == mines, risk
        assert sorted(int(r["rank"]) for r in ranked) == list(range(1, 7)), risk
        by_rank = sorted(ranked, key=lambda r: int(r["rank"]))
        scores = [float(r["score"]) for r in by_rank]
        assert scores == sorted(scores, reverse=True), f"{risk}: rank 1 must hold the highest score"


def test_no_data_after_the_as_of_date_is_used(run_dir):
    import duckdb

    con = duckdb.connect(str(run_dir / "out" / "features.duckdb"), read_only=True)
    assert con.execute("select max(as_of) from mine_features").fetchone()[0].isoformat() == "2025-07-10"
    con.close()


@pytest.mark.parametrize("notebook", ["01-explore-data.py", "02-review-model.py"])
def test_notebooks_run(run_dir, notebook, monkeypatch):
    out = run_dir / "out"
    monkeypatch.setenv("MINEWATCH_WAREHOUSE", str(out / "warehouse.duckdb"))
    monkeypatch.setenv("MINEWATCH_FEATURES", str(out / "features.duckdb"))
    monkeypatch.setenv("MINEWATCH_TRUTH", str(run_dir / "raw" / "_truth"))
    monkeypatch.setenv("MINEWATCH_FIGURES", str(run_dir / "figures"))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{out / 'mlflow.db'}")
    runpy.run_path(str(ROOT / "notebooks" / notebook), run_name="__main__")
    assert list((run_dir / "figures").glob(f"{notebook[:2]}-*.png"))
