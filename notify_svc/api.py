from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from notify_svc.models import Delivery
from notify_svc.schemas import DeliveryList, DeliveryOut
from shared.app import RuntimeDep

router = APIRouter(prefix="/api/v1/notifications", tags=["notifications"])



@router.get("", response_model=DeliveryList)
async def list_notifications(
    runtime: RuntimeDep,
    complaint_id: str | None = None,
    case_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> DeliveryList:
    """A complaint's or case's deliveries in order; with neither, the most recent ones."""
    query = select(Delivery).limit(limit)
    if complaint_id is None and case_id is None:
        query = query.order_by(Delivery.created_at.desc(), Delivery.recipient)
    else:
        query = query.order_by(Delivery.created_at, Delivery.recipient)
    if complaint_id is not None:
        query = query.where(Delivery.complaint_id == complaint_id)
    if case_id is not None:
        query = query.where(Delivery.case_id == case_id)
    async with runtime.db.session() as session:
        rows = (await session.scalars(query)).all()
    return DeliveryList(items=[DeliveryOut.model_validate(r, from_attributes=True) for r in rows])
