"""The sales rollup in memory: every filter answered by slicing arrays, no query.

The pattern to copy when a page aggregates a large table under many filters:
keep a rollup at the finest grain the filters need (here day x region x
product, the daily_sales table), read it whole once per cache TTL into one
immutable object per process, and answer each filter from it. A new filter
then costs a few array operations on tens of thousands of rows, not an
aggregate query over every order.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import threading
import time
from dataclasses import dataclass

import numpy as np
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from app.core.db import describe
from app.core.queries import DailySalesRows, Dimensions, Filters, Kpis, daily_sales

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class SalesRollup:
    """Read-only arrays, one entry per rollup row; shared by every session of a process."""

    regions: tuple[str, ...]
    products: tuple[str, ...]
    product_categories: tuple[str, ...]  # the category of each product, same order
    day: np.ndarray  # datetime64[D]
    month: np.ndarray  # months since 1970-01 (int)
    region: np.ndarray  # index into regions
    product: np.ndarray  # index into products
    orders: np.ndarray
    units: np.ndarray
    revenue: np.ndarray  # float64

    @classmethod
    def from_rows(cls, data: DailySalesRows) -> SalesRollup:
        region_at = {id_: i for i, (id_, _) in enumerate(data.regions)}
        product_at = {id_: i for i, (id_, _, _) in enumerate(data.products)}
        columns = list(zip(*data.rows, strict=True)) or [()] * 6
        day = np.array(columns[0], dtype="datetime64[D]")
        return cls(
            regions=tuple(name for _, name in data.regions),
            products=tuple(name for _, name, _ in data.products),
            product_categories=tuple(category for _, _, category in data.products),
            day=day,
            month=day.astype("datetime64[M]").astype(np.int64),
            region=np.array([region_at[id_] for id_ in columns[1]], dtype=np.int64),
            product=np.array([product_at[id_] for id_ in columns[2]], dtype=np.int64),
            orders=np.array(columns[3], dtype=np.int64),
            units=np.array(columns[4], dtype=np.int64),
            revenue=np.array(columns[5], dtype=np.float64),
        )

    @classmethod
    def load(cls, engine: Engine) -> SalesRollup:
        return cls.from_rows(daily_sales(engine))

    @functools.cached_property
    def dimensions(self) -> Dimensions:
        """What the filters can select; computed once per rollup, read on every rerun."""
        today = dt.date.today()
        has_rows = len(self.day) > 0
        return Dimensions(
            regions=self.regions,
            categories=tuple(sorted(set(self.product_categories))),
            first_date=self.day.min().item() if has_rows else today,
            last_date=self.day.max().item() if has_rows else today,
            orders=int(self.orders.sum()),
        )

    def _mask(self, filters: Filters) -> np.ndarray:
        """The rows `filters` selects; unknown region or category names select nothing."""
        mask = (self.day >= np.datetime64(filters.start)) & (self.day <= np.datetime64(filters.end))
        if filters.regions:
            wanted = np.isin(np.array(self.regions, dtype=object), filters.regions)
            mask &= wanted[self.region]
        if filters.categories:
            wanted = np.isin(np.array(self.product_categories, dtype=object), filters.categories)
            mask &= wanted[self.product]
        return mask

    def kpis(self, filters: Filters) -> Kpis:
        mask = self._mask(filters)
        revenue, orders = float(self.revenue[mask].sum()), int(self.orders[mask].sum())
        units = int(self.units[mask].sum())
        return Kpis(revenue, orders, units, revenue / orders if orders else 0.0)

    def monthly_revenue(self, filters: Filters) -> list[dict]:
        """Revenue per month with orders: [{"month": date(first day), "revenue": float}]."""
        mask = self._mask(filters)
        months, at = np.unique(self.month[mask], return_inverse=True)
        revenue = np.bincount(at, weights=self.revenue[mask], minlength=len(months))
        return [
            {"month": np.datetime64(int(month), "M").astype(dt.date), "revenue": float(total)}
            for month, total in zip(months, revenue, strict=True)
        ]

    def top_products(self, filters: Filters, limit: int = 10) -> list[dict]:
        """The `limit` products with the most revenue: product, category, units, revenue."""
        mask = self._mask(filters)
        size = len(self.products)
        revenue = np.bincount(self.product[mask], weights=self.revenue[mask], minlength=size)
        units = np.bincount(self.product[mask], weights=self.units[mask], minlength=size)
        sold = np.bincount(self.product[mask], minlength=size) > 0
        ranked = [i for i in np.argsort(-revenue, kind="stable") if sold[i]][:limit]
        return [
            {
                "product": self.products[i],
                "category": self.product_categories[i],
                "units": int(units[i]),
                "revenue": float(revenue[i]),
            }
            for i in ranked
        ]


class ExpiringRollup:
    """A process's rollup outside Streamlit (the API): read again once `ttl` seconds old.

    Like the dashboard's background refresh, no request waits on a read when
    there is a copy: one thread reads while the others answer from the copy
    they have, and a read that fails (database down) keeps that copy for
    another `ttl` rather than failing every forecast. Only before the first
    read do threads wait; then a failed read fails the threads that waited on
    it at once, rather than each trying again in turn.
    """

    def __init__(self, engine: Engine, ttl: float):
        self._engine, self._ttl = engine, ttl
        self._lock = threading.Lock()
        self._rollup: SalesRollup | None = None
        self._read_at = 0.0
        self._reads = 0  # reads done, failed or not
        self._failure: SQLAlchemyError | None = None  # of the last read, with no copy

    def _fresh(self) -> bool:
        return time.monotonic() - self._read_at < self._ttl

    def get(self) -> SalesRollup:
        rollup, reads = self._rollup, self._reads
        if rollup is not None and (self._fresh() or not self._lock.acquire(blocking=False)):
            return rollup  # fresh, or another thread is reading the new one
        if rollup is None:
            self._lock.acquire()
        try:
            if self._rollup is None and self._reads != reads and self._failure is not None:
                raise self._failure.with_traceback(None)  # the read this thread waited on
            if self._rollup is None or not self._fresh():
                self._read()
            return self._rollup
        finally:
            self._lock.release()

    def _read(self) -> None:
        try:
            self._rollup, self._failure = SalesRollup.load(self._engine), None
        except SQLAlchemyError as error:
            if self._rollup is None:
                self._failure = error
                raise
            log.warning("rollup not read, answering from the copy before: %s", describe(error))
        finally:
            self._reads += 1
        self._read_at = time.monotonic()
