"""Compare model configurations on development seeds: AP per family against the ground truth, through the real code path.

Usage:
    python benchmarks/compare_models.py                         # dev seeds 8001 8002 8003 under data/dev
    python benchmarks/compare_models.py --seeds 8004 8005       # other dev seeds (never the evaluate seeds)

Each seed is simulated and ingested as `minewatch evaluate` does (60 mines x 150 days, cached under --work
with their feature snapshots), trained on findings before day 100 and scored weekly after it. This is
where model choices are made: the seeds of `params.yaml: evaluate` are kept for the final table only.
"""

from __future__ import annotations

import argparse
import dataclasses as dc
import sys
from datetime import timedelta
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from models.metrics import evaluate_snapshots  # noqa: E402
from models.ranker import ModelParams, score_families  # noqa: E402
from models.rules import rule_score  # noqa: E402
from models.spec import FAMILIES, FeatureSpec  # noqa: E402
from pipelines.build_features import BuildFeaturesParams, connect  # noqa: E402
from pipelines.evaluate import (  # noqa: E402
    EvaluateParams,
    prepare_seed,
    read_anomalies,
    scoring_snapshots,
    with_truth,
)
from pipelines.modelling import (  # noqa: E402
    TrainParams,
    as_of_grid,
    data_span,
    ensure_feature_history,
    feature_spec,
    fit_rankers,
    labelled_frame,
)
from pipelines.params import load_section  # noqa: E402

RESERVED = {9101, 9102, 9103, 9201, 9202, 9203, 9401, 9402, 9403,  # evaluation seeds: never tune on them
            9501, 9502, 9503, 9601, 9602, 9603, 9701, 9702, 9703}
ABLATIONS = ("crew_exit", "sensor_held")  # evidence groups scored without, to show what each one adds
SPLITS = ("sensor_held",)  # evidence groups scored with each column as a group of its own, the alternative chosen against
COLUMN_ABLATIONS = ("ca_max_crew_days_off_lookback",)  # single columns scored without, to show what each one adds


def frames(seed: int, work: Path, ep: EvaluateParams, tp: TrainParams) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(labelled training snapshots before the cutoff, scored snapshots after it with truth columns)."""
    folder = prepare_seed(seed, ep, work)
    con = connect(folder / "warehouse.duckdb", folder / "features.duckdb", BuildFeaturesParams(tp.window_days, tp.history_days))
    try:
        first, last = data_span(con)
        cutoff = first + timedelta(days=ep.cutoff_day)
        grid = [d for d in as_of_grid(first, min(last, cutoff - timedelta(days=1)), tp) if d < cutoff]
        ensure_feature_history(con, grid, tp)  # cached in features.duckdb after the first run
        train = labelled_frame(con, grid, cutoff, tp.step_days)
        scored = scoring_snapshots(con, cutoff, last, ep, tp)
    finally:
        con.close()
    return train, with_truth(scored, read_anomalies(folder), tp.window_days)


def average_ap(frame: pd.DataFrame, family: str, score: pd.Series) -> float:
    """AP against the family's truth, averaged over the scoring dates with a positive (as `evaluate` does)."""
    snaps = frame[["mine_code", "as_of", f"truth_{family}"]].assign(score=score.to_numpy(), rule=0.0)
    return evaluate_snapshots(snaps, f"truth_{family}", "score", "rule").get("ap", float("nan"))


