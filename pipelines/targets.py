"""targets: the inspection target list from a stored scoring, filtered to a region or group and cut to capacity."""

from __future__ import annotations

import argparse
import io
import json
import sys
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from features.catalog import table_entries
from models.combine import percentile_ranks
from pipelines.build_features import DEFAULT_FEATURES, DEFAULT_WAREHOUSE, connect
from pipelines.modelling import TrainParams
from pipelines.params import load_section
from pipelines.schema import FAMILIES, RISKS

DEFAULT_OUT_DIR = Path("data/out")
FORMATS = ("csv", "xlsx", "json")
N_REASONS = 3
# overall first: a planner's default list; then the families in the contract's order
RISK_ORDER = ("overall", *FAMILIES)
REGION_LEVELS = ("province", "city", "county")
SCORE_COLUMNS = [f"score_{r}" for r in RISK_ORDER]
COLUMNS = [
    "as_of", "risk", "list_rank", "rank", "n_ranked", "mine_code", "mine_name", "province", "city", "county",
    "group_name", "score", *SCORE_COLUMNS, "reason_family",
    *(f"reason_{i}" for i in range(1, N_REASONS + 1)), "model_version",
]
HEADERS_ZH = {
    "as_of": "数据截止日期", "risk": "风险类别", "list_rank": "清单序号", "rank": "全部排名", "n_ranked": "参评煤矿数",
    "mine_code": "煤矿编码", "mine_name": "煤矿名称", "province": "省", "city": "市", "county": "县",
    "group_name": "所属集团", "score": "风险分", "score_overall": "综合分", "score_hidden_workface": "隐蔽工作面分",
    "score_overproduction": "超能力生产分", "score_alarm_falsification": "报警假处置分",
    "score_concealed_accident": "瞒报事故分", "reason_family": "理由所属类别", "reason_1": "理由一",
    "reason_2": "理由二", "reason_3": "理由三", "model_version": "模型版本",
}
RISK_NAMES = {
    "en": {
        "overall": "overall", "hidden_workface": "hidden workface", "overproduction": "overproduction",
        "alarm_falsification": "alarm falsification", "concealed_accident": "concealed accident",
    },
    "zh": {
        "overall": "综合", "hidden_workface": "隐蔽工作面", "overproduction": "超能力生产",
        "alarm_falsification": "报警假处置", "concealed_accident": "瞒报事故",
    },
}


def scored_dates(con: duckdb.DuckDBPyConnection) -> list[date]:
    """The as-of dates with a stored scoring, oldest first (empty when `minewatch score` never ran)."""
    exists = con.execute(
        "select count(*) from information_schema.tables where table_name = 'scores' and table_catalog <> 'warehouse'"
    ).fetchone()[0]
    if not exists:
        return []
    return [r[0] for r in con.execute("select distinct cast(as_of as date) from scores order by 1").fetchall()]


def resolve_as_of(con: duckdb.DuckDBPyConnection, as_of: date | None) -> date:
    """The requested scoring date, or the latest one; exits with a hint when there is none."""
    dates = scored_dates(con)
    if not dates:
        raise SystemExit("no stored scoring in the features database; run `minewatch score` (or `run`) first")
    if as_of is None:
        return dates[-1]
    if as_of not in dates:
        raise SystemExit(f"no scoring as of {as_of}; scored dates: {', '.join(map(str, dates))}")
    return as_of


def plain_value(value: float, unit: str) -> str:
    """A number in the form its unit reads best in (shares as percentages, counts whole)."""
    if unit == "share":
        return f"{value:.1%}" if abs(value) < 0.1 else f"{value:.0%}"
    if unit in ("ratio", "correlation", "z"):
        return f"{value:.2f}"
    if unit in ("events", "cards", "people", "alarms", "points", "declarations", "accidents", "days"):
        return f"{value:.1f}" if value != round(value) else f"{value:.0f}"
    number = f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"
    return f"{number} {unit}".strip()


def reason_text(feature: str, value: float | None, lang: str, window_days: int) -> str:
    """A stored reason (feature and value) in plain words in `lang`, with the number filled in."""
    entry = table_entries("mine_features").get(feature)
    if entry is None or value is None or not np.isfinite(value):
        return feature if entry is None else (entry.zh if lang == "zh" else entry.en)
    template = entry.reason_zh if lang == "zh" else entry.reason_en
    if template is None:
        # no sentence in the catalog for this feature: its description and the value in its unit
        return f"{entry.zh if lang == 'zh' else entry.en}: {plain_value(float(value), entry.unit)}"
    return entry.reason(float(value), lang, window_days=window_days)


