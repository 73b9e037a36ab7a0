"""Score every mine as of a date with the champion models and write targets.csv (the contract's output)."""

from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from features.catalog import table_entries
from models.combine import overall_score, percentile_ranks, unique_ranks
from models.explain import contributions, top_reasons
from models.ranker import FamilyRanker
from models.rules import RULE_COLUMNS, rule_score
from models.spec import FAMILIES
from pipelines.build_features import DEFAULT_FEATURES, DEFAULT_WAREHOUSE, BuildFeaturesParams, connect
from pipelines.modelling import (
    TrainParams,
    configure_mlflow,
    data_span,
    ensure_feature_history,
    load_champions,
)
from pipelines.params import load_section

log = logging.getLogger(__name__)
DEFAULT_OUT = Path("data/out/targets.csv")
TARGET_COLUMNS = ["as_of", "mine_code", "mine_name", "risk", "score", "rank", "top_reasons", "model_version"]


@dataclass(frozen=True)
class ScoreParams:
    n_reasons: int = 3
    overall_gamma: float = 4.0
    lang: str = "en"


def reason_text(feature: str, value: float, lang: str, window_days: int) -> str:
    """A feature and its value in plain words, from the catalog."""
    entry = table_entries("mine_features").get(feature)
    if entry is None or value is None or not np.isfinite(value):
        return feature
    return entry.reason(float(value), lang, window_days=window_days)


def explain_family(model: FamilyRanker | None, frame: pd.DataFrame, family: str, k: int) -> pd.DataFrame:
    """Top-k positive contributions per mine: SHAP of the PU LightGBM (or of its fallback detector)."""
    if model is None:
        # the rule baseline's own inputs are its reasons
        cols = [c for c in RULE_COLUMNS[family] if c in frame.columns]
        contribs = frame[cols].apply(pd.to_numeric, errors="coerce").fillna(0.0).clip(lower=0)
    else:
        contribs, _ = contributions(model.pu_, frame)
    reasons = top_reasons(contribs, frame, k=k, ids=frame[["mine_code"]])
    reasons["family"] = family
    return reasons


def score_frame(
    frame: pd.DataFrame, champions: dict[str, tuple[FamilyRanker | None, str]], params: ScoreParams,
    window_days: int,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """targets (one row per mine and risk) and reasons (one row per mine, family and reason) for one as-of."""
    frame = frame.reset_index(drop=True)
    scores, reasons, versions = {}, [], {}
    for family in FAMILIES:
        model, version = champions[family]
        scores[family] = model.score_samples(frame) if model is not None else rule_score(frame, family).to_numpy()
        versions[family] = version
        reasons.append(explain_family(model, frame, family, params.n_reasons))
    family_scores = pd.DataFrame(scores)
    overall = overall_score(family_scores, params.overall_gamma)
    reasons_long = pd.concat(reasons, ignore_index=True)
    reasons_long["text"] = [
        reason_text(f, v, params.lang, window_days) for f, v in zip(reasons_long["feature"], reasons_long["value"], strict=True)
    ]
    # overall: the reasons of the family whose percentile drives the mine's overall score
    pct = pd.DataFrame({f: percentile_ranks(family_scores[f]) for f in FAMILIES})
    lead = pct.idxmax(axis=1)
    rows = []
    as_of = frame["as_of"].iloc[0]
    for risk in (*FAMILIES, "overall"):
        s = overall if risk == "overall" else family_scores[risk].to_numpy()
        ranks = unique_ranks(s, frame["mine_code"])
        for i in range(len(frame)):
            fam = lead[i] if risk == "overall" else risk
            texts = reasons_long[(reasons_long["row"] == i) & (reasons_long["family"] == fam)]["text"].tolist()
            rows.append({
                "as_of": as_of,
                "mine_code": frame.at[i, "mine_code"],
                "mine_name": frame.at[i, "mine_name"],
                "risk": risk,
                "score": float(s[i]),
                "rank": int(ranks[i]),
                "top_reasons": "; ".join(texts),
                "model_version": ";".join(f"{f}={versions[f]}" for f in FAMILIES) if risk == "overall"
                else versions[risk],
            })
    targets = pd.DataFrame(rows, columns=TARGET_COLUMNS).sort_values(["risk", "rank"], kind="mergesort")
    reasons_long = reasons_long.assign(as_of=as_of, mine_code=frame["mine_code"].to_numpy()[reasons_long["row"]])
    return targets.reset_index(drop=True), reasons_long.drop(columns=["row"])


def write_targets(targets: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    out = targets.copy()
    out["as_of"] = pd.to_datetime(out["as_of"]).dt.strftime("%Y-%m-%d")
    out.to_csv(path, index=False, encoding="utf-8", float_format="%.6f")


def store_scores(con, targets: pd.DataFrame, reasons: pd.DataFrame) -> None:
    """Keep every scoring in the features database (`scores`, `score_reasons`), replacing the same as-of."""
    as_of = targets["as_of"].iloc[0]
    for table, frame in (("scores", targets), ("score_reasons", reasons)):
        con.register("_new", frame)
        con.execute(f"create table if not exists {table} as select * from _new limit 0")
        con.execute(f"delete from {table} where as_of = ?", [as_of])
        con.execute(f"insert into {table} by name select * from _new")
        con.unregister("_new")


def score(con, as_of: date, train_params: TrainParams, params: ScoreParams) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Build features as of `as_of` if needed, score with the champions, store and return the targets."""
    ensure_feature_history(con, [as_of], train_params, force=True)
    frame = con.execute("select * from mine_features where as_of = ? order by mine_code", [as_of]).df()
    if frame.empty:
        raise SystemExit(f"score: no mines in mine_features as of {as_of}")
    configure_mlflow()
    targets, reasons = score_frame(frame, load_champions(), params, train_params.window_days)
    store_scores(con, targets, reasons)
    return targets, reasons


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--as-of", type=date.fromisoformat, default=None,
                        help="score with data before this date + 1 day (default: the last day with data)")
    parser.add_argument("--warehouse", type=Path, default=DEFAULT_WAREHOUSE, help="DuckDB warehouse (read only)")
    parser.add_argument("--features", type=Path, default=DEFAULT_FEATURES, help="features DuckDB file")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="targets.csv to write")
    parser.add_argument("--lang", choices=("en", "zh"), default=None, help="language of top_reasons")


def main(args: argparse.Namespace) -> int:
    train_params = load_section("train", TrainParams, args.params)
    params = load_section("score", ScoreParams, args.params)
    if args.lang:
        params = ScoreParams(params.n_reasons, params.overall_gamma, args.lang)
    con = connect(args.warehouse, args.features, BuildFeaturesParams(train_params.window_days, train_params.history_days))
    try:
        as_of = args.as_of or data_span(con)[1]
        targets, _ = score(con, as_of, train_params, params)
    finally:
        con.close()
    write_targets(targets, args.out)
    top = targets[targets["risk"] == "overall"].head(10)
    print(f"scored {targets['mine_code'].nunique()} mines as of {as_of}: {args.out}")
    print(top[["rank", "mine_code", "mine_name", "score", "top_reasons"]].to_string(index=False, max_colwidth=90))
    return 0
