"""The target list: every mine once per risk, deterministic order, region/group filters, reasons, file formats."""

from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from models.combine import unique_ranks
from pipelines import targets
from pipelines.build_features import connect
from pipelines.schema import FAMILIES, RISKS

AS_OF = date(2025, 7, 29)
# five mines; one code has a leading zero (codes are text), two mines tie on every score
MINES = pd.DataFrame({
    "mine_code": ["012345000001", "140121000002", "140121000003", "610221000004", "610221000005"],
    "mine_name": ["甲矿", "乙矿", "丙矿", "丁矿", "<b>戊矿</b>"],
    "province": ["山西省", "山西省", "山西省", "陕西省", "陕西省"],
    "city": ["大同市", "大同市", "朔州市", "延安市", "延安市"],
    "county": ["左云县", "浑源县", "朔城区", "黄陵县", "黄陵县"],
    "group_name": ["晋能控股集团", "晋能控股集团", "国家能源集团", "国家能源集团", "陕西煤业化工集团"],
    "approved_capacity_tpy": [9e5, 1.2e6, 3e5, 1.5e6, 9e5],
    "approved_headcount": [120, 150, 90, 160, 120],
    "gas_class": ["high", "low", "low", "outburst", "low"],
    "size_band": ["medium", "medium", "small", "large", "medium"],
})
SCORES = {  # risk -> score per mine (in MINES order); mines 2 and 3 tie everywhere
    "hidden_workface": [0.9, 0.5, 0.5, 0.2, 0.1],
    "overproduction": [0.3, 0.6, 0.6, 0.95, 0.2],
    "alarm_falsification": [0.1, 0.4, 0.4, 0.3, 0.8],
    "concealed_accident": [0.2, 0.2, 0.2, 0.2, 0.2],
    "overall": [0.8, 0.55, 0.55, 0.9, 0.6],
}
REASONS = [  # (mine index, family, rank, feature, value)
    (0, "hidden_workface", 1, "hw_undeclared_work_share", 0.21),
    (0, "hidden_workface", 2, "hw_restricted_hours_share", 0.006),
    (0, "overproduction", 1, "op_max_month_capacity_ratio", 1.16),
    (3, "overproduction", 1, "op_max_month_capacity_ratio", 1.32),
    (3, "overproduction", 2, "op_peak_headcount_ratio", 1.4),
    (3, "overproduction", 3, "op_belt_report_ratio", 1.25),
    (4, "alarm_falsification", 1, "af_cut_missing_share", 0.41),
]


def make_scored_db(root: Path, mines: pd.DataFrame = MINES, as_of: date = AS_OF) -> tuple[Path, Path]:
    """A warehouse and a features database holding one stored scoring (as `minewatch score` leaves it)."""
    warehouse, features = root / "warehouse.duckdb", root / "features.duckdb"
    duckdb.connect(str(warehouse)).close()
    con = duckdb.connect(str(features))
    rows = []
    for risk, values in SCORES.items():
        ranks = unique_ranks(values, mines["mine_code"])
        version = "rule-baseline" if risk != "overall" else ";".join(f"{f}=rule-baseline" for f in FAMILIES)
        for i, code in enumerate(mines["mine_code"]):
            rows.append({"as_of": pd.Timestamp(as_of), "mine_code": code, "mine_name": mines["mine_name"][i],
                         "risk": risk, "score": values[i], "rank": int(ranks[i]), "top_reasons": "",
                         "model_version": version})
    reasons = pd.DataFrame([
        {"as_of": pd.Timestamp(as_of), "mine_code": mines["mine_code"][i], "family": f, "reason_rank": r,
         "feature": feat, "contribution": 1.0 / r, "value": v, "text": ""}
        for i, f, r, feat, v in REASONS
    ])
    for name, frame in (("scores", pd.DataFrame(rows)), ("score_reasons", reasons), ("stg_mines", mines)):
        con.register("_f", frame)
        con.execute(f"create table {name} as select * from _f")
        con.unregister("_f")
    con.close()
    return warehouse, features


@pytest.fixture
def scored(tmp_path: Path) -> tuple[Path, Path]:
    return make_scored_db(tmp_path)


@pytest.fixture
def frame(scored: tuple[Path, Path]) -> pd.DataFrame:
    con = connect(*scored, read_only=True)
    try:
        return targets.load_targets(con, AS_OF, "en", 30)
    finally:
        con.close()