def lead_family(scores: pd.DataFrame) -> pd.Series:
    """Per mine, the family whose percentile drives the overall score (first family on ties), as scoring does."""
    pct = pd.DataFrame({f: percentile_ranks(scores[f]) for f in FAMILIES}, index=scores.index)
    return pct.idxmax(axis=1)


def load_targets(con: duckdb.DuckDBPyConnection, as_of: date, lang: str = "en", window_days: int = 30) -> pd.DataFrame:
    """One row per mine and risk of the scoring as of `as_of`, with every family's score and reasons in `lang`."""
    scores = con.execute(
        """
        select s.risk, s.mine_code, coalesce(m.mine_name, s.mine_name) as mine_name, m.province, m.city,
            m.county, m.group_name, s.score, s.rank, s.model_version
        from scores as s
        left join stg_mines as m on m.mine_code = s.mine_code
        where cast(s.as_of as date) = ?
        """,
        [as_of],
    ).df()
    reasons = con.execute(
        "select mine_code, family, reason_rank, feature, value from score_reasons"
        " where cast(as_of as date) = ? and reason_rank <= ? order by mine_code, family, reason_rank",
        [as_of, N_REASONS],
    ).df()
    wide = scores.pivot(index="mine_code", columns="risk", values="score").reindex(columns=list(RISK_ORDER))
    lead = lead_family(wide)
    counts = scores.groupby("risk")["mine_code"].transform("size")
    out = scores.assign(as_of=as_of, n_ranked=counts.astype(int))
    for risk in RISK_ORDER:
        out[f"score_{risk}"] = out["mine_code"].map(wide[risk])
    out["reason_family"] = np.where(out["risk"] == "overall", out["mine_code"].map(lead), out["risk"])
    reasons["text"] = [
        reason_text(f, v, lang, window_days) for f, v in zip(reasons["feature"], reasons["value"], strict=True)
    ]
    by_rank = reasons.pivot_table(
        index=["mine_code", "family"], columns="reason_rank", values="text", aggfunc="first"
    ) if not reasons.empty else pd.DataFrame()
    for i in range(1, N_REASONS + 1):
        col = by_rank[i] if i in getattr(by_rank, "columns", []) else pd.Series(dtype=object)
        keys = pd.MultiIndex.from_arrays([out["mine_code"], out["reason_family"]])
        out[f"reason_{i}"] = col.reindex(keys).to_numpy() if len(col) else None
    out["list_rank"] = out["rank"]
    return order_targets(out)[COLUMNS]


def order_targets(frame: pd.DataFrame) -> pd.DataFrame:
    """Deterministic order: overall, then families in contract order; rank; mine_code (ranks are unique per risk)."""
    key = frame["risk"].map({r: i for i, r in enumerate(RISK_ORDER)})
    return (
        frame.assign(_risk=key)
        .sort_values(["_risk", "rank", "mine_code"], kind="mergesort")
        .drop(columns="_risk")
        .reset_index(drop=True)
    )


def _matches(values: pd.Series, wanted: list[str]) -> pd.Series:
    wanted_keys = {w.strip().casefold() for w in wanted}
    return values.fillna("").astype(str).str.strip().str.casefold().isin(wanted_keys)


def select_targets(
    frame: pd.DataFrame,
    risk: str = "all",
    top: int | None = None,
    regions: list[str] | None = None,
    groups: list[str] | None = None,
) -> pd.DataFrame:
    """Filter to a risk, regions (any of province/city/county) and groups, then keep the first `top` per risk.

    `rank` stays the rank among all scored mines; `list_rank` numbers the rows of the filtered list, per risk.
    """
    keep = pd.Series(True, index=frame.index)
    if risk != "all":
        keep &= frame["risk"] == risk
    if regions:
        keep &= np.logical_or.reduce([_matches(frame[level], regions) for level in REGION_LEVELS])
    if groups:
        keep &= _matches(frame["group_name"], groups)
    out = order_targets(frame[keep])
    out["list_rank"] = out.groupby("risk", sort=False).cumcount() + 1
    if top is not None:
        out = out[out["list_rank"] <= top]
    return out.reset_index(drop=True)


def _split(values: list[str] | None) -> list[str]:
    """Repeated and comma-separated option values as one list."""
    return [v for item in values or [] for v in item.replace("，", ",").split(",") if v.strip()]


def to_json(frame: pd.DataFrame) -> str:
    """The list as a JSON array of objects (dates as YYYY-MM-DD, missing values as null)."""
    out = frame.astype(object).where(frame.notna(), None)
    out["as_of"] = [d.isoformat() if d is not None else None for d in out["as_of"]]
    return json.dumps(out.to_dict(orient="records"), ensure_ascii=False, indent=1)


