"""Point in time: every feature table as of T is the same whether or not the data after T has arrived."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from features.runner import Window, build_features, load_models
from tests.features.test_mechanisms_move_features import load

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
AS_OF = date(2025, 6, 14)
END = f"timestamp '{AS_OF + timedelta(days=1)} 00:00:00'"
# what was known at T: rows that began before T + 1 day, with whatever ended later still open
CUT = {
    "shaft_trips": ("down_at", ["up_at"]),
    "presence": ("entered_at", ["left_at"]),
    "sensor_stats": ("period_end", []),
    "switch_events": ("changed_at", []),
    "alarms": ("started_at", ["ended_at", "entered_at"]),
    "production": ("period_end", []),
    "power": ("interval_end", []),
    "production_reports": ("date", []),
    "declarations": ("declared_at", []),
    "accident_reports": ("reported_at", []),
    "inspections": ("ended_on", []),
    "people": ("registered_on", ["deregistered_on"]),
}


def _cut(con: duckdb.DuckDBPyConnection) -> None:
    for table, (start, ends) in CUT.items():
        inclusive = start in ("period_end", "interval_end")
        op = "<=" if inclusive else "<"
        con.execute(f"delete from {table} where not ({start} {op} {END} or {start} is null)")
        for end in ends:
            con.execute(f"update {table} set {end} = null where {end} >= {END}")
    # an alarm still open at T has no final statistics or handling text yet
    con.execute("update alarms set max_value = null, avg_value = null, cause = null, measure = null,"
                " entered_by = null where ended_at is null")


@pytest.fixture(scope="module")
def raw(tmp_path_factory):
    out = tmp_path_factory.mktemp("pit") / "raw"
    subprocess.run([sys.executable, "-m", "pipelines", "simulate", "--out", str(out), "--mines", "5",
                    "--days", "60", "--seed", "808"], check=True, cwd=ROOT)
    return out


def _tables(con: duckdb.DuckDBPyConnection) -> dict[str, pd.DataFrame]:
    names = [m.name for m in load_models() if m.layer in ("evidence", "marts")]
    out = {}
    for name in names:
        frame = con.execute(f"select * from {name}").df()
        keep = [c for c in frame.columns if not c.startswith("_")]
        out[name] = frame[keep].sort_values(keep).reset_index(drop=True)
    return out


def test_features_as_of_t_ignore_everything_after_t(raw):
    window = Window(AS_OF, 30, 14)
    known = duckdb.connect()
    load(known, raw)
    _cut(known)
    build_features(known, window)
    before = _tables(known)
    known.close()

    later = duckdb.connect()
    load(later, raw)  # the same mines with the 46 days after T appended
    build_features(later, window)
    after = _tables(later)
    later.close()

    assert before["mine_features"]["mine_code"].nunique() == 5
    for name in before:
        pd.testing.assert_frame_equal(before[name], after[name], check_dtype=False, obj=name)
