"""Unsupervised detectors: one direction, planted cases first, peers, NULLs, seeds."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone

from models.detectors import EmpiricalTailDetector, IsolationForestDetector, PeerRobustZDetector
from models.ranker import make_ecod, make_isolation_forest, make_robust_z
from tests.models.conftest import FAST_DETECTORS, plant_overproduction


def _fast_forest(spec, family, seed=0):
    return make_isolation_forest(spec, family, FAST_DETECTORS, seed)


DETECTORS = [_fast_forest, make_robust_z, make_ecod]


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


def test_ecod_one_decisive_column_is_not_averaged_away(frame):
    # no mine has unaccounted cards but one; a quarter file a stop late, three of them twice
    columns = {"ca_n_cards_unaccounted": "higher", "ca_n_late_filed_stops": "higher"}
    frame["ca_n_cards_unaccounted"] = 0.0
    frame.loc[11, "ca_n_cards_unaccounted"] = 3.0
    frame["ca_n_late_filed_stops"] = (np.arange(len(frame)) % 4 == 0).astype(float)
    frame.loc[[0, 4, 8], "ca_n_late_filed_stops"] = 2.0
    detector = EmpiricalTailDetector(columns).fit(frame)
    scores = detector.score_samples(frame)
    assert _top(scores) == 11
    # the largest value (held by one training row) is worth log((n + 1) / 2); the bottom value is worth 0
    parts = detector.contributions(frame)
    assert parts.at[11, "ca_n_cards_unaccounted"] == pytest.approx(np.log(len(frame) + 1) - np.log(2))
    assert (parts.loc[frame["ca_n_cards_unaccounted"] == 0, "ca_n_cards_unaccounted"] == 0).all()
    np.testing.assert_allclose(parts.sum(axis=1), scores)


def test_ecod_groups_score_the_strongest_way_of_cheating(frame):
    # two columns of one way of cheating both high beat four columns of four different ways each a bit high
    columns = {c: "higher" for c in ("op_belt_capacity_ratio", "op_max_month_capacity_ratio", "op_kwh_per_tonne",
                                     "op_peak_headcount_ratio", "op_over_headcount_share", "op_max_area_over_ratio")}
    groups = {"op_belt_capacity_ratio": "capacity", "op_max_month_capacity_ratio": "capacity",
              "op_peak_headcount_ratio": "headcount", "op_over_headcount_share": "headcount"}
    for c in columns:
        frame[c] = np.linspace(0.0, 1.0, len(frame))
    frame.loc[7, ["op_belt_capacity_ratio", "op_max_month_capacity_ratio"]] = 2.0
    frame.loc[7, ["op_kwh_per_tonne", "op_peak_headcount_ratio", "op_over_headcount_share", "op_max_area_over_ratio"]] = 0.0
    frame.loc[8, list(columns)] = 0.95
    grouped = EmpiricalTailDetector(columns, groups, within="mean", across="max").fit(frame)
    scores = grouped.score_samples(frame)
    assert scores[7] > scores[8]
    parts = grouped.contributions(frame)
    np.testing.assert_allclose(parts.sum(axis=1), scores)
    assert set(parts.columns[parts.loc[7] > 0]) == {"op_belt_capacity_ratio", "op_max_month_capacity_ratio"}
    # without groups the mine a bit high everywhere wins
    plain = EmpiricalTailDetector(columns).fit(frame).score_samples(frame)
    assert plain[8] > plain[7]


def test_ecod_group_max_sum_counts_each_way_once(frame):
    # two capacity columns both extreme count once (the group's largest term); a headcount column adds to it
    columns = {c: "higher" for c in ("op_belt_capacity_ratio", "op_max_month_capacity_ratio", "op_peak_headcount_ratio")}
    groups = {"op_belt_capacity_ratio": "capacity", "op_max_month_capacity_ratio": "capacity"}
    for c in columns:
        frame[c] = np.linspace(0.0, 1.0, len(frame))
    frame.loc[3, list(columns)] = [2.0, 2.0, 0.0]
    frame.loc[4, list(columns)] = [2.0, 0.0, 2.0]
    detector = EmpiricalTailDetector(columns, groups, within="max", across="sum").fit(frame)
    parts = detector.contributions(frame)
    top = np.log(len(frame) + 1) - np.log(2)  # only mine 3 reaches 2.0 on the monthly column
    assert parts.loc[3].sum() == pytest.approx(top)
    assert parts.loc[4].sum() > parts.loc[3].sum()
    np.testing.assert_allclose(parts.sum(axis=1), detector.score_samples(frame))
    with pytest.raises(ValueError, match="within must be"):
        EmpiricalTailDetector(columns, groups, within="median").fit(frame).score_samples(frame)
