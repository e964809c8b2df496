"""Fleet Monitor's tables. A change here, then `make migration MESSAGE=...`."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Note(Base):
    """A note someone wrote on the notes page."""

    __tablename__ = "notes"
    id: Mapped[int] = mapped_column(primary_key=True)
    body: Mapped[str] = mapped_column(sa.String(2000))
    author: Mapped[str] = mapped_column(sa.String(254))
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), default=_utcnow)
