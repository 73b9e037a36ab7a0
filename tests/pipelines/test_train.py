"""Training wiring: labels strictly before the cutoff, the promotion gate, and the champion alias in MLflow."""

from __future__ import annotations

from datetime import date

import duckdb
import numpy as np
import pandas as pd
import pytest

from models.spec import FAMILIES
from pipelines.modelling import feature_spec, labelled_frame, log_family_model, model_name
from pipelines.train import passes_gate


@pytest.fixture
def con():
    c = duckdb.connect()
    c.execute("create table mine_features (as_of date, mine_code varchar, op_belt_capacity_ratio double)")
    c.execute("insert into mine_features values ('2025-06-01', 'A', 1.0), ('2025-06-01', 'B', 0.5),"
              " ('2025-06-15', 'A', 1.1), ('2025-06-15', 'B', 0.6)")
    found = ", ".join(f"found_{f} integer" for f in FAMILIES)
    c.execute(f"create table inspections (mine_code varchar, inspection_id varchar, started_on date, ended_on date,"
              f" kind varchar, {found})")
    rows = [
        ("A", "i1", "2025-06-01", "2025-06-05", "routine", 1, 0, None, None),
        ("B", "i2", "2025-06-15", "2025-06-20", "random", 0, 1, 0, 0),  # ends after the cutoff below
    ]
    c.executemany("insert into inspections values (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    yield c
    c.close()


def test_labels_come_only_from_inspections_that_ended_before_the_cutoff(con):
    frame = labelled_frame(con, [date(2025, 6, 1), date(2025, 6, 15)], cutoff=date(2025, 6, 18), step_days=14)
    by = frame.set_index(["mine_code", frame["as_of"].dt.date])
    assert by.loc[("A", date(2025, 6, 1)), "label_hidden_workface"] == 1
    assert by.loc[("A", date(2025, 6, 1)), "label_overproduction"] == 0
    assert pd.isna(by.loc[("A", date(2025, 6, 1)), "label_alarm_falsification"])  # not examined
    # B's inspection ended on 06-20, after the cutoff: B stays unlabelled, not negative
    assert by.loc[("B", date(2025, 6, 15))][[f"label_{f}" for f in FAMILIES]].isna().all()
    later = labelled_frame(con, [date(2025, 6, 15)], cutoff=date(2025, 6, 21), step_days=14)
    assert later.set_index("mine_code").at["B", "label_overproduction"] == 1


@pytest.mark.parametrize(
    ("metrics", "expected"),
    [
        ({"val_n_positive": 3, "val_ap": 0.8, "val_ap_rule": 0.5}, True),
        ({"val_n_positive": 3, "val_ap": 0.5, "val_ap_rule": 0.5}, False),  # a tie does not beat the rule
        ({"val_n_positive": 3, "val_ap": 0.4, "val_ap_rule": 0.6}, False),
        ({"val_n_positive": 0, "val_ap": float("nan"), "val_ap_rule": float("nan")}, False),
    ],
)
def test_the_gate_promotes_only_a_model_that_beats_the_rule(metrics, expected):
    assert passes_gate(metrics) is expected


@pytest.mark.slow
def test_champion_moves_only_past_the_gate(tmp_path, monkeypatch):
    import mlflow
    from mlflow.tracking import MlflowClient

    from models.ranker import FamilyRanker

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    spec = feature_spec()
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({c: rng.random(40) for c in spec.columns()})
    frame["as_of"] = pd.Timestamp("2025-06-01")
    frame["mine_code"] = [f"{i:012d}" for i in range(40)]
    frame["size_band"] = "small"
    family = "overproduction"
    ranker = FamilyRanker(family=family, spec=spec).fit(frame, np.full(40, np.nan))
    summary = pd.Series({"op_belt_capacity_ratio": 1.0})
    client = MlflowClient()
    with mlflow.start_run():
        v1 = log_family_model(family, ranker, frame.head(5), {"val_ap": 0.9, "val_ap_rule": 0.5}, summary, True)
    with mlflow.start_run():
        v2 = log_family_model(family, ranker, frame.head(5), {"val_ap": 0.3, "val_ap_rule": 0.5}, summary, False)
    name = model_name(family)
    assert str(client.get_model_version_by_alias(name, "champion").version) == str(v1)
    assert client.get_model_version(name, v2).tags["role"] == "challenger"
