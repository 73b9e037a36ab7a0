"""Model parameters, estimator factories, and the per-family ranker that fits and combines rule, detectors and PU model."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from models.combine import combine_family, overall_score
from models.detectors import EmpiricalTailDetector, IsolationForestDetector, PeerRobustZDetector
from models.pu import PUClassifier
from models.rules import rule_score
from models.spec import FAMILIES, FeatureSpec

COMPONENTS = ("rule", "iforest", "robust_z", "ecod", "pu")


@dataclass(frozen=True)
class DetectorParams:
    """Unsupervised detectors."""

    n_estimators: int = 200
    max_samples: int | str = "auto"
    one_sided: bool = True
    peer_column: str = "size_band"
    min_peer_rows: int = 8
    z_cap: float = 10.0
    ecod_within: str = "mean"  # an evidence group counts by the mean of its columns' terms (max: its strongest)
    ecod_across: str = "max"  # only the strongest way of cheating counts (sum: the groups add up)


@dataclass(frozen=True)
class PUParams:
    """The label-aware LightGBM: small trees, strong regularisation, monotone in the catalog direction."""

    n_estimators: int = 200
    learning_rate: float = 0.05
    num_leaves: int = 7
    max_depth: int = 3
    min_child_samples: int = 10
    subsample: float = 0.8
    colsample_bytree: float = 0.8
    reg_lambda: float = 1.0
    monotone: bool = True
    min_positives: int = 3
    n_folds: int = 5
    propensity_C: float = 0.1
    propensity_clip: float = 0.05
    negative_weight: float = 1.0


@dataclass(frozen=True)
class CombineParams:
    """Weights of each component's percentile in a family score, and the sharpness of the overall noisy-OR.

    The PU model is trusted in proportion to its evidence: its weight is pu x min(1, positives /
    pu_full_at), and 0 when it fell back to a detector (it would only repeat the robust z score).
    """

    rule: float = 1.0
    iforest: float = 1.0
    robust_z: float = 1.0
    ecod: float = 1.0
    pu: float = 1.0
    pu_full_at: int = 10  # labelled positives at which the PU model gets its full weight
    family_gamma: float = 3.0  # percentiles are raised to this before the weighted mean (combine.combine_family)
    overall_gamma: float = 4.0
    # one family's own weights where they differ from the ones above, e.g. {"alarm_falsification": {"ecod": 2.0}}
    by_family: Mapping[str, Mapping[str, float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        strays = sorted(set(self.by_family) - set(FAMILIES))
        if strays:
            raise ValueError(f"combine.by_family: unknown family {', '.join(strays)}; known: {', '.join(FAMILIES)}")
        for family, own in self.by_family.items():
            unknown = sorted(set(own or {}) - set(COMPONENTS))
            if unknown:
                raise ValueError(f"combine.by_family.{family}: unknown component(s) {', '.join(unknown)}; "
                                 f"known: {', '.join(COMPONENTS)}")

    def weights(self, family: str | None = None) -> dict[str, float]:
        """component -> weight, for `family` when given (its `by_family` entries replace the shared ones)."""
        out = {c: float(getattr(self, c)) for c in COMPONENTS}
        if family is not None:
            out.update({c: float(w) for c, w in (self.by_family.get(family) or {}).items()})
        return out


@dataclass(frozen=True)
class ModelParams:
    """Everything the models take (a params.yaml section maps onto this)."""

    seed: int = 0
    detectors: DetectorParams = field(default_factory=DetectorParams)
    pu: PUParams = field(default_factory=PUParams)
    combine: CombineParams = field(default_factory=CombineParams)


def make_isolation_forest(
    spec: FeatureSpec, family: str, params: DetectorParams | None = None, seed: int = 0
) -> IsolationForestDetector:
    """Unfitted IsolationForest detector on the family's directional columns."""
    p = params or DetectorParams()
    return IsolationForestDetector(
        spec.directions(family, directional=True),
        n_estimators=p.n_estimators,
        max_samples=p.max_samples,
        one_sided=p.one_sided,
        random_state=seed,
    )


def make_robust_z(spec: FeatureSpec, family: str, params: DetectorParams | None = None) -> PeerRobustZDetector:
    """Unfitted peer-group robust z detector on the family's directional columns."""
    p = params or DetectorParams()
    return PeerRobustZDetector(
        spec.directions(family, directional=True),
        peer_column=p.peer_column,
        min_peer_rows=p.min_peer_rows,
        z_cap=p.z_cap,
    )


