"""Explanation reports: sections, evidence naming records, escaping, SHAP waterfalls, and (slow) Chromium and PDF."""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from test_targets import AS_OF, MINES, make_scored_db

from models.ranker import FamilyRanker, ModelParams
from models.spec import FeatureSpec
from pipelines import report
from pipelines.build_features import connect
from pipelines.modelling import TrainParams
from pipelines.schema import FAMILIES

SECTIONS = ("header", "summary", "scores", "explanations", "timelines", "limits")
XSS = "<script>alert(1)</script>"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def _add_evidence(features: Path, mines: pd.DataFrame) -> None:
    """mine_features, production_balance and alarm_handling rows by hand (other evidence tables absent)."""
    con = duckdb.connect(str(features))
    feats = mines[["mine_code", "mine_name", "province", "size_band", "approved_capacity_tpy"]].assign(
        as_of=pd.Timestamp(AS_OF),
        op_max_month_capacity_ratio=[0.8, 0.9, 0.95, 1.32, 0.7],
        op_peak_headcount_ratio=[0.9, 0.8, 0.85, 1.4, 0.75],
        af_cut_missing_share=[0.0, 0.1, 0.0, 0.0, 0.41],
        ca_n_open_trip_events=[0, 0, 0, 0, 1],
        hw_undeclared_work_share=[0.21, 0.05, 0.04, 0.03, 0.02],
    )
    days = pd.date_range(AS_OF - timedelta(days=59), AS_OF, freq="D")
    balance = pd.DataFrame([
        {"mine_code": code, "day": d, "is_in_window": d >= pd.Timestamp(AS_OF - timedelta(days=29)),
         "belt_tonnes": 3000.0 + 10 * i, "reported_tonnes": 2500.0, "implied_tonnes": 3100.0, "total_kwh": 9e4,
         "production_kwh": 6e4, "hoist_kwh": 2e4, "face_kwh": 3e4, "heading_kwh": 1e3, "drainage_kwh": 8e3,
         "other_kwh": 4e3, "night_hoist_ratio": 0.3, "capacity_share_ratio": 1.2, "is_declared_stop": i == 40,
         "is_report_missing": False}
        for code in mines["mine_code"] for i, d in enumerate(days)
    ])
    alarm_at = pd.Timestamp("2025-07-20 03:14:15")
    alarms = pd.DataFrame([{
        "mine_code": "610221000005", "point_code": "610221000005MN0001001", "alarm_type": "001",
        "started_at": alarm_at, "ended_at": alarm_at + pd.Timedelta(minutes=20), "is_in_window": True,
        "sensor_type": "0001", "location": XSS, "alarm_high": 1.0, "cutoff_high": 1.5, "max_value": 1.9,
        "needs_cut": True, "relay_point_code": "610221000005KG1009001", "is_cut_missing": True,
        "is_feed_contradicts": False, "is_people_stayed": True, "is_gas_high_after_close": False,
        "people_at_start": 12, "people_at_30m": 11, "measure_reuse_count": 3, "_file_id": 7, "_record": 42,
    }])
    texts = alarms[["mine_code", "point_code", "alarm_type", "started_at"]].assign(
        cause="采煤机割煤", measure='<img src="x" onerror="alert(2)">断电撤人', entered_by="张三")
    for name, frame in (("mine_features", feats), ("production_balance", balance), ("alarm_handling", alarms),
                        ("stg_alarms", texts)):
        con.register("_f", frame)
        con.execute(f"create table {name} as select * from _f")
        con.unregister("_f")
    con.close()


@pytest.fixture
def evidence_db(tmp_path: Path) -> tuple[Path, Path]:
    mines = MINES.assign(mine_name=MINES["mine_name"].where(MINES.index != 4, XSS))
    warehouse, features = make_scored_db(tmp_path, mines)
    _add_evidence(features, mines)
    return warehouse, features


def _rule_models() -> dict[str, tuple[object | None, str, str]]:
    return {f: (None, "rule-baseline", "") for f in FAMILIES}


def _render(db: tuple[Path, Path], out: Path, lang: str = "en", codes: list[str] | None = None,
            top: int | None = 5) -> tuple[report.ReportData, dict]:
    con = connect(*db, read_only=True)
    try:
        data = report.load_report_data(con, AS_OF, codes, top, lang, TrainParams(), models=_rule_models())
    finally:
        con.close()
    return data, report.write_reports(data, data.codes, out, report.ReportParams(), pdf=False)


