"""The reference app's API routes (yours replace them): the revenue forecast.

``register`` adds them to the app that app/api/wsgi.py builds, which gives
every route JSON errors, metrics, request ids and the health routes. A route
reads its parameters through app/api/params.py: bounded before any query sees
them, a bad one a JSON 400 naming it.
"""

from __future__ import annotations

from typing import Annotated

from flask import Flask
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from sqlalchemy.engine import Engine

from app.api.forecast import forecast
from app.api.params import Day, Integer, Texts, parse
from app.core import queries
from app.core.sales import ExpiringRollup
from app.core.settings import Settings


class ForecastParams(BaseModel):
    """Query parameters of /api/v1/forecast; anything else is refused."""

    model_config = ConfigDict(extra="forbid")
    months: Annotated[Integer, Field(ge=1, le=24)] = 6
    start: Day = None
    end: Day = None
    region: Texts = []
    category: Texts = []

    @field_validator("end")
    @classmethod
    def _not_before_start(cls, end, info: ValidationInfo):
        start = info.data.get("start")
        if start and end and end < start:
            raise ValueError("end must not be before start")
        return end


def register(app: Flask, engine: Engine, settings: Settings) -> None:
    """Add the routes to `app`; `engine` is the worker's one pooled engine."""
    sales = ExpiringRollup(engine, settings.cache_ttl)

    @app.get("/api/v1/forecast")
    def forecast_revenue():
        """Monthly revenue history for the filters and its forecast for `months` ahead."""
        params = parse(ForecastParams)
        rollup = sales.get()
        dims = rollup.dimensions
        filters = queries.Filters(
            start=params.start or dims.first_date,
            end=params.end or dims.last_date,
            regions=tuple(params.region),
            categories=tuple(params.category),
        )
        history = rollup.monthly_revenue(filters)
        return {
            "method": "linear trend plus monthly seasonality",
            "history": [_month(row) for row in history],
            "forecast": [_month(row) for row in forecast(history, params.months)],
        }


def _month(row: dict) -> dict:
    return {"month": row["month"].strftime("%Y-%m"), "revenue": row["revenue"]}
