"""report: one self-contained HTML explanation report (and PDF) per mine on the target list, plus index.html."""

from __future__ import annotations

import argparse
import base64
import html
import json
import logging
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cached_property
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from features.catalog import table_entries
from models.combine import percentile_ranks
from models.explain import contributions
from models.rules import HEADCOUNT_LIMIT, MONTH_OUTPUT_LIMIT, RULE_COLUMNS
from pipelines import __version__
from pipelines.build_features import DEFAULT_FEATURES, DEFAULT_WAREHOUSE, BuildFeaturesParams, connect
from pipelines.modelling import TrainParams, configure_mlflow, ensure_feature_history
from pipelines.params import load_section
from pipelines.schema import ALARM_TYPES, FAMILIES, SENSOR_TYPES
from pipelines.targets import RISK_NAMES, RISK_ORDER, load_targets, plain_value, resolve_as_of
from pipelines.targets import reason_text as targets_reason_text

log = logging.getLogger(__name__)
DEFAULT_OUT_DIR = Path("data/out/reports")
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "chrome")
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-extensions", "--mute-audio",
)


@dataclass(frozen=True)
class ReportParams:
    top: int = 20  # mines reported when neither --mine nor --top is given
    evidence_rows: int = 10  # rows per evidence table (the total is always stated)
    evidence_share: float = 0.5  # evidence tables for families where the mine ranks in this upper share
    waterfall_features: int = 8  # bars in a waterfall before the rest are summed into one
    pdf_timeout_seconds: float = 120.0


# ---------------------------------------------------------------------------------------------- words

TEXT = {
    "en": {
        "title": "Explanation report", "index_title": "Inspection targets", "code": "Mine code",
        "region": "Region", "group": "Group", "gas_class": "Gas class", "capacity": "Approved capacity",
        "headcount": "Approved headcount underground", "as_of": "Data as of", "window": "Trailing window",
        "history": "Own-history window", "overall_rank": "Overall rank", "of": "of", "models": "Model versions",
        "generated": "Generated", "summary": "Summary", "leading_reasons": "Leading reasons",
        "scores": "Scores and ranks with peer context", "risk": "Risk", "score": "Score", "rank": "Rank",
        "percentile": "Percentile", "band_rank": "Rank in size band", "province_rank": "Rank in province",
        "peer_median": "Size-band median score", "all_mines": "All scored mines; this mine in red",
        "why": "Why the mine is on the list", "components": "How the family score is made",
        "component": "Component", "weight": "Weight", "component_pct": "Percentile among mines",
        "waterfall": "SHAP waterfall", "reason": "Reason", "contribution": "contribution",
        "value": "value", "peer_value": "size-band median", "all_value": "all-mine median",
        "evidence": "Records to check", "shown": "showing {n} of {total} rows",
        "no_rows": "No matching records in the window.", "no_reasons": "No feature pushes this family's score up.",
        "timelines": "Timelines", "tl_output": "Daily output: belt scales, reported and power-implied",
        "tl_headcount": "People underground per 8-hour block against the approved headcount",
        "tl_alarms": "Gas alarms and how they were handled (peak over alarm level)",
        "limits": "What the model cannot see", "coverage": "Data behind this report",
        "source": "source", "rows": "rows", "window_rows": "in the window", "index_intro":
        "Mines in list order (overall rank). Each links to its report; ranks are among all {n} scored mines.",
        "report": "report", "pdf": "PDF", "belt": "belt scales", "reported": "reported", "implied":
        "implied by power", "capacity_line": "approved daily capacity", "stop": "declared stop",
        "window_band": "current window", "peak": "peak underground", "approved": "approved",
        "alarm_ok": "handled", "alarm_nocut": "no power cut", "alarm_stayed": "people stayed",
        "alarm_gas": "closed while gas high", "alarm_feed": "feed still live", "alarm_below": "below cut level",
        "base": "base value", "other_features": "{n} other features", "model_output": "model output",
        "rule_note": "No champion model: this family was scored by the regulators' rule. Bars show the rule's "
        "inputs over their limits (monthly output over 110 % of capacity/12, headcount over approved, any alarm "
        "at the cut-off without a cut, any trip that never closed); the rule fires at 1.0.",
        "missing_note": "The model {version} could not be loaded ({error}); the stored top reasons are shown.",
        "units_tree": "log-odds of the label-aware LightGBM (SHAP TreeExplainer)",
        "units_iforest": "log2 of the IsolationForest score (SHAP on path length, sign turned)",
        "units_robust_z": "peer robust z / number of features (exact parts)",
        "units_ecod": "-log of the value's tail probability among all mine-dates (exact parts)",
        "units_rule": "rule input (fires at 1.0)",
        "see_above": "Same records as reason {n} above.",
        "no_evidence": "The mine is not in the upper {share:.0%} of this family's list: its records are not "
        "listed here (the reasons are).",
    },
    "zh": {
        "title": "检查说明报告", "index_title": "检查目标清单", "code": "煤矿编码", "region": "所在地区",
        "group": "所属集团", "gas_class": "瓦斯等级", "capacity": "核定生产能力", "headcount": "核定下井人数",
        "as_of": "数据截止日期", "window": "统计窗口", "history": "自身历史窗口", "overall_rank": "综合排名",
        "of": "/", "models": "模型版本", "generated": "生成时间", "summary": "概要", "leading_reasons": "主要理由",
        "scores": "各类风险得分、排名与同类比较", "risk": "风险类别", "score": "得分", "rank": "排名",
        "percentile": "百分位", "band_rank": "同规模档排名", "province_rank": "本省排名",
        "peer_median": "同规模档得分中位数", "all_mines": "全部参评煤矿，红点为本矿",
        "why": "列入清单的理由", "components": "该类得分的构成", "component": "组成部分", "weight": "权重",
        "component_pct": "在全部煤矿中的百分位", "waterfall": "SHAP 瀑布图", "reason": "理由",
        "contribution": "贡献", "value": "数值", "peer_value": "同规模档中位数", "all_value": "全部煤矿中位数",
        "evidence": "需现场核查的记录", "shown": "显示 {total} 行中的 {n} 行", "no_rows": "窗口内没有相应记录。",
        "no_reasons": "没有特征使该类得分升高。", "timelines": "时间线",
        "tl_output": "日产量：皮带秤、上报与按用电推算",
        "tl_headcount": "每 8 小时段井下人数与核定下井人数", "tl_alarms": "瓦斯报警及其处置情况（峰值/报警门限）",
        "limits": "模型看不到的内容", "coverage": "本报告所用数据", "source": "数据来源", "rows": "行数",
        "window_rows": "窗口内", "index_intro": "按综合排名列出，点击查看报告；排名为全部 {n} 座参评煤矿中的名次。",
        "report": "报告", "pdf": "PDF", "belt": "皮带秤", "reported": "上报", "implied": "按用电推算",
        "capacity_line": "核定日产能", "stop": "申报停产", "window_band": "当前窗口", "peak": "井下最多人数",
        "approved": "核定", "alarm_ok": "处置正常", "alarm_nocut": "未断电", "alarm_stayed": "人员未撤出",
        "alarm_gas": "瓦斯未降即消警", "alarm_feed": "馈电仍有电", "alarm_below": "未达断电值",
        "base": "基准值", "other_features": "其余 {n} 个特征", "model_output": "模型输出",
        "rule_note": "该类没有冠军模型，按监管规则评分；条形为规则输入与限值之比（月产量超过核定月产能 110%、"
        "井下人数超过核定人数、达到断电值未断电的报警、未出井的下井记录），达到 1.0 即触发。",
        "missing_note": "无法加载模型 {version}（{error}），以下为评分时保存的主要理由。",
        "units_tree": "标签学习 LightGBM 的对数几率（SHAP TreeExplainer）",
        "units_iforest": "孤立森林得分的 log2（路径长度 SHAP，符号取反）",
        "units_robust_z": "同类稳健 z 值 / 特征数（精确分解）",
        "units_ecod": "该值在全部矿-日期中尾部概率的负对数（精确分解）", "units_rule": "规则输入（达到 1.0 即触发）",
        "see_above": "记录同上方理由 {n}。",
        "no_evidence": "本矿在该类中未进入前 {share:.0%}，此处只列理由，不列记录。",
    },
}

LIMITS = {
    "en": [
        "Anything not in the uploaded data: paper logs, verbal orders, video, the mine's own drawings, "
        "coal sold off the books without passing a belt scale or a metered circuit.",
        "Faces, areas, sensors or cards that were never registered with the monitoring or positioning system.",
        "Anything after the as-of date, and late uploads that arrived after the scoring.",
        "Whether a person was actually underground: the positioning system sees cards, not people.",
        "The inspection labels the model learnt from are sparse and biased toward mines already suspected; a low "
        "score is not a clean bill of health and a high score is a reason to look, not proof.",
        "Innocent explanations the data cannot tell apart: declared maintenance done honestly, reported "
        "accidents, equipment breakdowns, sensor faults, rainy-season drainage, legitimate double shifts.",
    ],
    "zh": [
        "上传数据以外的一切：纸质台账、口头指令、视频、矿井自有图纸，以及不经皮带秤或计量回路的外运煤。",
        "从未在安全监控或人员定位系统登记的工作面、区域、传感器和人员卡。",
        "截止日期之后的任何数据，以及评分之后才补传的数据。",
        "人员是否真的在井下：定位系统看到的是卡，不是人。",
        "模型学习所用的检查结论稀少且偏向已被怀疑的煤矿；得分低不代表没有问题，得分高是检查的理由而不是证据。",
        "数据无法区分的正当原因：如实申报的检修、已报告的事故、设备故障、传感器故障、雨季排水、合规的连班。",
    ],
}

COMPONENT_NAMES = {
    "en": {"rule": "regulators' rule", "iforest": "IsolationForest", "robust_z": "peer robust z",
           "ecod": "empirical tail (ECOD)", "pu": "label-aware LightGBM"},
    "zh": {"rule": "监管规则", "iforest": "孤立森林", "robust_z": "同类稳健 z 值", "ecod": "经验尾概率（ECOD）",
           "pu": "标签学习 LightGBM"},
}

