"""Admin API for console users (the gateway's tables): list, create, change. Passwords go
in and are never shown; the console's user page validates with the same models.

No `from __future__ import annotations` here: the routes' dependency aliases are local to
build_users_router, and FastAPI must evaluate the annotations that name them."""

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from pydantic import BaseModel, Field

from services.auth import ApiKey, KeyStore
from services.console.settings import ConsoleSettings
from services.console.users import Role, User, UserStore
from shared import patterns
from shared.paging import NEXT_CURSOR_DESCRIPTION, CursorQuery
from shared.problems import PROBLEM_JSON
from shared.schemas import RequestModel

USERNAME = r"^[a-z0-9._-]{2,64}$"
MIN_PASSWORD = 12


class UserCreate(RequestModel):
    username: str = Field(pattern=USERNAME, description="2 to 64 of a-z 0-9 . _ -")
    display_name: str = Field(min_length=1, max_length=200, pattern=patterns.NOT_BLANK)
    password: str = Field(min_length=MIN_PASSWORD, max_length=1024)
    role: Role
    pii: bool = Field(False, description="may reveal complainants' personal data")


class UserPatch(RequestModel):
    """Only the fields given change; a new password or disabling ends the user's sessions."""

    role: Role | None = None
    pii: bool | None = None
    disabled: bool | None = None
    password: str | None = Field(None, min_length=MIN_PASSWORD, max_length=1024)


class UserOut(BaseModel):
    username: str
    display_name: str
    role: Role
    pii: bool
    disabled: bool

    @classmethod
    def of(cls, user: User) -> "UserOut":
        return cls(username=user.username, display_name=user.display_name, role=user.role,
                   pii=user.pii, disabled=user.disabled)


class UserList(BaseModel):
    items: list[UserOut]
    next_cursor: str | None = Field(None, description=NEXT_CURSOR_DESCRIPTION)


def user_store(request: Request) -> UserStore:
    """The console's own store when the console is installed, else one on the key store's
    database (the same tables)."""
    console = getattr(request.app.state, "console", None)
    if console is not None:
        users: UserStore = console.users
        return users
    keys: KeyStore = request.app.state.keys
    if keys.db is None:
        raise HTTPException(503, "console users need the gateway's database")
    return UserStore(keys.db, timedelta(seconds=ConsoleSettings().idle_timeout_s))


def _problem(status: int, description: str) -> dict[int | str, dict[str, Any]]:
    ref = {"$ref": "#/components/schemas/Problem"}
    return {status: {"description": description, "content": {PROBLEM_JSON: {"schema": ref}}}}


def build_users_router(require_admin: Callable[..., Awaitable[ApiKey]]) -> APIRouter:
    router = APIRouter(prefix="/api/v1/admin/users", tags=["admin"])
    Admin = Annotated[ApiKey, Depends(require_admin)]
    Store = Annotated[UserStore, Depends(user_store)]
    Username = Annotated[str, Path(pattern=USERNAME)]

    @router.get("", response_model=UserList)
    async def list_users(
        _caller: Admin, store: Store, role: Role | None = None,
        disabled: Annotated[bool | None, Query(
            description="only disabled users, or only enabled ones")] = None,
        cursor: CursorQuery = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> UserList:
        """Users newest first (then username), paged by cursor."""
        users, next_cursor = await store.page(limit, cursor, role, disabled)
        return UserList(items=[UserOut.of(u) for u in users], next_cursor=next_cursor)

    @router.post("", status_code=201, response_model=UserOut,
                 responses=_problem(409, "the username is taken"))
    async def create_user(body: UserCreate, _caller: Admin, store: Store) -> UserOut:
        user = await store.create(body.username, body.display_name.strip(), body.password,
                                  body.role, body.pii)
        if user is None:
            raise HTTPException(409, f"the username {body.username} is taken")
        return UserOut.of(user)

    @router.patch("/{username}", response_model=UserOut)
    async def change_user(username: Username, body: UserPatch, _caller: Admin,
                          store: Store) -> UserOut:
        user = await store.update(username, role=body.role, pii=body.pii,
                                  password=body.password, disabled=body.disabled)
        if user is None:
            raise HTTPException(404, f"no user {username}")
        return UserOut.of(user)

    return router
