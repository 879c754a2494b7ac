"""Keyset cursors for lists ordered newest first, then by id (or oldest first, then by id,
where a list says so): the cursor is the last row's time (microseconds since the epoch) and
id, so a page never skips or repeats a row when rows are added, and any string of the
cursor's shape is a position in the list (a well-formed cursor is never refused). Every
list answers `{"items": [...], "next_cursor": ...}`, taking `cursor` and `limit`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from fastapi import Query
from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

# Ids are hex for most rows; usernames, key ids and owners use these characters too.
CURSOR_PATTERN = r"^[0-9]{1,16}\.[A-Za-z0-9._:-]{1,100}$"
CURSOR_DESCRIPTION = "`next_cursor` of the previous page; the order is newest first, then id"
OLDEST_FIRST_DESCRIPTION = ("`next_cursor` of the previous page; the order is newest first, "
                            "then id, with no filter, and oldest first, then id, with one")
NEXT_CURSOR_DESCRIPTION = "pass as `cursor` for the next page; null on the last page"
# The `cursor` parameter of every newest-first list.
CursorQuery = Annotated[str | None, Query(pattern=CURSOR_PATTERN, description=CURSOR_DESCRIPTION)]
Row = TypeVar("Row")


def encode_cursor(at: datetime, row_id: str) -> str:
    return f"{round(at.timestamp() * 1_000_000)}.{row_id}"


def after_cursor(cursor: str, at: InstrumentedAttribute[datetime],
                 row_id: InstrumentedAttribute[str], *,
                 newest_first: bool = True) -> ColumnElement[bool]:
    """Rows after the cursor in the list's order (newest first, then id; or the reverse).
    The cursor has the shape CURSOR_PATTERN (the route validates it)."""
    micros, _, last_id = cursor.partition(".")
    last_at = datetime.fromtimestamp(int(micros) / 1_000_000, UTC)
    if newest_first:
        return or_(at < last_at, and_(at == last_at, row_id < last_id))
    return or_(at > last_at, and_(at == last_at, row_id > last_id))


async def page_of(session: AsyncSession, query: Select[Row],
                  at: InstrumentedAttribute[datetime], row_id: InstrumentedAttribute[str],
                  limit: int, cursor: str | None, *, newest_first: bool = True
                  ) -> tuple[Sequence[Row], str | None]:
    """One page of `query`'s rows in a stable order, and the next page's cursor (None on
    the last)."""
    if cursor:
        query = query.where(after_cursor(cursor, at, row_id, newest_first=newest_first))
    order = (at.desc(), row_id.desc()) if newest_first else (at.asc(), row_id.asc())
    rows = (await session.scalars(query.order_by(*order).limit(limit + 1))).all()
    more, rows = len(rows) > limit, rows[:limit]
    if not (more and rows):
        return rows, None
    last: Any = rows[-1]
    return rows, encode_cursor(getattr(last, at.key), getattr(last, row_id.key))


async def count_of(session: AsyncSession, query: Select[Any]) -> int:
    """How many rows `query` (unordered, unlimited) matches."""
    return int(await session.scalar(select(func.count()).select_from(query.subquery())) or 0)
