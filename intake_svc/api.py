from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Request, Response

from intake_svc.schemas import ComplaintAccepted, ComplaintIn, ComplaintOut
from intake_svc.service import IdempotencyConflict, accept_complaint, get_complaint
from shared.app import RuntimeDep
from shared.caller import Caller, caller_from
from shared.privacy import FieldCipher

router = APIRouter(prefix="/api/v1/complaints", tags=["complaints"])

CallerDep = Annotated[Caller, Depends(caller_from)]



def _cipher(request: Request) -> FieldCipher:
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
    runtime: RuntimeDep,
    cipher: Annotated[FieldCipher, Depends(_cipher)],
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> ComplaintAccepted:
    try:
        accepted = await accept_complaint(
            runtime, cipher, complaint, owner=caller.owner or "anonymous",
            idempotency_key=idempotency_key,
        )
    except IdempotencyConflict as exc:
        raise HTTPException(409, str(exc)) from exc
    if not accepted.created:
        response.status_code = 200
    return ComplaintAccepted(
        id=accepted.complaint_id, status_url=f"/api/v1/complaints/{accepted.complaint_id}"
    )


@router.get("/{complaint_id}", response_model=ComplaintOut)
async def read_complaint(
    complaint_id: str,
    caller: CallerDep,
    runtime: RuntimeDep,
    cipher: Annotated[FieldCipher, Depends(_cipher)],
) -> ComplaintOut:
    complaint = await get_complaint(runtime, cipher, complaint_id, caller)
    if complaint is None:
        raise HTTPException(404, f"no complaint {complaint_id}")
    return complaint