# short column headers of the evidence tables (the catalog's description is the cell's tooltip)
HEADERS = {
    "started_at": ("alarm start", "报警开始"), "ended_at": ("alarm end", "报警结束"),
    "point_code": ("point", "测点"), "location": ("location", "安装位置"), "alarm_type": ("type", "类型"),
    "max_value": ("peak", "峰值"), "cutoff_high": ("cut level", "断电值"),
    "relay_point_code": ("relay (1009)", "断电器"), "seconds_to_cut": ("s to cut", "断电用时 s"),
    "is_feed_confirmed": ("feed off", "馈电断开"), "people_at_start": ("people at start", "开始时人数"),
    "people_at_30m": ("people +30 min", "30 分钟后人数"),
    "cards_stayed": ("cards still there at +30 min", "30 分钟后仍在的人员卡"), "minutes_to_empty": ("min to empty", "撤空用时 min"),
    "max_after_close": ("peak after close", "消警后峰值"), "is_calibration_near": ("calibration", "标校"),
    "measure": ("handling text", "处理措施"), "entered_by": ("entered by", "录入人"),
    "measure_reuse_count": ("same text", "相同措施数"), "entry_delay_minutes": ("entry delay min", "录入延迟 min"),
    "source": ("source record", "源记录"),
    "sensor_type": ("sensor", "传感器"), "face_code": ("face", "工作面"), "n_periods": ("periods", "周期数"),
    "mean_value": ("mean", "均值"), "peak_value": ("peak", "峰值"), "share_near_threshold": ("near limit", "贴近门限"),
    "longest_flat_hours": ("flat h", "恒定 h"), "calibration_periods": ("calibr.", "标校"),
    "share_calibration_while_producing": ("calibr. while producing", "生产时标校"),
    "corr_with_face_power": ("corr. face power", "与工作面用电相关"),
    "level_ratio_vs_history": ("level vs history", "与历史水平比"),
    "kind": ("kind", "类型"), "event_at": ("event time", "事件时刻"), "area_code": ("area", "区域"),
    "card_codes": ("cards", "人员卡"), "n_cards_unaccounted": ("unaccounted", "下落不明"),
    "n_deregistered_10d": ("deregistered", "注销"), "n_cards_off_7d": ("off work 7 d+", "7天以上未下井"),
    "max_days_off": ("longest days off", "最长未下井天数"), "max_co_before": ("CO ppm", "CO ppm"),
    "co_spike_ratio": ("CO × usual", "CO 倍数"), "max_ch4_before": ("CH4 %", "CH4 %"),
    "face_power_drop_ratio": ("face power after/before", "停前后工作面用电比"),
    "belt_drop_ratio": ("belt after/before", "停前后皮带比"), "has_accident_report": ("accident report", "事故报告"),
    "has_declared_stop": ("declared stop", "申报停产"), "is_stop_filed_late": ("filed late", "事后申报"),
    "suspicion_points": ("red flags", "疑点数"),
    "day": ("day", "日期"), "belt_tonnes": ("belt t", "皮带秤 t"), "reported_tonnes": ("reported t", "上报 t"),
    "implied_tonnes": ("implied t", "用电推算 t"), "capacity_share_ratio": ("× daily capacity", "日产能倍数"),
    "production_kwh": ("output kWh", "生产用电 kWh"), "hoist_kwh": ("hoist kWh", "提升 kWh"),
    "face_heading_kwh": ("face+heading kWh", "工作面+掘进 kWh"), "drainage_kwh": ("drainage kWh", "排水 kWh"),
    "other_kwh": ("other kWh", "其他 kWh"), "night_hoist_ratio": ("night hoist share", "夜间提升占比"),
    "hoist_share_ratio": ("hoist share", "提升占比"), "is_declared_stop": ("declared stop", "申报停产"),
    "is_report_missing": ("no report", "未上报"), "kwh_per_tonne": ("kWh/t", "kWh/t"),
    "hoist_per_face_kwh": ("hoist / face kWh", "提升/工作面用电"),
    "pause_hours": ("paused h", "暂停 h"), "ceiling_runs": ("same ceiling ×", "顶到同值次数"), "belt_minus_reported": ("belt − reported t", "皮带−上报 t"),
    "shift_start": ("block start", "时段开始"), "peak_underground": ("peak underground", "井下最多"),
    "approved_headcount": ("approved", "核定"), "headcount_ratio": ("× approved", "核定倍数"),
    "n_cards": ("cards", "人员卡数"), "people_hours_total": ("people-h", "人·时"),
    "people_hours_face": ("people-h faces", "工作面人·时"),
    "people_hours_undeclared_work": ("people-h undeclared", "非申报区人·时"),
    "people_hours_restricted": ("people-h restricted", "限制区人·时"), "n_idle_cards": ("idle cards", "滞留卡"),
    "idle_area_code": ("idle-card area", "滞留区域"), "n_areas_over_limit": ("areas over limit", "超员区域数"),
    "max_area_over_ratio": ("area × limit", "区域超员倍数"),
    "area_name": ("area name", "区域名称"), "area_type": ("area type", "区域类型"),
    "people_hours": ("people-h", "人·时"), "n_stays": ("long stays", "长时停留"), "first_at": ("first", "首次"),
    "last_at": ("last", "末次"), "sample_cards": ("cards (first 8)", "人员卡（前 8）"),
    "card_code": ("card", "人员卡"), "hours": ("hours", "小时"), "n_trips": ("one-area trips", "单区域下井次数"),
    "kind_decl": ("declared", "申报类型"), "start_date": ("from", "开始"), "end_date": ("to (incl.)", "结束"),
    "declared_at": ("filed at", "申报时间"), "is_filed_late": ("filed late", "事后申报"),
}

ALARM_COLS = ["started_at", "ended_at", "point_code", "location", "alarm_type", "max_value", "cutoff_high",
              "relay_point_code", "seconds_to_cut", "is_feed_confirmed", "people_at_start", "people_at_30m",
              "cards_stayed", "minutes_to_empty", "max_after_close", "is_calibration_near", "measure", "measure_reuse_count",
              "entered_by", "entry_delay_minutes", "source"]
SENSOR_COLS = ["point_code", "sensor_type", "location", "face_code", "n_periods", "mean_value", "peak_value",
               "share_near_threshold", "ceiling_runs", "longest_flat_hours", "calibration_periods", "pause_hours",
               "share_calibration_while_producing", "corr_with_face_power", "level_ratio_vs_history"]
INCIDENT_COLS = ["event_at", "kind", "area_code", "face_code", "card_codes", "n_cards_unaccounted",
                 "n_deregistered_10d", "n_cards_off_7d", "max_days_off", "max_co_before", "co_spike_ratio", "max_ch4_before", "face_power_drop_ratio",
                 "belt_drop_ratio", "has_accident_report", "has_declared_stop", "is_stop_filed_late",
                 "suspicion_points", "source"]
DAY_COLS = ["day", "belt_tonnes", "reported_tonnes", "implied_tonnes", "capacity_share_ratio", "production_kwh",
            "hoist_kwh", "face_heading_kwh", "drainage_kwh", "other_kwh", "night_hoist_ratio", "is_declared_stop",
            "is_report_missing"]
SHIFT_COLS = ["shift_start", "peak_underground", "approved_headcount", "headcount_ratio", "n_cards",
              "people_hours_total", "people_hours_face", "people_hours_undeclared_work", "people_hours_restricted",
              "n_idle_cards", "idle_area_code", "n_areas_over_limit", "max_area_over_ratio"]
AREA_COLS = ["area_code", "area_name", "area_type", "people_hours", "n_stays", "n_cards", "first_at", "last_at",
             "sample_cards"]
IDLE_COLS = ["card_code", "area_code", "area_name", "area_type", "n_trips", "hours", "first_at", "last_at"]
DECL_COLS = ["kind_decl", "face_code", "start_date", "end_date", "declared_at", "is_filed_late"]


@dataclass(frozen=True)
class EvidenceSpec:
    """Which evidence table backs a feature: the source, a row filter, the sort, and the columns shown."""

    source: str
    columns: list[str]
    sort: list[tuple[str, bool]]  # (column, ascending)
    where: Callable[[pd.DataFrame], pd.Series] | None = None


def _flag(col: str) -> Callable[[pd.DataFrame], pd.Series]:
    return lambda d: d[col].fillna(False).astype(bool)


def _positive(col: str) -> Callable[[pd.DataFrame], pd.Series]:
    return lambda d: pd.to_numeric(d[col], errors="coerce").fillna(0) > 0


def _kind(kind: str) -> Callable[[pd.DataFrame], pd.Series]:
    return lambda d: (d["kind"] == kind) & ~d["has_accident_report"].fillna(False).astype(bool)


def _crew_off(d: pd.DataFrame) -> pd.Series:
    """Crew exits after which a card stayed off work a week or more."""
    return _kind("crew_exit")(d) & _positive("n_cards_off_7d")(d)


_ALARM_TIME = [("started_at", True)]
EVIDENCE: dict[str, EvidenceSpec] = {
    "af_cut_missing_share": EvidenceSpec("alarms", ALARM_COLS, _ALARM_TIME, _flag("is_cut_missing")),
    "af_feed_contradicts_share": EvidenceSpec("alarms", ALARM_COLS, _ALARM_TIME, _flag("is_feed_contradicts")),
    "af_people_stayed_share": EvidenceSpec("alarms", ALARM_COLS, _ALARM_TIME, _flag("is_people_stayed")),
    "af_gas_high_after_close_share": EvidenceSpec("alarms", ALARM_COLS, _ALARM_TIME, _flag("is_gas_high_after_close")),
    "af_measure_reuse_share": EvidenceSpec(
        "alarms", ALARM_COLS, [("measure_reuse_count", False), ("started_at", True)], _positive("measure_reuse_count")),
    "af_entry_delay_minutes": EvidenceSpec("alarms", ALARM_COLS, [("entry_delay_minutes", False)]),
    "af_seconds_to_cut": EvidenceSpec("alarms", ALARM_COLS, [("seconds_to_cut", False)], _positive("seconds_to_cut")),
    "af_n_alarms": EvidenceSpec("alarms", ALARM_COLS, _ALARM_TIME),
    "af_alarm_rate_vs_history": EvidenceSpec("alarms", ALARM_COLS, _ALARM_TIME),
    "af_decoupled_face_point_share": EvidenceSpec(
        "sensors", SENSOR_COLS, [("corr_with_face_power", True)], _flag("is_face_point")),
    "af_max_near_threshold_share": EvidenceSpec("sensors", SENSOR_COLS, [("share_near_threshold", False)],
                                                _positive("share_near_threshold")),
    "af_max_face_flat_hours": EvidenceSpec(
        "sensors", SENSOR_COLS, [("longest_flat_hours", False)], _flag("is_face_point")),
    "af_max_pause_hours": EvidenceSpec("sensors", SENSOR_COLS, [("pause_hours", False)], _positive("pause_hours")),
    "af_max_ceiling_runs": EvidenceSpec("sensors", SENSOR_COLS, [("ceiling_runs", False)], _positive("ceiling_runs")),
    "af_calibration_while_producing_share": EvidenceSpec(
        "sensors", SENSOR_COLS, [("share_calibration_while_producing", False)],
        _positive("share_calibration_while_producing")),
    "af_n_face_level_drops": EvidenceSpec(
        "sensors", SENSOR_COLS, [("level_ratio_vs_history", True)], _flag("is_face_point")),
    "ca_n_open_trip_events": EvidenceSpec("incidents", INCIDENT_COLS, [("event_at", True)], _kind("open_trip")),
    "ca_n_late_trip_events": EvidenceSpec("incidents", INCIDENT_COLS, [("event_at", True)], _kind("late_trip")),
    "ca_n_unexplained_face_stops": EvidenceSpec("incidents", INCIDENT_COLS, [("event_at", True)], _kind("face_stop")),
    "ca_n_crew_cards_off_lookback": EvidenceSpec(
        "incidents", INCIDENT_COLS, [("n_cards_off_7d", False), ("event_at", True)], _crew_off),
    "ca_max_crew_days_off_lookback": EvidenceSpec(
        "incidents", INCIDENT_COLS, [("max_days_off", False), ("event_at", True)], _crew_off),
    "ca_max_suspicion_points": EvidenceSpec("incidents", INCIDENT_COLS, [("suspicion_points", False), ("event_at", True)]),
    "ca_n_events_with_deregistration": EvidenceSpec(
        "incidents", INCIDENT_COLS, [("event_at", True)], _positive("n_deregistered_10d")),
    "ca_n_cards_deregistered": EvidenceSpec(
        "incidents", INCIDENT_COLS, [("event_at", True)], _positive("n_deregistered_10d")),
    "ca_max_co_spike_ratio": EvidenceSpec(
        "incidents", INCIDENT_COLS, [("co_spike_ratio", False)], _positive("co_spike_ratio")),
    "ca_n_late_filed_stops": EvidenceSpec("declarations", DECL_COLS, [("start_date", True)], _flag("is_filed_late")),
    "op_belt_capacity_ratio": EvidenceSpec("days", DAY_COLS, [("capacity_share_ratio", False)]),
    "op_belt_capacity_peer_z": EvidenceSpec("days", DAY_COLS, [("capacity_share_ratio", False)]),
    "op_max_month_capacity_ratio": EvidenceSpec("days", DAY_COLS, [("capacity_share_ratio", False)]),
    "op_implied_capacity_ratio": EvidenceSpec("days", DAY_COLS, [("implied_tonnes", False)]),
    "op_implied_belt_ratio": EvidenceSpec("days", DAY_COLS, [("implied_tonnes", False)]),
    "op_belt_report_ratio": EvidenceSpec("days", ["belt_minus_reported", *DAY_COLS], [("belt_minus_reported", False)]),
    "op_kwh_per_tonne": EvidenceSpec("days", ["kwh_per_tonne", *DAY_COLS], [("kwh_per_tonne", False)]),
    "op_kwh_per_tonne_vs_history": EvidenceSpec("days", ["kwh_per_tonne", *DAY_COLS], [("kwh_per_tonne", False)]),
    "op_kwh_per_tonne_peer_z": EvidenceSpec("days", ["kwh_per_tonne", *DAY_COLS], [("kwh_per_tonne", False)]),
    "op_stop_day_power_ratio": EvidenceSpec("days", DAY_COLS, [("day", True)], _flag("is_declared_stop")),
    "op_stop_day_people_ratio": EvidenceSpec("days", DAY_COLS, [("day", True)], _flag("is_declared_stop")),
    "op_stop_night_hoist_ratio": EvidenceSpec("days", DAY_COLS, [("day", True)], _flag("is_declared_stop")),
    "op_hoist_share_vs_history": EvidenceSpec("days", ["hoist_share_ratio", *DAY_COLS], [("hoist_share_ratio", False)]),
    "op_peak_headcount_ratio": EvidenceSpec("shifts", SHIFT_COLS, [("headcount_ratio", False)]),
    "op_over_headcount_share": EvidenceSpec("shifts", SHIFT_COLS, [("shift_start", True)], _flag("is_over_headcount")),
    "op_max_area_over_ratio": EvidenceSpec("shifts", SHIFT_COLS, [("max_area_over_ratio", False)],
                                           _positive("n_areas_over_limit")),
    "hw_undeclared_work_share": EvidenceSpec("areas", AREA_COLS, [("people_hours", False)]),
    "hw_undeclared_work_peer_z": EvidenceSpec("areas", AREA_COLS, [("people_hours", False)]),
    "hw_undeclared_work_vs_history": EvidenceSpec("areas", AREA_COLS, [("people_hours", False)]),
    "hw_restricted_hours_share": EvidenceSpec("shifts", SHIFT_COLS, [("people_hours_restricted", False)],
                                              _positive("people_hours_restricted")),
    "hw_idle_cards_per_shift": EvidenceSpec("idle", IDLE_COLS, [("n_trips", False), ("card_code", True)]),
    "hw_idle_cards_vs_history": EvidenceSpec("idle", IDLE_COLS, [("n_trips", False), ("card_code", True)]),
    "hw_output_per_face_kwh_vs_history": EvidenceSpec(
        "days", ["hoist_per_face_kwh", *DAY_COLS], [("hoist_per_face_kwh", False)]),
    "hw_hoist_per_face_kwh_vs_history": EvidenceSpec(
        "days", ["hoist_per_face_kwh", *DAY_COLS], [("hoist_per_face_kwh", False)]),
    "hw_quiet_circuit_share_vs_history": EvidenceSpec("days", DAY_COLS, [("drainage_kwh", False)]),
    "hw_quiet_circuit_hoist_corr": EvidenceSpec("days", DAY_COLS, [("drainage_kwh", False)]),
}
DEFAULT_EVIDENCE = {
    "overproduction": EvidenceSpec("days", DAY_COLS, [("capacity_share_ratio", False)]),
    "hidden_workface": EvidenceSpec("areas", AREA_COLS, [("people_hours", False)]),
    "alarm_falsification": EvidenceSpec("alarms", ALARM_COLS, _ALARM_TIME),
    "concealed_accident": EvidenceSpec("incidents", INCIDENT_COLS, [("suspicion_points", False), ("event_at", True)]),
}
SOURCE_TABLES = {
    "alarms": "alarm_handling", "sensors": "sensor_behaviour", "incidents": "incident_candidates",
    "days": "production_balance", "shifts": "shift_presence", "areas": "stg_presence", "idle": "stg_presence",
    "declarations": "stg_declarations",
}


