"""Notify's reads: the lists of deliveries, statements and callbacks, each in a stable
order with cursor paging (shared.paging), and what the acknowledgement page shows."""

from __future__ import annotations

from dataclasses import dataclass, fields

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from notify_svc.ack_tokens import AckTokens
from notify_svc.models import BriefRow, CallbackRow, CaseClocks, Delivery, StatementRow
from shared.paging import count_of, page_of


@dataclass(frozen=True)
class DeliveryFilter:
    complaint_id: str | None = None
    case_id: str | None = None
    incident_id: str | None = None
    statement_id: str | None = None
    recipient: str | None = None
    status: str | None = None

    @property
    def empty(self) -> bool:
        return all(getattr(self, f.name) is None for f in fields(self))

    def query(self) -> Select[Delivery]:
        query = select(Delivery)
        for f in fields(self):
            if (value := getattr(self, f.name)) is not None:
                query = query.where(getattr(Delivery, f.name) == value)
        return query


async def page_of_deliveries(session: AsyncSession, where: DeliveryFilter, limit: int,
                             cursor: str | None) -> tuple[list[Delivery], str | None]:
    """With no filter the most recent first (a feed); with one, oldest first (one
    complaint's or statement's story in the order it happened); then by id."""
    rows, next_cursor = await page_of(session, where.query(), Delivery.created_at, Delivery.id,
                                      limit, cursor, newest_first=where.empty)
    return list(rows), next_cursor


async def count_deliveries(session: AsyncSession, where: DeliveryFilter) -> int:
    return await count_of(session, where.query())


async def page_of_statements(session: AsyncSession, status: str | None,
                             incident_id: str | None, limit: int, cursor: str | None
                             ) -> tuple[list[StatementRow], str | None]:
    query = select(StatementRow)
    if status is not None:
        query = query.where(StatementRow.status == status)
    if incident_id is not None:
        query = query.where(StatementRow.incident_id == incident_id)
    rows, next_cursor = await page_of(session, query, StatementRow.drafted_at, StatementRow.id,
                                      limit, cursor)
    return list(rows), next_cursor


async def page_of_callbacks(session: AsyncSession, limit: int, cursor: str | None
                            ) -> tuple[list[CallbackRow], str | None]:
    rows, next_cursor = await page_of(session, select(CallbackRow), CallbackRow.updated_at,
                                      CallbackRow.owner, limit, cursor)
    return list(rows), next_cursor


async def delivery_by_token(session: AsyncSession, token: str) -> Delivery | None:
    return (await session.scalars(select(Delivery).where(
        Delivery.ack_token_hash == AckTokens.hash(token)))).first()


async def still_due(session: AsyncSession, d: Delivery) -> list[dict[str, str]] | None:
    """What is still due on the delivery's case once it is acknowledged (the acknowledge
    clock is met by the first acknowledgement), as triage last said; None when the
    delivery is about no case or triage has not said yet."""
    if d.case_id is None:
        return None
    clocks = await session.get(CaseClocks, d.case_id)
    if clocks is None:
        return None
    return [c for c in clocks.outstanding
            if c["clock"] != "acknowledge" or d.acknowledged_at is None]


async def statement(session: AsyncSession, statement_id: str) -> StatementRow | None:
    return await session.get(StatementRow, statement_id)


async def page_of_briefs(session: AsyncSession, kind: str | None, limit: int,
                         cursor: str | None) -> tuple[list[BriefRow], str | None]:
    """Scheduled briefs, the latest period first (then id)."""
    query = select(BriefRow)
    if kind:
        query = query.where(BriefRow.kind == kind)
    rows, next_cursor = await page_of(session, query, BriefRow.period_start, BriefRow.id,
                                      limit, cursor)
    return list(rows), next_cursor
