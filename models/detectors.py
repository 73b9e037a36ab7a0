"""Unsupervised detectors on one family's columns, all pointing one way: higher score = more suspicious."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.ensemble import IsolationForest

from models.spec import oriented_matrix

MAD_TO_SD = 1.4826  # MAD of a normal distribution times this is its standard deviation
MEANAD_TO_SD = 1.2533  # same for the mean absolute deviation (Iglewicz & Hoaglin's fallback when MAD = 0)


def _directional(directions: Mapping[str, str] | None) -> dict[str, str]:
    if not directions:
        raise ValueError("directions (column -> higher/lower/none) are required")
    # 'none' columns are not evidence of anything: a reported accident must not make a mine look odd
    out = {c: d for c, d in directions.items() if d != "none"}
    if not out:
        raise ValueError("no directional column among the directions given")
    return out


def _nan_median(z: np.ndarray) -> np.ndarray:
    """Column medians ignoring NaN; an all-NaN column gets 0."""
    out = np.zeros(z.shape[1])
    has = ~np.isnan(z).all(axis=0)
    if has.any():
        out[has] = np.nanmedian(z[:, has], axis=0)
    return out


def robust_scale(z: np.ndarray, center: np.ndarray) -> np.ndarray:
    """Per column: 1.4826 MAD, else 1.2533 mean absolute deviation, else |center|, else 1 (never 0)."""
    dev = np.abs(z - center)
    scale = np.zeros(z.shape[1])
    has = ~np.isnan(z).all(axis=0)
    if has.any():
        scale[has] = MAD_TO_SD * np.nanmedian(dev[:, has], axis=0)
        mean_ad = np.zeros(z.shape[1])
        mean_ad[has] = MEANAD_TO_SD * np.nanmean(dev[:, has], axis=0)
        scale = np.where(scale > 0, scale, mean_ad)
    scale = np.where(scale > 0, scale, np.abs(center))
    return np.where(scale > 0, scale, 1.0)


class IsolationForestDetector(BaseEstimator):
    """IsolationForest on oriented columns; NULL = the training median; one-sided keeps only the suspicious tail.

    Score = -IsolationForest.score_samples, so higher = shorter isolation path = more suspicious. With
    `one_sided`, values on the innocent side of the training median are set to the median, so a mine
    that is unusually low on a 'higher' column (an honest, quiet mine) does not look anomalous.
    """

    def __init__(
        self,
        directions: Mapping[str, str] | None = None,
        n_estimators: int = 200,
        max_samples: int | float | str = "auto",
        max_features: float = 1.0,
        one_sided: bool = True,
        random_state: int | None = 0,
    ) -> None:
        self.directions = directions
        self.n_estimators = n_estimators
        self.max_samples = max_samples
        self.max_features = max_features
        self.one_sided = one_sided
        self.random_state = random_state

    def fit(self, X: pd.DataFrame, y: object = None) -> IsolationForestDetector:
        """Learn medians and the forest from the rows of X (labels are ignored)."""
        self.directions_ = _directional(self.directions)
        self.columns_ = list(self.directions_)
        self.medians_ = _nan_median(oriented_matrix(X, self.directions_))
        self.forest_ = IsolationForest(
            n_estimators=self.n_estimators,
            max_samples=self.max_samples,
            max_features=self.max_features,
            random_state=self.random_state,
            n_jobs=1,
        ).fit(self.transform(X))
        return self

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        """The matrix the forest sees: oriented, NULL filled with the median, clipped below at it if one-sided."""
        z = oriented_matrix(X, self.directions_)
        z = np.where(np.isnan(z), self.medians_, z)
        return np.maximum(z, self.medians_) if self.one_sided else z

    def score_samples(self, X: pd.DataFrame) -> np.ndarray:
        """Higher = more suspicious (2 ** (-mean path length / c(n)), in (0, 1])."""
        return -self.forest_.score_samples(self.transform(X))

    def decision_function(self, X: pd.DataFrame) -> np.ndarray:
        """Same as score_samples."""
        return self.score_samples(X)


class PeerRobustZDetector(BaseEstimator):
    """Mean over columns of the positive robust z-score against the mine's peer group (median/MAD).

    Peers are rows with the same `peer_column` value (e.g. size_band) when the group has at least
    `min_peer_rows` non-NULL training values of a column, else all rows. z is capped at `z_cap` so one
    runaway ratio cannot drown the other evidence; a NULL value contributes 0 (no evidence).
    """

    def __init__(
        self,
        directions: Mapping[str, str] | None = None,
        peer_column: str | None = "size_band",
        min_peer_rows: int = 8,
        z_cap: float = 10.0,
    ) -> None:
        self.directions = directions
        self.peer_column = peer_column
        self.min_peer_rows = min_peer_rows
        self.z_cap = z_cap

    def _groups(self, X: pd.DataFrame) -> np.ndarray:
        if self.peer_column is None or self.peer_column not in X.columns:
            return np.full(len(X), None, dtype=object)
        return X[self.peer_column].astype(object).where(X[self.peer_column].notna(), None).to_numpy()

    def fit(self, X: pd.DataFrame, y: object = None) -> PeerRobustZDetector:
        """Learn the global and per-peer-group centre and scale of each oriented column."""
        self.directions_ = _directional(self.directions)
        self.columns_ = list(self.directions_)
        z = oriented_matrix(X, self.directions_)
        self.center_ = _nan_median(z)
        self.scale_ = robust_scale(z, self.center_)
        groups = self._groups(X)
        self.peer_center_: dict[object, np.ndarray] = {}
        self.peer_scale_: dict[object, np.ndarray] = {}
        for g in sorted({g for g in groups if g is not None}, key=str):
            zg = z[groups == g]
            enough = (~np.isnan(zg)).sum(axis=0) >= self.min_peer_rows
            center = np.where(enough, _nan_median(zg), self.center_)
            self.peer_center_[g] = center
            self.peer_scale_[g] = np.where(enough, robust_scale(zg, center), self.scale_)
        return self

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """Each column's share of the score (positive z / number of columns): they add up to score_samples."""
        z = oriented_matrix(X, self.directions_)
        groups = self._groups(X)
        center = np.tile(self.center_, (len(X), 1))
        scale = np.tile(self.scale_, (len(X), 1))
        for g, c in self.peer_center_.items():
            rows = groups == g
            center[rows] = c
            scale[rows] = self.peer_scale_[g]
        pos = np.clip((z - center) / scale, 0.0, self.z_cap)
        pos = np.where(np.isnan(pos), 0.0, pos) / len(self.columns_)
        return pd.DataFrame(pos, index=X.index, columns=self.columns_)

    def score_samples(self, X: pd.DataFrame) -> np.ndarray:
        """Higher = more suspicious (mean positive peer z, 0 = nowhere above the peers' median)."""
        return self.contributions(X).to_numpy().sum(axis=1)

    def decision_function(self, X: pd.DataFrame) -> np.ndarray:
        """Same as score_samples."""
        return self.score_samples(X)


