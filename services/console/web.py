"""What every console page shares: the signed-in session, the API through the gateway's
one forwarding path, and rendering with the user's language, zone and drill toggle."""

from __future__ import annotations

import json as jsonlib
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from services.auth import SCOPES
from services.console.i18n import Language, local_time, translator
from services.console.live import LiveHub
from services.console.security import CSRF_FIELD, FailureLimiter, check_csrf
from services.console.settings import ConsoleSettings
from services.console.users import Session, User, UserStore
from services.forwarding import Forwarder
from services.replicas import Answer
from shared.caller import Caller

TEMPLATES = Path(__file__).parent / "templates"
SESSION_COOKIE = "beacon_session"
LANG_COOKIE = "beacon_lang"
DRILL_COOKIE = "beacon_drill"


@dataclass
class Console:
    forwarder: Forwarder
    users: UserStore
    hub: LiveHub
    settings: ConsoleSettings
    admin_password: str
    templates: Environment = field(default_factory=lambda: templates_env())
    login_per_user: FailureLimiter = field(init=False)
    login_per_address: FailureLimiter = field(init=False)

    def __post_init__(self) -> None:
        s = self.settings
        self.login_per_user = FailureLimiter(s.login_failures_per_user, s.login_window_s)
        self.login_per_address = FailureLimiter(s.login_failures_per_address,
                                                s.login_window_s)


def templates_env() -> Environment:
    # Autoescape everywhere: complaint and mention text is always rendered as text.
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["tojson_attr"] = lambda value: jsonlib.dumps(value, ensure_ascii=False)
    return env


async def console_of(request: Request) -> Console:
    console: Console = request.app.state.console
    # The live stream picks up from the last notice before the page reads its data, so a
    # notice that lands during the reads is replayed, not lost.
    request.state.live_since = console.hub.latest_id()
    return console


ConsoleDep = Annotated[Console, Depends(console_of)]


class SignInNeeded(Exception):
    """Raised by the session dependency; the app answers with a redirect to /login."""


async def current_session(request: Request, console: ConsoleDep) -> Session:
    session = await console.users.session(request.cookies.get(SESSION_COOKIE, ""))
    if session is None:
        raise SignInNeeded()
    return session


SessionDep = Annotated[Session, Depends(current_session)]


async def csrf_checked(request: Request, session: SessionDep) -> Session:
    """The session, for a POST that carries its CSRF token and comes from this site."""
    form_token = None
    if request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        form_token = str((await request.form()).get(CSRF_FIELD) or "")
    check_csrf(request, session.csrf_token, form_token)
    return session


PostSessionDep = Annotated[Session, Depends(csrf_checked)]


def language_of(request: Request) -> Language:
    chosen = request.cookies.get(LANG_COOKIE, "zh")
    return "en" if chosen == "en" else "zh"


def drill_of(request: Request) -> bool:
    """Drill traffic only, or real only: the URL's `drill` (a saved view may carry it), else
    the header's switch."""
    asked = request.query_params.get("drill")
    if asked in ("true", "false"):
        return asked == "true"
    return request.cookies.get(DRILL_COOKIE) == "1"


def service_caller(user: User, *, reveal: bool = False) -> Caller:
    """The user's caller; personal data is masked unless `reveal` (an admin too reads
    masked, with every other scope, until they reveal)."""
    caller = user.caller()
    if reveal:
        return caller
    scopes = (SCOPES if "admin" in caller.scopes else caller.scopes) - {"pii:read", "admin"}
    return Caller(caller.key_id, caller.owner, frozenset(scopes))


class Api:
    """The API as this user may use it: every call goes through the gateway's forwarder."""

    def __init__(self, console: Console, user: User, language: Language | None = None) -> None:
        """`language`: the page's, so a refusal's field messages come back in it."""
        self.forwarder, self.user = console.forwarder, user
        self.language = {"accept-language": language} if language else {}

    async def get(self, path: str, params: dict[str, Any] | None = None, *,
                  reveal: bool = False) -> Answer:
        clean = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        return await self.forwarder.call("GET", path, service_caller(self.user, reveal=reveal),
                                         params=clean)

    async def post(self, path: str, body: dict[str, Any] | None = None, *,
                   headers: dict[str, str] | None = None, reveal: bool = False
                   ) -> Answer:
        return await self.forwarder.call("POST", path, service_caller(self.user, reveal=reveal),
                                         json=body or {}, headers={**self.language,
                                                                   **(headers or {})})

    async def delete(self, path: str) -> Answer:
        return await self.forwarder.call("DELETE", path, service_caller(self.user))

    async def put(self, path: str, body: dict[str, Any]) -> Answer:
        return await self.forwarder.call("PUT", path, service_caller(self.user), json=body,
                                         headers=self.language)

    async def json(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """The body of a successful GET; 404 and 403 pass on as they are."""
        answer = await self.get(path, params)
        if answer.status_code != 200:
            raise HTTPException(answer.status_code, problem_detail(answer))
        return answer.json()


def problem_detail(answer: Answer) -> str:
    """A service's problem answer in plain words (422s list their fields)."""
    try:
        body = answer.json()
    except ValueError:
        return f"HTTP {answer.status_code}"
    detail = str(body.get("detail") or body.get("title") or answer.status_code)
    errors = body.get("errors")
    if isinstance(errors, list) and errors:
        fields = ", ".join(f"{e.get('field', '?')}: {e.get('message', '')}" for e in errors
                           if isinstance(e, dict))
        return f"{detail} ({fields})" if fields else detail
    return detail


def render(request: Request, console: Console, session: Session | None, template: str,
           status: int = 200, **context: Any) -> HTMLResponse:
    language = language_of(request)
    page = console.templates.get_template(template).render(
        request=request, path=request.url.path, user=session.user if session else None,
        csrf_token=session.csrf_token if session else "", lang=language,
        _=translator(language), drill=drill_of(request),
        local=lambda value: local_time(value, console.settings.zone),
        live_since=getattr(request.state, "live_since", None) or console.hub.latest_id(),
        **context)
    return HTMLResponse(page, status_code=status)


def safe_next(target: str | None, default: str = "/board") -> str:
    """A local path to go back to; anything else (another host, //evil) goes home."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def redirect(target: str, request: Request) -> Response:
    """A redirect that also works for htmx requests (which follow HX-Redirect)."""
    if request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def new_form_key() -> str:
    """An idempotency key rendered into a form, so a double submit files once."""
    return "console-" + secrets.token_urlsafe(18)
