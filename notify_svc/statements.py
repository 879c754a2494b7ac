"""The unified external statement (统一口径): drafted, approved by someone holding the
statements:approve scope who is not its drafter (four eyes; admin keys too), then
distributed (by the statement.approved handler) to every department liaison and the
public-opinion team."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import select

from notify_svc.models import DrillIncident, StatementRow
from shared.events.schemas import StatementApproved, StatementDistributed
from shared.runtime import Unit

# Per 统一口径 in plan-media-complaint-duties-and-timelines.txt: "报公司领导批准确认后，综合部将
# 在0.5小时内将解释口径发送给相关部门的接口人" — distribution is due half an hour after approval.
STATEMENT_DISTRIBUTION = dt.timedelta(minutes=30)
OWN_DRAFT = ("you drafted this statement, so you cannot approve it: another person holding "
             "statements:approve must (four eyes)")


class StatementError(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


async def draft(unit: Unit, *, title: str, text: str, language: str,
                incident_id: str | None, by: str) -> StatementRow:
    row = StatementRow(
        id=uuid.uuid4().hex, incident_id=incident_id, title=title, text=text,
        language=language, status="draft", drafted_by=by, drafted_at=dt.datetime.now(dt.UTC),
    )
    unit.session.add(row)
    return row


async def approve(unit: Unit, statement_id: str, *, by: str) -> StatementRow:
    """Approve a draft and publish it in the same transaction; approving twice is 409, the
    drafter approving (`by` is who drafted it, whatever the scopes) is 403."""
    row = (await unit.session.scalars(
        select(StatementRow).where(StatementRow.id == statement_id).with_for_update())).first()
    if row is None:
        raise StatementError(404, f"no statement {statement_id}")
    if row.status != "draft":
        raise StatementError(409, f"statement {statement_id} was already approved by "
                             f"{row.approved_by} at {row.approved_at}")
    if row.drafted_by == by:
        raise StatementError(403, OWN_DRAFT)
    now = dt.datetime.now(dt.UTC)
    row.status, row.approved_by, row.approved_at = "approved", by, now
    row.distribute_by = now + STATEMENT_DISTRIBUTION
    await unit.emit(StatementApproved(
        statement_id=row.id, incident_id=row.incident_id, title=row.title, text=row.text,
        language="en" if row.language == "en" else "zh", approved_by=by, approved_at=now,
        drafted_by=row.drafted_by, drafted_at=row.drafted_at,
        drill=await for_drill(unit, row.incident_id),
    ), subject=row.id)
    return row


async def remember_drill(unit: Unit, incident_id: str, opened_at: dt.datetime) -> None:
    """A drill opened this incident: its statements will say so (idempotent)."""
    if await unit.session.get(DrillIncident, incident_id) is None:
        unit.session.add(DrillIncident(incident_id=incident_id, opened_at=opened_at))


async def for_drill(unit: Unit, incident_id: str | None) -> bool:
    return incident_id is not None and (
        await unit.session.get(DrillIncident, incident_id)) is not None


async def distributed(unit: Unit, statement_id: str, *, recipients: int = 0) -> None:
    """The statement.approved handler has recorded its deliveries: `statement.distributed`
    says so (a drill's evaluation scores it against the 0.5 h clock)."""
    row = await unit.session.get(StatementRow, statement_id)
    if row is not None:
        row.status, row.distributed_at = "distributed", dt.datetime.now(dt.UTC)
        if row.approved_at is not None and row.distribute_by is not None:
            await unit.emit(StatementDistributed(
                statement_id=row.id, incident_id=row.incident_id, approved_at=row.approved_at,
                distribute_by=row.distribute_by, distributed_at=row.distributed_at,
                recipients=recipients, drill=await for_drill(unit, row.incident_id)),
                subject=row.id)