def _args(scored: tuple[Path, Path], *argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--params", default=None)
    targets.add_arguments(parser)
    return parser.parse_args(["--warehouse", str(scored[0]), "--features", str(scored[1]), *argv])


def test_every_mine_once_per_risk_in_a_fixed_order(frame: pd.DataFrame) -> None:
    assert len(frame) == len(MINES) * len(RISKS)
    assert not frame.duplicated(["mine_code", "risk"]).any()
    assert list(dict.fromkeys(frame["risk"])) == list(targets.RISK_ORDER)
    for _, part in frame.groupby("risk", sort=False):
        assert part["rank"].tolist() == list(range(1, len(MINES) + 1))
    # the tie between mines 2 and 3 goes to the smaller code, as everywhere else
    hw = frame[frame["risk"] == "hidden_workface"].set_index("mine_code")["rank"]
    assert hw["140121000002"] < hw["140121000003"]


def test_scores_of_every_family_on_each_row(frame: pd.DataFrame) -> None:
    row = frame[(frame["risk"] == "overall") & (frame["mine_code"] == "610221000004")].iloc[0]
    assert row["score_overproduction"] == pytest.approx(0.95)
    assert row["score_hidden_workface"] == pytest.approx(0.2)
    assert row["score"] == row["score_overall"] == pytest.approx(0.9)
    assert row["list_rank"] == row["rank"] == 1
    assert row["as_of"] == AS_OF


def test_overall_reasons_come_from_the_leading_family(frame: pd.DataFrame) -> None:
    row = frame[(frame["risk"] == "overall") & (frame["mine_code"] == "610221000004")].iloc[0]
    assert row["reason_family"] == "overproduction"
    assert row["reason_1"] == "one calendar month's belt-scale output reached 132% of approved monthly capacity"
    assert "140%" in row["reason_2"] and "1.25" in row["reason_3"]


def test_reasons_in_chinese_keep_the_numbers(scored: tuple[Path, Path]) -> None:
    con = connect(*scored, read_only=True)
    try:
        zh = targets.load_targets(con, AS_OF, "zh", 30)
    finally:
        con.close()
    row = zh[(zh["risk"] == "alarm_falsification") & (zh["mine_code"] == "610221000005")].iloc[0]
    assert "41%" in row["reason_1"] and "断电" in row["reason_1"]
    # a feature without a sentence in the catalog: its description and the value in its unit
    hw = zh[(zh["risk"] == "hidden_workface") & (zh["mine_code"] == "012345000001")].iloc[0]
    assert hw["reason_2"].endswith("0.6%")


def test_region_filter_matches_province_city_or_county(frame: pd.DataFrame) -> None:
    by_province = targets.select_targets(frame, "overall", regions=["山西省"])
    assert set(by_province["mine_code"]) == {"012345000001", "140121000002", "140121000003"}
    assert by_province["list_rank"].tolist() == [1, 2, 3]
    assert by_province["rank"].tolist() == sorted(by_province["rank"])
    by_city = targets.select_targets(frame, "all", regions=["大同市", "黄陵县"])
    assert set(by_city["mine_code"]) == {"012345000001", "140121000002", "610221000004", "610221000005"}
    for _, part in by_city.groupby("risk"):
        assert part["list_rank"].tolist() == list(range(1, len(part) + 1))


def test_group_filter_and_top_k_per_risk(frame: pd.DataFrame) -> None:
    out = targets.select_targets(frame, "all", top=1, groups=["国家能源集团"])
    assert len(out) == len(RISKS)
    overall = out[out["risk"] == "overall"].iloc[0]
    assert overall["mine_code"] == "610221000004" and overall["list_rank"] == 1
    assert targets.select_targets(frame, "overproduction", groups=["nobody"]).empty


def test_option_values_split_on_commas() -> None:
    assert targets._split(["山西省,陕西省", "大同市，延安市"]) == ["山西省", "陕西省", "大同市", "延安市"]


def test_csv_keeps_codes_as_text(scored: tuple[Path, Path], tmp_path: Path) -> None:
    out = tmp_path / "list.csv"
    assert targets.main(_args(scored, "--risk", "overall", "--out", str(out))) == 0
    read = pd.read_csv(out, dtype={"mine_code": str})
    assert "012345000001" in set(read["mine_code"])
    assert list(read.columns) == targets.COLUMNS
    assert read["as_of"].unique().tolist() == ["2025-07-29"]


def test_json_and_standard_output(scored: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert targets.main(_args(scored, "--format", "json", "--out", "-", "--top", "2", "--lang", "zh")) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 2 * len(RISKS)
    assert rows[0]["risk"] == "overall" and rows[0]["mine_code"] == "610221000004"
    assert rows[0]["as_of"] == "2025-07-29"
    assert "132%" in rows[0]["reason_1"]


def test_xlsx_has_the_list_and_an_about_sheet(scored: tuple[Path, Path], tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    out = tmp_path / "list.xlsx"
    assert targets.main(_args(scored, "--format", "xlsx", "--out", str(out), "--region", "陕西省")) == 0
    wb = openpyxl.load_workbook(out)
    sheet = wb["targets"]
    header = [c.value for c in sheet[1]]
    assert header == targets.COLUMNS
    codes = [r[header.index("mine_code")] for r in sheet.iter_rows(min_row=2, values_only=True)]
    assert len(codes) == 2 * len(RISKS) and set(codes) == {"610221000004", "610221000005"}
    assert dict(wb["about"].iter_rows(values_only=True))["region"] == "陕西省"


def test_unknown_date_and_missing_scoring_say_what_to_do(scored: tuple[Path, Path], tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="scored dates: 2025-07-29"):
        targets.main(_args(scored, "--as-of", "2025-01-01", "--out", "-"))
    empty = tmp_path / "empty"
    empty.mkdir()
    duckdb.connect(str(empty / "w.duckdb")).close()
    duckdb.connect(str(empty / "f.duckdb")).close()
    with pytest.raises(SystemExit, match="minewatch score"):
        targets.main(_args((empty / "w.duckdb", empty / "f.duckdb"), "--out", "-"))


def test_the_latest_scoring_is_the_default(tmp_path: Path) -> None:
    warehouse, features = make_scored_db(tmp_path)
    con = duckdb.connect(str(features))
    con.execute("insert into scores select as_of - interval 14 day, * exclude (as_of) from scores")
    con.close()
    con = connect(warehouse, features, read_only=True)
    try:
        assert targets.scored_dates(con) == [date(2025, 7, 15), AS_OF]
        assert targets.resolve_as_of(con, None) == AS_OF
    finally:
        con.close()
