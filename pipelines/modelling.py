"""Shared wiring of train, evaluate, score and run: the feature history, labelled frames, the MLflow registry."""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from features.catalog import table_entries
from features.runner import Window, build_features, sql_fingerprint
from models.ranker import FamilyRanker, ModelParams
from models.spec import FAMILIES, FeatureSpec

log = logging.getLogger(__name__)

DEFAULT_TRACKING_URI = "sqlite:///data/mlflow/mlflow.db"
DEFAULT_ARTIFACTS = Path("data/mlflow/artifacts")
MODEL_PREFIX = "minewatch"


@dataclass(frozen=True)
class TrainParams:
    """How the training frame is assembled and how the promotion gate is applied."""

    step_days: int = 14  # as-of dates of the feature history are this far apart
    warmup_days: int = 44  # first as-of date: this many days after the first day with data
    validation_days: int = 42  # labels in the last days before the cutoff judge the gate
    window_days: int = 30
    history_days: int = 90
    experiment: str = "minewatch"
    model: ModelParams = field(default_factory=ModelParams)


def feature_spec() -> FeatureSpec:
    """The catalog's families and directions of the mine_features columns."""
    return FeatureSpec.from_entries(table_entries("mine_features").values())


def model_name(family: str) -> str:
    return f"{MODEL_PREFIX}-{family.replace('_', '-')}"


def data_span(con: duckdb.DuckDBPyConnection) -> tuple[date, date]:
    """First and last day with power or belt-scale data in the warehouse."""
    lo, hi = con.execute(
        "select least((select min(period_start) from production), (select min(interval_end) from power)),"
        " greatest((select max(period_end) from production), (select max(interval_end) from power))"
    ).fetchone()
    if lo is None:
        raise SystemExit("the warehouse holds no production or power data; run `minewatch ingest` first")
    return lo.date(), (hi - timedelta(seconds=1)).date()


def as_of_grid(first: date, last: date, params: TrainParams) -> list[date]:
    """Feature snapshot dates from the end of the warm-up to `last`, every step_days, ending on `last`."""
    start = first + timedelta(days=params.warmup_days)
    if start > last:
        return [last]
    n = (last - start).days // params.step_days
    return sorted({last - timedelta(days=params.step_days * i) for i in range(n + 1)})


def _fingerprint(con: duckdb.DuckDBPyConnection) -> str:
    """What the features were built from: the warehouse's ingest runs and the feature SQL itself."""
    try:
        row = con.execute("select count(*), max(run_id) from warehouse.ingest_runs").fetchone()
        runs = f"runs={row[0]}:{row[1]}"
    except duckdb.Error:
        runs = "runs=unknown"
    return f"{runs};sql={sql_fingerprint()}"


def missing_dates(con: duckdb.DuckDBPyConnection, dates: list[date], params: TrainParams) -> list[date]:
    """The as-of dates whose features were not built from the warehouse's current state."""
    has_log = con.execute(
        "select count(*) from duckdb_tables() where table_name = 'feature_builds'"
        " and database_name = current_database()"
    ).fetchone()[0]
    if not has_log:
        return list(dates)
    done = {
        r[0]
        for r in con.execute(
            "select as_of from feature_builds where window_days = ? and history_days = ? and fingerprint = ?",
            [params.window_days, params.history_days, _fingerprint(con)],
        ).fetchall()
    }
    return [d for d in dates if d not in done]


def ensure_feature_history(
    con: duckdb.DuckDBPyConnection, dates: list[date], params: TrainParams, force: bool = False
) -> None:
    """Build mine_features for each as-of date not already built from the same warehouse state.

    The evidence tables always hold the last date built; `force` rebuilds even a cached date, so they
    match it (scoring needs the evidence behind its own as-of date). On a read-only features database
    nothing is built: a missing date is an error that says which command builds it.
    """
    todo = list(dates) if force else missing_dates(con, dates, params)
    if not todo:
        return
    try:
        con.execute(
            "create table if not exists feature_builds (as_of date, window_days integer, history_days integer,"
            " fingerprint varchar, built_at timestamp)"
        )
    except duckdb.Error as exc:
        raise SystemExit(
            f"features as of {', '.join(map(str, todo))} are not built and the features database is read only: "
            "run `minewatch build-features --history` first"
        ) from exc
    fingerprint = _fingerprint(con)
    for as_of in sorted(todo):
        log.info("building features as of %s", as_of)
        build_features(con, Window(as_of, params.window_days, params.history_days))
        con.execute("delete from feature_builds where as_of = ?", [as_of])
        con.execute(
            "insert into feature_builds values (?, ?, ?, ?, now())",
            [as_of, params.window_days, params.history_days, fingerprint],
        )