def test_index_and_one_report_per_mine_with_every_section(evidence_db: tuple[Path, Path], tmp_path: Path) -> None:
    data, result = _render(evidence_db, tmp_path / "out", top=3)
    assert data.codes == ["610221000004", "012345000001", "610221000005"]  # overall list order
    assert [p.name for p in result["reports"]] == [f"{c}.html" for c in data.codes]
    index = result["index"].read_text(encoding="utf-8")
    for code in data.codes:
        assert f'href="{code}.html"' in index
    page = (tmp_path / "out" / "610221000004.html").read_text(encoding="utf-8")
    for section in SECTIONS:
        assert f'id="{section}"' in page
    for family in FAMILIES:
        assert f'id="family-{family}"' in page
    assert "one calendar month&#x27;s belt-scale output reached 132% of approved monthly capacity" in page
    assert "rule-baseline" in page and "Data as of" in page


def test_report_is_self_contained(evidence_db: tuple[Path, Path], tmp_path: Path) -> None:
    _, result = _render(evidence_db, tmp_path / "out")
    for path in [*result["reports"], result["index"]]:
        page = path.read_text(encoding="utf-8")
        assert "<script" not in page and "<link" not in page and "<img" not in page
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
        assert "@import" not in page and "url(" not in page


def test_text_from_the_data_is_escaped(evidence_db: tuple[Path, Path], tmp_path: Path) -> None:
    _, result = _render(evidence_db, tmp_path / "out")
    page = (tmp_path / "out" / "610221000005.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # the mine name and the sensor location
    assert "&lt;img src=&quot;x&quot; onerror=&quot;alert(2)&quot;&gt;断电撤人" in page  # the handling text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in result["index"].read_text(encoding="utf-8")


def test_evidence_names_the_alarm_record(evidence_db: tuple[Path, Path], tmp_path: Path) -> None:
    data, _ = _render(evidence_db, tmp_path / "out")
    spec, rows, total = report.evidence_rows(data, "610221000005", "af_cut_missing_share", "alarm_falsification")
    assert total == 1 and spec.source == "alarms"
    row = rows.iloc[0]
    assert row["point_code"] == "610221000005MN0001001" and row["relay_point_code"] == "610221000005KG1009001"
    assert row["source"] == "file 7#42"  # lineage: no ingest manifest in this warehouse, so the file id
    page = (tmp_path / "out" / "610221000005.html").read_text(encoding="utf-8")
    assert "2025-07-20 03:14:15" in page and "610221000005MN0001001" in page and "张三" in page


def test_missing_sources_are_stated_not_fatal(evidence_db: tuple[Path, Path], tmp_path: Path) -> None:
    data, _ = _render(evidence_db, tmp_path / "out", codes=["012345000001"], top=None)
    assert data.codes == ["012345000001"]
    spec, rows, total = report.evidence_rows(data, "012345000001", "hw_undeclared_work_share", "hidden_workface")
    assert spec.source == "areas" and total == 0 and rows.empty
    page = (tmp_path / "out" / "012345000001.html").read_text(encoding="utf-8")
    assert "No matching records in the window." in page


def test_chinese_report(evidence_db: tuple[Path, Path], tmp_path: Path) -> None:
    _render(evidence_db, tmp_path / "out", lang="zh", codes=["610221000004"], top=None)
    page = (tmp_path / "out" / "610221000004.html").read_text(encoding="utf-8")
    assert 'lang="zh-CN"' in page and "模型看不到的内容" in page and "132%" in page


def test_unknown_mine_is_refused(evidence_db: tuple[Path, Path]) -> None:
    con = connect(*evidence_db, read_only=True)
    try:
        with pytest.raises(SystemExit, match="999999999999"):
            report.load_report_data(con, AS_OF, ["999999999999"], None, "en", TrainParams(), models=_rule_models())
    finally:
        con.close()


def _mine_frame(n_mines: int = 60, n_dates: int = 2, seed: int = 3) -> tuple[pd.DataFrame, FeatureSpec]:
    """mine_features-shaped rows for one family, with its catalog facts."""
    rng = np.random.default_rng(seed)
    codes = [f"1400{i:08d}" for i in range(n_mines)]
    frame = pd.DataFrame([(pd.Timestamp(AS_OF) - pd.Timedelta(days=14 * k), c) for k in range(n_dates) for c in codes],
                         columns=["as_of", "mine_code"])
    frame["size_band"] = np.array(["small", "medium", "large"])[np.arange(len(frame)) % 3]
    frame["op_max_month_capacity_ratio"] = rng.normal(0.85, 0.12, len(frame))
    frame["op_peak_headcount_ratio"] = rng.normal(0.8, 0.1, len(frame))
    frame["op_kwh_per_tonne"] = rng.normal(25, 3, len(frame))
    columns = ["op_max_month_capacity_ratio", "op_peak_headcount_ratio", "op_kwh_per_tonne"]
    return frame, FeatureSpec(dict.fromkeys(columns, "overproduction"), dict.fromkeys(columns, "higher"))


def test_waterfall_adds_up_to_the_model_output() -> None:
    frame, spec = _mine_frame()
    rng = np.random.default_rng(0)
    y = np.where(rng.random(len(frame)) < 0.4, (frame["op_max_month_capacity_ratio"] > 0.95).astype(float), np.nan)
    ranker = FamilyRanker("overproduction", spec, ModelParams(), by="as_of").fit(frame, y, frame["mine_code"])
    snapshot = frame[frame["as_of"] == frame["as_of"].max()].reset_index(drop=True)
    code = snapshot["mine_code"].iloc[0]
    expl = report.explain_families(snapshot, [code], {"overproduction": (ranker, "m/1", "")})["overproduction"]
    assert expl.kind in ("tree", "ecod")
    total = expl.base + float(expl.contributions.loc[code].sum())
    if expl.kind == "tree":
        raw = ranker.pu_.model_.booster_.predict(ranker.pu_.transform(snapshot.iloc[[0]]), raw_score=True)[0]
        assert total == pytest.approx(raw, abs=1e-6)
    else:
        assert total == pytest.approx(ranker.pu_.fallback_.score_samples(snapshot.iloc[[0]])[0])
    svg = report.waterfall_chart(expl, code, "en", 2)
    assert svg.startswith("<svg") and f"{total:.3f}" in svg and "1 other features" in svg
    assert set(expl.components.columns) == {"rule", "iforest", "robust_z", "ecod", "pu"}


def test_evidence_as_of_is_the_last_day_built(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "f.duckdb"))
    assert report.evidence_as_of(con) is None
    con.execute("create table feature_builds (as_of date, built_at timestamp)")
    con.execute("insert into feature_builds values ('2025-07-15', '2025-08-01 10:00'), ('2025-07-01', '2025-08-01 11:00')")
    assert report.evidence_as_of(con) == date(2025, 7, 1)
    # production_balance runs day by day up to its as-of: it wins over the build log
    con.execute("create table production_balance as select 'm' as mine_code, date '2025-07-29' as day")
    assert report.evidence_as_of(con) == date(2025, 7, 29)
    con.close()


