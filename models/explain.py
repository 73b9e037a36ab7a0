"""Per-row feature contributions (SHAP for the tree models, exact parts for the z-score detector) and top reasons.

Every contribution points one way: positive = pushes the mine toward the top of the list.
- PUClassifier: SHAP TreeExplainer on the LightGBM booster, in log-odds; contributions + base = raw score.
- IsolationForestDetector: SHAP on the mean path length, sign turned and divided by c(max_samples),
  so contributions + base = log2(score) and a positive part is one that shortens the isolation path.
- PeerRobustZDetector: each column's positive z / number of columns; base 0, sum = score.
- EmpiricalTailDetector: each column's -log tail probability in the groups that count; base 0, sum = score.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

with warnings.catch_warnings():
    # shap's plotting colormaps use a matplotlib call due for deprecation; nothing here plots
    warnings.simplefilter("ignore", PendingDeprecationWarning)
    import shap

from models.detectors import EmpiricalTailDetector, IsolationForestDetector, PeerRobustZDetector
from models.pu import PUClassifier

EULER_GAMMA = 0.5772156649015329


def average_path_length(n: object) -> np.ndarray:
    """c(n): the mean path length of an unsuccessful search in a binary tree of n points (Liu et al. 2008)."""
    n = np.asarray(n, dtype=float)
    out = np.zeros_like(n)
    out[n == 2] = 1.0
    big = n > 2
    out[big] = 2.0 * (np.log(n[big] - 1.0) + EULER_GAMMA) - 2.0 * (n[big] - 1.0) / n[big]
    return out


def _frame(values: np.ndarray, index: pd.Index, columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(np.asarray(values, dtype=float), index=index, columns=columns)


def tree_contributions(model: PUClassifier, X: pd.DataFrame) -> tuple[pd.DataFrame, float]:
    """SHAP values of the LightGBM model in log-odds, and the base value."""
    if model.is_fallback_:
        raise ValueError("the model fell back to a detector; explain model.fallback_ instead")
    explainer = shap.TreeExplainer(model.model_.booster_)
    with warnings.catch_warnings():
        # shap announces on every call that LightGBM binary output became one array; that is what we read
        warnings.filterwarnings("ignore", message="LightGBM binary classifier", category=UserWarning)
        values = explainer.shap_values(model.transform(X))
    if isinstance(values, list):
        values = values[-1]
    base = float(np.ravel(explainer.expected_value)[-1])
    return _frame(values, X.index, model.columns_), base


def _path_length_tree(tree: object, features: np.ndarray, scaling: float) -> dict[str, np.ndarray]:
    """One isolation tree in shap's dict form, each node valued by its expected path length.

    A leaf is worth its depth + c(n samples in it), as in IsolationForest.score_samples; an inner node
    the sample-weighted mean of its children. shap's own IsolationForest loader computes the same but
    calls sklearn once per leaf, which costs seconds per forest; this is vectorised by depth.
    """
    left, right = tree.children_left, tree.children_right
    n = tree.n_node_samples.astype(float)
    depth = np.zeros(len(left), dtype=int)
    for node in range(len(left)):  # node ids are in pre-order: a parent always comes before its children
        if left[node] >= 0:
            depth[left[node]] = depth[right[node]] = depth[node] + 1
    leaf = left < 0
    values = np.zeros(len(left))
    values[leaf] = depth[leaf] + average_path_length(n[leaf])
    for d in range(depth.max() - 1, -1, -1):
        inner = np.flatnonzero(~leaf & (depth == d))
        values[inner] = (values[left[inner]] * n[left[inner]] + values[right[inner]] * n[right[inner]]) / n[inner]
    return {
        "children_left": left,
        "children_right": right,
        "children_default": left,
        "features": np.where(tree.feature >= 0, features[np.maximum(tree.feature, 0)], tree.feature),
        "thresholds": tree.threshold,
        "values": (values * scaling)[:, None],
        "node_sample_weight": tree.weighted_n_node_samples.astype(float),
    }


def isolation_forest_contributions(detector: IsolationForestDetector, X: pd.DataFrame) -> tuple[pd.DataFrame, float]:
    """SHAP on the path length with the sign turned (positive = more suspicious), in log2-score units, and the base."""
    forest = detector.forest_
    scaling = 1.0 / len(forest.estimators_)  # the forest's path length is the mean over its trees
    model = {
        "trees": [
            _path_length_tree(e.tree_, np.asarray(f), scaling)
            for e, f in zip(forest.estimators_, forest.estimators_features_, strict=True)
        ],
        "tree_output": "raw_value",
        "input_dtype": np.float32,  # the trees split on float32 thresholds
        "internal_dtype": np.float64,
    }
    explainer = shap.TreeExplainer(model)
    values = explainer.shap_values(detector.transform(X).astype(np.float32))
    scale = float(average_path_length(forest.max_samples_))
    base = -float(np.ravel(explainer.expected_value)[0]) / scale
    return _frame(-np.asarray(values) / scale, X.index, detector.columns_), base


def contributions(model: object, X: pd.DataFrame) -> tuple[pd.DataFrame, float]:
    """Contributions and base value for any model here (a fallen-back PU model explains its detector)."""
    if isinstance(model, PUClassifier):
        return contributions(model.fallback_, X) if model.is_fallback_ else tree_contributions(model, X)
    if isinstance(model, IsolationForestDetector):
        return isolation_forest_contributions(model, X)
    if isinstance(model, (PeerRobustZDetector, EmpiricalTailDetector)):
        return model.contributions(X), 0.0
    raise TypeError(f"cannot explain {type(model).__name__}")


def top_reasons(
    contribs: pd.DataFrame, values: pd.DataFrame, k: int = 3, ids: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Per row, the k features with the largest positive contribution, with the feature's value in X.

    Ties: contribution desc, then feature name asc. Columns: row (contribs' index), [ids…], reason_rank,
    feature, contribution, value. A row with no positive contribution has no reason.
    """
    long = contribs.rename_axis("row").reset_index().melt(id_vars="row", var_name="feature", value_name="contribution")
    long = long[long["contribution"] > 0]
    long = long.sort_values(["row", "contribution", "feature"], ascending=[True, False, True], kind="mergesort")
    long = long.groupby("row", sort=False).head(k).copy()
    long["reason_rank"] = long.groupby("row", sort=False).cumcount() + 1
    raw = values.reindex(columns=contribs.columns).apply(pd.to_numeric, errors="coerce")
    stacked = raw.rename_axis("row").reset_index().melt(id_vars="row", var_name="feature", value_name="value")
    long = long.merge(stacked, on=["row", "feature"], how="left")
    if ids is not None:
        long = long.merge(ids.rename_axis("row").reset_index(), on="row", how="left")
    front = ["row", *(ids.columns if ids is not None else []), "reason_rank", "feature", "contribution", "value"]
    return long[front].sort_values(["row", "reason_rank"], kind="mergesort").reset_index(drop=True)


def mean_abs_contributions(contribs: pd.DataFrame) -> pd.Series:
    """SHAP summary: mean |contribution| per feature, largest first (ties by name)."""
    summary = contribs.abs().mean().rename("mean_abs_contribution")
    return summary.sort_index().sort_values(ascending=False, kind="mergesort")
