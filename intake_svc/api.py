from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, Response
from pydantic import ValidationError

from intake_svc import at_risk
from intake_svc.queries import at_risk_out, find_by_external_ref, get_complaint, pre_registrations
from intake_svc.schemas import (
    AtRiskIn,
    AtRiskList,
    AtRiskOut,
    BatchItemResult,
    BatchResult,
    ComplaintAccepted,
    ComplaintBatchIn,
    ComplaintIn,
    ComplaintOut,
    ComplaintRef,
    ComplaintRefList,
    FieldError,
)
from intake_svc.service import Accepted, IdempotencyConflict, accept_batch, accept_complaint
from shared import patterns
from shared.app import ReadSessionDep, UnitDep
from shared.caller import Caller, current_caller
from shared.paging import CursorQuery
from shared.privacy import FieldCipher
from shared.problems import field_errors

router = APIRouter(prefix="/api/v1/complaints", tags=["complaints"])

CallerDep = Annotated[Caller, Depends(current_caller)]



async def _cipher(request: Request) -> FieldCipher:
    cipher: FieldCipher = request.app.state.cipher
    return cipher


@router.post(
    "",
    status_code=202,
    response_model=ComplaintAccepted,
    responses={200: {"model": ComplaintAccepted, "description": "A replay: nothing created"},
               409: {"description": "Idempotency-Key or external_ref reused with another body"}},
)
async def post_complaint(
    complaint: ComplaintIn,
    response: Response,
    caller: CallerDep,
    unit: UnitDep,
    cipher: Annotated[FieldCipher, Depends(_cipher)],
    idempotency_key: Annotated[str | None, Header(
        min_length=1, max_length=200, pattern=patterns.NOT_BLANK,
        description="makes a retry safe; an empty or blank key is refused (422)")] = None,
) -> ComplaintAccepted:
    try:
        accepted = await accept_complaint(
            unit, cipher, complaint, owner=caller.owner or "anonymous",
            idempotency_key=idempotency_key,
        )
    except IdempotencyConflict as exc:
        raise HTTPException(409, str(exc)) from exc
    if not accepted.created:
        response.status_code = 200
    return ComplaintAccepted(
        id=accepted.complaint_id, status_url=f"/api/v1/complaints/{accepted.complaint_id}"
    )


@router.post("/batch", response_model=BatchResult)
async def post_complaint_batch(
    batch: ComplaintBatchIn,
    caller: CallerDep,
    unit: UnitDep,
    cipher: Annotated[FieldCipher, Depends(_cipher)],
) -> BatchResult:
    """A result per item, in order; the answer is 200 even when some items were refused."""
    results: list[BatchItemResult | None] = [None] * len(batch.complaints)
    valid: list[tuple[int, ComplaintIn]] = []
    for index, raw in enumerate(batch.complaints):
        try:
            valid.append((index, ComplaintIn.model_validate(raw)))
        except ValidationError as exc:
            results[index] = BatchItemResult(index=index, status=422, detail="invalid item",
                                             errors=[FieldError(**e) for e in field_errors(exc)])
    outcomes = await accept_batch(unit, cipher, [item for _, item in valid],
                                  owner=caller.owner or "anonymous") if valid else []
    for (index, _), outcome in zip(valid, outcomes, strict=True):
        results[index] = _item_result(index, outcome)
    done = [r for r in results if r is not None]
    return BatchResult(
        accepted=sum(r.status == 202 for r in done), replayed=sum(r.status == 200 for r in done),
        rejected=sum(r.status >= 400 for r in done), results=done,
    )


def _item_result(index: int, outcome: Accepted | IdempotencyConflict) -> BatchItemResult:
    if isinstance(outcome, IdempotencyConflict):
        return BatchItemResult(index=index, status=409, detail=str(outcome))
    return BatchItemResult(index=index, status=202 if outcome.created else 200,
                           id=outcome.complaint_id,
                           status_url=f"/api/v1/complaints/{outcome.complaint_id}")


@router.get("", response_model=ComplaintRefList)
async def find_complaints(
    caller: CallerDep,
    session: ReadSessionDep,
    external_ref: Annotated[str, Query(min_length=1, max_length=200,
                                       description="the caller's own id for the complaint")],
) -> ComplaintRefList:
    """Find the caller's own complaint by the reference it filed it under (empty when
    there is none, or when the reference is another caller's)."""
    rows = await find_by_external_ref(session, caller, external_ref)
    return ComplaintRefList(items=[ComplaintRef(
        id=row.id, external_ref=external_ref, channel=row.channel,
        received_at=row.received_at, drill=row.drill,
        status_url=f"/api/v1/complaints/{row.id}") for row in rows])


@router.get("/{complaint_id}", response_model=ComplaintOut)
async def read_complaint(
    complaint_id: str,
    caller: CallerDep,
    session: ReadSessionDep,
    cipher: Annotated[FieldCipher, Depends(_cipher)],
) -> ComplaintOut:
    complaint = await get_complaint(session, cipher, complaint_id, caller)
    if complaint is None:
        raise HTTPException(404, f"no complaint {complaint_id}")
    return complaint


complainants = APIRouter(prefix="/api/v1/complainants", tags=["complainants"])


@complainants.post("/at-risk", status_code=201, response_model=AtRiskOut, responses={
    404: {"description": "no such complaint"},
    409: {"description": "no phone, email or complaint_id given, or the complaint named "
                         "holds no phone or email"}})
async def pre_register(body: AtRiskIn, caller: CallerDep, unit: UnitDep,
                       cipher: Annotated[FieldCipher, Depends(_cipher)]) -> AtRiskOut:
    """易造成升级投诉的…提前报备: the complainant's next complaint (matched on the keyed hash
    of this phone or e-mail) is raised one response level. The contact is never stored."""
    try:
        row = await at_risk.pre_register(
            unit, cipher, phone=body.phone, email=body.email, complaint_id=body.complaint_id,
            note=body.note, actor=caller.owner or caller.key_id or "unknown")
    except at_risk.NoSuchComplaint as exc:
        raise HTTPException(404, str(exc)) from exc
    except at_risk.NoContact as exc:
        # Well-formed, but nothing to hash: 409, not 422 (422 is for bodies the schema
        # refuses; schemathesis holds the API to that).
        raise HTTPException(409, str(exc)) from exc
    return at_risk_out(row)


@complainants.get("/at-risk", response_model=AtRiskList)
async def list_pre_registrations(
        session: ReadSessionDep, cursor: CursorQuery = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100) -> AtRiskList:
    """Pre-registrations, newest first: which contacts were hashed, the note, and the
    complaint that used each up."""
    items, next_cursor = await pre_registrations(session, limit, cursor)
    return AtRiskList(items=items, next_cursor=next_cursor)
