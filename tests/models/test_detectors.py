"""Unsupervised detectors: one direction, planted cases first, peers, NULLs, seeds."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone

from models.detectors import IsolationForestDetector, PeerRobustZDetector
from models.ranker import make_isolation_forest, make_robust_z
from tests.models.conftest import FAST_DETECTORS, plant_overproduction


def _fast_forest(spec, family, seed=0):
    return make_isolation_forest(spec, family, FAST_DETECTORS, seed)


DETECTORS = [_fast_forest, make_robust_z]


def _top(scores: np.ndarray) -> int:
    return int(np.argmax(scores))


@pytest.mark.parametrize("factory", DETECTORS)
def test_planted_overproducer_ranks_first(factory, spec, frame):
    plant_overproduction(frame, np.array([17]))
    detector = factory(spec, "overproduction").fit(frame)
    assert _top(detector.score_samples(frame)) == 17


@pytest.mark.parametrize("factory", DETECTORS)
def test_lower_columns_are_flipped(factory, spec, frame):
    # a collapse of the alarm rate against history ('lower' = suspicious) plus uncut alarms
    frame.loc[42, "af_alarm_rate_vs_history"] = 0.05
    frame.loc[42, "af_cut_missing_share"] = 0.6
    detector = factory(spec, "alarm_falsification").fit(frame)
    assert _top(detector.score_samples(frame)) == 42


@pytest.mark.parametrize("factory", DETECTORS)
def test_innocent_side_is_not_suspicious(factory, spec, frame):
    # far below everyone on a 'higher' column: odd, but not what regulators look for
    frame.loc[5, ["op_max_month_capacity_ratio", "op_peak_headcount_ratio"]] = [0.0, 0.0]
    plant_overproduction(frame, np.array([9]))
    scores = factory(spec, "overproduction").fit(frame).score_samples(frame)
    assert _top(scores) == 9
    assert scores[5] <= np.median(scores)


@pytest.mark.parametrize("factory", DETECTORS)
def test_raising_a_higher_feature_raises_the_score(factory, spec, frame):
    detector = factory(spec, "overproduction").fit(frame)
    probe = frame.iloc[[3] * 4].copy()
    probe["op_max_month_capacity_ratio"] = [0.8, 1.1, 1.4, 2.0]
    scores = detector.score_samples(probe)
    assert scores[-1] > scores[0]
    assert (np.diff(scores) >= -1e-12).all()


@pytest.mark.parametrize("factory", DETECTORS)
def test_none_direction_columns_are_not_evidence(factory, spec, frame):
    detector = factory(spec, "concealed_accident").fit(frame)
    assert "ca_n_reported_accidents" not in detector.columns_
    probe = frame.iloc[[0, 0]].copy()
    probe["ca_n_reported_accidents"] = [0.0, 9.0]
    scores = detector.score_samples(probe)
    assert scores[0] == scores[1]


@pytest.mark.parametrize("factory", DETECTORS)
def test_null_features_score_without_error(factory, spec, frame):
    frame.loc[:9, "ca_max_co_spike_ratio"] = np.nan
    frame = frame.drop(columns="ca_n_events_with_deregistration")  # absent column = all NULL
    scores = factory(spec, "concealed_accident").fit(frame).score_samples(frame)
    assert np.isfinite(scores).all()


def test_isolation_forest_seed_repeats_and_differs(spec, frame):
    plant_overproduction(frame, np.array([1, 2, 3]), strength=0.5)
    a = _fast_forest(spec, "overproduction", seed=7).fit(frame).score_samples(frame)
    b = _fast_forest(spec, "overproduction", seed=7).fit(frame).score_samples(frame)
    c = _fast_forest(spec, "overproduction", seed=8).fit(frame).score_samples(frame)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_peer_group_flags_a_value_normal_for_big_mines_but_not_for_small(spec, frame):
    # small mines use ~30 % more kWh per tonne; a large mine at the small mines' level is odd for its peers
    large = frame.index[(frame["size_band"] == "large")][0]
    frame.loc[large, "op_kwh_per_tonne"] = frame.loc[frame["size_band"] == "small", "op_kwh_per_tonne"].median()
    detector = PeerRobustZDetector({"op_kwh_per_tonne": "higher"}, min_peer_rows=10).fit(frame)
    scores = detector.score_samples(frame)
    assert _top(scores) == large
    pooled = PeerRobustZDetector({"op_kwh_per_tonne": "higher"}, peer_column=None).fit(frame).score_samples(frame)
    assert _top(pooled) != large


def test_robust_z_contributions_add_up_and_zero_mad_falls_back(frame):
    # mostly 0 events: MAD is 0, so the scale falls back to the mean absolute deviation instead of dividing by 0
    detector = PeerRobustZDetector({"ca_n_open_trip_events": "higher", "ca_max_co_spike_ratio": "higher"}).fit(frame)
    parts = detector.contributions(frame)
    np.testing.assert_allclose(parts.sum(axis=1), detector.score_samples(frame))
    assert np.isfinite(parts.to_numpy()).all()
    assert (parts.to_numpy() >= 0).all()
    assert (parts["ca_n_open_trip_events"][frame["ca_n_open_trip_events"] > 0] > 0).all()


def test_detectors_clone_and_refuse_no_direction(frame):
    d = IsolationForestDetector({"op_kwh_per_tonne": "higher"}, n_estimators=10)
    assert clone(d).get_params() == d.get_params()
    with pytest.raises(ValueError, match="no directional column"):
        PeerRobustZDetector({"af_n_alarms": "none"}).fit(frame)
