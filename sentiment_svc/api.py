from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field, ValidationError

from sentiment_svc import queries
from sentiment_svc.schemas import (
    FieldError,
    ItemResult,
    MentionBatch,
    MentionIn,
    MentionOut,
    MentionsAccepted,
    Source,
    Trends,
)
from sentiment_svc.service import accept_mentions
from sentiment_svc.state import MentionIntakeState
from shared.app import ReadSessionDep, UnitDep
from shared.paging import CursorQuery
from shared.problems import field_errors

router = APIRouter(prefix="/api/v1/mentions", tags=["mentions"])


async def _state(request: Request) -> MentionIntakeState:
    state: MentionIntakeState = request.app.state.intake_state
    return state


async def _held_state(request: Request) -> AsyncIterator[MentionIntakeState]:
    """The state, its lock held from before the request's unit begins until after it has
    committed (FastAPI ends dependencies in reverse order); a failure (the commit's too)
    leaves memory that may hold what never committed, so it is reloaded."""
    state: MentionIntakeState = request.app.state.intake_state
    async with state.lock:
        try:
            yield state
        except BaseException:
            state.invalidate()
            raise


StateDep = Annotated[MentionIntakeState, Depends(_state)]
HeldStateDep = Annotated[MentionIntakeState, Depends(_held_state, scope="function")]


@router.post("", status_code=202, response_model=MentionsAccepted)
async def post_mentions(body: MentionIn | MentionBatch, state: HeldStateDep,
                        unit: UnitDep) -> MentionsAccepted:
    """One mention, or `{"mentions": [...]}` with up to 1,000. Each item of a batch is
    validated on its own: a bad one gets a 422 result naming the fields at fault, the rest are
    taken, and the answer is 202 (with `accepted: 0` when every item was refused). As in the
    complaints batch, `accepted` counts new mentions only; a URL already known is counted in
    `duplicates` (the complaints batch's `replayed`) and answers with the earlier id."""
    if isinstance(body, MentionIn):
        results: list[ItemResult | None] = [None]
        valid = [(0, body)]
    else:
        results, valid = _validate(body.mentions)
    outcomes = await accept_mentions(unit, state, [m for _, m in valid]) if valid else []
    for (index, _), outcome in zip(valid, outcomes, strict=True):
        results[index] = ItemResult(index=index, status=202 if outcome.created else 200,
                                    id=outcome.mention_id)
    done = [r for r in results if r is not None]
    return MentionsAccepted(
        accepted=sum(o.created for o in outcomes), ids=[o.mention_id for o in outcomes],
        duplicates=sum(not o.created for o in outcomes),
        rejected=sum(r.status == 422 for r in done), results=done)


def _validate(raw: list[Any]) -> tuple[list[ItemResult | None],
                                                  list[tuple[int, MentionIn]]]:
    results: list[ItemResult | None] = [None] * len(raw)
    valid: list[tuple[int, MentionIn]] = []
    for index, item in enumerate(raw):
        try:
            valid.append((index, MentionIn.model_validate(item)))
        except ValidationError as exc:
            results[index] = ItemResult(index=index, status=422, detail="invalid mention",
                                        errors=[FieldError(**e) for e in field_errors(exc)])
    return results, valid


@router.get("/trends", response_model=Trends)
async def read_trends(
    session: ReadSessionDep, state: StateDep,
    hours: Annotated[int, Query(ge=1, le=24 * 31)] = 24,
    bucket_s: Annotated[int, Query(ge=60, le=86400)] = 3600,
    top: Annotated[int, Query(ge=1, le=100)] = 10,
) -> Trends:
    """Negative share over time, the top topics with their counts, and recent alerts."""
    return await queries.trends(session, until=state.clock(), hours=hours, bucket_s=bucket_s,
                                top=top)


class MentionList(BaseModel):
    items: list[MentionOut]
    next_cursor: str | None = Field(
        None, description="pass as `cursor` for the next page; null on the last page")


@router.get("", response_model=MentionList)
async def list_mentions(
    session: ReadSessionDep,
    source: Source | None = None,
    sentiment_label: Literal["negative", "neutral", "positive"] | None = None,
    min_risk: Annotated[int | None, Query(ge=1, le=4, description=(
        "only mentions at least this severe (risk level 1 is the most severe)"))] = None,
    drill: Annotated[bool | None, Query(description=(
        "true: drill mentions only, false: real ones only; unset: both"))] = None,
    cursor: CursorQuery = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> MentionList:
    """Recent mentions with their scores and reasons, newest first, a page at a time."""
    where = queries.MentionFilter(source=source, sentiment_label=sentiment_label,
                                  min_risk=min_risk, drill=drill)
    items, next_cursor = await queries.page_of_mentions(session, where, limit, cursor)
    return MentionList(items=items, next_cursor=next_cursor)


@router.get("/{mention_id}", response_model=MentionOut)
async def read_mention(mention_id: str, session: ReadSessionDep) -> MentionOut:
    found = await queries.mention(session, mention_id)
    if found is None:
        raise HTTPException(404, f"no mention {mention_id}")
    return found
