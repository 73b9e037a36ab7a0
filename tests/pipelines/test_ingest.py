"""The ingest stage end to end: canonical CSV/Parquet/folders, rejects, manifest, idempotence, atomicity, lock."""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ingest_helpers import (
    MINE_A,
    MINE_B,
    MINES_CSV,
    ToyProfile,
    basic_dir,
    counts,
    query,
    sensors_rows,
    stats_rows,
    write,
    write_parquet,
)

from pipelines import ingest as ing
from pipelines import warehouse as wh
from pipelines.schema import TABLES

ADAPTER_DATA = Path(__file__).parent / "adapters" / "data"


def cli(argv: list[str]) -> int:
    """`minewatch ingest ARGV` without importing every other stage."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--params", default=None)
    ing.add_arguments(parser)
    return ing.main(parser.parse_args(argv))


def run(data: Path, warehouse: Path, profiles=None) -> int:
    return ing.ingest(data, warehouse, profiles=[] if profiles is None else profiles)


def manifest(warehouse: Path, run_id: int) -> dict[str, tuple]:
    """File name -> (status, read, loaded, rejected, duplicate, message) of one run."""
    rows = query(
        warehouse,
        "select path, status, rows_read, rows_loaded, rows_rejected, rows_duplicate, message "
        "from ingest_files where run_id = ?",
        [run_id],
    )
    return {Path(r[0]).name: r[1:] for r in rows}


def assert_reconciles(warehouse: Path) -> None:
    bad = query(
        warehouse,
        "select path, rows_read, rows_loaded, rows_rejected, rows_duplicate from ingest_files "
        "where rows_read <> rows_loaded + rows_rejected + rows_duplicate",
    )
    assert bad == []


def test_csv_parquet_and_nested_folders_load_with_lineage_and_types(tmp_path):
    wh_path = tmp_path / "w" / "warehouse.duckdb"
    run_id = run(basic_dir(tmp_path / "data"), wh_path)
    assert query(wh_path, "select count(*) from mines") == [(2,)]
    assert query(wh_path, "select count(*) from sensors") == [(3,)]
    assert query(wh_path, "select count(*) from sensor_stats") == [(17,)]
    types = dict(query(wh_path, "select column_name, data_type from information_schema.columns "
                                "where table_name = 'sensor_stats'"))
    assert types["period_start"] == "TIMESTAMP" and types["avg_value"] == "DOUBLE" and types["status"] == "BIGINT"
    assert types["_file_id"] == "BIGINT" and types["_record"] == "BIGINT"
    # lineage: the CSV part's second data row is record 2 of that file
    row = query(wh_path, "select f.path, s._record from sensor_stats s join ingest_files f on f.file_id = s._file_id "
                         "where s.point_code = 'P2' and s.period_start = '2025-05-01 00:05:00'")
    assert Path(row[0][0]).name == "extra.csv" and row[0][1] == 2
    assert query(wh_path, "select min(_record), max(_record) from sensor_stats s join ingest_files f "
                          "on f.file_id = s._file_id where f.path like ?", [f"%mine={MINE_A}%"]) == [(1, 10)]
    files = manifest(wh_path, run_id)
    assert {v[0] for v in files.values()} == {"loaded"}
    assert files["mines.csv"][:4] == ("loaded", 2, 2, 0)
    assert_reconciles(wh_path)


def test_bad_rows_of_each_kind_go_to_rejects_and_the_rest_loads(tmp_path):
    data = tmp_path / "data"
    write(data / "mines.csv", MINES_CSV)
    write_parquet(data / "sensors.parquet", "sensors", sensors_rows(MINE_A, ["P1"]))
    write(data / "people.csv", (
        "mine_code,card_code,name,is_leader,registered_on\n"
        f"{MINE_A},{MINE_A}00001,张三,0,2025-01-01\n"        # 1 good
        f"{MINE_A},{MINE_A}0002,李四,0,2025-01-01\n"          # 2 card_code too short
        f"{MINE_A},{MINE_A}0000x,王五,0,2025-01-01\n"         # 3 not digits
        f"{MINE_A},{MINE_A}00004,赵六,2,2025-01-01\n"         # 4 not 0/1
        f"{MINE_A},{MINE_A}00005,钱七,0,2025-13-01\n"         # 5 bad date
        f"{MINE_A},{MINE_A}00006,孙八,0,\n"                   # 6 required empty
        f"{MINE_A},{MINE_B}00007,周九,0,2025-01-01\n"         # 7 card of another mine
        f"999999999999,99999999999900008,吴十,0,2025-01-01\n"  # 8 unknown mine
        f"{MINE_A},{MINE_A}00001,张三,0,2025-01-01\n"         # 9 identical duplicate of 1
        f"{MINE_A},{MINE_A}00001,张三丰,0,2025-01-01\n"       # 10 conflicting duplicate of 1
        f"{MINE_A},{MINE_A}00011,\"郑,十一\",0\n"             # 11 malformed line (too few fields)
        f"{MINE_A},{MINE_A}00012,冯十二,1,2025-01-02\n"       # 12 good, after the malformed line
    ))
    write(data / "sensor_stats.csv", (
        "mine_code,point_code,period_start,period_end,avg_value,max_value,min_value,status\n"
        f"{MINE_A},P1,2025-05-01 00:05:00,2025-05-01 00:00:00,0.1,0.2,0.0,0\n"  # 1 end before start
        f"{MINE_A},P1,2025-05-01 00:05:00,2025-05-01 00:10:00,abc,0.2,0.0,0\n"  # 2 not a number
        f"{MINE_A},P9,2025-05-01 00:10:00,2025-05-01 00:15:00,0.1,0.2,0.0,0\n"  # 3 unknown point
        f"{MINE_A},P1,2025-05-01 00:15:00,2025-05-01 00:20:00,0.1,0.2,0.0,1.5\n"  # 4 fraction in an integer
        f"{MINE_A},P1,2025-05-01 00:20:00,2025-05-01 00:25:00,0.1,0.2,0.0,0\n"  # 5 good
    ))
    write(data / "workfaces.csv", (
        "mine_code,face_code,face_type,area_code,declared_from\n"
        f"{MINE_A},F1,longwall,{MINE_A}0001,2025-01-01\n"
        f"{MINE_A},F2,shortwall,{MINE_A}0002,2025-01-01\n"  # 2 not a face type
    ))
    wh_path = tmp_path / "w.duckdb"
    run_id = run(data, wh_path)
    rejects = {
        (Path(f).name, rec): (field, reason, raw)
        for f, rec, field, reason, raw in query(
            wh_path, "select file, record, field, reason, raw from rejects where run_id = ?", [run_id]
        )
    }
    expect = {
        ("people.csv", 2): ("card_code", "must be 17 characters long"),
        ("people.csv", 3): ("card_code", "must be digits only"),
        ("people.csv", 4): ("is_leader", "must be 0 or 1"),
        ("people.csv", 5): ("registered_on", "not a valid date"),
        ("people.csv", 6): ("registered_on", "required value missing"),
        ("people.csv", 7): ("card_code", "must start with the mine_code"),
        ("people.csv", 8): ("mine_code", "unknown mines"),
        ("people.csv", 10): ("mine_code, card_code", "conflicting duplicate"),
        ("people.csv", 11): (None, "malformed CSV line"),
        ("sensor_stats.csv", 1): ("period_end", "period_end is before period_start"),
        ("sensor_stats.csv", 2): ("avg_value", "not a number"),
        ("sensor_stats.csv", 3): ("mine_code, point_code", "unknown sensors"),
        ("sensor_stats.csv", 4): ("status", "not a whole number"),
        ("workfaces.csv", 2): ("face_type", "must be one of: longwall, heading"),
    }
    assert set(rejects) == set(expect)
    for key, (field, reason) in expect.items():
        got_field, got_reason, raw = rejects[key]
        assert reason in got_reason, (key, got_reason)
        if field is not None:
            assert got_field == field, key
        assert raw and (MINE_A in raw or "999999999999" in raw), key
    assert rejects[("people.csv", 11)][2] == f'{MINE_A},{MINE_A}00011,"郑,十一",0'  # the malformed line itself
    # the good rows load, with their true record numbers (12 comes after the malformed line 11)
    assert query(wh_path, "select card_code, _record from people order by _record") == [
        (f"{MINE_A}00001", 1), (f"{MINE_A}00012", 12)
    ]
    assert query(wh_path, "select count(*) from sensor_stats") == [(1,)]
    assert query(wh_path, "select record, reason from duplicates") == [
        (9, "identical to a row already kept (same mine_code, card_code)")
    ]
    files = manifest(wh_path, run_id)
    assert files["people.csv"][:5] == ("loaded", 12, 2, 9, 1)
    assert_reconciles(wh_path)
    assert "people.card_code: must be digits only" in ing.report(wh_path, run_id)


def test_record_numbers_count_csv_records_not_lines_after_multi_line_quoted_fields(tmp_path):
    data = tmp_path / "data"
    write(data / "mines.csv", (
        "mine_code,mine_name,approved_capacity_tpy,approved_headcount\n"
        f'{MINE_A},"示范\n煤矿",1000000,100\n'               # record 1: two physical lines
        f"{MINE_B},B,x,100\n"                                # 2 not a number
        '140100000003,"C\nc\nc",1000000,100\n'             # 3: three physical lines
        "140100000004,D,1000000,100,extra\n"                 # 4 malformed (5 fields)
        "14010000000,E,1000000,100\n"                        # 5 mine_code too short
        "140100000006,F,1000000,100\n"                       # 6
    ))
    wh_path = tmp_path / "w.duckdb"
    run(data, wh_path)
    assert query(wh_path, "select record, field from rejects order by record") == [
        (2, "approved_capacity_tpy"), (4, None), (5, "mine_code")
    ]
    assert query(wh_path, "select _record, mine_name from mines order by _record") == [
        (1, "示范\n煤矿"), (3, "C\nc\nc"), (6, "F")
    ]


def test_missing_required_column_rejects_the_file_and_the_run_goes_on(tmp_path):
    data = basic_dir(tmp_path / "data")
    write(data / "production_reports.csv", "mine_code,date\n" f"{MINE_A},2025-05-01\n" f"{MINE_A},2025-05-02\n")
    wh_path = tmp_path / "w.duckdb"
    run_id = run(data, wh_path)
    status, read, loaded, rejected, dup, message = manifest(wh_path, run_id)["production_reports.csv"]
    assert (status, read, loaded, rejected, dup) == ("rejected", 2, 0, 2, 0)
    assert "production_reports.csv" in message and "reported_tonnes" in message
    assert query(wh_path, "select field, record from rejects where table_name = 'production_reports'") == [
        ("reported_tonnes", None)
    ]
    assert query(wh_path, "select count(*) from sensor_stats") == [(17,)]
    assert_reconciles(wh_path)


def test_rerun_adds_nothing_and_new_files_append(tmp_path):
    data = basic_dir(tmp_path / "data")
    wh_path = tmp_path / "w.duckdb"
    run(data, wh_path)
    before = counts(wh_path)
    second = run(data, wh_path)
    after = counts(wh_path)
    assert {v[0] for v in manifest(wh_path, second).values()} == {"skipped"}
    assert {k: v for k, v in after.items() if k not in ("ingest_files", "ingest_runs")} == {
        k: v for k, v in before.items() if k not in ("ingest_files", "ingest_runs")
    }
    # a new part appends; a re-sent copy of an old part under another name is skipped by its hash
    write_parquet(data / "sensor_stats" / f"mine={MINE_A}" / "part-1.parquet", "sensor_stats",
                  stats_rows(MINE_A, "P1", 4, start=10))
    shutil.copy(data / "mines.csv", data / "sensor_stats" / "mines-copy.csv")
    third = run(data, wh_path)
    files = manifest(wh_path, third)
    assert files["part-1.parquet"][:4] == ("loaded", 4, 4, 0)
    assert files["mines-copy.csv"][0] == "skipped"
    assert query(wh_path, "select count(*) from sensor_stats") == [(21,)]
    assert_reconciles(wh_path)


def test_rows_already_in_the_warehouse_are_duplicates_or_conflicts(tmp_path):
    data = basic_dir(tmp_path / "data")
    wh_path = tmp_path / "w.duckdb"
    run(data, wh_path)
    again = stats_rows(MINE_A, "P1", 2)  # identical to rows already loaded
    changed = stats_rows(MINE_A, "P1", 1, start=2)
    changed[0]["avg_value"] = 9.9  # same key, other values
    write_parquet(data / "sensor_stats" / "resent.parquet", "sensor_stats", again + changed)
    run_id = run(data, wh_path)
    assert manifest(wh_path, run_id)["resent.parquet"][:5] == ("loaded", 3, 0, 1, 2)
    assert query(wh_path, "select record, reason from rejects where run_id = ?", [run_id])[0][0] == 3
    assert query(wh_path, "select max(avg_value) from sensor_stats") == [(0.2,)]


def test_a_failure_part_way_leaves_the_warehouse_as_it_was(tmp_path, monkeypatch):
    data = basic_dir(tmp_path / "data")
    wh_path = tmp_path / "w.duckdb"
    run(data, wh_path)
    before = counts(wh_path)
    write_parquet(data / "sensors_more.parquet", "sensors", [])  # not a table name: ignored
    write(data / "production_reports.csv", f"mine_code,date,reported_tonnes\n{MINE_A},2025-05-01,3000\n")
    write_parquet(data / "sensor_stats" / "late.parquet", "sensor_stats", stats_rows(MINE_B, "P1", 3, start=5))
    real = wh.load_rows

    def failing(con, table, *args, **kwargs):
        real(con, table, *args, **kwargs)  # production_reports goes in first, inside the transaction
        if table.name == "sensor_stats":
            raise RuntimeError("disk full (injected)")

    monkeypatch.setattr(wh, "load_rows", failing)
    with pytest.raises(RuntimeError, match="injected"):
        run(data, wh_path)
    assert counts(wh_path) == before
    monkeypatch.setattr(wh, "load_rows", real)
    run(data, wh_path)  # the same files load once the failure is gone
    assert query(wh_path, "select count(*) from production_reports") == [(1,)]


def test_a_second_ingest_is_refused_while_one_runs(tmp_path, capsys):
    data = basic_dir(tmp_path / "data")
    wh_path = tmp_path / "w.duckdb"
    # another process holding the lock file the way an ingest does (flock, its pid written inside)
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import fcntl, os, sys, time\n"
         "fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)\n"
         "fcntl.flock(fd, fcntl.LOCK_EX); os.write(fd, f'{os.getpid()}\\n'.encode())\n"
         "print('held', flush=True); time.sleep(30)",
         f"{wh_path}.lock"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(wh.WarehouseBusy, match=f"another ingest is already running on {wh_path}"):
            run(data, wh_path)
        assert cli([str(data), "--warehouse", str(wh_path)]) == 2
        assert f"held by process {holder.pid}" in capsys.readouterr().err
    finally:
        holder.kill()
        holder.wait()
    run(data, wh_path)  # the lock is free again once the holder is gone
    assert query(wh_path, "select count(*) from mines") == [(2,)]


def test_clear_errors_for_missing_data_dir_and_unwritable_warehouse(tmp_path, capsys):
    with pytest.raises(wh.WarehouseError, match="does-not-exist does not exist"):
        run(tmp_path / "does-not-exist", tmp_path / "w.duckdb")
    blocker = write(tmp_path / "a-file", "x")
    with pytest.raises(wh.WarehouseError, match="cannot create the warehouse folder"):
        run(basic_dir(tmp_path / "data"), blocker / "w.duckdb")
    assert cli([str(tmp_path / "nowhere"), "--warehouse", str(tmp_path / "w.duckdb")]) == 2
    assert "nowhere does not exist" in capsys.readouterr().err


def test_unreadable_and_corrupt_files_are_reported_and_the_run_goes_on(tmp_path):
    data = basic_dir(tmp_path / "data")
    (data / "areas.csv").symlink_to(tmp_path / "missing-target.csv")
    write(data / "stations.parquet", "this is not parquet")
    # a Parquet file whose footer reads but whose data pages are garbage fails only while loading
    good = write_parquet(tmp_path / "ok.parquet", "production_reports",
                         [{"mine_code": MINE_A, "date": None, "reported_tonnes": 1.0}] * 50)
    raw = bytearray(good.read_bytes())
    raw[4:60] = b"\xff" * 56
    (data / "production_reports.parquet").write_bytes(bytes(raw))
    wh_path = tmp_path / "w.duckdb"
    run_id = run(data, wh_path)
    files = manifest(wh_path, run_id)
    assert files["areas.csv"][0] == "error" and "areas.csv: cannot read" in files["areas.csv"][5]
    assert files["stations.parquet"][0] == "error" and "not a readable Parquet file" in files["stations.parquet"][5]
    assert files["production_reports.parquet"][0] == "error"
    assert "production_reports.parquet" in files["production_reports.parquet"][5]
    assert query(wh_path, "select count(*) from sensor_stats") == [(17,)]
    assert query(wh_path, "select status from ingest_runs where run_id = ?", [run_id]) == [("completed_with_problems",)]


def test_gb18030_csv_is_read_and_its_encoding_recorded(tmp_path):
    data = tmp_path / "data"
    write(data / "mines.csv", MINES_CSV, encoding="gb18030")
    wh_path = tmp_path / "w.duckdb"
    run_id = run(data, wh_path)
    assert query(wh_path, "select encoding from ingest_files where run_id = ?", [run_id]) == [("gb18030",)]
    assert query(wh_path, "select mine_name from mines order by 1") == [("一号矿",), ("二号矿",)]


def test_report_prints_a_run_with_totals_that_reconcile(tmp_path, capsys):
    data = basic_dir(tmp_path / "data")
    wh_path = tmp_path / "w.duckdb"
    assert cli([str(data), "--warehouse", str(wh_path)]) == 0
    assert cli([str(data), "--warehouse", str(wh_path)]) == 0
    capsys.readouterr()
    assert cli(["--report", "--warehouse", str(wh_path), "--run", "1"]) == 0
    out = capsys.readouterr().out
    total = next(line for line in out.splitlines() if line.strip().startswith("total"))
    read, loaded, rejected, dup = (int(x) for x in total.split()[2:6])
    assert (read, loaded, rejected, dup) == (22, 22, 0, 0)
    assert "run 1: completed" in out and "sensor_stats/extra.csv" in out
    assert cli(["--report", "--warehouse", str(wh_path)]) == 0
    assert "skipped" in capsys.readouterr().out
    assert cli(["--report", "--warehouse", str(wh_path), "--run", "9"]) == 2


def toy_file(data: Path, name: str, lines: list[str], complete: bool = True) -> Path:
    return write(data / "toy" / name, "".join(f"{line}\n" for line in lines) + ("END\n" if complete else ""))


def test_profile_files_go_through_raw_tables_derive_and_replacement(tmp_path):
    data = tmp_path / "data"
    write(data / "mines.csv", MINES_CSV)
    write_parquet(data / "sensors.parquet", "sensors", sensors_rows(MINE_A, ["C9"]))
    toy_file(data, f"{MINE_A}_TOY_1.toy", ["P1;1.0;2025-05-01 00:00:00", "P2;2.0;2025-05-01 00:00:00",
                                           "broken line", ";3.0;2025-05-01 00:00:00"])
    toy_file(data, f"{MINE_A}_TOY_2.toy", ["P3;1.0;2025-05-01 00:00:00"], complete=False)
    write(data / "notes.txt", "nobody reads this")
    wh_path = tmp_path / "w.duckdb"
    profiles = [ToyProfile()]
    first = run(data, wh_path, profiles)
    files = manifest(wh_path, first)
    assert files[f"{MINE_A}_TOY_1.toy"][:5] == ("loaded", 4, 2, 2, 0)  # a parse reject and a derive reject
    assert files[f"{MINE_A}_TOY_2.toy"][0] == "incomplete" and "no END" in files[f"{MINE_A}_TOY_2.toy"][5]
    assert files["notes.txt"][0] == "ignored"
    assert query(wh_path, "select count(*) from raw_toy_readings") == [(3,)]
    assert query(wh_path, "select stage, record, field from rejects order by record") == [
        ("parse", 3, None), ("validate", 4, "point_code")
    ]
    assert query(wh_path, "select point_code, location from sensors order by 1") == [
        ("C9", None), ("P1", "v=1.0"), ("P2", "v=2.0")
    ]
    # later: the incomplete file is complete, and a new file re-reads point P1
    toy_file(data, f"{MINE_A}_TOY_2.toy", ["P3;1.0;2025-05-01 00:00:00"])
    toy_file(data, f"{MINE_A}_TOY_3.toy", ["P1;5.0;2025-05-02 00:00:00"])
    second = run(data, wh_path, profiles)
    files = manifest(wh_path, second)
    assert files[f"{MINE_A}_TOY_1.toy"][0] == "skipped"
    assert files[f"{MINE_A}_TOY_2.toy"][:3] == ("loaded", 1, 1)
    assert query(wh_path, "select point_code, location from sensors order by 1") == [
        ("C9", None), ("P1", "v=5.0"), ("P2", "v=2.0"), ("P3", "v=1.0")
    ]
    # the first file's P1 record is now a superseded copy; its counts were refreshed, and still reconcile
    assert query(wh_path, "select rows_read, rows_loaded, rows_rejected, rows_duplicate from ingest_files "
                          "where path like ? and status = 'loaded'", [f"%{MINE_A}_TOY_1.toy"]) == [(4, 1, 2, 1)]
    assert query(wh_path, "select count(*) from rejects where stage = 'validate'") == [(1,)]
    assert_reconciles(wh_path)
    third = run(data, wh_path, profiles)
    assert {v[0] for k, v in manifest(wh_path, third).items() if k.endswith(".toy")} == {"skipped"}
    assert query(wh_path, "select count(*) from sensors") == [(4,)]


def test_a_profile_whose_derive_fails_is_reported_and_canonical_data_still_loads(tmp_path):
    class Broken(ToyProfile):
        def derive(self, con, mine_codes):
            return {"sensors": "select * from no_such_table"}

    data = tmp_path / "data"
    write(data / "mines.csv", MINES_CSV)
    toy_file(data, f"{MINE_A}_TOY_1.toy", ["P1;1.0;2025-05-01 00:00:00"])
    wh_path = tmp_path / "w.duckdb"
    run_id = run(data, wh_path, [Broken()])
    status, *_, message = manifest(wh_path, run_id)[f"{MINE_A}_TOY_1.toy"]
    assert status == "error" and "the select for sensors failed" in message
    assert query(wh_path, "select count(*) from mines") == [(2,)]


@pytest.mark.skipif(not ADAPTER_DATA.is_dir(), reason="no hand-written national files")
def test_national42_files_ingest_through_the_real_profile(tmp_path):
    national42 = pytest.importorskip("pipelines.adapters.national42")
    data = tmp_path / "data"
    write(data / "mines.csv", MINES_CSV)
    shutil.copytree(ADAPTER_DATA, data / "national", ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    wh_path = tmp_path / "w.duckdb"
    first = run(data, wh_path, [national42.National42()])
    files = manifest(wh_path, first)
    national = {k: v for k, v in files.items() if k.endswith(".txt") and v[0] != "ignored"}
    assert national and {v[0] for v in national.values()} <= {"loaded", "incomplete", "error"}
    assert sum(v[2] for v in national.values()) > 0
    assert query(wh_path, "select count(*) from sensors")[0][0] > 0
    assert_reconciles(wh_path)
    before = counts(wh_path)
    second = run(data, wh_path, [national42.National42()])
    assert {v[0] for k, v in manifest(wh_path, second).items() if k in national and national[k][0] == "loaded"} == {
        "skipped"
    }
    after = counts(wh_path)
    assert {k: v for k, v in after.items() if not k.startswith("ingest_")} == {
        k: v for k, v in before.items() if not k.startswith("ingest_")
    }


@pytest.mark.skipif(not ADAPTER_DATA.is_dir(), reason="no hand-written national files")
def test_parse_workers_and_small_batches_give_the_same_warehouse(tmp_path, monkeypatch, caplog):
    # files are parsed in runs (small ones together), in worker processes on large inputs: same rows either way
    national42 = pytest.importorskip("pipelines.adapters.national42")
    data = tmp_path / "data"
    write(data / "mines.csv", MINES_CSV)
    shutil.copytree(ADAPTER_DATA, data / "national", ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    tables = ["ingest_files", "rejects", "duplicates", *(t for t in TABLES), "raw_national42_ryss", "raw_national42_cdss"]
    seen = []
    for workers, batch_files in ((1, 10_000), (2, 3)):
        monkeypatch.setattr(ing, "PARALLEL_PARSE_BYTES", 0)
        monkeypatch.setattr(ing, "PARSE_BATCH_FILES", batch_files)
        wh_path = tmp_path / f"w{workers}.duckdb"
        ing.ingest(data, wh_path, ing.IngestParams(parse_workers=workers), [national42.National42()])
        seen.append({t: sorted(query(wh_path, f"select * from {t}"), key=repr)
                     for t in tables if t != "ingest_files"})
        seen[-1]["ingest_files"] = query(wh_path, "select path, status, rows_read, rows_loaded, rows_rejected, "
                                                  "rows_duplicate, mine_code, kind from ingest_files order by path")
    assert "parse workers failed" not in caplog.text
    assert seen[0] == seen[1]
    assert seen[0]["raw_national42_ryss"]


@pytest.mark.skipif(not ADAPTER_DATA.is_dir(), reason="no hand-written national files")
def test_source_files_hashed_by_parse_workers_skip_copies_and_loaded_contents(tmp_path, monkeypatch):
    # the workers hash what they read: a copy within the run is skipped, its rows not loaded; a re-run skips all
    national42 = pytest.importorskip("pipelines.adapters.national42")
    data = tmp_path / "data"
    write(data / "mines.csv", MINES_CSV)
    shutil.copytree(ADAPTER_DATA, data / "national", ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    original = sorted((data / "national").rglob("*_RYSS_*"))[0]
    copy = data / "national" / "zz" / original.name  # read after the original: the copy
    copy.parent.mkdir()
    shutil.copyfile(original, copy)
    monkeypatch.setattr(ing, "PARALLEL_PARSE_BYTES", 0)
    monkeypatch.setattr(ing, "PARSE_BATCH_FILES", 2)
    wh_path = tmp_path / "w.duckdb"
    params = ing.IngestParams(parse_workers=2)
    first = ing.ingest(data, wh_path, params, [national42.National42()])
    files = {Path(p): rest for p, *rest in query(
        wh_path, "select path, status, rows_read, rows_loaded, message from ingest_files where run_id = ?", [first])}
    assert files[copy][:3] == ["skipped", 0, 0] and str(original) in files[copy][3]
    assert files[original][0] == "loaded" and files[original][1] > 0
    assert query(wh_path, "select count(*) from raw_national42_ryss r join ingest_files f on f.file_id = r._file_id "
                          "where f.path = ?", [str(copy)]) == [(0,)]
    sha = query(wh_path, "select path, sha256, bytes from ingest_files where path in (?, ?) order by path",
                [str(original), str(copy)])
    assert sha[0][1] == sha[1][1] == hashlib.sha256(original.read_bytes()).hexdigest()
    assert sha[0][2] == sha[1][2] == original.stat().st_size
    before = counts(wh_path)
    second = ing.ingest(data, wh_path, params, [national42.National42()])
    status = "select path, status from ingest_files where run_id = ? and status <> 'incomplete'"  # incomplete: read again
    assert {p: "skipped" for p, _ in query(wh_path, status, [first])} == dict(query(wh_path, status, [second]))
    assert {k: v for k, v in counts(wh_path).items() if not k.startswith("ingest_")} == {
        k: v for k, v in before.items() if not k.startswith("ingest_")
    }


def test_registry_loads_the_profiles_that_import():
    from pipelines.adapters import load_profiles

    names = [p.name for p in load_profiles()]
    assert len(names) == len(set(names))
    for module, name in (("pipelines.adapters.national42", "national42"),):
        if os.path.exists(Path(__file__).resolve().parents[2] / (module.replace(".", "/") + ".py")):
            assert name in names


def test_raw_buffer_appends_whole_row_groups_until_the_last_flush(tmp_path, monkeypatch):
    # before the last flush a table gets whole row groups only; the rest is held, and every row arrives once
    import duckdb
    import numpy as np
    import pyarrow as pa

    monkeypatch.setattr(ing, "ROW_GROUP_ROWS", 4)
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("create table raw_t (v bigint, _file_id bigint)")
    buffer = ing._RawBuffer(con, limit=1)  # every add flushes
    appended = []
    for start, n in ((0, 3), (3, 6), (9, 2)):
        buffer.add("raw_t", pa.table({"v": pa.array(range(start, start + n), pa.int64())}), np.full(n, start, np.int64))
        appended.append(con.execute("select count(*) from raw_t").fetchone()[0])
    assert appended == [0, 8, 8]  # 3 held; 9 -> 8 appended, 1 held; 3 held
    buffer.flush()
    rows = con.execute("select v, _file_id from raw_t order by v").fetchall()
    assert rows == [(v, 0 if v < 3 else 3 if v < 9 else 9) for v in range(11)]
