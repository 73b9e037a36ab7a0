"""Train the per-family rankers on inspection findings before a cutoff, gate them, register them in MLflow."""

from __future__ import annotations

import argparse
import logging
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from models.explain import contributions, mean_abs_contributions
from models.metrics import average_precision
from models.pu import random_inspection_ap
from models.ranker import FamilyRanker
from models.rules import rule_score
from models.spec import FAMILIES, FeatureSpec
from pipelines.build_features import DEFAULT_FEATURES, DEFAULT_WAREHOUSE, BuildFeaturesParams, connect
from pipelines.modelling import (
    TrainParams,
    as_of_grid,
    configure_mlflow,
    data_span,
    ensure_experiment,
    ensure_feature_history,
    feature_spec,
    fit_rankers,
    labelled_frame,
    log_family_model,
    params_dict,
)
from pipelines.params import load_section

log = logging.getLogger(__name__)


@dataclass
class TrainResult:
    cutoff: date
    rankers: dict[str, FamilyRanker]
    gate: dict[str, dict[str, float]]
    versions: dict[str, str]
    frame: pd.DataFrame


def gate_metrics(ranker: FamilyRanker, rows: pd.DataFrame, family: str) -> dict[str, float]:
    """AP of the model and of the rule on held-out inspected rows (and on random inspections alone)."""
    y = rows[f"label_{family}"].astype(float)
    seen = y.notna().to_numpy()
    scores = ranker.score_samples(rows)
    rule = rule_score(rows, family).to_numpy()
    out = {
        "val_n_labelled": float(seen.sum()),
        "val_n_positive": float(np.nansum(y.to_numpy())),
        "val_ap": average_precision(y[seen], scores[seen]) if seen.any() else float("nan"),
        "val_ap_rule": average_precision(y[seen], rule[seen]) if seen.any() else float("nan"),
        "val_ap_random_inspections": random_inspection_ap(y, scores, rows["inspection_kind"]),
    }
    return out


def passes_gate(m: dict[str, float]) -> bool:
    """Promote only a model that beats the rule baseline on held-out findings with at least one positive."""
    return m["val_n_positive"] >= 1 and np.isfinite(m["val_ap"]) and m["val_ap"] > (m["val_ap_rule"] or 0.0)


def train(
    con, params: TrainParams, cutoff: date | None = None, spec: FeatureSpec | None = None
) -> TrainResult:
    """Fit on labels strictly before `cutoff` (default: the day after the last data); gate on the last weeks."""
    spec = spec or feature_spec()
    first, last = data_span(con)
    cutoff = cutoff or last + timedelta(days=1)
    grid = [d for d in as_of_grid(first, min(last, cutoff - timedelta(days=1)), params) if d < cutoff]
    ensure_feature_history(con, grid, params)
    frame = labelled_frame(con, grid, cutoff, params.step_days)
    # temporal validation: fit on snapshots whose labels all end before val_start, judge on the rest
    val_start = cutoff - timedelta(days=params.validation_days)
    fit_dates = [d for d in grid if d + timedelta(days=params.step_days) <= val_start]
    gate: dict[str, dict[str, float]] = {}
    if fit_dates:
        early = labelled_frame(con, fit_dates, val_start, params.step_days)
        held_out = frame[pd.to_datetime(frame["as_of"]) >= pd.Timestamp(fit_dates[-1] + timedelta(days=1))]
        early_rankers = fit_rankers(early, spec, params.model)
        for family in FAMILIES:
            gate[family] = gate_metrics(early_rankers[family], held_out, family)
    rankers = fit_rankers(frame, spec, params.model)
    for family in FAMILIES:
        gate.setdefault(family, {"val_n_labelled": 0.0, "val_n_positive": 0.0, "val_ap": float("nan"),
                                 "val_ap_rule": float("nan"), "val_ap_random_inspections": float("nan")})
        y = frame[f"label_{family}"]
        gate[family].update(train_n_labelled=float(y.notna().sum()), train_n_positive=float((y == 1).sum()),
                            train_rows=float(len(frame)))
    return TrainResult(cutoff, rankers, gate, {}, frame)


def register(result: TrainResult, params: TrainParams, data_label: str) -> dict[str, str]:
    """Log params, gate metrics, signature and SHAP summaries to MLflow; move `champion` only past the gate."""
    import mlflow

    configure_mlflow()
    experiment_id = ensure_experiment(params.experiment)
    versions = {}
    with mlflow.start_run(experiment_id=experiment_id, run_name=f"train-{result.cutoff}"):
        mlflow.log_params({**params_dict(params), "cutoff": str(result.cutoff), "data": data_label})
        sample = result.frame.drop(columns=[c for c in result.frame.columns if c.startswith("label_")]
                                   + ["inspection_kind"]).head(50)
        latest = result.frame[result.frame["as_of"] == result.frame["as_of"].max()]
        for family, ranker in result.rankers.items():
            contribs, _ = contributions(ranker.pu_, latest)
            summary = mean_abs_contributions(contribs).sort_values(ascending=False)
            promote = passes_gate(result.gate[family])
            versions[family] = log_family_model(family, ranker, sample, result.gate[family], summary, promote)
            result.gate[family]["promoted"] = float(promote)
    result.versions = versions
    return versions


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--warehouse", type=Path, default=DEFAULT_WAREHOUSE, help="DuckDB warehouse (read only)")
    parser.add_argument("--features", type=Path, default=DEFAULT_FEATURES, help="features DuckDB file")
    parser.add_argument("--cutoff", type=date.fromisoformat, default=None,
                        help="use only inspection findings that ended strictly before this date "
                        "(default: the day after the last data)")


def load_params(path: str | None) -> TrainParams:
    return load_section("train", TrainParams, path)


def main(args: argparse.Namespace) -> int:
    params = load_params(args.params)
    started = time.perf_counter()
    # an existing features database is only read: `build-features --history` builds the snapshots
    con = connect(args.warehouse, args.features, BuildFeaturesParams(params.window_days, params.history_days),
                  read_only=args.features.exists())
    try:
        result = train(con, params, args.cutoff)
    finally:
        con.close()
    fitted = time.perf_counter() - started
    versions = register(result, params, str(args.warehouse))
    print(f"trained on findings before {result.cutoff} ({len(result.frame):,} mine snapshots) in {fitted:.1f} s")
    print(f"{'family':<22}{'labelled':>9}{'positive':>9}{'val AP':>8}{'rule AP':>8}  registered")
    for family in FAMILIES:
        g = result.gate[family]
        role = "champion" if g.get("promoted") else "challenger"
        print(f"{family:<22}{g['train_n_labelled']:>9.0f}{g['train_n_positive']:>9.0f}{g['val_ap']:>8.2f}"
              f"{g['val_ap_rule']:>8.2f}  version {versions[family]} ({role})")
    return 0
