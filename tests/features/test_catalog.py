"""Every feature table column is catalogued; every SQL file states its grain; checks pass on clean data."""

import pytest

from features.catalog import DIRECTIONS, FAMILIES, load_catalog
from features.runner import load_checks, load_models
from tests.features.conftest import build, insert

CATALOGUED_LAYERS = ("evidence", "marts")


def test_every_sql_file_states_its_grain_on_line_1():
    for model in load_models() + load_checks():
        assert model.grain.startswith("-- one row per"), f"{model.layer}/{model.name}.sql: line 1 is {model.grain!r}"


def test_catalog_entries_are_well_formed():
    for (table, column), entry in load_catalog().items():
        assert entry.family in FAMILIES, (table, column, entry.family)
        assert entry.direction in DIRECTIONS, (table, column, entry.direction)
        assert entry.zh and entry.en and entry.unit, (table, column)
        if entry.reason_en:
            assert entry.reason(0.5, window_days=30) and entry.reason(0.5, "zh", window_days=30), (table, column)


def test_every_column_of_every_feature_table_is_catalogued(con):
    insert(con, "mines", [dict(mine_code="140000000001", mine_name="甲矿", approved_capacity_tpy=9e5,
                               approved_headcount=120)])
    build(con, "2025-06-30")
    catalog = load_catalog()
    tables = [m.name for m in load_models() if m.layer in CATALOGUED_LAYERS]
    assert "mine_features" in tables
    missing = []
    for table in tables:
        columns = [r[0] for r in con.execute(f"describe {table}").fetchall()]
        missing += [f"{table}.{c}" for c in columns if (table, c) not in catalog]
    assert not missing, f"columns without a catalog entry: {missing}"
    stale = [f"{t}.{c}" for (t, c) in catalog if t in tables and c not in
             [r[0] for r in con.execute(f"describe {t}").fetchall()]]
    assert not stale, f"catalog entries for columns that no longer exist: {stale}"


@pytest.mark.parametrize("check", [c.name for c in load_checks()])
def test_checks_pass_on_an_empty_warehouse_with_one_mine(con, check):
    from features.runner import run_checks

    insert(con, "mines", [dict(mine_code="140000000001", mine_name="甲矿", approved_capacity_tpy=9e5,
                               approved_headcount=120)])
    window = build(con, "2025-06-30")
    assert run_checks(con, window)[check].empty