# ---------------------------------------------------------------------------------------------- data


@dataclass
class FamilyExplanation:
    """One family's per-mine contributions (rows = mine_code), base value, units and score components."""

    family: str
    version: str
    kind: str  # tree | iforest | robust_z | ecod | rule | unavailable
    base: float
    contributions: pd.DataFrame
    components: pd.DataFrame | None = None  # percentile of each component per mine
    weights: dict[str, float] = field(default_factory=dict)
    error: str = ""


@dataclass
class ReportData:
    """Everything the reports of one scoring need, loaded in a few batched queries."""

    as_of: date
    window_start: date
    history_start: date
    codes: list[str]  # the mines to report, in list order
    targets: pd.DataFrame  # every mine and risk (load_targets)
    features: pd.DataFrame  # mine_features at as_of, all mines
    mines: pd.DataFrame  # stg_mines of every mine
    reasons: pd.DataFrame  # score_reasons of the reported mines
    evidence: dict[str, pd.DataFrame]
    explanations: dict[str, FamilyExplanation]
    lang: str
    window_days: int

    @cached_property
    def _by_mine(self) -> dict[str, dict[str, pd.DataFrame]]:
        return {
            source: ({c: g for c, g in frame.groupby("mine_code", sort=False)} if "mine_code" in frame.columns else {})
            for source, frame in self.evidence.items()
        }

    def rows(self, source: str, code: str) -> pd.DataFrame:
        """The evidence rows of one source for one mine (empty when the source or the mine has none)."""
        part = self._by_mine.get(source, {}).get(code)
        if part is not None:
            return part
        return self.evidence.get(source, pd.DataFrame()).iloc[0:0]

    @cached_property
    def _target_rows(self) -> dict[tuple[str, str], dict[str, object]]:
        return {(r["mine_code"], r["risk"]): r for r in self.targets.to_dict("records")}

    def target(self, code: str, risk: str) -> dict[str, object] | None:
        """The target-list row of one mine and risk."""
        return self._target_rows.get((code, risk))

    @cached_property
    def _reasons_by(self) -> dict[tuple[str, str], pd.DataFrame]:
        return {k: g for k, g in self.reasons.groupby(["mine_code", "family"], sort=False)}

    def reasons_of(self, code: str, family: str) -> pd.DataFrame:
        """The stored top reasons of one mine and family, in reason order."""
        return self._reasons_by.get((code, family), self.reasons.iloc[0:0])

    @cached_property
    def peers(self) -> dict[str, pd.DataFrame]:
        """Per risk and mine: score, rank, percentile, and rank / size / median within size band and province."""
        f = self.features.drop_duplicates("mine_code").set_index("mine_code")
        out = {}
        for risk in RISK_ORDER:
            part = self.targets[self.targets["risk"] == risk].set_index("mine_code")
            t = pd.DataFrame({"score": pd.to_numeric(part["score"], errors="coerce"), "rank": part["rank"]})
            t["pct"] = percentile_ranks(t["score"])
            t["band"] = f["size_band"].reindex(t.index) if "size_band" in f.columns else None
            t["province"] = self.mines.set_index("mine_code")["province"].reindex(t.index)
            t["code"] = t.index
            for key in ("band", "province"):
                ordered = t.assign(neg=-t["score"].fillna(-np.inf)).sort_values(
                    [key, "neg", "code"], kind="mergesort", na_position="last")
                grouped = ordered.groupby(key, sort=False, dropna=False)
                t[f"{key}_rank"] = (grouped.cumcount() + 1).reindex(t.index)
                t[f"{key}_n"] = grouped["score"].transform("size").reindex(t.index)
                t[f"{key}_median"] = grouped["score"].transform("median").reindex(t.index)
            out[risk] = t
        return out

    @cached_property
    def feature_medians(self) -> tuple[pd.DataFrame, pd.Series]:
        """Median of every numeric feature per size band, and over all mines."""
        num = self.features.select_dtypes("number")
        band = (num.groupby(self.features["size_band"]).median() if "size_band" in self.features.columns
                else pd.DataFrame())
        return band, num.median()


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute(
        "select database_name, table_name from duckdb_tables() union all "
        "select database_name, view_name from duckdb_views() where not internal"
    ).fetchall()
    return {n if db != "warehouse" else f"warehouse.{n}" for db, n in rows}


def _fetch(con: duckdb.DuckDBPyConnection, present: set[str], needs: Iterable[str], sql: str,
           params: list[object]) -> pd.DataFrame:
    """Run `sql` when every table it needs exists, else an empty frame (a data set may lack a source)."""
    if not set(needs) <= present:
        return pd.DataFrame()
    return con.execute(sql, params).df()


def evidence_as_of(con: duckdb.DuckDBPyConnection) -> date | None:
    """The as-of date the evidence tables were last built for (they hold one date at a time).

    production_balance has a row for every mine and day up to its as-of, so its last day is the date;
    feature_builds (written by score and train) is the fallback.
    """
    present = _tables(con)
    if "production_balance" in present:
        row = con.execute("select cast(max(day) as date) from production_balance").fetchone()
        if row and row[0] is not None:
            return row[0]
    if "feature_builds" in present:
        row = con.execute("select as_of from feature_builds order by built_at desc limit 1").fetchone()
        if row:
            return row[0]
    return None


def load_evidence(con: duckdb.DuckDBPyConnection, codes: list[str], window_start: date,
                  as_of: date) -> dict[str, pd.DataFrame]:
    """The evidence rows of the reported mines: alarms, sensors, incidents, days, shifts, areas, idle cards."""
    present = _tables(con)
    window_ts = datetime.combine(window_start, datetime.min.time())
    end_ts = datetime.combine(as_of + timedelta(days=1), datetime.min.time())
    mines = "mine_code in (select unnest(?::varchar[]))"
    out: dict[str, pd.DataFrame] = {}
    files = _fetch(con, present, ["warehouse.ingest_files"], "select file_id, path from warehouse.ingest_files", [])
    file_names = {} if files.empty else dict(zip(files["file_id"], files["path"].map(_short_path), strict=True))

    alarms = _fetch(con, present, ["alarm_handling"], f"select * from alarm_handling where {mines}", [codes])
    texts = _fetch(
        con, present, ["stg_alarms"],
        "select mine_code, point_code, alarm_type, started_at, any_value(cause) as cause,"
        f" any_value(measure) as measure, any_value(entered_by) as entered_by from stg_alarms where {mines}"
        " and alarm_type in ('001', '002') group by all",
        [codes],
    )
    if not alarms.empty and not texts.empty:
        alarms = alarms.merge(texts, on=["mine_code", "point_code", "alarm_type", "started_at"], how="left")
    stayed = _fetch(
        con, present, ["alarm_handling", "stg_presence"],
        f"""
        with flagged as (
            select mine_code, point_code, alarm_type, started_at, area_code from alarm_handling
            where {mines} and is_people_stayed and area_code is not null
        ),
        cards as (
            select f.mine_code, f.point_code, f.alarm_type, f.started_at, p.card_code,
                bool_or(p.entered_at <= f.started_at and coalesce(p.left_at, ?) > f.started_at) as at_start,
                bool_or(p.entered_at <= f.started_at + interval 30 minute
                    and coalesce(p.left_at, ?) > f.started_at + interval 30 minute) as at_30m
            from flagged as f
            inner join stg_presence as p
                on p.mine_code = f.mine_code and p.area_code = f.area_code
                and p.entered_at <= f.started_at + interval 30 minute
                and p.entered_at > f.started_at - interval 1 day
                and coalesce(p.left_at, ?) > f.started_at
            group by all
        )
        select mine_code, point_code, alarm_type, started_at,
            string_agg(card_code, ',' order by card_code) as cards_stayed
        from cards
        where at_start and at_30m
        group by all
        """,
        [codes, end_ts, end_ts, end_ts],
    )
    if not alarms.empty and not stayed.empty:
        alarms = alarms.merge(stayed, on=["mine_code", "point_code", "alarm_type", "started_at"], how="left")
    out["alarms"] = _with_source(alarms, file_names)

    sensors = _fetch(con, present, ["sensor_behaviour"], f"select * from sensor_behaviour where {mines}", [codes])
    locations = _fetch(con, present, ["stg_sensors"],
                       f"select mine_code, point_code, any_value(location) as location from stg_sensors where {mines}"
                       " group by all", [codes])
    if not sensors.empty and not locations.empty and "location" not in sensors.columns:
        sensors = sensors.merge(locations, on=["mine_code", "point_code"], how="left")
    out["sensors"] = sensors
    out["incidents"] = _with_source(
        _fetch(con, present, ["incident_candidates"], f"select * from incident_candidates where {mines}", [codes]),
        file_names,
    )
    days = _fetch(con, present, ["production_balance"],
                  f"select * from production_balance where {mines} order by mine_code, day", [codes])
    if not days.empty:
        num = lambda c: pd.to_numeric(days.get(c), errors="coerce")  # noqa: E731
        days["face_heading_kwh"] = num("face_kwh").fillna(0) + num("heading_kwh").fillna(0)
        days["kwh_per_tonne"] = num("production_kwh") / num("belt_tonnes").where(num("belt_tonnes") > 0)
        days["hoist_per_face_kwh"] = num("hoist_kwh") / days["face_heading_kwh"].where(days["face_heading_kwh"] > 0)
        days["belt_minus_reported"] = num("belt_tonnes") - num("reported_tonnes")
    out["days"] = days
    out["shifts"] = _fetch(con, present, ["shift_presence"],
                           f"select * from shift_presence where {mines} order by mine_code, shift_start", [codes])
    decl = _fetch(con, present, ["stg_declarations"], f"select * from stg_declarations where {mines}", [codes])
    out["declarations"] = decl.rename(columns={"kind": "kind_decl"})
    # long stays in areas that are neither a declared face (that day) nor a shaft area: where hidden work shows
    out["areas"] = _fetch(
        con, present, ["stg_presence", "stg_areas", "stg_workfaces"],
        f"""
        with stays as (
            select p.mine_code, p.card_code, p.area_code, p.entered_at,
                least(coalesce(p.left_at, ?), ?) as left_at
            from stg_presence as p
            where p.{mines} and p.entered_at >= ? and p.entered_at < ?
        ),
        long_stays as (
            select * from stays where left_at - entered_at >= interval 60 minute
        ),
        declared as (
            select distinct s.mine_code, s.card_code, s.entered_at
            from long_stays as s
            inner join stg_workfaces as w
                on w.mine_code = s.mine_code and w.area_code = s.area_code
                and cast(s.entered_at as date) >= w.declared_from
                and (w.declared_to is null or cast(s.entered_at as date) <= w.declared_to)
        )
        select s.mine_code, s.area_code, any_value(a.area_name) as area_name, any_value(a.area_type) as area_type,
            sum(date_diff('second', s.entered_at, s.left_at)) / 3600.0 as people_hours,
            count(*) as n_stays, count(distinct s.card_code) as n_cards,
            min(s.entered_at) as first_at, max(s.left_at) as last_at,
            array_to_string(list_slice(list_sort(list_distinct(list(s.card_code))), 1, 8), ',') as sample_cards
        from long_stays as s
        left join stg_areas as a on a.mine_code = s.mine_code and a.area_code = s.area_code
        anti join declared as d
            on d.mine_code = s.mine_code and d.card_code = s.card_code and d.entered_at = s.entered_at
        where coalesce(a.area_type, '') <> '井口区域'
        group by s.mine_code, s.area_code
        """,
        [end_ts, end_ts, codes, window_ts, end_ts],
    )
    # idle cards as shift_presence defines them: a trip of 4 h or more whose stays all lie in one area
    out["idle"] = _fetch(
        con, present, ["stg_shaft_trips", "stg_presence", "stg_areas"],
        f"""
        with trips as (
            select mine_code, card_code, down_at, least(coalesce(up_at, ?), ?) as up_at
            from stg_shaft_trips
            where {mines} and down_at < ? and coalesce(up_at, ?) > ?
        ),
        one_area as (
            select t.mine_code, t.card_code, t.down_at, t.up_at, min(p.area_code) as area_code
            from trips as t
            inner join stg_presence as p
                on p.mine_code = t.mine_code and p.card_code = t.card_code
                and p.entered_at >= t.down_at and p.entered_at < t.up_at
            where t.up_at - t.down_at >= interval 4 hour
            group by all
            having min(p.area_code) = max(p.area_code)
        )
        select o.mine_code, o.card_code, o.area_code, any_value(a.area_name) as area_name,
            any_value(a.area_type) as area_type, count(*) as n_trips,
            sum(date_diff('second', o.down_at, o.up_at)) / 3600.0 as hours,
            min(o.down_at) as first_at, max(o.up_at) as last_at
        from one_area as o
        left join stg_areas as a on a.mine_code = o.mine_code and a.area_code = o.area_code
        group by o.mine_code, o.card_code, o.area_code
        """,
        [end_ts, end_ts, codes, end_ts, end_ts, window_ts],
    )
    return out


