"""Tunable values of the simulator (params.yaml section `simulate`), as frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pipelines.params import load_section


@dataclass(frozen=True)
class MinesParams:
    # capacity (China_Mine_CH4_EF Fig.1, 2020-2023, mines inside the 0.3-5 Mt/a bound: median 0.9,
    # p10 0.3, p90 2.4, 15 % exactly at 0.3, 37 % >= 1.2): a log-normal whose draws below the bound sit at the
    # bound (the legal minimum many small mines were upgraded to), above it are drawn again, and most land on
    # the standard approved sizes (85 % of real mines)
    capacity_median_tpy: float = 820_000.0
    capacity_sigma: float = 0.88
    capacity_min_tpy: float = 300_000.0
    capacity_max_tpy: float = 5_000_000.0
    capacity_step_tpy: float = 50_000.0
    capacity_standard_mt: tuple[float, ...] = (0.3, 0.45, 0.6, 0.9, 1.2, 1.5, 1.8, 2.1, 2.4, 3.0, 4.0, 5.0)
    capacity_standard_share: float = 0.85
    # gas classes (Fig.S3, 4,006 mines: low 70 %, high 15 %, outburst 16 %)
    gas_class_probs: tuple[float, float, float] = (0.70, 0.15, 0.15)
    # approved people underground at once = a + b * capacity in Mt/a, clipped
    headcount_base: float = 70.0
    headcount_per_mt: float = 58.0
    headcount_min: int = 80
    headcount_max: int = 300
    four_shift_share: float = 0.4  # share of mines on 四六制 (else 三八制)
    belt_points_large_mt: float = 2.4  # mines at or above this capacity have two belt scales


@dataclass(frozen=True)
class PeopleParams:
    crew_share_of_approved: tuple[float, float] = (0.36, 0.44)  # people per shift / approved headcount
    roster_spare: float = 1.25  # roster members per shift slot (rest days, leave)
    work_prob: float = 0.86  # chance a rostered member works on a given day
    # annual and sick leave: a block of days off, the innocent look-alike of a worker hurt and kept off work
    leave_per_year: float = 0.9  # blocks per roster member and year
    leave_days: tuple[int, int] = (7, 21)
    joiner_share: float = 0.04  # roster share registered during the simulated period
    leaver_share: float = 0.04  # roster share deregistered during the simulated period
    arrive_before_min: tuple[float, float] = (25.0, 55.0)  # go down this long before the shift starts
    leave_after_min: tuple[float, float] = (0.0, 25.0)  # leave the workplace this long after the shift ends
    shaft_stay_min: tuple[float, float] = (1.0, 6.0)
    travel_min: tuple[float, float] = (12.0, 35.0)  # roadway travel to the workplace, per mine
    double_shift_prob: float = 0.004  # chance a face worker legitimately stays for two shifts
    area_limit_factor: float = 2.3  # face area approved headcount / face crew per shift


@dataclass(frozen=True)
class OutputParams:
    utilisation: tuple[float, float] = (0.62, 0.9)  # honest planned output per working day / (capacity / 365)
    heading_share: float = 0.06  # coal from each heading, share of mine output
    belt_noise: float = 0.03
    report_noise: float = 0.012  # daily report vs belt scale, relative sd (clipped at 3 %)
    report_clip: float = 0.03
    report_missing_prob: float = 0.03
    breakdowns_per_face_month: float = 0.8
    breakdown_hours: tuple[float, float] = (1.0, 30.0)
    # a long breakdown often sends the face crew up mid-shift: the innocent look-alike of a crew that
    # comes up after an accident (DOMAIN: "equipment breakdowns with nobody missing")
    breakdown_crew_out_prob: float = 0.4
    breakdown_crew_out_min_hours: float = 3.0
    maintenance_per_mine: tuple[int, int] = (0, 2)
    maintenance_days: tuple[int, int] = (1, 4)
    holiday_stop_prob: float = 0.35  # chance a mine declares a holiday stop for a public holiday


@dataclass(frozen=True)
class PowerParams:
    kwh_per_tonne: tuple[float, float] = (17.0, 32.0)  # mine-specific, DOMAIN: 15-35
    fan_kw_per_mt: tuple[float, float] = (350.0, 700.0)
    fan_kw_min: float = 250.0
    pump_kw_per_mt: tuple[float, float] = (120.0, 400.0)
    pump_hours: tuple[float, float] = (7.0, 12.0)  # pumping hours a day outside the rainy season
    rainy_factor: tuple[float, float] = (1.4, 2.3)  # peak pumping in July-August (七下八上)
    rainy_peak_doy: int = 208
    rainy_width_days: float = 28.0
    other_kw_per_mt: tuple[float, float] = (80.0, 160.0)
    variable_split: tuple[float, float, float] = (0.25, 0.25, 0.5)  # hoist, transport, face kWh/t shares


@dataclass(frozen=True)
class MonitoringParams:
    period_minutes: int = 5  # sensor_stats period
    # face methane baseline range per gas class (low, high, outburst); RuleKit's gassy longwall reads
    # 0.37-0.75 % when not producing, and Chinese faces stay under the 1.0 % alarm in normal work
    ch4_base: tuple[tuple[float, float], tuple[float, float], tuple[float, float]] = (
        (0.03, 0.14),
        (0.30, 0.60),
        (0.40, 0.75),
    )
    # methane added at full production, per gas class: RuleKit reads +34-39 % while producing; about 45 % of
    # the base here, because gas lags output by ~25 min and some of it shows after the shearer stops
    ch4_coupling: tuple[tuple[float, float], tuple[float, float], tuple[float, float]] = (
        (0.03, 0.12),
        (0.13, 0.28),
        (0.17, 0.34),
    )
    ch4_face_peak: float = 0.8  # base and coupling of a face are scaled down together to keep full output below this
    ch4_noise: float = 0.002  # sd of the one-minute noise
    # a reading changes only when the true value moves this many quanta (0.01 % CH4, 1 ppm CO, 0.1 m/s or
    # 0.1 degC) away from the last reported one: real points repeat their previous poll 77-100 % of the time
    report_deadband: float = 1.0
    fresh_air_ch4_day_share: float = 0.35  # days intake/refuge methane carries a trace (0.01-0.05 %), else 0.00
    ret_flat_day_share: float = 0.5  # days a low-gas mine's total-return methane holds one value all day
    co_quiet_day_share: float = 0.5  # days roadway/return CO of a low-gas mine reads 0 ppm all day
    co_active_ppm: tuple[int, int] = (1, 3)  # else this while coal is cut (webGas: every CO reading is 0)
    exceed_per_face_month: tuple[float, float, float] = (0.15, 2.5, 4.0)  # genuine exceedances per gas class
    calibration_days: int = 15  # AQ 1029: methane sensors calibrated every 15 days
    faults_per_mine_month: float = 1.5
    fault_hours: tuple[float, float] = (0.5, 20.0)
    # heading power off around shift changes: log-normal minutes (webGas: median 21, p25 5, p75 49, max 99)
    heading_feed_off_median_min: float = 20.0
    heading_feed_off_sigma: float = 1.0
    heading_feed_off_clip_min: tuple[float, float] = (0.5, 100.0)
    heading_feed_off_prob: float = 0.7  # chance of a feed-off period at a heading shift change
    entry_delay_min: tuple[float, float] = (5.0, 90.0)
    restore_delay_min: tuple[float, float] = (2.0, 15.0)

    def __post_init__(self) -> None:
        # YAML gives nested lists; keep the dataclass hashable and equal to its defaults
        for name in ("ch4_base", "ch4_coupling"):
            object.__setattr__(self, name, tuple(tuple(x) for x in getattr(self, name)))


@dataclass(frozen=True)
class AnomalyParams:
    positive_share: tuple[float, float, float, float] = (0.2, 0.25, 0.25, 0.15)  # per family, FAMILIES order
    window_days: tuple[int, int] = (15, 70)
    decoy_share: float = 0.5  # share of mines given each kind of decoy, drawn per decoy kind
    victims: tuple[int, int] = (1, 4)
    # what a mechanism changes, as ranges (documented where used)
    overproduction_factor: tuple[float, float] = (1.18, 1.45)
    underweigh_factor: tuple[float, float] = (0.72, 0.86)
    over_manning_factor: tuple[float, float] = (1.35, 1.7)
    hidden_face_share: tuple[float, float] = (0.25, 0.45)  # hidden face output / declared output
    exceed_boost: float = 2.0  # falsifying mines have more exceedances in their window
    falsification_gassy_weight: float = 2.5  # odds of a high/outburst mine vs a low-gas one to falsify alarms


@dataclass(frozen=True)
class InspectionParams:
    routine_every_days: tuple[int, int] = (70, 130)
    duration_days: tuple[int, int] = (1, 5)
    targeted_share: float = 0.25  # share of mines most suspected that get a targeted inspection
    random_share: float = 0.08
    complaint_prob: float = 0.35  # chance that a concealed accident or over-manning leads to a complaint
    detect_prob: tuple[float, float, float, float] = (0.45, 0.5, 0.4, 0.35)  # per family, FAMILIES order
    targeted_detect_bonus: float = 0.2
    false_find_prob: float = 0.03
    lookback_days: int = 30


@dataclass(frozen=True)
class SimulateParams:
    default_start: str = "2025-05-01"  # 150 days from here cover Labour Day, Dragon Boat and the rainy season
    workers: int = 2
    mines: MinesParams = field(default_factory=MinesParams)
    people: PeopleParams = field(default_factory=PeopleParams)
    output: OutputParams = field(default_factory=OutputParams)
    power: PowerParams = field(default_factory=PowerParams)
    monitoring: MonitoringParams = field(default_factory=MonitoringParams)
    anomalies: AnomalyParams = field(default_factory=AnomalyParams)
    inspections: InspectionParams = field(default_factory=InspectionParams)


def load_params(path: Path | str | None = None) -> SimulateParams:
    """The `simulate` section of params.yaml (defaults where absent)."""
    return load_section("simulate", SimulateParams, path)
