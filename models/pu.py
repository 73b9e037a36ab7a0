"""LightGBM on inspection findings with the selection bias handled: positive-unlabelled learning plus inspection propensity weights.

Only labelled positives (found = 1) are certain. The classifier g(x) learns labelled-positive vs the
rest (Elkan & Noto 2008): uninspected rows are unlabelled, not negative. Inspections go where risk
already looked high, so each labelled positive is weighted by 1 / e(x), e(x) = P(inspected | x) from a
regularised logistic model, clipped below; the weights are rescaled to mean 1 over the positives, so
the balance between positives and the rest is unchanged and positives found where nobody usually
looks count for more. c = mean out-of-fold g on labelled positives turns g into P(y = 1 | x) = g / c.
Random inspections are the unbiased check (`random_inspection_ap`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from models.detectors import PeerRobustZDetector
from models.metrics import average_precision
from models.spec import feature_matrix

MONOTONE = {"higher": 1, "lower": -1, "none": 0}


def _labels(y: object, n: int) -> np.ndarray:
    """Findings as floats: 1 found, 0 examined and not found, NaN not examined."""
    out = pd.to_numeric(pd.Series(np.asarray(y, dtype=object)), errors="coerce").to_numpy(dtype=float)
    if len(out) != n:
        raise ValueError(f"{len(out)} labels for {n} rows")
    bad = ~np.isnan(out) & ~np.isin(out, (0.0, 1.0))
    if bad.any():
        raise ValueError("labels must be 1, 0 or missing")
    return out


class PUClassifier(BaseEstimator):
    """Label-aware LightGBM ranker for one family; falls back to a detector below `min_positives` positives.

    `directions` (column -> higher/lower/none) names the model's columns and their monotone
    constraints. NULLs go to LightGBM as missing values. `fit(X, y, groups)` takes y in {1, 0, NaN};
    `groups` (e.g. mine_code) keeps one mine's as-of rows in one fold when estimating c.
    """

    def __init__(
        self,
        directions: Mapping[str, str] | None = None,
        propensity_columns: Sequence[str] | None = None,
        n_estimators: int = 200,
        learning_rate: float = 0.05,
        num_leaves: int = 7,
        max_depth: int = 3,
        min_child_samples: int = 10,
        subsample: float = 0.8,
        colsample_bytree: float = 0.8,
        reg_lambda: float = 1.0,
        monotone: bool = True,
        min_positives: int = 3,
        n_folds: int = 5,
        propensity_C: float = 0.1,
        propensity_clip: float = 0.05,
        negative_weight: float = 1.0,
        fallback: BaseEstimator | None = None,
        random_state: int = 0,
    ) -> None:
        self.directions = directions
        self.propensity_columns = propensity_columns
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.max_depth = max_depth
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.monotone = monotone
        self.min_positives = min_positives
        self.n_folds = n_folds
        self.propensity_C = propensity_C
        self.propensity_clip = propensity_clip
        self.negative_weight = negative_weight
        self.fallback = fallback
        self.random_state = random_state

    def _classifier(self) -> lgb.LGBMClassifier:
        constraints = [MONOTONE[d] for d in self.directions_.values()] if self.monotone else None
        return lgb.LGBMClassifier(
            n_estimators=self.n_estimators,
            learning_rate=self.learning_rate,
            num_leaves=self.num_leaves,
            max_depth=self.max_depth,
            min_child_samples=self.min_child_samples,
            subsample=self.subsample,
            subsample_freq=1 if self.subsample < 1 else 0,
            colsample_bytree=self.colsample_bytree,
            reg_lambda=self.reg_lambda,
            monotone_constraints=constraints,
            # one thread and row-wise histograms make a fixed seed repeat the model exactly
            random_state=self.random_state,
            n_jobs=1,
            deterministic=True,
            force_row_wise=True,
            verbose=-1,
        )

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        """The matrix LightGBM sees: the model's columns in raw units, NULL = NaN."""
        return feature_matrix(X, self.columns_)

    def _fit_propensity(self, X: pd.DataFrame, inspected: np.ndarray) -> np.ndarray:
        """P(inspected | x), clipped below; 1 everywhere when everyone or no one was inspected."""
        if inspected.all() or not inspected.any():
            self.propensity_ = None
            return np.ones(len(X))
        columns = list(self.propensity_columns) if self.propensity_columns else self.columns_
        self.propensity_columns_ = columns
        self.propensity_: Pipeline | None = make_pipeline(
            SimpleImputer(strategy="median", keep_empty_features=True),
            StandardScaler(),
            LogisticRegression(C=self.propensity_C, max_iter=1000),
        ).fit(feature_matrix(X, columns), inspected.astype(int))
        return self.propensities(X)

    def propensities(self, X: pd.DataFrame) -> np.ndarray:
        """Estimated probability that each row was inspected, clipped to [propensity_clip, 1]."""
        if self.propensity_ is None:
            return np.ones(len(X))
        e = self.propensity_.predict_proba(feature_matrix(X, self.propensity_columns_))[:, 1]
        return np.clip(e, self.propensity_clip, 1.0)

    def _label_frequency(self, F: np.ndarray, s: np.ndarray, w: np.ndarray, groups: object) -> float:
        """Elkan-Noto c: mean out-of-fold g over labelled positives (folds keep a mine together)."""
        n_groups = len(np.unique(np.asarray(groups, dtype=str))) if groups is not None else len(s)
        n_splits = int(min(self.n_folds, s.sum(), n_groups))
        if n_splits < 2:
            return 1.0
        if groups is None:
            folds = StratifiedKFold(n_splits, shuffle=True, random_state=self.random_state).split(F, s)
        else:
            folds = StratifiedGroupKFold(n_splits, shuffle=True, random_state=self.random_state).split(
                F, s, np.asarray(groups)
            )
        oof = np.full(len(s), np.nan)
        for train, test in folds:
            if s[train].sum() == 0 or (~s[train]).sum() == 0:
                continue
            model = self._classifier().fit(F[train], s[train].astype(int), sample_weight=w[train])
            oof[test] = model.predict_proba(F[test])[:, 1]
        held = oof[s & ~np.isnan(oof)]
        return float(np.clip(held.mean(), 1e-6, 1.0)) if len(held) else 1.0

    def fit(self, X: pd.DataFrame, y: object, groups: object = None) -> PUClassifier:
        """Fit on findings y (1 / 0 / NaN); uninspected rows are unlabelled."""
        if not self.directions:
            raise ValueError("directions (column -> higher/lower/none) are required")
        self.directions_ = dict(self.directions)
        self.columns_ = list(self.directions_)
        labels = _labels(y, len(X))
        s = labels == 1.0
        inspected = ~np.isnan(labels)
        self.n_positives_ = int(s.sum())
        self.n_labelled_ = int(inspected.sum())
        self.is_fallback_ = self.n_positives_ < self.min_positives or (~s).sum() == 0
        if self.is_fallback_:
            fallback = self.fallback if self.fallback is not None else PeerRobustZDetector(self.directions_)
            self.fallback_ = clone(fallback).fit(X)
            self.model_ = None
            self.c_ = float("nan")
            return self
        e = self._fit_propensity(X, inspected)
        w = np.ones(len(X))
        w[inspected & ~s] = self.negative_weight
        ipw = 1.0 / e[s]
        w[s] = ipw / ipw.mean()
        self.weights_ = w
        F = self.transform(X)
        self.c_ = self._label_frequency(F, s, w, groups)
        self.model_ = self._classifier().fit(F, s.astype(int), sample_weight=w)
        self.fallback_ = None
        return self

    def decision_function(self, X: pd.DataFrame) -> np.ndarray:
        """Raw log-odds of g (what SHAP explains); the detector score when fallen back."""
        if self.is_fallback_:
            return np.asarray(self.fallback_.score_samples(X), dtype=float)
        return self.model_.predict(self.transform(X), raw_score=True)

    def score_samples(self, X: pd.DataFrame) -> np.ndarray:
        """Higher = more suspicious: g(x), the probability of being a labelled positive (or the detector score)."""
        if self.is_fallback_:
            return np.asarray(self.fallback_.score_samples(X), dtype=float)
        return self.model_.predict_proba(self.transform(X))[:, 1]

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """[P(y=0|x), P(y=1|x)] with P(y=1|x) = min(g(x) / c, 1); undefined when fallen back."""
        if self.is_fallback_:
            raise AttributeError("fewer than min_positives positives: no probability, use score_samples")
        p = np.clip(self.score_samples(X) / self.c_, 0.0, 1.0)
        return np.column_stack([1.0 - p, p])


def random_inspection_ap(y: object, score: object, kind: object) -> float:
    """Average precision on rows examined by a random inspection (the unbiased check); NaN if none positive."""
    labels = _labels(y, len(np.asarray(score)))
    kinds = pd.Series(np.asarray(kind, dtype=object))
    mask = (kinds == "random").to_numpy() & ~np.isnan(labels)
    if not mask.any() or labels[mask].sum() == 0:
        return float("nan")
    return average_precision(labels[mask], np.asarray(score, dtype=float)[mask])