def make_ecod(spec: FeatureSpec, family: str, params: DetectorParams | None = None) -> EmpiricalTailDetector:
    """Unfitted empirical-tail (ECOD-style) detector on the family's directional columns, by evidence group."""
    p = params or DetectorParams()
    return EmpiricalTailDetector(
        spec.directions(family, directional=True), spec.groups(family), within=p.ecod_within, across=p.ecod_across
    )


def make_pu_model(
    spec: FeatureSpec,
    family: str,
    params: PUParams | None = None,
    seed: int = 0,
    detector_params: DetectorParams | None = None,
    propensity_columns: Sequence[str] | None = None,
) -> PUClassifier:
    """Unfitted PU LightGBM on all of the family's columns; falls back to the empirical-tail detector."""
    p = params or PUParams()
    return PUClassifier(
        spec.directions(family),
        propensity_columns=propensity_columns,
        n_estimators=p.n_estimators,
        learning_rate=p.learning_rate,
        num_leaves=p.num_leaves,
        max_depth=p.max_depth,
        min_child_samples=p.min_child_samples,
        subsample=p.subsample,
        colsample_bytree=p.colsample_bytree,
        reg_lambda=p.reg_lambda,
        monotone=p.monotone,
        min_positives=p.min_positives,
        n_folds=p.n_folds,
        propensity_C=p.propensity_C,
        propensity_clip=p.propensity_clip,
        negative_weight=p.negative_weight,
        fallback=make_ecod(spec, family, detector_params),
        random_state=seed,
    )


class FamilyRanker(BaseEstimator):
    """One family's rule, IsolationForest, robust z, empirical tail and PU model, combined by weighted percentiles.

    Percentiles are taken within each `by` snapshot of the frame scored (when X has that column), so
    score a frame of one or more as-of dates and compare scores within a date only.
    """

    def __init__(
        self,
        family: str = "overproduction",
        spec: FeatureSpec | None = None,
        params: ModelParams | None = None,
        by: str | None = "as_of",
        propensity_columns: Sequence[str] | None = None,
    ) -> None:
        self.family = family
        self.spec = spec
        self.params = params
        self.by = by
        self.propensity_columns = propensity_columns

    def fit(self, X: pd.DataFrame, y: object, groups: object = None) -> FamilyRanker:
        """Fit the detectors on every row and the PU model on the findings y (1 / 0 / NaN)."""
        if self.spec is None:
            raise ValueError("spec (the catalog's families and directions) is required")
        p = self.params or ModelParams()
        self.iforest_ = make_isolation_forest(self.spec, self.family, p.detectors, p.seed).fit(X)
        self.robust_z_ = make_robust_z(self.spec, self.family, p.detectors).fit(X)
        self.ecod_ = make_ecod(self.spec, self.family, p.detectors).fit(X)
        self.pu_ = make_pu_model(
            self.spec, self.family, p.pu, p.seed, p.detectors, self.propensity_columns
        ).fit(X, y, groups)
        weights = p.combine.weights(self.family)
        evidence = 0.0 if self.pu_.is_fallback_ else min(1.0, self.pu_.n_positives_ / max(p.combine.pu_full_at, 1))
        weights["pu"] *= evidence
        self.weights_ = weights
        return self

    def components(self, X: pd.DataFrame) -> pd.DataFrame:
        """Each component's own score (higher = more suspicious), one column per component."""
        parts = {
            "rule": rule_score(X, self.family).to_numpy(),
            "iforest": self.iforest_.score_samples(X),
            "robust_z": self.robust_z_.score_samples(X),
        }
        if hasattr(self, "ecod_"):  # a model registered before the empirical-tail detector existed has none
            parts["ecod"] = self.ecod_.score_samples(X)
        parts["pu"] = self.pu_.score_samples(X)
        return pd.DataFrame(parts, index=X.index)

    def _by(self, X: pd.DataFrame) -> object:
        return X[self.by].to_numpy() if self.by is not None and self.by in X.columns else None

    def score_samples(self, X: pd.DataFrame) -> np.ndarray:
        """The family score: weighted mean of the components' percentiles within each snapshot."""
        gamma = (self.params or ModelParams()).combine.family_gamma
        return combine_family(self.components(X), self.weights_, self._by(X), gamma)


def score_families(
    rankers: Mapping[str, FamilyRanker], X: pd.DataFrame, gamma: float | None = None
) -> pd.DataFrame:
    """One score column per family plus `overall`, indexed like X (rank them with combine.rank_targets)."""
    out = pd.DataFrame({f: r.score_samples(X) for f, r in rankers.items()}, index=X.index)
    any_ranker = next(iter(rankers.values()))
    by = any_ranker._by(X)
    if gamma is None:
        gamma = (any_ranker.params or ModelParams()).combine.overall_gamma
    out["overall"] = overall_score(out[list(rankers)], gamma, by)
    return out
