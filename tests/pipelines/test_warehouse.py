"""The warehouse layer: canonical DDL, SQL validation of typed relations, the lock, path checks."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pytest
from ingest_helpers import MINE_A

from pipelines import warehouse as wh
from pipelines.schema import DUCKDB_TYPES, TABLES


@pytest.fixture
def con():
    c = duckdb.connect()
    wh.create_tables(c)
    c.execute("insert into ingest_files (file_id, path) values (1, 'a.txt'), (2, 'b.txt')")
    c.execute(f"insert into mines (mine_code, mine_name, approved_capacity_tpy, approved_headcount) "
              f"values ('{MINE_A}', 'A', 1e6, 100)")
    yield c
    c.close()


def test_canonical_tables_keep_the_contract_names_and_types_plus_lineage(con):
    for table in TABLES.values():
        cols = con.execute(
            "select column_name, data_type from information_schema.columns where table_name = ? order by ordinal_position",
            [table.name],
        ).fetchall()
        expected = [(c.name, DUCKDB_TYPES[c.kind]) for c in table.columns] + [("_file_id", "BIGINT"), ("_record", "BIGINT")]
        assert cols == expected, table.name


def test_typed_rows_are_validated_and_null_key_parts_still_deduplicate(con):
    # a profile's derived rows arrive typed; declarations' key includes face_code, empty for a whole-mine stop
    con.execute(
        f"""
        create temp table src as select * from (values
            ('{MINE_A}', 'maintenance', date '2025-05-01', date '2025-05-03', null, null::timestamp, 1, 1),
            ('{MINE_A}', 'maintenance', date '2025-05-01', date '2025-05-03', null, null::timestamp, 1, 2),
            ('{MINE_A}', 'maintenance', date '2025-05-01', date '2025-05-09', null, null::timestamp, 2, 1),
            ('{MINE_A}', 'maintenance', date '2025-05-01', date '2025-05-03', 'F1', null::timestamp, 2, 2),
            ('{MINE_A}', 'holiday', date '2025-05-05', date '2025-05-04', null, null::timestamp, 2, 3),
            ('{MINE_A}', 'strike', date '2025-05-05', date '2025-05-06', null, null::timestamp, 2, 4)
        ) t(mine_code, kind, start_date, end_date, face_code, declared_at, _file_id, _record)
        """
    )
    wh.load_rows(con, TABLES["declarations"], "src", TABLES["declarations"].names, 7, "validate", 500)
    assert con.execute("select _file_id, _record from declarations order by all").fetchall() == [(1, 1), (2, 2)]
    assert con.execute("select file_id, record, field, reason, raw from rejects order by all").fetchall() == [
        (2, 1, "mine_code, kind, start_date, face_code",
         "conflicting duplicate: another row with the same (mine_code, kind, start_date, face_code) differs",
         f"{MINE_A},maintenance,2025-05-01,2025-05-09,,"),
        (2, 3, "end_date", "end_date is before start_date", f"{MINE_A},holiday,2025-05-05,2025-05-04,,"),
        (2, 4, "kind", "must be one of: maintenance, shutdown, holiday", f"{MINE_A},strike,2025-05-05,2025-05-06,,"),
    ]
    assert con.execute("select run_id, file_id, record from duplicates").fetchall() == [(7, 1, 2)]
    # loading the same rows again: the kept ones are now duplicates of the warehouse, the others rejected again
    wh.load_rows(con, TABLES["declarations"], "src", TABLES["declarations"].names, 8, "validate", 500)
    assert con.execute("select count(*) from declarations").fetchone()[0] == 2
    assert con.execute("select count(*) from duplicates where run_id = 8").fetchone()[0] == 3
    assert con.execute("select count(*) from rejects where run_id = 8").fetchone()[0] == 3


def test_raw_text_is_quoted_like_csv_and_cut_to_the_limit(con):
    con.execute(
        "create temp table src as select '1234' as mine_code, 'a,\"b\"' as mine_name, '1' as approved_capacity_tpy, "
        "'1' as approved_headcount, 1 as _file_id, 1 as _record"
    )
    wh.load_rows(con, TABLES["mines"], "src", ["mine_code", "mine_name"], 1, "validate", 12)
    assert con.execute("select raw from rejects").fetchall() == [('1234,"a,""b""'[:12],)]


def test_a_rare_bad_value_among_many_clean_rows_is_still_found(con):
    # checks no row can fail are left out of the row scan; each of these must still be caught
    con.execute(
        f"""
        create temp table src as
        select '{MINE_A}' as mine_code, 'M' || (range % 7) as meter_code, 'face' as circuit, null as face_code,
               timestamp '2025-05-01' + to_minutes(15 * range::int) as interval_end, 1.5 as kwh,
               1 as _file_id, range + 1 as _record
        from range(3000)
        union all select * from (values
            ('{MINE_A}', ' M9 ', 'face', null, timestamp '2025-05-01', 1.0, 2, 1),
            ('{MINE_A}', 'M9', 'face', null, timestamp '2025-05-02', 'inf'::double, 2, 2),
            ('{MINE_A}', 'M9', 'boiler', null, timestamp '2025-05-03', 1.0, 2, 3),
            ('{MINE_A}', '', 'face', null, timestamp '2025-05-04', 1.0, 2, 4),
            ('{MINE_A}', 'M0', 'face', null, timestamp '2025-05-01', 1.5, 2, 5),
            ('{MINE_A}', 'M0', 'face', null, timestamp '2025-05-01', 2.5, 2, 6)
        )
        """
    )
    wh.load_rows(con, TABLES["power"], "src", TABLES["power"].names, 3, "validate", 500, rows=3006)
    assert con.execute("select count(*) from power").fetchone()[0] == 3001
    assert con.execute("select meter_code from power where _file_id = 2").fetchall() == [("M9",)]  # trimmed
    assert con.execute("select record, field, reason from rejects order by record").fetchall() == [
        (2, "kwh", "not a finite number"),
        (3, "circuit", "must be one of: " + ", ".join(TABLES["power"].column("circuit").values)),
        (4, "meter_code", "required value missing"),
        (6, "mine_code, meter_code, interval_end",
         "conflicting duplicate: another row with the same (mine_code, meter_code, interval_end) differs"),
    ]
    assert con.execute("select file_id, record from duplicates").fetchall() == [(2, 5)]


def test_repeated_hashes_are_found_with_or_without_a_row_count(con):
    sql = "select hash(range % 1000) from range(5000) where range < 1000 or range % 1000 in (3, 999)"
    expected = sorted(v for (v,) in con.execute("select distinct hash(r) from (values (3), (999)) t(r)").fetchall())
    assert sorted(wh._repeated_hashes(con, sql, None).tolist()) == expected
    assert sorted(wh._repeated_hashes(con, sql, 5000).tolist()) == expected
    assert len(wh._repeated_hashes(con, "select hash(range) from range(0)", None)) == 0


def test_the_lock_refuses_a_second_holder_and_frees_on_exit(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    with wh.exclusive_lock(warehouse) as lock:
        assert lock == Path(f"{warehouse}.lock")
        with pytest.raises(wh.WarehouseBusy, match="another ingest is already running"), wh.exclusive_lock(warehouse):
            pass
    with wh.exclusive_lock(warehouse):
        pass


def test_a_warehouse_path_that_is_a_folder_is_refused(tmp_path):
    with pytest.raises(wh.WarehouseError, match="is not a writable file"):
        wh.check_writable(tmp_path)


def test_repeated_keys_found_the_same_in_duckdb_beyond_the_numpy_limit(monkeypatch):
    con = duckdb.connect()
    con.execute("create table t as select (range % 1000) as k from range(5000) union all select 10**9")
    sql = "select hash(k) as h from t"
    by_numpy = wh._repeated_hashes(con, sql, 5001)
    monkeypatch.setattr(wh, "NUMPY_KEY_ROWS", 10)
    by_duckdb = wh._repeated_hashes(con, sql, 5001)
    unknown = wh._repeated_hashes(con, sql, None)
    assert len(by_numpy) == 1000
    np.testing.assert_array_equal(by_numpy, by_duckdb)
    np.testing.assert_array_equal(by_numpy, unknown)