def labelled_frame(con: duckdb.DuckDBPyConnection, dates: list[date], cutoff: date, step_days: int) -> pd.DataFrame:
    """mine_features at `dates`, with the findings of inspections that ended in [as_of, as_of + step) before `cutoff`.

    Only inspections that ended strictly before the cutoff are read (labels after it are never used);
    a mine with no such inspection is unlabelled (NaN), not negative.
    """
    found = ", ".join(f"max(i.found_{f}) as label_{f}" for f in FAMILIES)
    return con.execute(
        f"""
        with snapshots as (
            select * from mine_features where as_of in (select unnest(?::date[]))
        ),
        labels as (
            select s.mine_code, s.as_of, {found}, min(i.kind) as inspection_kind
            from snapshots as s
            inner join inspections as i
                on i.mine_code = s.mine_code
                and i.ended_on >= s.as_of and i.ended_on < s.as_of + to_days(?)
                and i.ended_on < ?
            group by all
        )
        select s.*, {", ".join(f"l.label_{f}" for f in FAMILIES)}, l.inspection_kind
        from snapshots as s
        left join labels as l using (mine_code, as_of)
        order by s.as_of, s.mine_code
        """,
        [dates, step_days, cutoff],
    ).df()


def fit_rankers(frame: pd.DataFrame, spec: FeatureSpec, params: ModelParams) -> dict[str, FamilyRanker]:
    """One FamilyRanker per family, fitted on every snapshot row and that family's findings."""
    rankers = {}
    for family in FAMILIES:
        y = frame[f"label_{family}"].astype(float).to_numpy()
        ranker = FamilyRanker(family=family, spec=spec, params=params, by="as_of")
        rankers[family] = ranker.fit(frame, y, groups=frame["mine_code"].to_numpy())
    return rankers


def params_dict(params: object, prefix: str = "") -> dict[str, object]:
    """A nested dataclass flattened to dotted keys (MLflow params)."""
    out: dict[str, object] = {}
    for key, value in asdict(params).items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            for k, v in _flatten(value, f"{name}.").items():
                out[k] = v
        else:
            out[name] = value
    return out


def _flatten(d: dict, prefix: str) -> dict[str, object]:
    out: dict[str, object] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def configure_mlflow() -> str:
    """Point MLflow at MLFLOW_TRACKING_URI, or the local SQLite store under data/mlflow."""
    import mlflow

    uri = os.environ.get("MLFLOW_TRACKING_URI", DEFAULT_TRACKING_URI)
    if uri.startswith("sqlite:///"):
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(uri)
    return uri


def ensure_experiment(name: str) -> str:
    import mlflow

    experiment = mlflow.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    artifacts = None
    if not os.environ.get("MLFLOW_TRACKING_URI"):
        DEFAULT_ARTIFACTS.mkdir(parents=True, exist_ok=True)
        artifacts = DEFAULT_ARTIFACTS.resolve().as_uri()
    return mlflow.create_experiment(name, artifact_location=artifacts)


def log_family_model(
    family: str,
    ranker: FamilyRanker,
    sample: pd.DataFrame,
    metrics: dict[str, float],
    shap_summary: pd.Series,
    promote: bool,
) -> str:
    """Register the family's model; `champion` moves to it only when it passed the gate, else it is tagged challenger."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import mlflow
    from mlflow.models import infer_signature
    from mlflow.tracking import MlflowClient

    name = model_name(family)
    scores = ranker.score_samples(sample)
    signature = infer_signature(sample, scores)
    mlflow.log_metrics({f"{family}.{k}": float(v) for k, v in metrics.items() if _finite(v)})
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / f"shap_summary_{family}.csv"
        shap_summary.rename("mean_abs_shap").to_csv(csv, index_label="feature")
        top = shap_summary.head(15)[::-1]
        fig, ax = plt.subplots(figsize=(7, 0.35 * len(top) + 1))
        ax.barh(top.index, top.to_numpy())
        ax.set_xlabel("mean |SHAP| (log-odds)")
        ax.set_title(f"{family}: what the model relies on")
        fig.tight_layout()
        fig.savefig(Path(tmp) / f"shap_summary_{family}.png", dpi=110)
        plt.close(fig)
        mlflow.log_artifacts(tmp, artifact_path=f"shap/{family}")
    info = mlflow.sklearn.log_model(
        sk_model=ranker,
        name=f"model_{family}",
        signature=signature,
        registered_model_name=name,
        serialization_format="pickle",
    )
    version = str(info.registered_model_version)
    client = MlflowClient()
    if promote:
        client.set_registered_model_alias(name, "champion", version)
        client.set_model_version_tag(name, version, "role", "champion")
    else:
        client.set_model_version_tag(name, version, "role", "challenger")
    client.set_model_version_tag(name, version, "gate", json.dumps({k: metrics.get(k) for k in ("val_ap", "val_ap_rule")}))
    return version


def load_champions() -> dict[str, tuple[FamilyRanker | None, str]]:
    """family -> (champion model or None, version label); scoring falls back to the rule without a champion."""
    import mlflow
    from mlflow.exceptions import MlflowException

    out: dict[str, tuple[FamilyRanker | None, str]] = {}
    for family in FAMILIES:
        uri = f"models:/{model_name(family)}@champion"
        try:
            model = mlflow.sklearn.load_model(uri)
            version = mlflow.tracking.MlflowClient().get_model_version_by_alias(model_name(family), "champion").version
            out[family] = (model, f"{model_name(family)}/{version}")
        except MlflowException:
            log.warning("no champion for %s: scoring it with the rule baseline", family)
            out[family] = (None, "rule-baseline")
    return out


def _finite(v: object) -> bool:
    try:
        return bool(np.isfinite(float(v)))
    except (TypeError, ValueError):
        return False