def configurations(current: ModelParams) -> dict[str, ModelParams]:
    """params.yaml's model and the alternatives it was chosen over."""
    def variant(within: str, across: str, gamma: float, **weights: float) -> ModelParams:
        return dc.replace(current, detectors=dc.replace(current.detectors, ecod_within=within, ecod_across=across),
                          combine=dc.replace(current.combine, family_gamma=gamma, by_family={}, **weights))

    return {
        "params.yaml": current,
        "params.yaml, same weights for every family": dc.replace(current, combine=dc.replace(current.combine, by_family={})),
        "params.yaml, ECOD weight 2 for every family": dc.replace(
            current, combine=dc.replace(current.combine, ecod=2.0, by_family={})),
        "before (no ecod, pu 2, mean)": variant("mean", "max", 1.0, rule=1, iforest=1, robust_z=1, ecod=0, pu=2),
        "ecod groups max/sum": variant("max", "sum", 3.0, rule=1, iforest=1, robust_z=1, ecod=1, pu=1),
        "ecod x2, no iforest/pu": variant("mean", "max", 3.0, rule=1, iforest=0, robust_z=1, ecod=2, pu=0),
        "plain mean of percentiles": variant("mean", "max", 1.0, rule=1, iforest=1, robust_z=1, ecod=1, pu=1),
        "overproduction: rule weight 2": dc.replace(current, combine=dc.replace(
            current.combine, by_family={**current.combine.by_family, "overproduction": {"rule": 2.0}})),
    }


def without_columns(spec: FeatureSpec, drop: set[str]) -> FeatureSpec:
    """The spec without some columns: what the models knew before they were added."""
    return FeatureSpec({c: f for c, f in spec.family.items() if c not in drop},
                       {c: d for c, d in spec.direction.items() if c not in drop},
                       {c: g for c, g in spec.evidence.items() if c not in drop})


def without_evidence(spec: FeatureSpec, group: str) -> FeatureSpec:
    """The spec without the columns of one evidence group."""
    return without_columns(spec, {c for c in spec.family if spec.evidence.get(c) == group})


def split_evidence(spec: FeatureSpec, group: str) -> FeatureSpec:
    """The spec with each column of one evidence group made a group of its own."""
    return FeatureSpec(dict(spec.family), dict(spec.direction),
                       {c: (c if g == group else g) for c, g in spec.evidence.items()})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[8001, 8002, 8003])
    parser.add_argument("--work", type=Path, default=ROOT / "data" / "dev")
    parser.add_argument("--params", default=str(ROOT / "params.yaml"))
    args = parser.parse_args()
    if RESERVED & set(args.seeds):
        parser.error(f"seeds {sorted(RESERVED & set(args.seeds))} are evaluation seeds: compare on others")
    ep = load_section("evaluate", EvaluateParams, args.params)
    tp = load_section("train", TrainParams, args.params)
    spec = feature_spec()
    rows = []
    for seed in args.seeds:
        train, scored = frames(seed, args.work, ep, tp)
        for name, model in configurations(tp.model).items():
            scores = score_families(fit_rankers(train, spec, model), scored)
            rows.append({"seed": seed, "config": name,
                         **{f: average_ap(scored, f, scores[f]) for f in FAMILIES}})
        for group in ABLATIONS:
            scores = score_families(fit_rankers(train, without_evidence(spec, group), tp.model), scored)
            rows.append({"seed": seed, "config": f"params.yaml without {group} features",
                         **{f: average_ap(scored, f, scores[f]) for f in FAMILIES}})
        for column in COLUMN_ABLATIONS:
            scores = score_families(fit_rankers(train, without_columns(spec, {column}), tp.model), scored)
            rows.append({"seed": seed, "config": f"params.yaml without {column}",
                         **{f: average_ap(scored, f, scores[f]) for f in FAMILIES}})
        for group in SPLITS:
            scores = score_families(fit_rankers(train, split_evidence(spec, group), tp.model), scored)
            rows.append({"seed": seed, "config": f"params.yaml, {group} columns as groups of their own",
                         **{f: average_ap(scored, f, scores[f]) for f in FAMILIES}})
        rows.append({"seed": seed, "config": "rule baseline",
                     **{f: average_ap(scored, f, rule_score(scored, f)) for f in FAMILIES}})
    table = pd.DataFrame(rows)
    table["mean"] = table[list(FAMILIES)].mean(axis=1)
    pd.set_option("display.width", 200)
    print(table.round(3).to_string(index=False))
    print(f"\nmean over seeds {' '.join(map(str, args.seeds))} (AP, mean over weekly scoring dates after day {ep.cutoff_day}):")
    print(table.groupby("config", sort=False)[[*FAMILIES, "mean"]].mean().round(3).to_string())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