def _short_path(path: str) -> str:
    """The last two parts of a source path: enough to find the file in the mine's upload folder."""
    parts = Path(str(path)).parts
    return "/".join(parts[-2:])


def _with_source(frame: pd.DataFrame, file_names: dict[int, str]) -> pd.DataFrame:
    """Add `source` = file#record from the lineage columns."""
    if frame.empty or "_file_id" not in frame.columns:
        return frame
    ids = pd.to_numeric(frame["_file_id"], errors="coerce")
    recs = pd.to_numeric(frame.get("_record"), errors="coerce")
    frame = frame.copy()
    frame["source"] = [
        "" if pd.isna(i) else f"{file_names.get(int(i), f'file {int(i)}')}#{'' if pd.isna(r) else int(r)}"
        for i, r in zip(ids, recs, strict=True)
    ]
    return frame


def _parse_versions(targets: pd.DataFrame) -> dict[str, str]:
    """family -> the model version that scored it (from the family rows of the stored scoring)."""
    rows = targets[targets["risk"].isin(FAMILIES)].drop_duplicates("risk")
    return dict(zip(rows["risk"], rows["model_version"].astype(str), strict=True))


def load_models(versions: dict[str, str]) -> dict[str, tuple[object | None, str, str]]:
    """family -> (model or None, version, load error); the exact versions that scored, not today's champion."""
    out: dict[str, tuple[object | None, str, str]] = {}
    todo = {f: v for f, v in versions.items() if v and v != "rule-baseline"}
    for family, version in versions.items():
        out[family] = (None, version, "")
    if not todo:
        return out
    import mlflow

    configure_mlflow()
    for family, version in todo.items():
        try:
            out[family] = (mlflow.sklearn.load_model(f"models:/{version}"), version, "")
        except Exception as err:  # a missing registry or version must not stop the other reports
            log.warning("cannot load %s for %s: %s", version, family, err)
            out[family] = (None, version, str(err).splitlines()[0][:200])
    return out


def explain_families(
    features: pd.DataFrame, codes: list[str], models: dict[str, tuple[object | None, str, str]]
) -> dict[str, FamilyExplanation]:
    """Per family: SHAP (or exact) contributions of the reported mines, and the score components of every mine."""
    frame = features.reset_index(drop=True)
    picked = frame[frame["mine_code"].isin(codes)]
    out = {}
    for family in FAMILIES:
        model, version, error = models.get(family, (None, "rule-baseline", ""))
        if model is None:
            contribs = rule_parts(picked, family)
            kind = "unavailable" if error else "rule"
            out[family] = FamilyExplanation(family, version, kind, 0.0,
                                            contribs.set_axis(picked["mine_code"].to_numpy()), error=error)
            continue
        pu = model.pu_
        inner = pu.fallback_ if pu.is_fallback_ else pu
        kind = {"PUClassifier": "tree", "IsolationForestDetector": "iforest",
                "EmpiricalTailDetector": "ecod"}.get(type(inner).__name__, "robust_z")
        contribs, base = contributions(pu, picked)
        comps = model.components(frame)
        pct = pd.DataFrame({c: percentile_ranks(comps[c]) for c in comps.columns}).set_axis(frame["mine_code"])
        out[family] = FamilyExplanation(
            family, version, kind, float(base), contribs.set_axis(picked["mine_code"].to_numpy()),
            components=pct, weights=dict(model.weights_),
        )
    return out


def rule_parts(frame: pd.DataFrame, family: str) -> pd.DataFrame:
    """The rule's inputs scaled as models.rules scales them, so each part fires at 1.0 (the score is their max)."""
    limits = {"op_max_month_capacity_ratio": MONTH_OUTPUT_LIMIT, "op_peak_headcount_ratio": HEADCOUNT_LIMIT}
    out = {}
    for col in RULE_COLUMNS[family]:
        v = pd.to_numeric(frame[col], errors="coerce") if col in frame.columns else pd.Series(np.nan, index=frame.index)
        if col == "af_cut_missing_share":
            v = v.where(~(v > 0), 1.0 + v)  # any alarm at the cut-off without a cut fires the rule
        out[col] = (v / limits.get(col, 1.0)).fillna(0.0).clip(lower=0)
    return pd.DataFrame(out, index=frame.index)


def load_report_data(
    con: duckdb.DuckDBPyConnection, as_of: date, codes: list[str] | None, top: int | None, lang: str,
    train_params: TrainParams, targets: pd.DataFrame | None = None,
    models: dict[str, tuple[object | None, str, str]] | None = None,
) -> ReportData:
    """Targets, features, reasons, evidence and explanations of the mines to report (by code, or the top K)."""
    targets = targets if targets is not None else load_targets(con, as_of, lang, train_params.window_days)
    overall = targets[targets["risk"] == "overall"]
    if codes:
        unknown = sorted(set(codes) - set(overall["mine_code"]))
        if unknown:
            raise SystemExit(f"not in the scoring as of {as_of}: {', '.join(unknown)}")
        picked = overall[overall["mine_code"].isin(codes)]["mine_code"].tolist()
    else:
        picked = overall.head(top)["mine_code"].tolist()
    window_start = as_of + timedelta(days=1) - timedelta(days=train_params.window_days)
    history_start = window_start - timedelta(days=train_params.history_days)
    features = con.execute("select * from mine_features where cast(as_of as date) = ? order by mine_code",
                           [as_of]).df()
    if features.empty:
        raise SystemExit(f"no mine_features as of {as_of} in the features database; run `minewatch score "
                         f"--as-of {as_of}` (it rebuilds them) and report again")
    mines = con.execute("select * from stg_mines order by mine_code").df()
    reasons = con.execute(
        "select mine_code, family, reason_rank, feature, contribution, value from score_reasons"
        " where cast(as_of as date) = ? and mine_code in (select unnest(?::varchar[]))"
        " order by mine_code, family, reason_rank",
        [as_of, picked],
    ).df()
    started = time.perf_counter()
    evidence = load_evidence(con, picked, window_start, as_of)
    log.info("loaded the evidence of %d mine(s) in %.1f s", len(picked), time.perf_counter() - started)
    started = time.perf_counter()
    if models is None:
        models = load_models(_parse_versions(targets))
    explanations = explain_families(features, picked, models)
    log.info("loaded the models and explained %d mine(s) in %.1f s", len(picked), time.perf_counter() - started)
    return ReportData(as_of, window_start, history_start, picked, targets, features, mines, reasons, evidence,
                      explanations, lang, train_params.window_days)


# ---------------------------------------------------------------------------------------------- formatting


def e(value: object) -> str:
    """Any value from the data as HTML-escaped text."""
    return html.escape("" if value is None else str(value), quote=True)


def _missing(v: object) -> bool:
    try:
        return v is None or v is pd.NaT or bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


DATE_COLUMNS = {"day", "start_date", "end_date"}
CODE_NAMES = {
    "kind": {"open_trip": ("never came up", "下井未出井"), "late_trip": ("came up 16 h+ later", "超 16 小时出井"),
             "face_stop": ("face power stopped", "工作面用电骤停"),
             "crew_exit": ("crew came up mid-shift", "班中集体提前出井")},
    "kind_decl": {"maintenance": ("maintenance", "检修"), "shutdown": ("shutdown", "停产"), "holiday": ("holiday", "放假")},
    "gas_class": {"low": ("low", "低瓦斯"), "high": ("high", "高瓦斯"), "outburst": ("outburst", "煤与瓦斯突出")},
}


def fmt(value: object, column: str = "", lang: str = "en") -> str:
    """A cell value in plain, compact form (escaped)."""
    if _missing(value):
        return ""
    if isinstance(value, bool | np.bool_):
        return ("是" if value else "否") if lang == "zh" else ("yes" if value else "no")
    if isinstance(value, pd.Timestamp | datetime):
        ts = pd.Timestamp(value)
        return e(ts.strftime("%Y-%m-%d" if column in DATE_COLUMNS and ts == ts.normalize() else "%Y-%m-%d %H:%M:%S"))
    if isinstance(value, date):
        return e(value.isoformat())
    if isinstance(value, int | np.integer):
        return e(f"{int(value):,}")
    if isinstance(value, float | np.floating):
        v = float(value)
        if column.startswith("share") or column.endswith("_share"):
            return e(f"{v:.0%}")
        if abs(v) >= 1000:
            return e(f"{v:,.0f}")
        if abs(v) >= 100:
            return e(f"{v:.0f}")
        return e(f"{v:.3g}") if abs(v) < 1 else e(f"{v:.2f}".rstrip("0").rstrip("."))
    if column in CODE_NAMES and str(value) in CODE_NAMES[column]:
        pair = CODE_NAMES[column][str(value)]
        return e(pair[1] if lang == "zh" else pair[0])
    if column == "sensor_type" and str(value) in SENSOR_TYPES:
        return e(f"{value} {SENSOR_TYPES[str(value)][0]}")
    if column == "alarm_type" and str(value) in ALARM_TYPES:
        return e(f"{value} {ALARM_TYPES[str(value)]}")
    return e(value)


