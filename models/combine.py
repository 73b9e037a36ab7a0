"""Combined family scores, the overall score, and unique ranks with a deterministic tie-break.

Tie-break (everywhere a rank is assigned): score descending, then mine_code ascending as text; a
missing score ranks last. Percentiles are taken within one scoring snapshot (`by`, e.g. as_of), so a
score is comparable within a risk and a date, as the output contract asks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from models.spec import FAMILIES

RISKS = FAMILIES + ("overall",)


def _groups(by: object, n: int) -> pd.Series:
    if by is None:
        return pd.Series(np.zeros(n, dtype=int))
    return pd.Series(np.asarray(by, dtype=object))


def unique_ranks(score: object, key: object, by: object = None) -> np.ndarray:
    """Ranks 1..n within each `by` group: score desc, then key asc (as text); NaN scores last."""
    s = np.asarray(score, dtype=float)
    frame = pd.DataFrame(
        {
            "g": _groups(by, len(s)).astype(str),
            "missing": np.isnan(s),
            "neg": -np.nan_to_num(s, nan=0.0),
            "key": pd.Series(np.asarray(key, dtype=object)).astype(str).to_numpy(),
            "pos": np.arange(len(s)),
        }
    )
    frame = frame.sort_values(["g", "missing", "neg", "key"], kind="mergesort")
    ranks = frame.groupby("g", sort=False).cumcount().to_numpy() + 1
    out = np.empty(len(s), dtype=int)
    out[frame["pos"].to_numpy()] = ranks
    return out


def percentile_ranks(score: object, by: object = None) -> np.ndarray:
    """Average rank (ascending) / (n + 1) within each group: in (0, 1), ties share a value, NaN -> lowest."""
    s = pd.Series(np.asarray(score, dtype=float)).fillna(-np.inf)
    g = _groups(by, len(s))
    ranks = s.groupby(g.to_numpy()).rank(method="average")
    sizes = s.groupby(g.to_numpy()).transform("size")
    return (ranks / (sizes + 1)).to_numpy()


def combine_family(
    components: pd.DataFrame, weights: Mapping[str, float] | None = None, by: object = None, gamma: float = 1.0
) -> np.ndarray:
    """Weighted mean of the components' percentile ranks raised to `gamma` (rule, detectors, PU model…).

    gamma = 1 is the plain weighted mean; a larger gamma lets one component that puts a mine at the very
    top count for more than several that put it a little above the middle (the components see different
    evidence, so one of them alone may be right).
    """
    weights = weights or {}
    total, acc = 0.0, np.zeros(len(components))
    for column in components.columns:
        w = float(weights.get(column, 1.0))
        if w:
            acc += w * percentile_ranks(components[column], by) ** gamma
            total += w
    if total == 0:
        raise ValueError("all component weights are zero")
    return acc / total


def overall_score(family_scores: pd.DataFrame, gamma: float = 4.0, by: object = None) -> np.ndarray:
    """Noisy-OR of family percentiles sharpened by `gamma`: 1 - prod_f (1 - p_f ** gamma).

    gamma = 1 is a plain noisy-OR (rewards being fairly high everywhere); a large gamma tends to the max
    (one strong family is enough). The default 4 ranks a mine at the top of one family above one that
    is at the 80th percentile of all four, and a mine at the top of two above both.
    """
    p = np.column_stack([percentile_ranks(family_scores[c], by) for c in family_scores.columns])
    return 1.0 - np.prod(1.0 - p**gamma, axis=1)


def rank_targets(
    scores: pd.DataFrame,
    risks: Sequence[str] = RISKS,
    key: str = "mine_code",
    by: str | None = "as_of",
) -> pd.DataFrame:
    """Wide scores (one column per risk) to the long target shape: [by,] key, risk, score, rank."""
    ids = [c for c in (by, key) if c is not None]
    long = scores.melt(id_vars=ids, value_vars=list(risks), var_name="risk", value_name="score")
    groups = long[by].astype(str) + "|" + long["risk"] if by is not None else long["risk"]
    long["rank"] = unique_ranks(long["score"], long[key], groups)
    order = {r: i for i, r in enumerate(risks)}
    long = long.sort_values([*(c for c in [by] if c), "risk", "rank"], key=lambda s: s.map(order) if s.name == "risk" else s)
    return long.reset_index(drop=True)
