"""The label-aware LightGBM: unlabelled is not negative, monotone in the catalog direction, seeded, falls back."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from models.pu import PUClassifier, random_inspection_ap
from models.ranker import PUParams, make_ecod, make_pu_model
from tests.models.conftest import plant_overproduction

LABEL = "label_overproduction"


def _fit(spec, frame, **params) -> PUClassifier:
    model = make_pu_model(spec, "overproduction", PUParams(**params))
    return model.fit(frame, frame[LABEL], groups=frame["mine_code"])


def test_unlabelled_positives_still_rank_high(spec, labelled):
    frame, truth = labelled
    model = _fit(spec, frame)
    assert not model.is_fallback_
    unlabelled = frame[LABEL].isna().to_numpy()
    assert (truth & unlabelled).sum() >= 10  # the fixture leaves many cases uninspected
    scores = model.score_samples(frame)
    assert roc_auc_score(truth[unlabelled], scores[unlabelled]) > 0.9


def test_planted_case_on_a_new_date_ranks_first(spec, labelled):
    frame, _ = labelled
    model = _fit(spec, frame)
    new = frame[frame["as_of"] == frame["as_of"].max()].copy().reset_index(drop=True)
    honest = new.index[~new["mine_code"].isin(frame.loc[frame[LABEL] == 1, "mine_code"])]
    new.loc[:, "op_max_month_capacity_ratio"] = 0.85  # quiet day for everyone…
    new.loc[:, "op_peak_headcount_ratio"] = 0.8
    plant_overproduction(new, np.array([honest[0]]), strength=1.2)  # …but one never-inspected mine
    assert int(np.argmax(model.score_samples(new))) == honest[0]


def test_monotone_in_the_catalog_direction(spec, labelled):
    frame, _ = labelled
    model = _fit(spec, frame)
    probe = frame.iloc[[0] * 30].copy()
    probe["op_max_month_capacity_ratio"] = np.linspace(0.5, 2.0, 30)
    scores = model.score_samples(probe)
    assert (np.diff(scores) >= 0).all()
    assert scores[-1] > scores[0]


def test_a_lower_direction_makes_the_score_fall(labelled):
    frame, _ = labelled
    directions = {"op_max_month_capacity_ratio": "higher", "op_peak_headcount_ratio": "lower"}
    model = PUClassifier(directions, min_child_samples=5).fit(frame, frame[LABEL])
    probe = frame.iloc[[0] * 30].copy()
    probe["op_peak_headcount_ratio"] = np.linspace(0.3, 2.0, 30)
    assert (np.diff(model.score_samples(probe)) <= 0).all()


def test_fixed_seed_repeats_the_ranking(spec, labelled):
    frame, _ = labelled
    a = _fit(spec, frame).score_samples(frame)
    b = _fit(spec, frame).score_samples(frame)
    np.testing.assert_array_equal(a, b)


def test_label_frequency_and_probabilities(spec, labelled):
    frame, _ = labelled
    model = _fit(spec, frame)
    assert 0 < model.c_ <= 1
    proba = model.predict_proba(frame)
    assert proba.shape == (len(frame), 2)
    assert ((proba >= 0) & (proba <= 1)).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_positives_where_inspections_rarely_go_weigh_more(spec, labelled):
    frame, _ = labelled
    model = _fit(spec, frame)
    positives = (frame[LABEL] == 1).to_numpy()
    e = model.propensities(frame)[positives]
    w = model.weights_[positives]
    assert w.mean() == pytest.approx(1.0)
    assert w[np.argmin(e)] == w.max()
    assert (model.weights_[~positives] == 1.0).all()


def test_too_few_positives_fall_back_to_the_detector(spec, frame):
    labels = pd.Series(np.nan, index=frame.index)
    labels.iloc[[3, 4]] = 1.0
    labels.iloc[[5, 6, 7]] = 0.0
    model = make_pu_model(spec, "overproduction").fit(frame, labels)
    assert model.is_fallback_
    detector = make_ecod(spec, "overproduction").fit(frame)
    np.testing.assert_allclose(model.score_samples(frame), detector.score_samples(frame))
    with pytest.raises(AttributeError, match="min_positives"):
        model.predict_proba(frame)


def test_labels_must_be_findings(spec, frame):
    with pytest.raises(ValueError, match="1, 0 or missing"):
        make_pu_model(spec, "overproduction").fit(frame, np.full(len(frame), 2.0))


def test_random_inspection_ap_uses_only_random_rows():
    y = [1, 0, 1, 0, 1, np.nan]
    score = [0.9, 0.8, 0.7, 0.1, 0.0, 1.0]
    kind = ["random", "random", "random", "random", "targeted", "random"]
    # random rows in score order: 1, 0, 1, 0 -> (1 + 2/3) / 2
    assert random_inspection_ap(y, score, kind) == pytest.approx(5 / 6)
    assert np.isnan(random_inspection_ap([0, 1], [0.1, 0.2], ["random", "targeted"]))
