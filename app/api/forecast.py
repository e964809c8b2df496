"""A seasonal-naive-with-trend forecast of monthly revenue.

Small on purpose: it stands for the heavier computation a real backend owns.
Trend is a least-squares line through the history; each forecast month adds
the average deviation from that line seen in the same calendar month.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def forecast(history: list[dict], months: int) -> list[dict]:
    """Revenue for the `months` after the last month of `history`.

    `history` is [{"month": date, "revenue": float}] sorted by month. Returns
    the same shape; an empty history gives an empty forecast.
    """
    if not history:
        return []
    ys = [row["revenue"] for row in history]
    n = len(ys)
    mean_x, mean_y = (n - 1) / 2, sum(ys) / n
    spread = sum((x - mean_x) ** 2 for x in range(n))
    slope = sum((x - mean_x) * (y - mean_y) for x, y in enumerate(ys)) / spread if spread else 0.0

    def trend(x: int) -> float:
        return mean_y + slope * (x - mean_x)

    residuals: dict[int, list[float]] = defaultdict(list)
    for x, row in enumerate(history):
        residuals[row["month"].month].append(row["revenue"] - trend(x))
    season = {month: sum(values) / len(values) for month, values in residuals.items()}

    last = history[-1]["month"]
    result = []
    for step in range(1, months + 1):
        month = _add_months(last, step)
        value = trend(n - 1 + step) + season.get(month.month, 0.0)
        result.append({"month": month, "revenue": round(max(value, 0.0), 2)})
    return result
