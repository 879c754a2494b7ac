"""Notify's routes: deliveries and acknowledgement, the roster and duty schedule, hotline
callbacks, statements. Routes only: each write runs in the request's unit (`UnitDep`, which
commits), reads go through `queries` and `rosterdb`, domain logic lives in the modules."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Header, HTTPException, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse

from notify_svc import ackpage, queries, rosterdb, statements
from notify_svc.acknowledgement import AckError
from notify_svc.channels.guard import OutboundGuard, UnsafeUrl
from notify_svc.models import Delivery
from notify_svc.queries import DeliveryFilter
from notify_svc.schemas import (
    AckIn,
    BriefList,
    BriefOut,
    CallbackIn,
    CallbackList,
    CallbackOut,
    DeliveryList,
    DeliveryOut,
    DutyList,
    DutySlotIn,
    MemberBody,
    MemberIn,
    MemberOut,
    RosterOut,
    StatementIn,
    StatementList,
    StatementOut,
)
from notify_svc.service import Notifier
from shared.app import ReadSessionDep, UnitDep
from shared.caller import Caller, caller_from
from shared.paging import CURSOR_PATTERN, OLDEST_FIRST_DESCRIPTION, CursorQuery
from shared.problems import PROBLEM_JSON

router = APIRouter(prefix="/api/v1/notifications", tags=["notifications"])
roster_router = APIRouter(prefix="/api/v1/roster", tags=["roster"])
callbacks_router = APIRouter(prefix="/api/v1/callbacks", tags=["callbacks"])
statements_router = APIRouter(prefix="/api/v1/statements", tags=["statements"])
briefs_router = APIRouter(prefix="/api/v1/briefs", tags=["briefs"])

CallerDep = Annotated[Caller, Depends(caller_from)]


def _problem(*statuses: int) -> dict[int | str, dict[str, Any]]:
    ref = {"$ref": "#/components/schemas/Problem"}
    return {s: {"description": "problem details", "content": {PROBLEM_JSON: {"schema": ref}}}
            for s in statuses}


def notifier_of(request: Request) -> Notifier:
    notifier: Notifier = request.app.state.notifier
    return notifier


NotifierDep = Annotated[Notifier, Depends(notifier_of)]


async def guard_of(request: Request) -> OutboundGuard:
    guard: OutboundGuard = request.app.state.guard
    return guard


GuardDep = Annotated[OutboundGuard, Depends(guard_of)]
# The page's own policy (the gateway's API default would block its inline style and
# script): only what carries this answer's nonce runs, and it may POST back here only.
ACK_CSP = ("default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
           "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
URL_CHANNELS = ("webhook", "dingtalk", "wecom", "feishu")


async def refuse_internal_urls(guard: OutboundGuard,
                               urls: list[tuple[tuple[str | int, ...], str]]) -> None:
    """422 naming each URL (by its place in the body) that points at an internal address."""
    errors = []
    for where, url in urls:
        try:
            await guard.check_registration(url)
        except UnsafeUrl as exc:
            errors.append({"loc": ("body", *where), "msg": str(exc), "type": "value_error"})
    if errors:
        raise RequestValidationError(errors)


def member_urls(body: MemberBody, *prefix: str | int) -> list[tuple[tuple[str | int, ...], str]]:
    return [((*prefix, "channels", name, "address"), channel.address)
            for name in URL_CHANNELS if (channel := getattr(body.channels, name)) is not None]


def require(*scopes: str) -> Callable[[Request], Caller]:
    """The gateway routes by path prefix; scopes finer than that are checked here (any one
    of `scopes` admits the caller)."""

    def check(request: Request) -> Caller:
        caller = caller_from(request)
        if not any(caller.has(scope) for scope in scopes):
            raise HTTPException(403, f"this key lacks the scope {' or '.join(scopes)}")
        return caller

    return check


AdminDep = Annotated[Caller, Depends(require("admin"))]
NamePath = Annotated[str, Path(pattern=r"^[A-Za-z0-9._:-]{1,100}$")]


def who(caller: Caller) -> str:
    return caller.owner or caller.key_id or "anonymous"


# -- deliveries and acknowledgement ----------------------------------------------------


@router.get("", response_model=DeliveryList)
async def list_notifications(
    session: ReadSessionDep,
    complaint_id: str | None = None,
    case_id: str | None = None,
    incident_id: str | None = None,
    statement_id: str | None = None,
    recipient: str | None = None,
    status: str | None = None,
    cursor: Annotated[str | None, Query(pattern=CURSOR_PATTERN,
                                        description=OLDEST_FIRST_DESCRIPTION)] = None,
    total: Annotated[bool, Query(description="also count every match")] = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    *, notifier: NotifierDep, caller: CallerDep,
) -> DeliveryList:
    """Deliveries with status, attempts and last error: with no filter the most recent
    first, with one oldest first (what happened, in order); then by id, paged by cursor.
    Callers with cases:write also see each message's acknowledgement link."""
    where = DeliveryFilter(complaint_id=complaint_id, case_id=case_id, incident_id=incident_id,
                           statement_id=statement_id, recipient=recipient, status=status)
    rows, next_cursor = await queries.page_of_deliveries(session, where, limit, cursor)
    counted = await queries.count_deliveries(session, where) if total else None
    links = caller.has("cases:write")
    return DeliveryList(items=[delivery_out(r, notifier if links else None) for r in rows],
                        next_cursor=next_cursor, total=counted)


