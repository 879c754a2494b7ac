"""Admin API for keys: create (the key is shown once), list, revoke."""

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from services.auth import ApiKey, KeyStore
from services.models import ApiKeyRecord
from shared.paging import (
    NEXT_CURSOR_DESCRIPTION,
    CursorQuery,
    page_of,
)
from shared.schemas import RequestModel

Scope = Literal["complaints:write", "complaints:read", "mentions:write", "cases:read",
                "cases:write", "pii:read", "statements:draft", "statements:approve",
                "metrics:read", "admin", "accountability"]


class KeyCreate(RequestModel):
    name: str = Field(min_length=1, max_length=200)
    owner: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:-]+$",
                       description="Who the key acts for; a hotline key sees only its owner's "
                                   "complaints")
    scopes: list[Scope] = Field(min_length=1)
    rate_per_s: float | None = Field(None, gt=0, le=100_000)
    burst: int | None = Field(None, ge=1, le=1_000_000)


class KeyOut(BaseModel):
    id: str
    name: str
    owner: str
    scopes: list[str]
    rate_per_s: float | None
    burst: int | None
    created_by: str
    created_at: datetime
    revoked_at: datetime | None


class KeyCreated(KeyOut):
    key: str = Field(description="The secret; shown only in this answer")


class KeyList(BaseModel):
    items: list[KeyOut]
    next_cursor: str | None = Field(None, description=NEXT_CURSOR_DESCRIPTION)


async def key_store(request: Request) -> KeyStore:
    store: KeyStore = request.app.state.keys
    return store


def build_admin_router(require_admin: Callable[..., Awaitable[ApiKey]]) -> APIRouter:
    router = APIRouter(prefix="/api/v1/admin/keys", tags=["admin"])
    Admin = Annotated[ApiKey, Depends(require_admin)]
    Store = Annotated[KeyStore, Depends(key_store)]

    def out(record: ApiKeyRecord) -> KeyOut:
        return KeyOut.model_validate(record, from_attributes=True)

    @router.post("", status_code=201, response_model=KeyCreated)
    async def create_key(body: KeyCreate, caller: Admin, store: Store) -> KeyCreated:
        record, secret = await store.create(
            name=body.name, owner=body.owner, scopes=frozenset(body.scopes),
            rate_per_s=body.rate_per_s, burst=body.burst, created_by=caller.key_id)
        return KeyCreated(**out(record).model_dump(), key=secret)

    @router.get("", response_model=KeyList)
    async def list_keys(
        _caller: Admin, store: Store, owner: Annotated[str | None, Query(max_length=100)] = None,
        revoked: Annotated[bool | None, Query(
            description="only revoked keys, or only live ones")] = None,
        cursor: CursorQuery = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> KeyList:
        """Keys made through this API, newest first (then id), paged by cursor."""
        assert store.db is not None
        query = select(ApiKeyRecord)
        if owner is not None:
            query = query.where(ApiKeyRecord.owner == owner)
        if revoked is not None:
            query = query.where(ApiKeyRecord.revoked_at.is_not(None) if revoked
                                else ApiKeyRecord.revoked_at.is_(None))
        async with store.db.session() as session:
            rows, next_cursor = await page_of(session, query, ApiKeyRecord.created_at,
                                              ApiKeyRecord.id, limit, cursor)
        return KeyList(items=[out(r) for r in rows], next_cursor=next_cursor)

    @router.delete("/{key_id}", status_code=204)
    async def revoke_key(key_id: str, _caller: Admin, store: Store) -> Response:
        if await store.revoke(key_id) is None:
            raise HTTPException(404, f"no key {key_id}")
        return Response(status_code=204)

    return router
