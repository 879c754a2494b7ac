"""Keyset cursors for lists ordered newest first, then by id: the cursor is the last row's
time (microseconds since the epoch) and id, so a page never skips or repeats a row when
rows are added, and any string of the cursor's shape is a position in the list (a
well-formed cursor is never refused)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import ColumnElement, and_, or_
from sqlalchemy.orm import InstrumentedAttribute

CURSOR_PATTERN = r"^[0-9]{1,16}\.[0-9a-f]{1,32}$"
CURSOR_DESCRIPTION = "`next_cursor` of the previous page; the order is newest first, then id"


def encode_cursor(at: datetime, row_id: str) -> str:
    return f"{round(at.timestamp() * 1_000_000)}.{row_id}"


def after_cursor(cursor: str, at: InstrumentedAttribute[datetime],
                 row_id: InstrumentedAttribute[str]) -> ColumnElement[bool]:
    """Rows after the cursor in the list's order (newest first, then id). The cursor has
    the shape CURSOR_PATTERN (the route validates it)."""
    micros, _, last_id = cursor.partition(".")
    last_at = datetime.fromtimestamp(int(micros) / 1_000_000, UTC)
    return or_(at < last_at, and_(at == last_at, row_id < last_id))
