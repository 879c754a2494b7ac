from __future__ import annotations

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
from sentiment_svc.service import Engine, accept_mentions
from shared.app import RuntimeDep
from shared.paging import CursorQuery
from shared.problems import field_errors

router = APIRouter(prefix="/api/v1/mentions", tags=["mentions"])


def _engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


EngineDep = Annotated[Engine, Depends(_engine)]


@router.post("", status_code=202, response_model=MentionsAccepted)
async def post_mentions(body: MentionIn | MentionBatch, runtime: RuntimeDep,
                        engine: EngineDep) -> MentionsAccepted:
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
    outcomes = await accept_mentions(runtime, engine, [m for _, m in valid]) if valid else []
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
    runtime: RuntimeDep, engine: EngineDep,
    hours: Annotated[int, Query(ge=1, le=24 * 31)] = 24,
    bucket_s: Annotated[int, Query(ge=60, le=86400)] = 3600,
    top: Annotated[int, Query(ge=1, le=100)] = 10,
) -> Trends:
    """Negative share over time, the top topics with their counts, and recent alerts."""
    async with runtime.db.session() as session:
        return await queries.trends(session, until=engine.clock(), hours=hours,
                                    bucket_s=bucket_s, top=top)


class MentionList(BaseModel):
    items: list[MentionOut]
    next_cursor: str | None = Field(
        None, description="pass as `cursor` for the next page; null on the last page")


@router.get("", response_model=MentionList)
async def list_mentions(
    runtime: RuntimeDep,
    source: Source | None = None,
    sentiment_label: Literal["negative", "neutral", "positive"] | None = None,
    min_risk: Annotated[int | None, Query(ge=1, le=4, description=(
        "only mentions at least this severe (risk level 1 is the most severe)"))] = None,
    cursor: CursorQuery = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> MentionList:
    """Recent mentions with their scores and reasons, newest first, a page at a time."""
    where = queries.MentionFilter(source=source, sentiment_label=sentiment_label,
                                  min_risk=min_risk)
    async with runtime.db.session() as session:
        items, next_cursor = await queries.page_of_mentions(session, where, limit, cursor)
    return MentionList(items=items, next_cursor=next_cursor)


@router.get("/{mention_id}", response_model=MentionOut)
async def read_mention(mention_id: str, runtime: RuntimeDep) -> MentionOut:
    async with runtime.db.session() as session:
        found = await queries.mention(session, mention_id)
    if found is None:
        raise HTTPException(404, f"no mention {mention_id}")
    return found
