"""Catalog facts as arguments: the spec built from the real feature catalog fits the models' expectations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.catalog import table_entries
from models.rules import RULE_COLUMNS
from models.spec import FAMILIES, FeatureSpec, oriented_matrix


@pytest.fixture
def catalog_spec() -> FeatureSpec:
    return FeatureSpec.from_entries(table_entries("mine_features").values())


def test_every_family_has_directional_columns(catalog_spec):
    for family in FAMILIES:
        assert catalog_spec.columns(family, directional=True), family
    assert "mine_code" not in catalog_spec.family  # context stays out


def test_rule_columns_exist_in_the_catalog(catalog_spec):
    for family, columns in RULE_COLUMNS.items():
        for column in columns:
            assert column in catalog_spec.family, (family, column)
            assert catalog_spec.direction[column] == "higher"


def test_orientation_flips_lower_and_keeps_none():
    spec = FeatureSpec({"a": "x", "b": "x", "c": "x"}, {"a": "higher", "b": "lower", "c": "none"})
    frame = pd.DataFrame({"a": [1.0], "b": [2.0], "c": [3.0]})
    np.testing.assert_array_equal(oriented_matrix(frame, spec.directions()), [[1.0, -2.0, 3.0]])
    assert spec.columns(directional=True) == ["a", "b"]


def test_spec_rejects_unknown_or_missing_directions():
    with pytest.raises(ValueError, match="unknown direction"):
        FeatureSpec({"a": "x"}, {"a": "up"})
    with pytest.raises(ValueError, match="no direction"):
        FeatureSpec({"a": "x"}, {})