def delivery_out(row: Delivery, notifier: Notifier | None = None) -> DeliveryOut:
    """The delivery; with a notifier, its acknowledgement link too (callbacks have none)."""
    out = DeliveryOut.model_validate(row, from_attributes=True)
    if notifier is not None and row.channel != "callback":
        out.ack_url = notifier.ack_url(row.id)
    return out


@router.get("/ack", response_class=HTMLResponse,
            responses={**_problem(404), 410: {"description": "the link expired (an HTML page)"}})
async def ack_page(
    session: ReadSessionDep, notifier: NotifierDep,
    token: Annotated[str, Query(min_length=1, max_length=200)],
    lang: Annotated[str | None, Query(pattern="^(zh|en)$",
                                      description="zh or en; else Accept-Language")] = None,
    accept_language: Annotated[str | None, Header(max_length=500)] = None,
) -> HTMLResponse:
    """The page an acknowledgement link opens. Opening it acknowledges nothing (chat apps
    fetch links to preview them); its button POSTs the token. Once acknowledged it says
    when, by whom, and what is still due on the case, in local time."""
    row = await queries.delivery_by_token(session, token)
    if row is None:
        raise HTTPException(404, "unknown acknowledgement token")
    still_due = await queries.still_due(session, row)
    expired = None if row.acknowledged_at else notifier.token_expired_at(row)
    nonce = secrets.token_urlsafe(16)
    language = ackpage.language(lang, accept_language, row.language)
    subject = notifier.render(row, language).subject or row.event_type
    return HTMLResponse(notifier.templates.page("ack.html.j2", ackpage.context(
        row, subject=subject, token=token, lang=language, zone=notifier.zone,
        still_due=still_due, now=dt.datetime.now(dt.UTC), expired=expired) | {"nonce": nonce}),
        status_code=410 if expired else 200, headers={"content-security-policy": ACK_CSP.format(
            nonce=nonce), "cache-control": "no-store"})


@router.post("/ack", response_model=DeliveryOut, responses=_problem(404, 409, 410))
async def ack_by_token(body: AckIn, unit: UnitDep, notifier: NotifierDep) -> DeliveryOut:
    """Acknowledge with the token a message carried; the token is the authority (one use)."""
    try:
        # Whoever holds the token is the recipient it was sent to.
        row = await notifier.acknowledge(unit, token=body.token, by=None)
    except AckError as exc:
        raise HTTPException(exc.status, exc.detail) from exc
    return DeliveryOut.model_validate(row, from_attributes=True)