# ---------------------------------------------------------------------------------------------- slow: the real thing

CHROMIUM = report.find_chromium()


def _chromium(*args: str, profile: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
         "--enable-logging=stderr", "--v=0", *args],
        capture_output=True, text=True, timeout=120, check=True,
    )


def _console_errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]


@pytest.fixture(scope="module")
def pipeline_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """A tiny simulation taken through ingest, features and rule-baseline scoring; one mine renamed to a script tag."""
    from pipelines.cli import main as cli

    root = tmp_path_factory.mktemp("report_run")
    raw, warehouse, features = root / "raw", root / "warehouse.duckdb", root / "features.duckdb"
    assert cli(["simulate", "--out", str(raw), "--mines", "4", "--days", "45", "--seed", "5"]) == 0
    mines = pd.read_parquet(raw / "mines.parquet")
    mines.loc[0, "mine_name"] = XSS
    mines.to_parquet(raw / "mines.parquet", index=False)
    assert cli(["ingest", str(raw), "--warehouse", str(warehouse)]) == 0
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlflow.db'}")  # empty registry: rule baseline
        assert cli(["score", "--warehouse", str(warehouse), "--features", str(features),
                    "--out", str(root / "targets.csv")]) == 0
        out = root / "reports"
        assert cli(["report", "--warehouse", str(warehouse), "--features", str(features), "--out", str(out),
                    "--top", "4", "--pdf" if CHROMIUM else "--no-pdf"]) == 0
    return {"root": root, "out": out, "xss_code": str(mines.loc[0, "mine_code"]), "warehouse": warehouse,
            "features": features}


