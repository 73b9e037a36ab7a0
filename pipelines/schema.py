"""The data contract (../shared/data-contract.md, section A) as code: tables, columns, types, codes."""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

TEXT = "text"
INT = "int"
FLOAT = "float"
DATE = "date"
TIMESTAMP = "timestamp"

ARROW_TYPES = {
    TEXT: pa.string(),
    INT: pa.int64(),
    FLOAT: pa.float64(),
    DATE: pa.date32(),
    TIMESTAMP: pa.timestamp("us"),
}
DUCKDB_TYPES = {TEXT: "VARCHAR", INT: "BIGINT", FLOAT: "DOUBLE", DATE: "DATE", TIMESTAMP: "TIMESTAMP"}

MINE_CODE_LEN = 12
AREA_CODE_LEN = 16
STATION_CODE_LEN = 22
CARD_CODE_LEN = 17

GAS_CLASSES = ("low", "high", "outburst")
FACE_TYPES = ("longwall", "heading")
DECLARATION_KINDS = ("maintenance", "shutdown", "holiday")
AREA_TYPES = ("井口区域", "重点区域", "限制区域", "其它区域")
VALUE_TYPES = ("MN", "KG", "LJ", "DT")
RELATIONS = ("D", "K", "B", "G", "H", "Z", "T")
CIRCUITS = ("hoist", "ventilation", "drainage", "transport", "face", "heading", "other")
INSPECTION_KINDS = ("routine", "targeted", "random", "complaint")
FAMILIES = ("hidden_workface", "overproduction", "alarm_falsification", "concealed_accident")
RISKS = FAMILIES + ("overall",)

SENSOR_TYPES = {
    "0001": ("环境瓦斯", "MN", "%CH4"),
    "0002": ("风速", "MN", "m/s"),
    "0003": ("温度", "MN", "℃"),
    "0004": ("一氧化碳", "MN", "ppm"),
    "0012": ("氧气", "MN", "%"),
    "0013": ("二氧化碳", "MN", "%"),
    "0019": ("风量", "MN", "m3/min"),
    "0020": ("顶板离层位移", "MN", "mm"),
    "0043": ("激光甲烷", "MN", "%CH4"),
    "1001": ("局部通风机", "KG", ""),
    "1004": ("设备开停", "KG", ""),
    "1009": ("断电器", "KG", ""),
    "1010": ("主通风机", "KG", ""),
    "1011": ("馈电器", "KG", ""),
    "3001": ("产量", "LJ", "t"),
}
METHANE_TYPES = ("0001", "0043")

ALARM_TYPES = {
    "001": "超限报警",
    "002": "断电报警",
    "003": "馈电异常",
    "004": "传感器断线",
    "005": "基站断电",
    "006": "基站不通",
    "007": "标校",
    "008": "超量程",
    "009": "超上限预警",
    "010": "超下限预警",
}

STATUS_BITS = {
    0: "正常",
    1: "报警",
    2: "断电",
    4: "标校",
    8: "超量程",
    16: "分站故障",
    32: "不巡检",
    64: "暂停",
    128: "传感器故障",
}
STATUS_MASK = sum(STATUS_BITS)


@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    required: bool = False
    length: int | None = None  # exact length of a code column
    values: tuple[str, ...] | None = None  # allowed values of a code column
    digits: bool = False  # text made of digits only (codes whose numbers are text)


@dataclass(frozen=True)
class Table:
    name: str
    grain: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]  # natural key: duplicates on it are rejected
    references: tuple[tuple[tuple[str, ...], str, tuple[str, ...]], ...] = field(default=())

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    def arrow_schema(self) -> pa.Schema:
        return pa.schema([pa.field(c.name, ARROW_TYPES[c.kind]) for c in self.columns])


def _mine() -> Column:
    return Column("mine_code", TEXT, True, MINE_CODE_LEN, digits=True)


def _c(name: str, kind: str = TEXT, required: bool = False, **kw) -> Column:
    return Column(name, kind, required, **kw)


TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "mines",
            "one row per mine",
            (
                _mine(),
                _c("mine_name", required=True),
                _c("province"),
                _c("city"),
                _c("county"),
                _c("group_name"),
                _c("approved_capacity_tpy", FLOAT, True),
                _c("approved_headcount", INT, True),
                _c("gas_class", values=GAS_CLASSES),
            ),
            key=("mine_code",),
        ),
        Table(
            "workfaces",
            "one row per declared face",
            (
                _mine(),
                _c("face_code", required=True),
                _c("face_name"),
                _c("face_type", required=True, values=FACE_TYPES),
                _c("area_code", required=True, length=AREA_CODE_LEN, digits=True),
                _c("declared_from", DATE, True),
                _c("declared_to", DATE),
            ),
            key=("mine_code", "face_code"),
            references=((("mine_code",), "mines", ("mine_code",)),),
        ),
        Table(
            "declarations",
            "one row per declared stop",
            (
                _mine(),
                _c("kind", required=True, values=DECLARATION_KINDS),
                _c("start_date", DATE, True),
                _c("end_date", DATE, True),
                _c("face_code"),
                _c("declared_at", TIMESTAMP),
            ),
            key=("mine_code", "kind", "start_date", "face_code"),
            references=((("mine_code",), "mines", ("mine_code",)),),
        ),
        Table(
            "production_reports",
            "one row per mine and day",
            (_mine(), _c("date", DATE, True), _c("reported_tonnes", FLOAT, True)),
            key=("mine_code", "date"),
            references=((("mine_code",), "mines", ("mine_code",)),),
        ),
        Table(
            "areas",
            "one row per positioning area",
            (
                _mine(),
                _c("area_code", required=True, length=AREA_CODE_LEN, digits=True),
                _c("area_name"),
                _c("area_type", required=True, values=AREA_TYPES),
                _c("approved_headcount", INT),
            ),
            key=("mine_code", "area_code"),
            references=((("mine_code",), "mines", ("mine_code",)),),
        ),
        Table(
            "stations",
            "one row per positioning reader",
            (
                _mine(),
                _c("station_code", required=True, length=STATION_CODE_LEN, digits=True),
                _c("station_name"),
                _c("x", FLOAT),
                _c("y", FLOAT),
                _c("z", FLOAT),
            ),
            key=("mine_code", "station_code"),
            references=((("mine_code",), "mines", ("mine_code",)),),
        ),
        Table(
            "people",
            "one row per card",
            (
                _mine(),
                _c("card_code", required=True, length=CARD_CODE_LEN, digits=True),
                _c("name"),
                _c("job"),
                _c("team"),
                _c("is_leader", INT, values=None),
                _c("is_special", INT, values=None),
                _c("registered_on", DATE, True),
                _c("deregistered_on", DATE),
            ),
            key=("mine_code", "card_code"),
            references=((("mine_code",), "mines", ("mine_code",)),),
        ),
        Table(
            "shaft_trips",
            "one row per trip underground",
            (
                _mine(),
                _c("card_code", required=True, length=CARD_CODE_LEN, digits=True),
                _c("down_at", TIMESTAMP, True),
                _c("up_at", TIMESTAMP),
            ),
            key=("mine_code", "card_code", "down_at"),
            references=((("mine_code", "card_code"), "people", ("mine_code", "card_code")),),
        ),
        Table(
            "presence",
            "one row per stay of a card in an area",
            (
                _mine(),
                _c("card_code", required=True, length=CARD_CODE_LEN, digits=True),
                _c("area_code", required=True, length=AREA_CODE_LEN, digits=True),
                _c("station_code", length=STATION_CODE_LEN, digits=True),
                _c("entered_at", TIMESTAMP, True),
                _c("left_at", TIMESTAMP),
            ),
            key=("mine_code", "card_code", "entered_at"),
            references=(
                (("mine_code", "card_code"), "people", ("mine_code", "card_code")),
                (("mine_code", "area_code"), "areas", ("mine_code", "area_code")),
            ),
        ),
        Table(
            "sensors",
            "one row per measuring point",
            (
                _mine(),
                _c("point_code", required=True),
                _c("sensor_type", required=True, length=4, digits=True),
                _c("value_type", required=True, values=VALUE_TYPES),
                _c("unit"),
                _c("range_low", FLOAT),
                _c("range_high", FLOAT),
                _c("alarm_high", FLOAT),
                _c("alarm_clear_high", FLOAT),
                _c("cutoff_high", FLOAT),
                _c("restore_high", FLOAT),
                _c("location"),
                _c("area_code", length=AREA_CODE_LEN, digits=True),
                _c("x", FLOAT),
                _c("y", FLOAT),
                _c("z", FLOAT),
            ),
            key=("mine_code", "point_code"),
            references=((("mine_code",), "mines", ("mine_code",)),),
        ),
        Table(
            "sensor_links",
            "one row per relation between two points",
            (
                _mine(),
                _c("point_code", required=True),
                _c("relation", required=True, values=RELATIONS),
                _c("linked_point_code", required=True),
            ),
            key=("mine_code", "point_code", "relation", "linked_point_code"),
            references=(
                (("mine_code", "point_code"), "sensors", ("mine_code", "point_code")),
                (("mine_code", "linked_point_code"), "sensors", ("mine_code", "point_code")),
            ),
        ),
        Table(
            "sensor_stats",
            "one row per point and period",
            (
                _mine(),
                _c("point_code", required=True),
                _c("period_start", TIMESTAMP, True),
                _c("period_end", TIMESTAMP, True),
                _c("avg_value", FLOAT, True),
                _c("max_value", FLOAT, True),
                _c("max_at", TIMESTAMP),
                _c("min_value", FLOAT, True),
                _c("min_at", TIMESTAMP),
                _c("status", INT),
            ),
            key=("mine_code", "point_code", "period_start"),
            references=((("mine_code", "point_code"), "sensors", ("mine_code", "point_code")),),
        ),
        Table(
            "switch_events",
            "one row per state change of a switch point",
            (
                _mine(),
                _c("point_code", required=True),
                _c("changed_at", TIMESTAMP, True),
                _c("state", INT, True),
            ),
            key=("mine_code", "point_code", "changed_at"),
            references=((("mine_code", "point_code"), "sensors", ("mine_code", "point_code")),),
        ),
        Table(
            "alarms",
            "one row per abnormal event",
            (
                _mine(),
                _c("point_code", required=True),
                _c("alarm_type", required=True, length=3, values=tuple(ALARM_TYPES)),
                _c("started_at", TIMESTAMP, True),
                _c("ended_at", TIMESTAMP),
                _c("max_value", FLOAT),
                _c("max_at", TIMESTAMP),
                _c("min_value", FLOAT),
                _c("min_at", TIMESTAMP),
                _c("avg_value", FLOAT),
                _c("cause"),
                _c("measure"),
                _c("entered_at", TIMESTAMP),
                _c("entered_by"),
            ),
            key=("mine_code", "point_code", "alarm_type", "started_at"),
            references=((("mine_code", "point_code"), "sensors", ("mine_code", "point_code")),),
        ),
        Table(
            "production",
            "one row per belt-scale point and period",
            (
                _mine(),
                _c("point_code", required=True),
                _c("period_start", TIMESTAMP, True),
                _c("period_end", TIMESTAMP, True),
                _c("tonnes", FLOAT, True),
            ),
            key=("mine_code", "point_code", "period_start"),
            references=((("mine_code", "point_code"), "sensors", ("mine_code", "point_code")),),
        ),
        Table(
            "power",
            "one row per meter and 15-minute interval",
            (
                _mine(),
                _c("meter_code", required=True),
                _c("circuit", required=True, values=CIRCUITS),
                _c("face_code"),
                _c("interval_end", TIMESTAMP, True),
                _c("kwh", FLOAT, True),
            ),
            key=("mine_code", "meter_code", "interval_end"),
            references=((("mine_code",), "mines", ("mine_code",)),),
        ),
        Table(
            "inspections",
            "one row per completed inspection",
            (
                _mine(),
                _c("inspection_id", required=True),
                _c("started_on", DATE, True),
                _c("ended_on", DATE, True),
                _c("kind", required=True, values=INSPECTION_KINDS),
                _c("found_hidden_workface", INT),
                _c("found_overproduction", INT),
                _c("found_alarm_falsification", INT),
                _c("found_concealed_accident", INT),
            ),
            key=("mine_code", "inspection_id"),
            references=((("mine_code",), "mines", ("mine_code",)),),
        ),
        Table(
            "accident_reports",
            "one row per accident the mine reported",
            (
                _mine(),
                _c("report_id", required=True),
                _c("occurred_at", TIMESTAMP, True),
                _c("reported_at", TIMESTAMP, True),
                _c("kind"),
                _c("deaths", INT),
                _c("injuries", INT),
            ),
            key=("mine_code", "report_id"),
            references=((("mine_code",), "mines", ("mine_code",)),),
        ),
    )
}

