"""The render floor's answers, computed once per process (at its first run's import).

PRESETS filters (date windows by region subsets) are answered with the
in-memory pandas code (memory.py) for each forecast length the page offers.
`answer` maps any filters to one preset by a CRC of their text: the same
filters always get the same answer, different ones mostly another, with no
work beyond a dict lookup.
"""

from __future__ import annotations

import datetime as dt
import zlib

import pandas as pd

from app.core.queries import Filters, Kpis
from tests.bench.apps import memory

MONTHS = (3, 6, 12)  # the page's "Forecast months" options
PRESETS = 16

DIMENSIONS = memory.DIMENSIONS
Answer = tuple[Kpis, pd.DataFrame, pd.DataFrame, str]


def _forecast(history: pd.DataFrame, months: int) -> pd.DataFrame:
    """A forecast-shaped continuation: the last three months' mean, `months` ahead,
    so the chart has the reference's two series and about its number of points."""
    level = float(history["revenue"].tail(3).mean()) if len(history) else 0.0
    last = history["month"].max() if len(history) else pd.Timestamp(DIMENSIONS.last_date)
    future = pd.date_range(last + pd.offsets.MonthBegin(1), periods=months, freq="MS")
    return pd.DataFrame({"month": future, "revenue": level, "series": "forecast"})


def _presets() -> list[Filters]:
    """Four date windows ending at the last order, by one to four regions."""
    dims = DIMENSIONS
    span = (dims.last_date - dims.first_date).days
    return [
        Filters(
            dims.first_date + dt.timedelta(days=span * (n % 4) // 5),
            dims.last_date,
            dims.regions[: 1 + n // 4],
        )
        for n in range(PRESETS)
    ]


def _answers() -> dict[tuple[int, int], Answer]:
    answers = {}
    for index, filters in enumerate(_presets()):
        kpis, history, top = memory.answers(filters)
        for months in MONTHS:
            series = pd.concat([history, _forecast(history, months)], ignore_index=True)
            answers[index, months] = (kpis, series, top, top.to_csv(index=False))
    return answers


ANSWERS = _answers()
memory.answers.cache_clear()  # the answers are kept here; the orders frame stays in memory


def answer(filters: Filters, months: int) -> Answer:
    """One precomputed answer for `filters` and `months`: a lookup, nothing computed."""
    key = zlib.crc32(repr(filters).encode()) % PRESETS
    return ANSWERS[key, months if months in MONTHS else MONTHS[0]]
