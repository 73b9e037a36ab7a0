"""The alarm-falsification features stay quiet on a real mine's monitoring export (webGas, read in place)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from features.runner import Window, build_features, run_checks
from pipelines.build_features import connect
from pipelines.ingest import ingest

WEBGAS = Path(__file__).resolve().parents[3] / "shared" / "realdata" / "webGas"
MINE = "130400000001"  # a made-up national code for 羊东矿, given through mine_codes.csv
AS_OF = date(2020, 10, 12)

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def features(tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    """The whole webGas export ingested through the vendor_csv profile, features built as of 2020-10-12."""
    if not WEBGAS.is_dir():
        pytest.skip(f"{WEBGAS} is absent")
    root = tmp_path_factory.mktemp("webgas")
    data = root / "data"
    # the export's files start with `_`, which ingest skips: link them in under names without it (never copied)
    for src in sorted(p for p in WEBGAS.rglob("*.csv") if p.is_file()):
        dst = data / src.parent.relative_to(WEBGAS) / src.name.lstrip("_")
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.symlink_to(src)
    (data / "mine_codes.csv").write_text(f"mine_name,mine_code\n羊东矿,{MINE}\n", encoding="utf-8")
    (data / "mines.csv").write_text(
        "mine_code,mine_name,approved_capacity_tpy,approved_headcount,gas_class\n"
        f"{MINE},羊东矿,1800000,300,low\n",
        encoding="utf-8",
    )
    warehouse = root / "warehouse.duckdb"
    ingest(data, warehouse)
    con = connect(warehouse, root / "features.duckdb")
    build_features(con, Window(AS_OF, 30, 90))
    yield con
    con.close()


def test_the_export_is_in_the_warehouse(features: duckdb.DuckDBPyConnection) -> None:
    n_points, n_stats = features.execute(
        "select count(distinct point_code), count(*) from sensor_stats where mine_code = ?", [MINE]
    ).fetchone()
    assert n_points >= 40 and n_stats > 15_000  # 5-minute periods of three days and one June hour
    n_offs = features.execute(
        "select count(*) from switch_events e join sensors s using (mine_code, point_code) "
        "where s.sensor_type = '1011' and e.state = 0"
    ).fetchone()[0]
    assert n_offs >= 21  # heading power off around shift changes: normal, and must not look like tampering


def test_no_point_looks_tampered(features: duckdb.DuckDBPyConnection) -> None:
    points = features.execute("select * from sensor_behaviour").df()
    methane = points[points["sensor_type"].isin(["0001", "0043"])]
    assert len(methane) >= 10 and (points["sensor_type"] == "0004").sum() >= 2
    # flat zeros at intake air and refuge chambers are normal: present, and not near any threshold
    flat = points[points["is_flat_all_window"] & (points["peak_value"] == 0)]
    assert len(flat) >= 2
    assert (points["share_near_threshold"].fillna(0) < 0.05).all()  # nothing held just under the alarm
    assert (points["share_over_alarm"].fillna(0) == 0).all()
    assert (points["calibration_periods"] + points["pause_periods"] == 0).all()
    face = points[points["is_face_point"]]
    decoupled = face["corr_with_face_power"].notna() & (face["corr_with_face_power"] < 0.1)
    dropped = face["level_ratio_vs_history"].notna() & (face["level_ratio_vs_history"] < 0.5)
    assert not decoupled.any() and not dropped.any()


def test_mine_alarm_features_are_zero_or_null(features: duckdb.DuckDBPyConnection) -> None:
    row = features.execute(
        "select * from mine_features where mine_code = ? and as_of = ?", [MINE, AS_OF]
    ).df()
    assert len(row) == 1
    af = row.filter(like="af_").iloc[0]
    shares = [c for c in af.index if c.endswith("_share")]
    assert len(shares) >= 7
    fired = {c: af[c] for c in shares if not (pd.isna(af[c]) or af[c] == 0)}
    assert fired == {}
    assert af["af_n_alarms"] == 0 and af["af_n_face_level_drops"] == 0


def test_feature_checks_pass(features: duckdb.DuckDBPyConnection) -> None:
    failures = {name: len(frame) for name, frame in run_checks(features, Window(AS_OF, 30, 90)).items()
                if not frame.empty}
    assert failures == {}