class EmpiricalTailDetector(BaseEstimator):
    """ECOD-style detector (Li et al. 2022): -log of each value's empirical tail probability, summed or grouped.

    One-sided by direction: p_j(x) = (1 + #training values at or beyond x on the suspicious side) / (n + 1),
    so a value no training row reached gets -log(1 / (n + 1)) and a value at the bottom of the column gets
    0. Unlike a mean z-score, one decisive column (cards that never came up, where every other mine has
    none) is not averaged away by quiet ones, and no scale has to be estimated for columns whose MAD is 0.
    A NULL value is no evidence (contributes 0). Without `groups` the score is the sum of the terms.

    With `groups` (column -> evidence group: the columns one way of cheating moves together), each group
    is summarised by the `within` statistic of its terms (mean or max) and the groups by the `across`
    one (max: a mine needs only one way of cheating, so the other ways' innocent noise cannot drown it;
    sum: independent ways add up). Columns without a group form one group each. The per-column
    contributions add up to the score, so they explain it exactly.
    """

    def __init__(
        self,
        directions: Mapping[str, str] | None = None,
        groups: Mapping[str, str] | None = None,
        within: str = "mean",
        across: str = "max",
    ) -> None:
        self.directions = directions
        self.groups = groups
        self.within = within
        self.across = across

    def fit(self, X: pd.DataFrame, y: object = None) -> EmpiricalTailDetector:
        """Keep each oriented column's sorted non-NULL training values (labels are ignored)."""
        self.directions_ = _directional(self.directions)
        self.columns_ = list(self.directions_)
        z = oriented_matrix(X, self.directions_)
        self.sorted_ = [np.sort(col[~np.isnan(col)]) for col in z.T]
        # an ungrouped column stands alone (without groups at all the score is the plain ECOD sum)
        names = [(self.groups or {}).get(c) or c for c in self.columns_]
        self.group_names_ = list(dict.fromkeys(names))
        self.membership_ = np.array([[n == g for n in names] for g in self.group_names_], dtype=float)
        return self

    def tail_terms(self, X: pd.DataFrame) -> pd.DataFrame:
        """-log tail probability of each column's value (0 for NULL or at the bottom of the training values)."""
        z = oriented_matrix(X, self.directions_)
        out = np.zeros_like(z)
        for j, ref in enumerate(self.sorted_):
            x = z[:, j]
            beyond = len(ref) - np.searchsorted(ref, np.nan_to_num(x, nan=-np.inf), side="left")
            out[:, j] = np.where(np.isnan(x), 0.0, np.log((len(ref) + 1.0) / (beyond + 1.0)))
        return pd.DataFrame(out, index=X.index, columns=self.columns_)

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """Each column's part of the score: they add up to it (a column outside the counted terms gets 0)."""
        if self.within not in ("mean", "max") or self.across not in ("sum", "max"):
            raise ValueError(f"within must be mean or max, across sum or max; got {self.within!r}, {self.across!r}")
        terms = self.tail_terms(X).to_numpy()
        if self.groups is None:  # plain ECOD: every term counts
            return pd.DataFrame(terms, index=X.index, columns=self.columns_)
        n, m = terms.shape
        member = self.membership_.astype(bool)  # groups x columns
        weight = np.zeros((n, len(self.group_names_), m))  # each group's weight on each column, per row
        for g, cols in enumerate(member):
            idx = np.flatnonzero(cols)
            if self.within == "mean":
                weight[:, g, idx] = 1.0 / len(idx)
            else:  # the group's largest term (the first column on ties)
                weight[np.arange(n), g, idx[np.argmax(terms[:, idx], axis=1)]] = 1.0
        if self.across == "max":
            group_score = np.einsum("ngm,nm->ng", weight, terms)
            keep = np.zeros_like(group_score)
            keep[np.arange(n), np.argmax(group_score, axis=1)] = 1.0
            weight = weight * keep[:, :, None]
        return pd.DataFrame(terms * weight.sum(axis=1), index=X.index, columns=self.columns_)

    def score_samples(self, X: pd.DataFrame) -> np.ndarray:
        """Higher = more suspicious (0 = at or below every training value on every column)."""
        return self.contributions(X).to_numpy().sum(axis=1)

    def decision_function(self, X: pd.DataFrame) -> np.ndarray:
        """Same as score_samples."""
        return self.score_samples(X)