@router.post("/{delivery_id}/ack", response_model=DeliveryOut, responses=_problem(404, 409))
async def ack_by_operator(delivery_id: str, unit: UnitDep, notifier: NotifierDep,
                          caller: CallerDep) -> DeliveryOut:
    """An operator records an acknowledgement given by other means (a phone call)."""
    try:
        row = await notifier.acknowledge(unit, delivery_id=delivery_id, by=who(caller))
    except AckError as exc:
        raise HTTPException(exc.status, exc.detail) from exc
    return DeliveryOut.model_validate(row, from_attributes=True)


# -- roster and duty schedule (read with cases:read, edited by admin) ---------------------


@roster_router.get("", response_model=RosterOut, responses=_problem(403))
async def get_roster(session: ReadSessionDep, notifier: NotifierDep,
                     caller: Annotated[Caller, Depends(require("cases:read"))]) -> RosterOut:
    """Members, roles and routing; channel addresses only for admin (staff's personal data)."""
    members = await rosterdb.load_members(session)
    rules = notifier.rules
    return RosterOut(
        members=[MemberOut.of(m, addresses=caller.has("admin")) for m in members],
        routing={str(k): list(v) for k, v in sorted(rules.levels.items())},
        digest_levels=sorted(rules.digest_levels),
        incidents={k: list(v) for k, v in rules.incidents.items()},
        statement=list(rules.statement),
    )


@roster_router.put("/members", response_model=list[MemberOut], responses=_problem(403, 409))
async def replace_members(body: Annotated[list[MemberIn], Body(max_length=1000)],
                          unit: UnitDep, guard: GuardDep, _: AdminDep) -> list[MemberOut]:
    """Replace the whole roster. URLs to internal addresses are refused (422) unless
    OUTBOUND_URL_ALLOWLIST names them."""
    await refuse_internal_urls(guard, [u for i, m in enumerate(body) for u in member_urls(m, i)])
    ids = [m.id for m in body]
    if len(set(ids)) != len(ids):
        raise HTTPException(409, "member ids must be unique")
    members = [m.to_member(m.id) for m in body]
    await rosterdb.replace_members(unit.session, members)
    return [MemberOut.of(m) for m in members]


@roster_router.put("/members/{member_id}", response_model=MemberOut, responses=_problem(403))
async def put_member(member_id: NamePath, body: MemberBody, unit: UnitDep,
                     guard: GuardDep, _: AdminDep) -> MemberOut:
    await refuse_internal_urls(guard, member_urls(body))
    member = body.to_member(member_id)
    await rosterdb.upsert_member(unit.session, member)
    return MemberOut.of(member)


@roster_router.delete("/members/{member_id}", status_code=204, responses=_problem(403))
async def delete_member(member_id: str, unit: UnitDep, _: AdminDep) -> None:
    if not await rosterdb.delete_member(unit.session, member_id):
        raise HTTPException(404, f"no member {member_id}")


@roster_router.get("/duty", response_model=DutyList, responses=_problem(403))
async def get_duty(session: ReadSessionDep,
                   _: Annotated[Caller, Depends(require("cases:read"))],
                   on: dt.date | None = None) -> DutyList:
    """The duty schedule (值班表), or one day's."""
    slots = await rosterdb.load_duty(session, on)
    return DutyList(items=[DutySlotIn.of(s) for s in slots])


@roster_router.put("/duty", response_model=DutyList, responses=_problem(403))
async def replace_duty(body: DutyList, unit: UnitDep, _: AdminDep) -> DutyList:
    await rosterdb.replace_duty(unit.session, [s.to_slot() for s in body.items])
    return body


# -- hotline callbacks (admin) ---------------------------------------------------------


@callbacks_router.get("", response_model=CallbackList, responses=_problem(403))
async def list_callbacks(session: ReadSessionDep, _: AdminDep, cursor: CursorQuery = None,
                         limit: Annotated[int, Query(ge=1, le=500)] = 100) -> CallbackList:
    """Callbacks most recently changed first (then owner), paged by cursor."""
    rows, next_cursor = await queries.page_of_callbacks(session, limit, cursor)
    return CallbackList(items=[CallbackOut.model_validate(r, from_attributes=True)
                               for r in rows], next_cursor=next_cursor)


