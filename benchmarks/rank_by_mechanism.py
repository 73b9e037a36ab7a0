"""Where each planted mechanism ranks: mean within-date rank of its positive mine-dates, model against rule.

Usage:
    python benchmarks/rank_by_mechanism.py alarm_falsification 9701 9702 9703   # after `minewatch evaluate`
    python benchmarks/rank_by_mechanism.py overproduction 8001 --work data/dev    # a dev seed

A diagnosis, not a tuning tool: it reads the seeds `minewatch evaluate` (or compare_models.py) left under
--work, fits params.yaml's model on the findings before the cutoff as `evaluate` does, scores the weekly
dates after it, and reports for each mechanism of the family (from `_truth/anomalies.csv`) how many
positive mine-dates it has and their mean rank of the mines (1 = top) under the model and the rule.
A mine with two mechanisms of the family counts under each. It then counts the model's false positives
in the top k (10 % of mines, as `evaluate`) and how many of them are positives of another family.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from compare_models import frames  # noqa: E402

from models.combine import unique_ranks  # noqa: E402
from models.metrics import top_k  # noqa: E402
from models.ranker import score_families  # noqa: E402
from models.rules import rule_score  # noqa: E402
from models.spec import FAMILIES  # noqa: E402
from pipelines.evaluate import EvaluateParams, live_anomalies  # noqa: E402
from pipelines.modelling import TrainParams, feature_spec, fit_rankers  # noqa: E402
from pipelines.params import load_section  # noqa: E402


def mechanism_ranks(scored: pd.DataFrame, model_score: pd.Series, anomalies: pd.DataFrame, family: str,
                    window_days: int) -> pd.DataFrame:
    """Per mechanism: positive mine-dates (the mechanism live in the feature window) and mean ranks."""
    frame = scored[["as_of", "mine_code"]].copy()
    frame["rank"] = model_score.groupby(scored["as_of"]).rank(ascending=False, method="average")
    frame["rule_rank"] = rule_score(scored, family).groupby(scored["as_of"]).rank(ascending=False, method="average")
    plans = anomalies[anomalies["family"] == family]
    live = pd.concat([live_anomalies(plans, as_of.date(), window_days)[["mine_code", "mechanism"]].assign(as_of=as_of)
                      for as_of in pd.to_datetime(frame["as_of"]).drop_duplicates()])
    live = frame.assign(as_of=pd.to_datetime(frame["as_of"])).merge(live, on=["as_of", "mine_code"])
    return live.groupby("mechanism").agg(n=("rank", "size"), rank=("rank", "mean"), rule_rank=("rule_rank", "mean"))


def top_k_false_positives(scored: pd.DataFrame, model_score: pd.Series, family: str, share: float) -> pd.Series:
    """Top-k slots over the dates, the false positives among them, and how many of those are another family's."""
    rank = unique_ranks(model_score, scored["mine_code"], scored["as_of"])  # as `evaluate` ranks for P@k
    k = scored.groupby("as_of")["mine_code"].transform("size").map(lambda n: top_k(int(n), share))
    top = scored[rank <= k.to_numpy()]
    wrong = top[top[f"truth_{family}"] == 0]
    out = {"top_k_slots": len(top), "false_positives": len(wrong)}
    for other in FAMILIES:
        if other != family:
            out[f"of them {other}"] = int(wrong[f"truth_{other}"].sum())
    return pd.Series(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("family", choices=FAMILIES)
    parser.add_argument("seeds", type=int, nargs="+")
    parser.add_argument("--work", type=Path, default=ROOT / "data" / "evaluate")
    parser.add_argument("--params", default=str(ROOT / "params.yaml"))
    args = parser.parse_args()
    ep = load_section("evaluate", EvaluateParams, args.params)
    tp = load_section("train", TrainParams, args.params)
    for seed in args.seeds:
        truth = args.work / f"seed-{seed}" / "raw" / "_truth" / "anomalies.csv"
        if not truth.exists():
            parser.error(f"{truth} is missing: run `minewatch evaluate --seeds {seed}` (or compare_models.py) first")
        train, scored = frames(seed, args.work, ep, tp)
        scores = score_families(fit_rankers(train, feature_spec(), tp.model), scored)
        anomalies = pd.read_csv(truth, dtype={"mine_code": str}, parse_dates=["start_at", "end_at"])
        table = mechanism_ranks(scored, pd.Series(scores[args.family].to_numpy(), index=scored.index), anomalies,
                                args.family, tp.window_days)
        n_mines = int(scored.groupby("as_of").size().max())
        print(f"seed {seed}, {args.family}: mean rank of {n_mines} (1 = top) of the positive mine-dates after the cutoff")
        print(table.round(1).to_string(), end="\n\n")
        wrong = top_k_false_positives(scored, pd.Series(scores[args.family].to_numpy(), index=scored.index),
                                      args.family, ep.top_share)
        print(wrong.to_string(), end="\n\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
