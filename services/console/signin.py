"""Sign in and out, the language and drill switches."""

from __future__ import annotations

import math
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from services.console.security import check_csrf
from services.console.web import (
    DRILL_COOKIE,
    LANG_COOKIE,
    SESSION_COOKIE,
    ConsoleDep,
    PostSessionDep,
    drill_of,
    redirect,
    render,
    safe_next,
)

router = APIRouter(include_in_schema=False)
LOGIN_CSRF_COOKIE = "beacon_login_csrf"


def _secure(request: Request, configured: bool | None) -> bool:
    return request.url.scheme == "https" if configured is None else configured


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, console: ConsoleDep, next: str = "/board") -> Response:
    # Signing in is a POST too: a pre-session token in a cookie and the form (double
    # submit) keeps another site from signing a browser in to an account of its choosing.
    token = secrets.token_urlsafe(24)
    page = render(request, console, None, "login.html", login_token=token,
                  next=safe_next(next), error=None)
    page.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict",
                    secure=_secure(request, console.settings.secure_cookies), path="/login")
    return page


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request, console: ConsoleDep,
                username: Annotated[str, Form(max_length=64)] = "",
                password: Annotated[str, Form(max_length=1024)] = "",
                csrf_token: Annotated[str, Form(max_length=100)] = "",
                next: Annotated[str, Form(max_length=500)] = "/board") -> Response:
    check_csrf(request, request.cookies.get(LOGIN_CSRF_COOKIE, ""), csrf_token)
    address = request.client.host if request.client else "unknown"
    wait = max(console.login_per_user.wait(username), console.login_per_address.wait(address))
    if wait > 0:
        return _failed(request, console, next, "Too many failed sign-ins; try again in "
                       "{seconds} s.", 429, seconds=math.ceil(wait))
    user = await console.users.verify(username, password)
    if user is None:
        console.login_per_user.fail(username)
        console.login_per_address.fail(address)
        return _failed(request, console, next, "Wrong username or password.", 401)
    console.login_per_user.forget(username)
    secret, _csrf = await console.users.open_session(user)
    answer = redirect(safe_next(next), request)
    answer.set_cookie(SESSION_COOKIE, secret, httponly=True, samesite="lax",
                      secure=_secure(request, console.settings.secure_cookies), path="/")
    answer.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return answer


def _failed(request: Request, console: ConsoleDep, next: str, message: str, status: int,
            **values: object) -> Response:
    token = secrets.token_urlsafe(24)
    page = render(request, console, None, "login.html", status=status, login_token=token,
                  next=safe_next(next), error=(message, values))
    page.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict",
                    secure=_secure(request, console.settings.secure_cookies), path="/login")
    return page


@router.post("/logout")
async def logout(request: Request, console: ConsoleDep, _session: PostSessionDep) -> Response:
    await console.users.close_session(request.cookies.get(SESSION_COOKIE, ""))
    answer = redirect("/login", request)
    answer.delete_cookie(SESSION_COOKIE, path="/")
    return answer


@router.get("/lang/{language}")
async def switch_language(language: str, request: Request, next: str = "/board") -> Response:
    answer = redirect(safe_next(next), request)
    answer.set_cookie(LANG_COOKIE, "en" if language == "en" else "zh", samesite="lax",
                      max_age=365 * 86400, path="/")
    return answer


@router.post("/drill")
async def toggle_drill(request: Request, _session: PostSessionDep,
                       next: Annotated[str, Form(max_length=500)] = "/board") -> Response:
    answer = redirect(safe_next(next), request)
    answer.set_cookie(DRILL_COOKIE, "0" if drill_of(request) else "1", samesite="lax",
                      path="/")
    return answer
