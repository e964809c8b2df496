"""Query parameters bounded before any code sees them: the API's input contract.

A route declares a pydantic model of its parameters from the types here and
calls ``parse(Model)``: a bad parameter raises ``BadParameterError``, which the
app answers with a JSON 400 naming it (app/api/wsgi.py), never a driver error
(PostgreSQL refuses a NUL byte, say). Every value is at most ``MAX_CHARS``
characters without control characters, every list at most ``MAX_VALUES``
values, every date between ``EARLIEST`` and ``LATEST`` (docs/reliability.md).
"""

from __future__ import annotations

import datetime as dt
import typing
from typing import Annotated, TypeVar

from flask import request
from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, ValidationError
from pydantic_core import PydanticCustomError

MAX_CHARS = 100  # characters in one value (or a parameter name echoed in an error)
MAX_VALUES = 50  # values of one list parameter
EARLIEST, LATEST = dt.date(1970, 1, 1), dt.date(2100, 12, 31)  # dates outside are typos


def _plain_text(value: object) -> object:
    """Any raw value: at most MAX_CHARS characters, no control characters (C0, DEL, C1)."""
    if isinstance(value, str):
        if len(value) > MAX_CHARS:
            raise PydanticCustomError("too_long", "at most {max} characters", {"max": MAX_CHARS})
        if any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in value):
            raise PydanticCustomError("control_character", "control characters are not allowed")
    return value


def _sane_date(value: dt.date | None) -> dt.date | None:
    if value is not None and not EARLIEST <= value <= LATEST:
        raise PydanticCustomError(
            "date_range",
            "must be between {earliest} and {latest}",
            {"earliest": EARLIEST.isoformat(), "latest": LATEST.isoformat()},
        )
    return value


Text = Annotated[str, BeforeValidator(_plain_text)]
Integer = Annotated[int, BeforeValidator(_plain_text)]  # bound it: Annotated[Integer, Field(...)]
Texts = Annotated[list[Text], Field(max_length=MAX_VALUES)]
Day = Annotated[dt.date | None, BeforeValidator(_plain_text), AfterValidator(_sane_date)]


class BadParameterError(Exception):
    def __init__(self, parameter: str, message: str):
        super().__init__(message)
        self.parameter, self.message = parameter, message


Model = TypeVar("Model", bound=BaseModel)


def parse(model: type[Model]) -> Model:
    """The request's query parameters as `model`, or BadParameterError for the first bad one."""
    data: dict[str, str | list[str]] = {}
    for key, values in request.args.lists():
        field = model.model_fields.get(key)
        if field is None or typing.get_origin(field.annotation) is list:
            data[key] = values  # lists keep every value (an unknown name is refused below)
        elif len(values) > 1:
            raise BadParameterError(key, "give it at most once")
        else:
            data[key] = values[0]
    try:
        return model.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        parameter = str(first["loc"][0])[:MAX_CHARS]
        message = "unknown parameter" if first["type"] == "extra_forbidden" else first["msg"]
        raise BadParameterError(parameter, message) from None
