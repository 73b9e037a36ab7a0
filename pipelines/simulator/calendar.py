"""Chinese public holidays and the rainy season, as day indices of a simulated period."""

from __future__ import annotations

import datetime as dt

import numpy as np

# (first day, number of days, name) of the official holiday blocks (国务院办公厅 notices)
HOLIDAYS = {
    2024: (((1, 1), 1, "元旦"), ((2, 10), 8, "春节"), ((4, 4), 3, "清明节"), ((5, 1), 5, "劳动节"), ((6, 10), 1, "端午节"),
           ((9, 15), 3, "中秋节"), ((10, 1), 7, "国庆节")),
    2025: (((1, 1), 1, "元旦"), ((1, 28), 8, "春节"), ((4, 4), 3, "清明节"), ((5, 1), 5, "劳动节"), ((5, 31), 3, "端午节"),
           ((10, 1), 8, "国庆节")),
    2026: (((1, 1), 3, "元旦"), ((2, 15), 9, "春节"), ((4, 4), 3, "清明节"), ((5, 1), 5, "劳动节"), ((6, 19), 3, "端午节"),
           ((9, 25), 3, "中秋节"), ((10, 1), 7, "国庆节")),
}
DEFAULT_HOLIDAYS = (((1, 1), 1, "元旦"), ((5, 1), 3, "劳动节"), ((10, 1), 7, "国庆节"))


def holiday_blocks(start: dt.date, days: int) -> list[tuple[int, int, str]]:
    """Holiday blocks overlapping the period: (first day index, last day index inclusive, name)."""
    out = []
    for year in range(start.year, (start + dt.timedelta(days=days)).year + 1):
        for (m, d), n, name in HOLIDAYS.get(year, DEFAULT_HOLIDAYS):
            first = (dt.date(year, m, d) - start).days
            last = first + n - 1
            if last >= 0 and first < days:
                out.append((max(first, 0), min(last, days - 1), name))
    return out


def day_of_year(start: dt.date, days: int) -> np.ndarray:
    """Day of year (1-366) of each simulated day."""
    doy0 = start.timetuple().tm_yday
    return (doy0 - 1 + np.arange(days)) % 365 + 1


def rainy_season(doy: np.ndarray, peak_doy: int, width_days: float) -> np.ndarray:
    """0..1 bump centred on the rainy-season peak (late July, 七下八上)."""
    return np.exp(-0.5 * ((doy - peak_doy) / width_days) ** 2)