# columns whose value must be 0 or 1 when present
BINARY_COLUMNS = {
    ("people", "is_leader"),
    ("people", "is_special"),
    ("inspections", "found_hidden_workface"),
    ("inspections", "found_overproduction"),
    ("inspections", "found_alarm_falsification"),
    ("inspections", "found_concealed_accident"),
    ("switch_events", "state"),
}

# (table, start column, end column): the end may not come before the start
INTERVALS = (
    ("workfaces", "declared_from", "declared_to"),
    ("declarations", "start_date", "end_date"),
    ("shaft_trips", "down_at", "up_at"),
    ("presence", "entered_at", "left_at"),
    ("sensor_stats", "period_start", "period_end"),
    ("alarms", "started_at", "ended_at"),
    ("production", "period_start", "period_end"),
    ("inspections", "started_on", "ended_on"),
    ("accident_reports", "occurred_at", "reported_at"),
)

# load order: a table's references come before it
LOAD_ORDER = (
    "mines",
    "workfaces",
    "declarations",
    "production_reports",
    "areas",
    "stations",
    "people",
    "shaft_trips",
    "presence",
    "sensors",
    "sensor_links",
    "sensor_stats",
    "switch_events",
    "alarms",
    "production",
    "power",
    "inspections",
    "accident_reports",
)
assert set(LOAD_ORDER) == set(TABLES)