def to_csv(frame: pd.DataFrame) -> str:
    buf = io.StringIO()
    frame.to_csv(buf, index=False, float_format="%.6f", lineterminator="\n")
    return buf.getvalue()


def write_xlsx(frame: pd.DataFrame, path: Path, lang: str, about: dict[str, str]) -> None:
    """An Excel workbook: the list (frozen header, filters, readable widths) and an `about` sheet."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    ws.title = "targets" if lang == "en" else "检查目标"
    headers = [HEADERS_ZH.get(c, c) if lang == "zh" else c for c in frame.columns]
    ws.append(headers)
    shown = frame.assign(risk=frame["risk"].map(RISK_NAMES[lang]), reason_family=frame["reason_family"].map(RISK_NAMES[lang]))
    for row in shown.itertuples(index=False):
        ws.append([None if (isinstance(v, float) and not np.isfinite(v)) or v is pd.NA else v for v in row])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions
    widths = {"reason_1": 60, "reason_2": 60, "reason_3": 60, "model_version": 30, "mine_name": 24, "group_name": 18}
    for j, col in enumerate(frame.columns, start=1):
        ws.column_dimensions[get_column_letter(j)].width = widths.get(col, 13)
        if col.startswith("score"):
            for cell in ws[get_column_letter(j)][1:]:
                cell.number_format = "0.000"
        if col.startswith("reason_") and col != "reason_family":
            for cell in ws[get_column_letter(j)][1:]:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    info = wb.create_sheet("about" if lang == "en" else "说明")
    for key, value in about.items():
        info.append([key, value])
    info.column_dimensions["A"].width = 22
    info.column_dimensions["B"].width = 90
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--as-of", type=date.fromisoformat, default=None,
                        help="the scoring to list (default: the latest stored by `minewatch score`)")
    parser.add_argument("--risk", choices=("all", *RISKS), default="all", help="one risk, or all of them")
    parser.add_argument("--top", type=int, default=None, help="keep the first K mines of each risk after filtering")
    parser.add_argument("--region", action="append", default=None, metavar="NAME",
                        help="province, city or county (repeat or comma-separate for several)")
    parser.add_argument("--group", action="append", default=None, metavar="NAME",
                        help="owning group (repeat or comma-separate for several)")
    parser.add_argument("--format", choices=FORMATS, default="csv", help="file format (default csv)")
    parser.add_argument("--out", default=None,
                        help="file to write (default data/out/target_list.FORMAT; '-' = standard output, csv/json)")
    parser.add_argument("--lang", choices=("zh", "en"), default="en", help="language of the reasons")
    parser.add_argument("--warehouse", type=Path, default=DEFAULT_WAREHOUSE, help="DuckDB warehouse (read only)")
    parser.add_argument("--features", type=Path, default=DEFAULT_FEATURES,
                        help="features DuckDB holding the stored scorings (read only)")


def main(args: argparse.Namespace) -> int:
    if args.top is not None and args.top < 1:
        raise SystemExit("--top must be at least 1")
    if args.out == "-" and args.format == "xlsx":
        raise SystemExit("xlsx cannot go to standard output; give --out PATH")
    window_days = load_section("train", TrainParams, args.params).window_days
    con = connect(args.warehouse, args.features, read_only=True)
    try:
        as_of = resolve_as_of(con, args.as_of)
        frame = load_targets(con, as_of, args.lang, window_days)
    finally:
        con.close()
    regions, groups = _split(args.region), _split(args.group)
    listed = select_targets(frame, args.risk, args.top, regions, groups)
    if listed.empty:
        print(f"no mine matches the filters (region {regions or 'any'}, group {groups or 'any'})", file=sys.stderr)
    if args.out == "-":
        sys.stdout.write(to_csv(listed) if args.format == "csv" else to_json(listed) + "\n")
        return 0
    path = Path(args.out) if args.out else DEFAULT_OUT_DIR / f"target_list.{args.format}"
    path.parent.mkdir(parents=True, exist_ok=True)
    if args.format == "xlsx":
        about = {
            "as_of": as_of.isoformat(), "risk": args.risk, "top": str(args.top or "all"),
            "region": ", ".join(regions) or "any", "group": ", ".join(groups) or "any",
            "rank": "rank among all scored mines (1 = inspect first); ties: score descending, then mine_code",
            "list_rank": "position in this filtered list, per risk",
            "score": "higher = more suspicious; comparable within one risk and one as-of date only",
        }
        write_xlsx(listed, path, args.lang, about)
    else:
        path.write_text(to_csv(listed) if args.format == "csv" else to_json(listed) + "\n", encoding="utf-8")
    n_mines = listed["mine_code"].nunique()
    print(f"{len(listed)} rows ({n_mines} mines) as of {as_of}: {path}")
    return 0
