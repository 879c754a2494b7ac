"""Console users (admin only): create, change role and personal-data access, disable and
enable, reset a password. The gateway owns these tables, so the page uses the store
directly, validating with the admin API's own models."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from services.console.accounts_api import MIN_PASSWORD, UserCreate, UserPatch
from services.console.users import ROLES, Session
from services.console.web import (
    Console,
    ConsoleDep,
    SessionDep,
    csrf_checked,
    render,
)
from shared.problems import field_errors

router = APIRouter(include_in_schema=False)
Message = tuple[str, dict[str, Any]]


async def admin_session(session: SessionDep) -> Session:
    if session.user.role != "admin":
        raise HTTPException(403, "only administrators manage users")
    return session


async def admin_post_session(request: Request,
                             session: Annotated[Session, Depends(admin_session)]) -> Session:
    """An admin's POST, with its CSRF token checked."""
    return await csrf_checked(request, session)


AdminDep = Annotated[Session, Depends(admin_session)]
AdminPostDep = Annotated[Session, Depends(admin_post_session)]


async def page(request: Request, console: Console, session: Session, *, status: int = 200,
               message: Message | None = None, ok: bool = False,
               values: dict[str, str] | None = None) -> Response:
    return render(request, console, session, "users.html", status=status, message=message,
                  ok=ok, values=values or {}, roles=ROLES, min_password=MIN_PASSWORD,
                  users=await console.users.all_users())


def invalid(exc: ValidationError) -> Message:
    fields = ", ".join(e["field"] for e in field_errors(exc))
    return ("Please correct: {fields}", {"fields": fields})


@router.get("/admin/users", response_class=HTMLResponse)
async def users_page(request: Request, console: ConsoleDep, session: AdminDep) -> Response:
    return await page(request, console, session)


@router.post("/admin/users", response_class=HTMLResponse)
async def create_user(request: Request, console: ConsoleDep, session: AdminPostDep) -> Response:
    form = await request.form()
    values = {k: str(form.get(k) or "").strip()
              for k in ("username", "display_name", "role")}
    try:
        body = UserCreate.model_validate({**values, "password": str(form.get("password") or ""),
                                          "pii": form.get("pii") == "on"})
    except ValidationError as exc:
        return await page(request, console, session, status=422, message=invalid(exc),
                          values=values)
    made = await console.users.create(body.username, body.display_name, body.password,
                                      body.role, body.pii)
    if made is None:
        return await page(request, console, session, status=409, values=values,
                          message=("The username {name} is taken.", {"name": body.username}))
    return await page(request, console, session, ok=True,
                      message=("User {name} created.", {"name": body.username}))


@router.post("/admin/users/{username}", response_class=HTMLResponse)
async def change_user(request: Request, console: ConsoleDep, session: AdminPostDep,
                      username: str) -> Response:
    """One change from a row's forms: role and pii, disable or enable, or a new password."""
    form = await request.form()
    try:
        change = user_patch(str(form.get("action") or ""), form)
    except ValidationError as exc:
        return await page(request, console, session, status=422, message=invalid(exc))
    if change is None:
        return await page(request, console, session, status=422,
                          message=("Unknown action.", {}))
    if username == session.user.username and (
            change.disabled or (change.role is not None and change.role != "admin")):
        return await page(request, console, session, status=409,
                          message=("You cannot disable or demote your own account.", {}))
    changed = await console.users.update(username, role=change.role, pii=change.pii,
                                         password=change.password, disabled=change.disabled)
    if changed is None:
        raise HTTPException(404, f"no user {username}")
    return await page(request, console, session, ok=True,
                      message=("User {name} changed.", {"name": username}))


def user_patch(action: str, form: Any) -> UserPatch | None:
    """The change a row's form asks for; None for an action this page does not have."""
    fields: dict[str, dict[str, Any]] = {
        "access": {"role": str(form.get("role") or ""), "pii": form.get("pii") == "on"},
        "disable": {"disabled": True}, "enable": {"disabled": False},
        "password": {"password": str(form.get("password") or "")},
    }
    return UserPatch.model_validate(fields[action]) if action in fields else None
