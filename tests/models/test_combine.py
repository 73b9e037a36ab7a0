"""Combined scores, the overall score, and the deterministic tie-break."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.combine import (
    RISKS,
    combine_family,
    overall_score,
    percentile_ranks,
    rank_targets,
    unique_ranks,
)


def test_ties_break_by_mine_code_ascending_and_missing_scores_rank_last():
    score = [0.5, 0.9, 0.5, np.nan, 0.5]
    codes = ["140000000003", "140000000009", "140000000001", "140000000000", "140000000002"]
    assert unique_ranks(score, codes).tolist() == [4, 1, 2, 5, 3]


def test_mine_codes_compare_as_text():
    # leading zeros matter: "0099..." sorts before "1..." as text
    assert unique_ranks([1.0, 1.0], ["100000000000", "009900000000"]).tolist() == [2, 1]


def test_ranks_are_unique_within_each_group():
    ranks = unique_ranks([1, 1, 2, 2], ["a", "b", "a", "b"], by=["x", "x", "y", "y"])
    assert ranks.tolist() == [1, 2, 1, 2]


def test_percentile_ranks_share_ties_and_stay_inside_zero_one():
    p = percentile_ranks([1.0, 2.0, 2.0, np.nan])
    np.testing.assert_allclose(p, [2 / 5, 3.5 / 5, 3.5 / 5, 1 / 5])
    p = percentile_ranks([1.0, 2.0, 5.0, 0.0], by=["a", "a", "b", "b"])
    np.testing.assert_allclose(p, [1 / 3, 2 / 3, 2 / 3, 1 / 3])


def test_combine_family_is_the_weighted_mean_of_percentiles():
    components = pd.DataFrame({"rule": [3.0, 2.0, 1.0], "pu": [0.1, 0.2, 0.3]})
    np.testing.assert_allclose(combine_family(components), [0.5, 0.5, 0.5])
    np.testing.assert_allclose(combine_family(components, {"rule": 1.0, "pu": 3.0}), [0.375, 0.5, 0.625])
    np.testing.assert_allclose(combine_family(components, {"rule": 0.0}), [0.25, 0.5, 0.75])
    with pytest.raises(ValueError, match="zero"):
        combine_family(components, {"rule": 0.0, "pu": 0.0})


def test_overall_prefers_one_strong_family_over_fairly_high_everywhere():
    n = 50
    rng = np.random.default_rng(3)
    fam = pd.DataFrame(rng.random((n, 4)) * 0.5, columns=list("abcd"))
    fam.loc[0] = [1.0, 0.0, 0.0, 0.0]  # top of one family
    fam.loc[1] = [0.9, 0.9, 0.9, 0.9]  # near the top of all
    fam.loc[2] = [0.95, 0.95, 0.0, 0.0]  # high in two
    fam.loc[3] = [0.4, 0.4, 0.4, 0.4]  # about the 80th percentile everywhere
    overall = overall_score(fam)
    assert overall[0] > overall[3]
    assert overall[2] > overall[0]
    plain = overall_score(fam, gamma=1.0)
    assert plain[3] > plain[0]  # a plain noisy-OR prefers the everywhere-high mine: why gamma exists


def test_rank_targets_has_every_mine_once_per_risk():
    wide = pd.DataFrame(
        {
            "as_of": ["2024-05-01"] * 3,
            "mine_code": ["c", "a", "b"],
            **{r: [0.2, 0.2, 0.1] for r in RISKS},
        }
    )
    long = rank_targets(wide)
    assert list(long.columns) == ["as_of", "mine_code", "risk", "score", "rank"]
    assert len(long) == 3 * len(RISKS)
    assert list(dict.fromkeys(long["risk"])) == list(RISKS)
    first = long[long["risk"] == "overall"]
    assert first["mine_code"].tolist() == ["a", "c", "b"]
    assert first["rank"].tolist() == [1, 2, 3]