def label(feature: str, lang: str) -> str:
    """A feature's short label from the catalog (plain text, not escaped)."""
    entry = table_entries("mine_features").get(feature)
    if entry is None:
        return feature
    text = entry.zh if lang == "zh" else entry.en
    return text if len(text) <= 72 else text[:70] + "…"


def reason_text(feature: str, value: float | None, lang: str, window_days: int) -> str:
    """The stored reason in plain words (the same wording as the target list)."""
    return targets_reason_text(feature, None if _missing(value) else float(value), lang, window_days)


def header(column: str, lang: str) -> str:
    pair = HEADERS.get(column)
    return (pair[1] if lang == "zh" else pair[0]) if pair else column


# ---------------------------------------------------------------------------------------------- SVG charts

COLORS = {"belt": "#1f4e79", "reported": "#c55a11", "implied": "#548235", "capacity": "#7f7f7f",
          "up": "#c00000", "down": "#2e75b6", "base": "#7f7f7f", "stop": "#fde9d9", "window": "#eef3f8"}
ALARM_COLORS = {"alarm_nocut": "#c00000", "alarm_feed": "#7030a0", "alarm_stayed": "#ed7d31",
                "alarm_gas": "#bf9000", "alarm_ok": "#548235", "alarm_below": "#a6a6a6"}


def _svg(width: int, height: int, body: list[str], title: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" class="chart" role="img" '
            f'aria-label="{e(title)}"><title>{e(title)}</title>{"".join(body)}</svg>')


def _nice_max(v: float) -> float:
    if not np.isfinite(v) or v <= 0:
        return 1.0
    exp = 10 ** np.floor(np.log10(v))
    for m in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if m * exp >= v:
            return float(m * exp)
    return float(10 * exp)


def time_chart(
    start: date, end: date, series: list[dict], title: str, hlines: Iterable[tuple[float, str, str]] = (),
    bands: Iterable[tuple[date, date, str, str]] = (), y_label: str = "", width: int = 900, height: int = 230,
) -> str:
    """A daily/hourly time chart: lines or points per series, horizontal reference lines, shaded bands, legend."""
    left, right, top, bottom = 58, 12, 30, 26
    pw, ph = width - left - right, height - top - bottom
    t0 = pd.Timestamp(start)
    span = max((pd.Timestamp(end) + pd.Timedelta(days=1) - t0) / pd.Timedelta(days=1), 1.0)
    hlines, bands = list(hlines), list(bands)

    def x_of(ts: pd.Series | pd.Timestamp) -> np.ndarray:
        days = (pd.to_datetime(ts) - t0) / pd.Timedelta(days=1)
        return left + np.asarray(days, dtype=float) / span * pw

    ys = [np.asarray(s["y"], dtype=float) for s in series] + [np.array([h[0] for h in hlines], dtype=float)]
    finite = np.concatenate([y[np.isfinite(y)] for y in ys]) if ys else np.array([])
    ymax = _nice_max(float(finite.max()) * 1.05 if finite.size else 1.0)

    def y_of(v: np.ndarray) -> np.ndarray:
        return top + ph - np.asarray(v, dtype=float) / ymax * ph

    body = [f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="#fff" stroke="#bbb"/>']
    for b0, b1, color, _ in bands:
        x0, x1 = x_of(pd.Timestamp(b0)), x_of(pd.Timestamp(b1) + pd.Timedelta(days=1))
        x0, x1 = max(float(x0), left), min(float(x1), left + pw)
        if x1 > x0:
            body.append(f'<rect x="{x0:.1f}" y="{top}" width="{x1 - x0:.1f}" height="{ph}" fill="{color}"/>')
    for i in range(5):
        v = ymax * i / 4
        y = float(y_of(np.array([v]))[0])
        body.append(f'<line x1="{left}" x2="{left + pw}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e5e5e5"/>')
        body.append(f'<text x="{left - 4}" y="{y + 4:.1f}" class="ax" text-anchor="end">{e(_tick(v))}</text>')
    step = max(1, int(np.ceil(span / 8)))
    for k in range(0, int(span) + 1, step):
        day = t0 + pd.Timedelta(days=k)
        x = float(x_of(day))
        body.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top + ph}" y2="{top + ph + 4}" stroke="#888"/>')
        body.append(f'<text x="{x:.1f}" y="{top + ph + 16}" class="ax" text-anchor="middle">{day:%m-%d}</text>')
    for value, name, color in hlines:
        if np.isfinite(value):
            y = float(y_of(np.array([value]))[0])
            body.append(f'<line x1="{left}" x2="{left + pw}" y1="{y:.1f}" y2="{y:.1f}" stroke="{color}" '
                        f'stroke-dasharray="6 3" stroke-width="1.3"><title>{e(name)}: {e(_tick(value))}</title></line>')
    for s in series:
        xs, yv = x_of(pd.Series(s["x"])), y_of(np.asarray(s["y"], dtype=float))
        ok = np.isfinite(xs) & np.isfinite(yv)
        color = s.get("color", "#333")
        if s.get("kind") == "points":
            tips = s.get("tips")
            for j in np.flatnonzero(ok):
                tip = f"<title>{e(tips[j])}</title>" if tips is not None else ""
                body.append(f'<circle cx="{xs[j]:.1f}" cy="{yv[j]:.1f}" r="3.2" fill="{color}" '
                            f'fill-opacity="0.85">{tip}</circle>')
            continue
        dash = f' stroke-dasharray="{s["dash"]}"' if s.get("dash") else ""
        for seg in _segments(ok):
            pts = " ".join(f"{xs[j]:.1f},{yv[j]:.1f}" for j in seg)
            body.append(f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="{s.get("width", 1.6)}"'
                        f'{dash}/>')
    legend = [(s["label"], s.get("color", "#333"), s.get("kind", "line"), s.get("dash")) for s in series]
    legend += [(n, c, "dashline", "6 3") for _, n, c in hlines]
    legend += [(n, c, "band", None) for *_, c, n in bands if n]
    body.extend(_legend(legend, left, 14))
    if y_label:
        body.append(f'<text x="12" y="{top + ph / 2:.0f}" class="ax" transform="rotate(-90 12 {top + ph / 2:.0f})" '
                    f'text-anchor="middle">{e(y_label)}</text>')
    return _svg(width, height, body, title)


def _segments(ok: np.ndarray) -> list[np.ndarray]:
    idx = np.flatnonzero(ok)
    if idx.size == 0:
        return []
    return [s for s in np.split(idx, np.flatnonzero(np.diff(idx) > 1) + 1) if s.size]


def _legend(items: list[tuple[str, str, str, str | None]], x: float, y: float) -> list[str]:
    out = []
    seen = set()
    for name, color, kind, dash in items:
        if name in seen:
            continue
        seen.add(name)
        if kind == "points":
            out.append(f'<circle cx="{x + 6}" cy="{y - 4}" r="4" fill="{color}"/>')
        elif kind == "band":
            out.append(f'<rect x="{x}" y="{y - 9}" width="14" height="10" fill="{color}" stroke="#ccc"/>')
        else:
            d = f' stroke-dasharray="{dash}"' if dash else ""
            out.append(f'<line x1="{x}" x2="{x + 16}" y1="{y - 4}" y2="{y - 4}" stroke="{color}" stroke-width="2"{d}/>')
        out.append(f'<text x="{x + 20}" y="{y}" class="lg">{e(name)}</text>')
        x += 30 + 6.5 * _text_width(name)
    return out


def _clip(text: str, units: float = 52) -> str:
    """Cut a label to about `units` Latin-character widths so it stays left of the bars."""
    if _text_width(text) <= units:
        return text
    out, used = "", 0.0
    for ch in text:
        used += _text_width(ch)
        if used > units - 1:
            break
        out += ch
    return out + "…"


def _text_width(text: str) -> float:
    """Rough width in Latin-character units (a CJK character counts double)."""
    return sum(2.0 if ord(ch) > 0x2E80 else 1.0 for ch in text)


