"""The API's forecast computation, on series whose answer is known."""

import datetime as dt

import pytest

from app.api.forecast import forecast


def _months(values: list[float], start=dt.date(2024, 1, 1)) -> list[dict]:
    rows = []
    for i, value in enumerate(values):
        index = start.year * 12 + start.month - 1 + i
        rows.append({"month": dt.date(index // 12, index % 12 + 1, 1), "revenue": value})
    return rows


def test_a_straight_line_is_continued():
    result = forecast(_months([100.0 + 10 * i for i in range(24)]), 3)
    assert [row["revenue"] for row in result] == pytest.approx([340.0, 350.0, 360.0])
    assert [row["month"] for row in result] == [
        dt.date(2026, 1, 1),
        dt.date(2026, 2, 1),
        dt.date(2026, 3, 1),
    ]


def test_a_seasonal_peak_is_repeated():
    values = [100.0] * 24
    values[11] = values[23] = 200.0  # every December
    result = forecast(_months(values), 12)
    december = next(row for row in result if row["month"].month == 12)
    november = next(row for row in result if row["month"].month == 11)
    assert december["revenue"] > november["revenue"] + 50


def test_no_history_gives_no_forecast():
    assert forecast([], 6) == []