@pytest.mark.slow
def test_pipeline_reports_every_listed_mine(pipeline_run: dict[str, object]) -> None:
    out = pipeline_run["out"]
    pages = sorted(p.name for p in out.glob("*.html"))
    assert len(pages) == 5 and "index.html" in pages
    page = (out / f"{pipeline_run['xss_code']}.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and XSS not in page
    for section in SECTIONS:
        assert f'id="{section}"' in page
    targets_csv = pd.read_csv(pipeline_run["root"] / "targets.csv", dtype={"mine_code": str})
    assert set(targets_csv["mine_code"]) == {p.removesuffix(".html") for p in pages if p != "index.html"}


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
def test_chromium_renders_index_and_report(pipeline_run: dict[str, object], tmp_path: Path) -> None:
    out, code = pipeline_run["out"], pipeline_run["xss_code"]
    ARTIFACTS.mkdir(exist_ok=True)
    for name, sections in (("index.html", ("header", "targets")), (f"{code}.html", SECTIONS)):
        url = (out / name).resolve().as_uri()
        dom = _chromium("--dump-dom", url, profile=tmp_path / "p1")
        assert not _console_errors(dom.stderr), _console_errors(dom.stderr)
        for section in sections:
            assert f'id="{section}"' in dom.stdout
        # parsed and re-serialised by the browser: the script-tag name is text, never an element
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom.stdout
        assert "<script" not in dom.stdout
        shot = ARTIFACTS / f"report-{name.removesuffix('.html')}.png"
        _chromium("--hide-scrollbars", "--window-size=1280,2400", f"--screenshot={shot}", url, profile=tmp_path / "p2")
        assert shot.stat().st_size > 10_000


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
def test_pdf_of_each_report_has_its_pages(pipeline_run: dict[str, object], tmp_path: Path) -> None:
    out = pipeline_run["out"]
    reports = sorted(p for p in out.glob("*.html") if p.name != "index.html")
    pdfs = sorted(out.glob("*.pdf"))
    assert [p.stem for p in pdfs] == [p.stem for p in reports]
    pdf = pdfs[0].read_bytes()
    assert pdf.startswith(b"%PDF")
    pages = len(re.findall(rb"/Type\s*/Page(?![s\w])", pdf))
    # the same page printed alone by Chromium's own command line gives the same page count
    alone = tmp_path / "alone.pdf"
    _chromium("--no-pdf-header-footer", f"--print-to-pdf={alone}", reports[0].resolve().as_uri(), profile=tmp_path / "p")
    assert pages >= 3 and pages == len(re.findall(rb"/Type\s*/Page(?![s\w])", alone.read_bytes()))
    text_pdf = shutil.which("pdftotext")
    if text_pdf:  # when poppler is there, the PDF carries the report's own words
        words = subprocess.run([text_pdf, str(pdfs[0]), "-"], capture_output=True, text=True, check=True).stdout
        assert "What the model cannot see" in words


def test_report_cli_options() -> None:
    parser = argparse.ArgumentParser()
    report.add_arguments(parser)
    args = parser.parse_args(["--mine", "012345000001", "--mine", "140121000002", "--no-pdf", "--lang", "zh"])
    assert args.mine == ["012345000001", "140121000002"] and args.pdf is False and args.lang == "zh"
    with pytest.raises(SystemExit):
        parser.parse_args(["--mine", "012345000001", "--top", "3"])


def test_a_mine_without_a_group_shows_no_nan(tmp_path: Path) -> None:
    mines = MINES.assign(group_name=MINES["group_name"].where(MINES.index != 3, None))
    warehouse, features = make_scored_db(tmp_path, mines)
    _add_evidence(features, mines)
    _, result = _render((warehouse, features), tmp_path / "out", codes=["610221000004"], top=None)
    page = (tmp_path / "out" / "610221000004.html").read_text(encoding="utf-8")
    index = result["index"].read_text(encoding="utf-8")
    assert ">nan<" not in page and ">nan<" not in index
    assert ">None<" not in page and ">None<" not in index