@callbacks_router.put("/{owner}", response_model=CallbackOut, responses=_problem(403))
async def put_callback(owner: NamePath, body: CallbackIn, unit: UnitDep,
                       guard: GuardDep, _: AdminDep) -> CallbackOut:
    """Where the hotline system `owner` (its API key's owner) receives status changes. A URL
    to an internal address is refused (422) unless OUTBOUND_URL_ALLOWLIST names it."""
    await refuse_internal_urls(guard, [(("url",), body.url)])
    row = await rosterdb.put_callback(unit.session, owner, body.url, body.secret)
    return CallbackOut.model_validate(row, from_attributes=True)


@callbacks_router.delete("/{owner}", status_code=204, responses=_problem(403))
async def delete_callback(owner: str, unit: UnitDep, _: AdminDep) -> None:
    if not await rosterdb.delete_callback(unit.session, owner):
        raise HTTPException(404, f"no callback for {owner}")


# -- unified external statement (统一口径) -----------------------------------------------


@statements_router.post("", response_model=StatementOut, status_code=201,
                        responses=_problem(403))
async def draft_statement(
    body: StatementIn, unit: UnitDep,
    caller: Annotated[Caller, Depends(require("cases:write", "statements:draft"))],
) -> StatementOut:
    row = await statements.draft(unit, title=body.title, text=body.text,
                                 language=body.language, incident_id=body.incident_id,
                                 by=who(caller))
    return StatementOut.model_validate(row, from_attributes=True)


@statements_router.get("", response_model=StatementList)
async def list_statements(session: ReadSessionDep, status: str | None = None,
                          incident_id: str | None = None, cursor: CursorQuery = None,
                          limit: Annotated[int, Query(ge=1, le=500)] = 200) -> StatementList:
    """Statements newest first (then id), paged by cursor."""
    rows, next_cursor = await queries.page_of_statements(session, status, incident_id,
                                                         limit, cursor)
    return StatementList(items=[StatementOut.model_validate(r, from_attributes=True)
                                for r in rows], next_cursor=next_cursor)


@statements_router.get("/{statement_id}", response_model=StatementOut)
async def get_statement(statement_id: str, session: ReadSessionDep) -> StatementOut:
    """The text as approved, who approved it and when."""
    row = await queries.statement(session, statement_id)
    if row is None:
        raise HTTPException(404, f"no statement {statement_id}")
    return StatementOut.model_validate(row, from_attributes=True)


@statements_router.post("/{statement_id}/approve", response_model=StatementOut,
                        responses=_problem(403, 409))
async def approve_statement(
    statement_id: str, unit: UnitDep,
    caller: Annotated[Caller, Depends(require("statements:approve"))],
) -> StatementOut:
    """Approve (报公司领导批准确认) and distribute: liaisons and the public-opinion team are
    notified through statement.approved. Four eyes: whoever drafted the statement cannot
    approve it, an admin key included (403); an approved one answers 409."""
    try:
        row = await statements.approve(unit, statement_id, by=who(caller))
    except statements.StatementError as exc:
        raise HTTPException(exc.status, exc.detail) from exc
    return StatementOut.model_validate(row, from_attributes=True)


@briefs_router.get("", response_model=BriefList)
async def list_briefs(session: ReadSessionDep,
                      kind: Literal["daily", "weekly"] | None = None,
                      cursor: CursorQuery = None,
                      limit: Annotated[int, Query(ge=1, le=500)] = 100) -> BriefList:
    """Scheduled briefs (日报, 周报; roster.toml `[brief]`), the latest period first, paged by
    cursor: each once claimed, its figures as they came, and when it was delivered (its
    messages are in the notifications list, event type `brief`)."""
    rows, next_cursor = await queries.page_of_briefs(session, kind, limit, cursor)
    return BriefList(items=[BriefOut.model_validate(r, from_attributes=True) for r in rows],
                     next_cursor=next_cursor)


ROUTERS = (router, roster_router, callbacks_router, statements_router, briefs_router)