def _tick(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 10000:
        return f"{v / 1000:.0f}k"
    if abs(v) >= 100:
        return f"{v:.0f}"
    return f"{v:.3g}"


def waterfall_chart(expl: FamilyExplanation, code: str, lang: str, n_bars: int) -> str:
    """A SHAP waterfall: base value, the largest contributions, the rest summed, the model output."""
    t = TEXT[lang]
    row = expl.contributions.loc[code] if code in expl.contributions.index else pd.Series(dtype=float)
    row = pd.to_numeric(row, errors="coerce").fillna(0.0)
    units = t[f"units_{'rule' if expl.kind in ('rule', 'unavailable') else expl.kind}"]
    title = f"{t['waterfall']}: {RISK_NAMES[lang][expl.family]} ({units})"
    if expl.kind in ("rule", "unavailable"):
        items = [(label(f, lang), float(v)) for f, v in row.items()]
        return bar_chart(items, title)
    order = row.abs().sort_values(ascending=False, kind="mergesort")
    shown = [f for f in order.index[:n_bars] if row[f] != 0]
    rest = row.drop(index=shown)
    steps = [(label(f, lang), float(row[f])) for f in shown]
    if len(rest) and float(rest.sum()) != 0:
        steps.append((t["other_features"].format(n=len(rest)), float(rest.sum())))
    base, total = expl.base, expl.base + float(row.sum())
    width, left, right, row_h, top = 900, 330, 70, 22, 10
    height = top + row_h * (len(steps) + 2) + 24
    cum = np.concatenate([[base], base + np.cumsum([v for _, v in steps])]) if steps else np.array([base])
    lo, hi = float(min(cum.min(), total, 0.0 if expl.kind in ("robust_z", "ecod") else cum.min())), float(max(cum.max(), total))
    pad = (hi - lo) * 0.08 or 0.5
    lo, hi = lo - pad, hi + pad
    pw = width - left - right

    def x(v: float) -> float:
        return left + (v - lo) / (hi - lo) * pw

    body = []
    y = top
    body.append(_wf_row(t["base"], x(base), x(base), y, row_h, COLORS["base"], _signed(base, False), marker=True))
    prev = base
    for name, v in steps:
        y += row_h
        nxt = prev + v
        color = COLORS["up"] if v > 0 else COLORS["down"]
        body.append(_wf_row(name, x(prev), x(nxt), y, row_h, color, _signed(v, True)))
        prev = nxt
    y += row_h
    body.append(_wf_row(t["model_output"], x(total), x(total), y, row_h, "#000", _signed(total, False), marker=True))
    zero = x(0.0) if lo < 0 < hi else None
    if zero is not None:
        body.append(f'<line x1="{zero:.1f}" x2="{zero:.1f}" y1="{top}" y2="{y + row_h}" stroke="#999" '
                    'stroke-dasharray="2 2"/>')
    body.append(f'<text x="{left}" y="{y + row_h + 16}" class="ax">{e(_tick(lo))}</text>')
    body.append(f'<text x="{left + pw}" y="{y + row_h + 16}" class="ax" text-anchor="end">{e(_tick(hi))}</text>')
    return _svg(width, height, body, title)


def _signed(v: float, sign: bool) -> str:
    return f"{v:+.3f}" if sign else f"{v:.3f}"


def _wf_row(name: str, x0: float, x1: float, y: float, h: float, color: str, value: str, marker: bool = False) -> str:
    a, b = min(x0, x1), max(x0, x1)
    bar = (f'<line x1="{a:.1f}" x2="{a:.1f}" y1="{y + 3}" y2="{y + h - 3}" stroke="{color}" stroke-width="3"/>'
           if marker else
           f'<rect x="{a:.1f}" y="{y + 4}" width="{max(b - a, 1.5):.1f}" height="{h - 8}" fill="{color}"/>')
    return (f'<text x="6" y="{y + h / 2 + 4:.1f}" class="lb">{e(_clip(name))}<title>{e(name)}</title></text>{bar}'
            f'<text x="{b + 4:.1f}" y="{y + h / 2 + 4:.1f}" class="ax">{e(value)}</text>')


def bar_chart(items: list[tuple[str, float]], title: str, threshold: float = 1.0) -> str:
    """Plain horizontal bars with a threshold line (the rule inputs when no model scored the family)."""
    width, left, right, row_h, top = 900, 330, 70, 22, 10
    height = top + row_h * max(len(items), 1) + 24
    hi = _nice_max(max([v for _, v in items] + [threshold]) * 1.1)
    pw = width - left - right
    body = []
    for i, (name, v) in enumerate(items):
        y = top + i * row_h
        w = max(v, 0) / hi * pw
        body.append(f'<text x="6" y="{y + row_h / 2 + 4:.1f}" class="lb">{e(_clip(name))}<title>{e(name)}</title></text>'
                    f'<rect x="{left}" y="{y + 4}" width="{w:.1f}" height="{row_h - 8}" '
                    f'fill="{COLORS["up"] if v >= threshold else COLORS["down"]}"/>'
                    f'<text x="{left + w + 8:.1f}" y="{y + row_h / 2 + 4:.1f}" class="ax">{e(f"{v:.2f}")}</text>')
    xt = left + threshold / hi * pw
    body.append(f'<line x1="{xt:.1f}" x2="{xt:.1f}" y1="{top}" y2="{height - 20}" stroke="#000" stroke-dasharray="4 3"/>')
    return _svg(width, height, body, title)


def strip_chart(scores: pd.Series, code: str, title: str) -> str:
    """All mines' scores of one risk as dots on a line; the reported mine in red."""
    width, height, left, right = 300, 34, 8, 8
    s = pd.to_numeric(scores, errors="coerce")
    lo, hi = float(s.min()), float(s.max())
    span = (hi - lo) or 1.0
    body = [f'<line x1="{left}" x2="{width - right}" y1="17" y2="17" stroke="#ccc"/>']
    for c, v in s.items():
        if c == code or not np.isfinite(v):
            continue
        body.append(f'<circle cx="{left + (v - lo) / span * (width - left - right):.1f}" cy="17" r="3" '
                    'fill="#9dc3e6" fill-opacity="0.7"/>')
    if code in s.index and np.isfinite(s[code]):
        body.append(f'<circle cx="{left + (s[code] - lo) / span * (width - left - right):.1f}" cy="17" r="5.5" '
                    'fill="#c00000" stroke="#fff"/>')
    return _svg(width, height, body, title).replace('class="chart"', 'class="strip"')


# ---------------------------------------------------------------------------------------------- HTML

CSS = """
*{box-sizing:border-box}
body{font-family:"Noto Sans","DejaVu Sans",Arial,"Noto Sans CJK SC","Microsoft YaHei","PingFang SC","WenQuanYi Micro Hei",sans-serif;
 color:#222;margin:0;background:#f4f5f7;font-size:13px;line-height:1.45}
main{max-width:1180px;margin:0 auto;background:#fff;padding:20px 28px 40px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;border-bottom:2px solid #1f4e79;padding-bottom:3px;margin:26px 0 10px;
 break-after:avoid}h3{font-size:15px;margin:18px 0 6px;break-after:avoid}h4{font-size:13px;margin:14px 0 4px;break-after:avoid}
.sub{color:#555}.facts{display:grid;grid-template-columns:repeat(3,1fr);gap:4px 18px;margin:10px 0}
.facts div span{color:#666}.badge{display:inline-block;background:#c00000;color:#fff;border-radius:3px;padding:1px 7px;
 font-weight:bold}.note{color:#555;font-size:12px}.warn{background:#fff4e5;border-left:4px solid #ed7d31;padding:6px 10px}
table{border-collapse:collapse;width:100%;margin:4px 0 8px;font-size:11.5px}
th,td{border:1px solid #d9d9d9;padding:3px 5px;text-align:left;vertical-align:top}
th{background:#eef3f8;font-weight:600}tr{break-inside:avoid}td.num{text-align:right;white-space:nowrap}
td.ts{white-space:nowrap}td.code{word-break:break-all;min-width:7.5em;font-family:Consolas,"DejaVu Sans Mono",monospace;font-size:11px}
svg.chart{width:100%;height:auto;display:block;margin:4px 0 10px}svg.strip{width:300px;height:34px}
svg text.ax{font-size:10px;fill:#555}svg text.lg{font-size:11px;fill:#333}svg text.lb{font-size:11px;fill:#222}
.family{border:1px solid #e3e3e3;border-radius:4px;padding:4px 14px 10px;margin:12px 0;break-inside:auto}
.reason{margin:8px 0 12px}.reason .txt{font-weight:600}ul.limits li{margin:3px 0}
footer{margin-top:28px;border-top:1px solid #ccc;padding-top:6px;color:#666;font-size:11px}
a{color:#1f4e79}
@page{size:A4;margin:12mm 10mm}
@media print{body{background:#fff;font-size:11px}main{max-width:none;padding:0}.family{break-inside:auto}
 h2{break-before:auto}table{font-size:9.5px}}
"""


CODE_COLUMNS = {"card_codes", "sample_cards", "source", "cards_stayed"}


def _table(frame: pd.DataFrame, columns: list[str], lang: str, table: str | None = None) -> str:
    """An HTML table of `columns` (every value escaped; code columns wrap, numbers right-aligned)."""
    entries = table_entries(table) if table else {}
    heads = []
    for c in columns:
        tip = entries.get(c)
        tip_text = (tip.zh if lang == "zh" else tip.en) if tip else ""
        heads.append(f'<th title="{e(tip_text)}">{e(header(c, lang))}</th>')
    rows = []
    for rec in frame[columns].itertuples(index=False):
        cells = []
        for c, v in zip(columns, rec, strict=True):
            cls = "code" if c.endswith("_code") or c in CODE_COLUMNS else (
                "num" if isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool | np.bool_)
                else "ts" if isinstance(v, pd.Timestamp | datetime) else "")
            cells.append(f'<td class="{cls}">{fmt(v, c, lang)}</td>' if cls else f"<td>{fmt(v, c, lang)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{''.join(heads)}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def evidence_rows(data: ReportData, code: str, feature: str, family: str) -> tuple[EvidenceSpec, pd.DataFrame, int]:
    """The evidence rows of one reason for one mine: filtered to the window, sorted, and the total count."""
    spec = EVIDENCE.get(feature, DEFAULT_EVIDENCE[family])
    frame = data.rows(spec.source, code)
    if frame.empty or "mine_code" not in frame.columns:
        return spec, pd.DataFrame(columns=spec.columns), 0
    if "is_in_window" in frame.columns:
        frame = frame[frame["is_in_window"].fillna(False).astype(bool)]
    elif spec.source == "declarations" and "end_date" in frame.columns:
        frame = frame[pd.to_datetime(frame["end_date"]) >= pd.Timestamp(data.history_start)]
    if spec.where is not None and len(frame):
        needed = frame.reindex(columns=sorted(set(frame.columns) | _where_columns(spec)))
        frame = frame[spec.where(needed).to_numpy()]
    frame = frame.reindex(columns=sorted(set(frame.columns) | set(spec.columns)))
    keys = [c for c, _ in spec.sort]
    frame = frame.sort_values(keys, ascending=[a for _, a in spec.sort], na_position="last", kind="mergesort")
    return spec, frame, len(frame)


def _where_columns(spec: EvidenceSpec) -> set[str]:
    return {"is_cut_missing", "is_feed_contradicts", "is_people_stayed", "is_gas_high_after_close", "is_face_point",
            "is_over_headcount", "is_filed_late", "is_declared_stop", "has_accident_report", "kind",
            "measure_reuse_count", "seconds_to_cut", "share_near_threshold", "share_calibration_while_producing",
            "n_deregistered_10d", "co_spike_ratio", "n_areas_over_limit", "people_hours_restricted"}


def _peer_context(data: ReportData, code: str, feature: str) -> tuple[float | None, float | None, float | None]:
    """This mine's feature value, its size band's median and the all-mine median."""
    if feature not in data.features.columns:
        return None, None, None
    mine = data.features[data.features["mine_code"] == code]
    value = pd.to_numeric(mine[feature], errors="coerce").iloc[0] if len(mine) else np.nan
    band_medians, all_medians = data.feature_medians
    band = mine["size_band"].iloc[0] if "size_band" in mine.columns and len(mine) else None
    in_band = band_medians[feature].get(band, np.nan) if feature in band_medians.columns else np.nan
    overall = all_medians.get(feature, np.nan)
    return tuple(None if pd.isna(v) else float(v) for v in (value, in_band, overall))


def _unit_value(value: float | None, feature: str) -> str:
    """A feature value in its catalog unit (escaped; empty when missing)."""
    entry = table_entries("mine_features").get(feature)
    if value is None or entry is None:
        return fmt(value, feature)
    return e(plain_value(value, entry.unit))


def _family_order(data: ReportData, code: str) -> list[str]:
    """Families from the one where the mine ranks highest (ties in contract order)."""
    ranks = {f: row["rank"] for f in FAMILIES if (row := data.target(code, f)) is not None}
    return sorted(FAMILIES, key=lambda f: (ranks.get(f, 10**9), FAMILIES.index(f)))


def render_family(data: ReportData, code: str, family: str, params: ReportParams, first: bool = False) -> str:
    """One family's block: rank, score components, the waterfall and each top reason with its records.

    Evidence tables are shown for the mine's leading family and for every family where it ranks in the
    upper `evidence_share` of the mines: the records an inspector checks, not every family's noise.
    """
    lang, t = data.lang, TEXT[data.lang]
    row = data.target(code, family)
    rank = int(row["rank"]) if row is not None else None
    n = int(row["n_ranked"]) if row is not None else len(data.features)
    with_evidence = first or (rank is not None and rank <= max(1, int(np.ceil(n * params.evidence_share))))
    expl = data.explanations.get(family)
    parts = [f'<div class="family" id="family-{family}"><h3>{e(RISK_NAMES[lang][family])} — {t["rank"]} '
             f'{rank if rank is not None else "?"} {t["of"]} {n}</h3>']
    if expl is not None:
        parts.append(f'<p class="note">{t["models"]}: {e(expl.version)}</p>')
        if expl.kind == "rule":
            parts.append(f'<p class="note">{e(t["rule_note"])}</p>')
        elif expl.kind == "unavailable":
            parts.append(f'<p class="warn">{e(t["missing_note"].format(version=expl.version, error=expl.error))}</p>')
        if expl.components is not None and code in expl.components.index:
            comp = expl.components.loc[code]
            rows = "".join(
                f"<tr><td>{e(COMPONENT_NAMES[lang].get(c, c))}</td><td class='num'>{e(f'{expl.weights.get(c, 0):.2f}')}"
                f"</td><td class='num'>{e(f'{comp[c]:.0%}')}</td></tr>" for c in comp.index
            )
            parts.append(f"<h4>{t['components']}</h4><table class='narrow'><thead><tr><th>{t['component']}</th>"
                         f"<th>{t['weight']}</th><th>{t['component_pct']}</th></tr></thead><tbody>{rows}</tbody></table>")
        parts.append(waterfall_chart(expl, code, lang, params.waterfall_features))
    reasons = data.reasons_of(code, family)
    if reasons.empty:
        parts.append(f'<p class="note">{t["no_reasons"]}</p>')
    elif not with_evidence:
        parts.append(f'<p class="note">{e(t["no_evidence"].format(share=params.evidence_share))}</p>')
    shown_sources: dict[tuple, int] = {}
    for r in reasons.itertuples(index=False):
        text = reason_text(r.feature, r.value, lang, data.window_days)
        value, band, overall = _peer_context(data, code, r.feature)
        ctx = (f'{t["value"]} {_unit_value(value, r.feature)}; {t["peer_value"]} {_unit_value(band, r.feature)}; '
               f'{t["all_value"]} {_unit_value(overall, r.feature)}; {t["contribution"]} {e(f"{r.contribution:+.3f}")}')
        parts.append(f'<div class="reason"><h4>{t["reason"]} {int(r.reason_rank)}: <span class="txt">{e(text)}</span>'
                     f'</h4><p class="note">{e(label(r.feature, lang))} — {ctx}</p>')
        if not with_evidence:
            parts.append("</div>")
            continue
        spec, rows, total = evidence_rows(data, code, r.feature, family)
        key = (spec.source, tuple(spec.columns), tuple(rows.index[: params.evidence_rows]), total)
        if total and key in shown_sources:
            parts.append(f'<p class="note">{e(t["see_above"].format(n=shown_sources[key]))}</p></div>')
            continue
        shown_sources[key] = int(r.reason_rank)
        parts.append(f"<p><b>{t['evidence']}</b> ({e(header_source(spec.source, lang))}; "
                     f"{e(t['shown'].format(n=min(total, params.evidence_rows), total=total))})</p>")
        if total:
            parts.append(_table(rows.head(params.evidence_rows), spec.columns, lang, SOURCE_TABLES.get(spec.source)))
        else:
            parts.append(f'<p class="note">{t["no_rows"]}</p>')
        parts.append("</div>")
    parts.append("</div>")
    return "".join(parts)


SOURCE_NAMES = {
    "alarms": ("alarm handling (alarm_handling)", "报警处置（alarm_handling）"),
    "sensors": ("sensor behaviour (sensor_behaviour)", "传感器行为（sensor_behaviour）"),
    "incidents": ("incident candidates (incident_candidates)", "疑似事故事件（incident_candidates）"),
    "days": ("daily output and power (production_balance)", "日产量与用电（production_balance）"),
    "shifts": ("8-hour blocks (shift_presence)", "8 小时段人员（shift_presence）"),
    "areas": ("long stays outside declared faces (presence)", "申报工作面以外的长时停留（presence）"),
    "idle": ("trips of 4 h or more spent in one area (shaft_trips, presence)", "4 小时以上只在一个区域的下井（shaft_trips, presence）"),
    "declarations": ("declared stops (declarations)", "停产申报（declarations）"),
}


def header_source(source: str, lang: str) -> str:
    pair = SOURCE_NAMES.get(source, (source, source))
    return pair[1] if lang == "zh" else pair[0]


def _alarm_category(frame: pd.DataFrame) -> pd.Series:
    """The worst handling problem of each alarm (no cut, feed live, people stayed, closed while gas high)."""
    def flag(c: str) -> pd.Series:
        return frame[c].fillna(False).astype(bool) if c in frame.columns else pd.Series(False, index=frame.index)

    needs = flag("needs_cut")
    return pd.Series(np.select(
        [flag("is_cut_missing"), flag("is_feed_contradicts"), flag("is_people_stayed"), flag("is_gas_high_after_close"),
         needs],
        ["alarm_nocut", "alarm_feed", "alarm_stayed", "alarm_gas", "alarm_ok"], "alarm_below"), index=frame.index)


def _first_data_day(days: pd.DataFrame, floor: date) -> date:
    """The first day with belt, power or a report (the history window may start before the data does)."""
    if days.empty:
        return floor
    has = np.zeros(len(days), dtype=bool)
    for col in ("belt_tonnes", "total_kwh", "reported_tonnes"):
        if col in days.columns:
            has |= pd.to_numeric(days[col], errors="coerce").fillna(0).to_numpy() > 0
    if not has.any():
        return floor
    return max(floor, pd.Timestamp(days["day"].to_numpy()[has].min()).date())


def render_timelines(data: ReportData, code: str, mine: pd.Series) -> str:
    lang, t = data.lang, TEXT[data.lang]
    end = data.as_of
    days = data.rows("days", code)
    start = _first_data_day(days, data.history_start)
    window = [(data.window_start, data.as_of, COLORS["window"], t["window_band"])]
    parts = [f"<h3>{t['tl_output']}</h3>"]
    if len(days):
        stops = days[days.get("is_declared_stop", pd.Series(False, index=days.index)).fillna(False).astype(bool)]
        bands = window + [(d, d, COLORS["stop"], t["stop"]) for d in stops["day"]]
        cap = pd.to_numeric(mine.get("approved_capacity_tpy"), errors="coerce") / 365.0
        series = [
            {"label": t["belt"], "x": days["day"], "y": days.get("belt_tonnes"), "color": COLORS["belt"]},
            {"label": t["reported"], "x": days["day"], "y": days.get("reported_tonnes"), "color": COLORS["reported"],
             "dash": "5 3"},
            {"label": t["implied"], "x": days["day"], "y": days.get("implied_tonnes"), "color": COLORS["implied"],
             "dash": "2 2"},
        ]
        parts.append(time_chart(start, end, series, t["tl_output"], [(float(cap), t["capacity_line"], COLORS["capacity"])],
                                bands, "t/d"))
    else:
        parts.append(f'<p class="note">{t["no_rows"]}</p>')
    parts.append(f"<h3>{t['tl_headcount']}</h3>")
    shifts = data.rows("shifts", code)
    if len(shifts):
        approved = pd.to_numeric(mine.get("approved_headcount"), errors="coerce")
        series = [{"label": t["peak"], "x": shifts["shift_start"], "y": shifts.get("peak_underground"),
                   "color": COLORS["belt"], "width": 1.1}]
        parts.append(time_chart(start, end, series, t["tl_headcount"],
                                [(float(approved), t["approved"], COLORS["up"])], window, ""))
    else:
        parts.append(f'<p class="note">{t["no_rows"]}</p>')
    parts.append(f"<h3>{t['tl_alarms']}</h3>")
    alarms = data.rows("alarms", code)
    if len(alarms):
        cat = _alarm_category(alarms)
        ratio = pd.to_numeric(alarms["max_value"], errors="coerce") / pd.to_numeric(alarms["alarm_high"], errors="coerce")
        series = []
        for key, color in ALARM_COLORS.items():
            sel = cat == key
            if sel.any():
                sub = alarms[sel]
                tips = [f"{p} {s:%Y-%m-%d %H:%M} {t[key]}" for p, s in zip(sub["point_code"], sub["started_at"],
                                                                            strict=True)]
                series.append({"label": f"{t[key]} ({int(sel.sum())})", "x": sub["started_at"], "y": ratio[sel],
                               "color": color, "kind": "points", "tips": tips})
        parts.append(time_chart(start, end, series, t["tl_alarms"], [(1.5, "1.5 × alarm level (face cut-off)" if lang == "en" else "1.5 倍报警门限（工作面断电值）", "#999")], window,
                                "peak / alarm level" if lang == "en" else "峰值/报警门限"))
    else:
        parts.append(f'<p class="note">{t["no_rows"]}</p>')
    return "".join(parts)


def render_scores(data: ReportData, code: str) -> str:
    """Each risk's score, rank and percentile, and the mine's place in its size band and province."""
    lang, t = data.lang, TEXT[data.lang]
    rows = []
    for risk in RISK_ORDER:
        p = data.peers[risk]
        if code not in p.index:
            continue
        r = p.loc[code]
        rows.append(
            f"<tr><td>{e(RISK_NAMES[lang][risk])}</td><td class='num'>{fmt(float(r['score']))}</td>"
            f"<td class='num'>{int(r['rank'])} {t['of']} {len(p)}</td>"
            f"<td class='num'>{e(f'{r.pct:.0%}')}</td>"
            f"<td class='num'>{int(r['band_rank'])} {t['of']} {int(r['band_n'])} ({e(r['band'])})</td>"
            f"<td class='num'>{int(r['province_rank'])} {t['of']} {int(r['province_n'])} ({e(r['province'])})</td>"
            f"<td class='num'>{fmt(float(r['band_median']))}</td>"
            f"<td>{strip_chart(p['score'], code, RISK_NAMES[lang][risk])}</td></tr>"
        )
    return (f"<table><thead><tr><th>{t['risk']}</th><th>{t['score']}</th><th>{t['rank']}</th><th>{t['percentile']}"
            f"</th><th>{t['band_rank']}</th><th>{t['province_rank']}</th><th>{t['peer_median']}</th>"
            f"<th>{t['all_mines']}</th></tr></thead><tbody>{''.join(rows)}</tbody></table>")


def render_coverage(data: ReportData, code: str) -> str:
    """Rows of each evidence source behind the report, in the whole span and in the window."""
    t = TEXT[data.lang]
    rows = []
    for source in ("days", "shifts", "alarms", "sensors", "incidents", "areas", "idle", "declarations"):
        sub = data.rows(source, code)
        in_window = int(sub["is_in_window"].fillna(False).astype(bool).sum()) if "is_in_window" in sub.columns else ""
        rows.append(f"<tr><td>{e(header_source(source, data.lang))}</td><td class='num'>{len(sub)}</td>"
                    f"<td class='num'>{in_window}</td></tr>")
    days = data.rows("days", code)
    note = ""
    if "is_in_window" in days.columns:
        d = days[days["is_in_window"].fillna(False).astype(bool)]
        missing = int(d["is_report_missing"].fillna(False).astype(bool).sum()) if "is_report_missing" in d else 0
        no_belt = int((pd.to_numeric(d.get("belt_tonnes"), errors="coerce").fillna(0) <= 0).sum())
        note = (f"<p class='note'>{'window days without a production report' if data.lang == 'en' else '窗口内未上报产量天数'}"
                f": {missing}; {'window days with no belt-scale output' if data.lang == 'en' else '窗口内皮带秤无产量天数'}"
                f": {no_belt}</p>")
    return (f"<table class='narrow'><thead><tr><th>{t['source']}</th><th>{t['rows']}</th><th>{t['window_rows']}</th>"
            f"</tr></thead><tbody>{''.join(rows)}</tbody></table>{note}")


def render_report(data: ReportData, code: str, params: ReportParams, generated: str) -> str:
    """The whole self-contained HTML report of one mine (inline CSS and SVG, no script, no external resource)."""
    lang, t = data.lang, TEXT[data.lang]
    mines = data.mines.set_index("mine_code")
    mine = mines.loc[code] if code in mines.index else pd.Series(dtype=object)
    overall = data.target(code, "overall")
    name = overall["mine_name"]
    region = " ".join(str(mine.get(c)) for c in ("province", "city", "county") if not _missing(mine.get(c)))
    versions = _parse_versions(data.targets)
    reasons = [overall[f"reason_{i}"] for i in range(1, 4) if not _missing(overall[f"reason_{i}"])]
    capacity = pd.to_numeric(mine.get("approved_capacity_tpy"), errors="coerce")
    cap_text = f"{capacity / 1e4:,.0f} 万吨/年" if lang == "zh" else f"{capacity / 1e6:.2f} Mt/a"
    facts = [
        (t["code"], e(code)), (t["region"], e(region)), (t["group"], e("" if _missing(mine.get("group_name")) else mine.get("group_name"))),
        (t["gas_class"], fmt(mine.get("gas_class"), "gas_class", lang)),
        (t["capacity"], e(cap_text if np.isfinite(capacity) else "")),
        (t["headcount"], fmt(mine.get("approved_headcount"))), (t["as_of"], e(data.as_of.isoformat())),
        (t["window"], e(f"{data.window_start} – {data.as_of}")),
        (t["history"], e(f"{data.history_start} – {data.window_start - timedelta(days=1)}")),
    ]
    head = (f"<!DOCTYPE html><html lang=\"{'zh-CN' if lang == 'zh' else 'en'}\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{e(t['title'])} — {e(name)} ({e(code)})</title><style>{CSS}</style></head><body><main>")
    body = [
        f"<header id=\"header\"><div class=\"sub\">MineWatch · {e(t['title'])}</div><h1>{e(name)}</h1>"
        f"<div><span class=\"badge\">{t['overall_rank']} {int(overall['rank'])} {t['of']} {int(overall['n_ranked'])}"
        f"</span></div><div class=\"facts\">"
        + "".join(f"<div><span>{k}:</span> {v}</div>" for k, v in facts) + "</div></header>",
        f"<section id=\"summary\"><h2>{t['summary']}</h2><p><b>{t['leading_reasons']}</b> "
        f"({e(RISK_NAMES[lang][overall['reason_family']])}):</p><ol>"
        + "".join(f"<li>{e(r)}</li>" for r in reasons) + "</ol>"
        f"<p class=\"note\">{t['models']}: " + "; ".join(f"{e(RISK_NAMES[lang][f])} {e(v)}" for f, v in versions.items())
        + "</p></section>",
        f"<section id=\"scores\"><h2>{t['scores']}</h2>{render_scores(data, code)}</section>",
        f"<section id=\"explanations\"><h2>{t['why']}</h2>"
        + "".join(render_family(data, code, f, params, first=i == 0)
                  for i, f in enumerate(_family_order(data, code))) + "</section>",
        f"<section id=\"timelines\"><h2>{t['timelines']}</h2>{render_timelines(data, code, mine)}</section>",
        f"<section id=\"limits\"><h2>{t['limits']}</h2><ul class=\"limits\">"
        + "".join(f"<li>{e(x)}</li>" for x in LIMITS[lang]) + f"</ul><h3>{t['coverage']}</h3>"
        + render_coverage(data, code) + "</section>",
        f"<footer>MineWatch {e(__version__)} · {t['as_of']} {e(data.as_of.isoformat())} · {t['models']}: "
        + "; ".join(f"{e(f)}={e(v)}" for f, v in versions.items()) + f" · {t['generated']} {e(generated)}</footer>",
    ]
    return head + "".join(body) + "</main></body></html>"


def render_index(data: ReportData, codes: list[str], pdfs: set[str], generated: str) -> str:
    """index.html: the reported mines in list order, each linked to its report (and PDF)."""
    lang, t = data.lang, TEXT[data.lang]
    tg = data.targets
    overall = tg[(tg["risk"] == "overall") & tg["mine_code"].isin(codes)]
    ranks = tg[tg["risk"].isin(FAMILIES)].pivot(index="mine_code", columns="risk", values="rank")
    heads = ["#", t["rank"], t["code"], "", t["region"], t["group"], t["score"],
             *(RISK_NAMES[lang][f] for f in FAMILIES), t["leading_reasons"], ""]
    rows = []
    for i, r in enumerate(overall.itertuples(index=False), start=1):
        code = r.mine_code
        region = " ".join(str(v) for v in (r.province, r.city, r.county) if not _missing(v))
        links = f'<a href="{e(code)}.html">{t["report"]}</a>'
        if code in pdfs:
            links += f' · <a href="{e(code)}.pdf">{t["pdf"]}</a>'
        fam = "".join(f"<td class='num'>{fmt(ranks.at[code, f]) if code in ranks.index else ''}</td>" for f in FAMILIES)
        rows.append(
            f"<tr><td class='num'>{i}</td><td class='num'>{int(r.rank)}</td><td class='code'>{e(code)}</td>"
            f'<td><a href="{e(code)}.html">{e(r.mine_name)}</a></td><td>{e(region)}</td><td>{e("" if _missing(r.group_name) else r.group_name)}</td>'
            f"<td class='num'>{fmt(float(r.score))}</td>{fam}<td>{e(r.reason_1)}</td><td>{links}</td></tr>"
        )
    n = int(overall["n_ranked"].iloc[0]) if len(overall) else 0
    return (
        f"<!DOCTYPE html><html lang=\"{'zh-CN' if lang == 'zh' else 'en'}\"><head><meta charset=\"utf-8\">"
        f"<title>{e(t['index_title'])} {e(data.as_of.isoformat())}</title><style>{CSS}</style></head><body><main>"
        f"<header id=\"header\"><div class=\"sub\">MineWatch</div><h1>{e(t['index_title'])}</h1>"
        f"<p>{t['as_of']}: {e(data.as_of.isoformat())} · {e(t['index_intro'].format(n=n))}</p></header>"
        f"<section id=\"targets\"><table><thead><tr>{''.join(f'<th>{e(h)}</th>' for h in heads)}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></section>"
        f"<footer>MineWatch {e(__version__)} · {t['generated']} {e(generated)}</footer></main></body></html>"
    )


# ---------------------------------------------------------------------------------------------- PDF


def find_chromium() -> str | None:
    """The headless browser used for PDFs (MINEWATCH_CHROMIUM overrides the search)."""
    override = os.environ.get("MINEWATCH_CHROMIUM")
    if override:
        return override if Path(override).exists() or shutil.which(override) else None
    return next((p for p in map(shutil.which, CHROMIUM_NAMES) if p), None)


_SPAWN_LOCK = threading.Lock()


class _Browser:
    """One headless Chromium driven over --remote-debugging-pipe: a page load and printToPDF per report."""

    def __init__(self, binary: str, timeout: float) -> None:
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="minewatch-chromium-")
        cmd_r, self._cmd_w = os.pipe()
        self._res_r, res_w = os.pipe()

        def child_fds() -> None:  # Chromium reads commands on fd 3 and writes replies on fd 4
            r, w = os.dup(cmd_r), os.dup(res_w)  # above 4 first, so neither end is clobbered by the other
            os.dup2(r, 3)
            os.dup2(w, 4)

        with _SPAWN_LOCK:  # preexec_fn is only safe when no other thread forks at the same moment
            self.proc = subprocess.Popen(
                [binary, *CHROMIUM_FLAGS, "--remote-debugging-pipe", f"--user-data-dir={self.profile}", "about:blank"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                # the pipe ends are close-on-exec; dup2 onto 3 and 4 makes just those two survive the exec
                preexec_fn=child_fds, close_fds=False,
            )
        os.close(cmd_r)
        os.close(res_w)
        self._buf = b""
        self._id = 0
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self.call("Page.enable", session=True)

    def _read(self, deadline: float) -> dict:
        import select

        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._res_r], [], [], left)[0]:
                raise TimeoutError("chromium did not answer in time")
            chunk = os.read(self._res_r, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the debugging pipe")
            self._buf += chunk
        message, self._buf = self._buf.split(b"\0", 1)
        return json.loads(message)

    def call(self, method: str, params: dict | None = None, session: bool = False,
             wait_event: str | None = None) -> dict:
        """Send one command; return its result (after `wait_event` on the page, when given)."""
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = self.session
        os.write(self._cmd_w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        result, seen_event = None, wait_event is None
        while result is None or not seen_event:
            reply = self._read(deadline)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error'].get('message')}")
                result = reply.get("result", {})
            elif wait_event and reply.get("method") == wait_event:
                seen_event = True
        return result

    def print_pdf(self, html_path: Path, pdf_path: Path) -> None:
        self.call("Page.navigate", {"url": html_path.resolve().as_uri()}, session=True, wait_event="Page.loadEventFired")
        result = self.call("Page.printToPDF", {"printBackground": True, "preferCSSPageSize": True,
                                               "displayHeaderFooter": False}, session=True)
        pdf_path.write_bytes(base64.b64decode(result["data"]))

    def close(self) -> None:
        try:
            os.close(self._cmd_w)
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
        finally:
            os.close(self._res_r)
            shutil.rmtree(self.profile, ignore_errors=True)


def _print_one(binary: str, html_path: Path, pdf_path: Path, timeout: float) -> None:
    """Fallback: one Chromium process per PDF (slower; used if the debugging pipe fails)."""
    with tempfile.TemporaryDirectory(prefix="minewatch-chromium-") as profile:
        subprocess.run(
            [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--no-pdf-header-footer",
             f"--print-to-pdf={pdf_path}", html_path.resolve().as_uri()],
            check=True, capture_output=True, timeout=timeout,
        )


def write_pdfs(pairs: list[tuple[Path, Path]], binary: str, timeout: float, workers: int = 2) -> list[Path]:
    """Print each HTML file to its PDF; two browsers share the work. Returns the PDFs written."""
    if not pairs:
        return []
    chunks = [pairs[i::workers] for i in range(min(workers, len(pairs)))]

    def run(chunk: list[tuple[Path, Path]]) -> list[Path]:
        done = []
        try:
            browser = _Browser(binary, timeout)
        except (OSError, RuntimeError, TimeoutError, KeyError) as err:
            log.warning("chromium debugging pipe failed (%s); printing one process per PDF", err)
            browser = None
        try:
            for src, dst in chunk:
                try:
                    if browser is None:
                        raise RuntimeError("no browser")
                    browser.print_pdf(src, dst)
                except (OSError, RuntimeError, TimeoutError) as err:
                    if browser is not None:
                        log.warning("printing %s over the pipe failed (%s); retrying alone", src.name, err)
                    _print_one(binary, src, dst, timeout)
                done.append(dst)
        finally:
            if browser is not None:
                browser.close()
        return done

    with ThreadPoolExecutor(max_workers=len(chunks)) as pool:
        return [p for part in pool.map(run, chunks) for p in part]


# ---------------------------------------------------------------------------------------------- stage


def write_reports(data: ReportData, codes: list[str], out: Path, params: ReportParams, pdf: bool) -> dict[str, object]:
    """Write <code>.html for each mine, the PDFs when Chromium is present, and index.html; returns a summary."""
    out.mkdir(parents=True, exist_ok=True)
    generated = datetime.now().strftime("%Y-%m-%d %H:%M")
    started = time.perf_counter()
    pages = []
    for code in codes:
        path = out / f"{code}.html"
        path.write_text(render_report(data, code, params, generated), encoding="utf-8")
        pages.append(path)
    log.info("rendered %d HTML report(s) in %.1f s", len(pages), time.perf_counter() - started)
    started = time.perf_counter()
    pdfs: list[Path] = []
    chromium = find_chromium() if pdf else None
    if pdf and chromium is None:
        log.warning("no Chromium found (apt-get install chromium, or set MINEWATCH_CHROMIUM): PDFs skipped")
    elif pdf:
        pdfs = write_pdfs([(p, p.with_suffix(".pdf")) for p in pages], chromium, params.pdf_timeout_seconds)
        log.info("printed %d PDF(s) in %.1f s", len(pdfs), time.perf_counter() - started)
    index = out / "index.html"
    index.write_text(render_index(data, codes, {p.stem for p in pdfs}, generated), encoding="utf-8")
    return {"index": index, "reports": pages, "pdfs": pdfs, "chromium": chromium}


def _tracking_uri_beside(features: Path) -> None:
    """Use the registry `run` keeps beside its outputs when MLFLOW_TRACKING_URI is unset and one is there."""
    candidate = features.resolve().parent / "mlflow.db"
    if not os.environ.get("MLFLOW_TRACKING_URI") and candidate.exists():
        os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{candidate}"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    who = parser.add_mutually_exclusive_group()
    who.add_argument("--mine", action="append", default=None, metavar="CODE",
                     help="report this mine (repeat for several)")
    who.add_argument("--top", type=int, default=None, help="report the first K mines of the overall list (params: 20)")
    parser.add_argument("--as-of", type=date.fromisoformat, default=None,
                        help="the scoring to explain (default: the latest stored by `minewatch score`)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT_DIR, help="folder for the reports and index.html")
    parser.add_argument("--lang", choices=("zh", "en"), default="en", help="language of the reports")
    parser.add_argument("--pdf", action=argparse.BooleanOptionalAction, default=True,
                        help="also print each report to PDF with headless Chromium (default: yes, if installed)")
    parser.add_argument("--warehouse", type=Path, default=DEFAULT_WAREHOUSE, help="DuckDB warehouse (read only)")
    parser.add_argument("--features", type=Path, default=DEFAULT_FEATURES, help="features DuckDB with the scorings")


def main(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    params = load_section("report", ReportParams, args.params)
    train_params = load_section("train", TrainParams, args.params)
    _tracking_uri_beside(args.features)
    bf = BuildFeaturesParams(train_params.window_days, train_params.history_days)
    con = connect(args.warehouse, args.features, bf, read_only=True)
    try:
        as_of = resolve_as_of(con, args.as_of)
        built = evidence_as_of(con)
    finally:
        con.close()
    if built != as_of:
        # the evidence tables hold one as-of at a time; the reports must show the records behind this scoring
        log.info("evidence tables are as of %s; rebuilding them as of %s", built, as_of)
        con = connect(args.warehouse, args.features, bf)
        try:
            ensure_feature_history(con, [as_of], train_params, force=True)
        finally:
            con.close()
    con = connect(args.warehouse, args.features, bf, read_only=True)
    try:
        data = load_report_data(con, as_of, args.mine, args.top or params.top, args.lang, train_params)
    finally:
        con.close()
    result = write_reports(data, data.codes, args.out, params, args.pdf)
    elapsed = time.perf_counter() - started
    pdf_note = f", {len(result['pdfs'])} PDF(s)" if result["chromium"] else (
        ", no PDFs (Chromium not found)" if args.pdf else "")
    print(f"{len(result['reports'])} report(s) as of {as_of}{pdf_note} in {elapsed:.1f} s")
    print(f"index: {result['index']}")
    return 0
