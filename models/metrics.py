"""Ranking metrics for inspection targeting: AP, precision and recall at k, lift, and days until a case reaches the top k."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score

from models.combine import unique_ranks

TOP_SHARE = 0.10  # inspectors can visit about a tenth of the mines in a period


def top_k(n_mines: int, share: float = TOP_SHARE) -> int:
    """k = ceil(share x number of mines), at least 1."""
    return max(1, math.ceil(share * n_mines - 1e-9))


def _truth(y: object) -> np.ndarray:
    out = np.asarray(y, dtype=float)
    if np.isnan(out).any() or not np.isin(out, (0.0, 1.0)).all():
        raise ValueError("truth must be 0/1 with no missing value; select the rows whose outcome is known")
    return out


def average_precision(y: object, score: object) -> float:
    """Area under the precision-recall steps (sklearn: tied scores form one threshold); NaN with no positive."""
    truth = _truth(y)
    if truth.sum() == 0:
        return float("nan")
    return float(average_precision_score(truth, np.asarray(score, dtype=float)))


def precision_recall_at_k(y: object, score: object, key: object, k: int) -> tuple[float, float]:
    """Precision and recall of the top k by unique rank (score desc, then key asc)."""
    truth = _truth(y)
    top = unique_ranks(score, key) <= k
    hits = truth[top].sum()
    recall = hits / truth.sum() if truth.sum() else float("nan")
    return float(hits / k), float(recall)


def _ratio(a: float, b: float) -> float:
    return float(a / b) if b and not (math.isnan(a) or math.isnan(b)) else float("nan")


def family_metrics(
    y: object, score: object, rule_score: object, key: object, k: int | None = None, share: float = TOP_SHARE
) -> dict[str, float]:
    """Metrics of one snapshot (one row per mine): AP, P@k, R@k, each for the model and the rule, and lifts.

    Lift over random divides by the prevalence (the AP and the P@k of a random order); lift over the
    rule divides by the rule's value.
    """
    truth = _truth(y)
    n = len(truth)
    k = k if k is not None else top_k(n, share)
    prevalence = truth.mean() if n else float("nan")
    ap, ap_rule = average_precision(truth, score), average_precision(truth, rule_score)
    p, r = precision_recall_at_k(truth, score, key, k)
    p_rule, r_rule = precision_recall_at_k(truth, rule_score, key, k)
    return {
        "n": n,
        "n_positive": int(truth.sum()),
        "k": k,
        "prevalence": float(prevalence),
        "ap": ap,
        "ap_rule": ap_rule,
        "ap_lift_rule": _ratio(ap, ap_rule),
        "ap_lift_random": _ratio(ap, prevalence),
        "precision_at_k": p,
        "recall_at_k": r,
        "precision_at_k_rule": p_rule,
        "recall_at_k_rule": r_rule,
        "precision_at_k_lift_rule": _ratio(p, p_rule),
        "precision_at_k_lift_random": _ratio(p, prevalence),
    }


def evaluate_snapshots(
    frame: pd.DataFrame,
    truth: str,
    score: str,
    rule: str,
    key: str = "mine_code",
    by: str = "as_of",
    share: float = TOP_SHARE,
) -> dict[str, float]:
    """family_metrics per snapshot (`by`), averaged over the snapshots that hold at least one positive."""
    rows = []
    for _, snap in frame.groupby(by, sort=True):
        m = family_metrics(snap[truth], snap[score], snap[rule], snap[key], share=share)
        if m["n_positive"]:
            rows.append(m)
    if not rows:
        return {"n_snapshots": 0}
    table = pd.DataFrame(rows)
    out = {c: float(table[c].mean()) for c in table.columns if c not in ("n", "n_positive", "k")}
    out.update(n_snapshots=len(rows), n_positive=int(table["n_positive"].sum()), k=float(table["k"].mean()))
    return with_lifts(out)


LIFTS = {
    "ap_lift_rule": ("ap", "ap_rule"),
    "ap_lift_random": ("ap", "prevalence"),
    "precision_at_k_lift_rule": ("precision_at_k", "precision_at_k_rule"),
    "precision_at_k_lift_random": ("precision_at_k", "prevalence"),
}


def with_lifts(metrics: dict[str, float]) -> dict[str, float]:
    """Lifts of averaged metrics as the ratio of the averages, never the average of per-snapshot ratios.

    A snapshot where the rule's AP is tiny would otherwise inflate the mean ratio far beyond what the
    averaged APs show.
    """
    out = dict(metrics)
    for lift, (num, den) in LIFTS.items():
        if num in out and den in out:
            out[lift] = _ratio(out[num], out[den])
    return out


def days_to_top_k(
    ranks: pd.DataFrame, events: pd.DataFrame, k: int | None = None, share: float = TOP_SHARE
) -> pd.DataFrame:
    """Per event, the first as-of date on or after it when the mine ranks within the top k, and the days between.

    `ranks` has mine_code, as_of, rank (one row per mine and scoring date); `events` has mine_code and
    event_date. k defaults to ceil(share x mines ranked that day). A mine never in the top k afterwards
    gets NaT / NaN: report that share next to the mean delay.
    """
    r = ranks[["mine_code", "as_of", "rank"]].copy()
    r["as_of"] = pd.to_datetime(r["as_of"])
    if k is None:
        r["k"] = r.groupby("as_of")["mine_code"].transform("size").map(lambda n: top_k(int(n), share))
    else:
        r["k"] = k
    hits = r.loc[r["rank"] <= r["k"], ["mine_code", "as_of"]]
    ev = events[["mine_code", "event_date"]].copy().reset_index(drop=True)
    ev["event_date"] = pd.to_datetime(ev["event_date"])
    ev["_event"] = np.arange(len(ev))
    pairs = ev.merge(hits, on="mine_code", how="left")
    # an as-of date sees the data up to the end of that day, so a same-day listing counts as 0 days
    pairs = pairs[pairs["as_of"] >= pairs["event_date"]]
    first = pairs.groupby("_event")["as_of"].min()
    ev["first_top_k"] = pd.to_datetime(first.reindex(ev["_event"]).to_numpy())
    ev["days_to_top_k"] = (ev["first_top_k"] - ev["event_date"]).dt.days.astype(float)
    return ev.drop(columns="_event")


def summarise_days(delays: pd.DataFrame) -> dict[str, float]:
    """Mean and median days to the top k over the events found, and the share never found."""
    days = delays["days_to_top_k"]
    found = days.notna()
    return {
        "n_events": int(len(days)),
        "share_found": float(found.mean()) if len(days) else float("nan"),
        "mean_days": float(days[found].mean()) if found.any() else float("nan"),
        "median_days": float(days[found].median()) if found.any() else float("nan"),
    }
