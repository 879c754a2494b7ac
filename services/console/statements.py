"""The unified external statement (统一口径): drafts, leader approval, and distribution to
every liaison and channel against the 0.5 h clock that starts at approval."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from services.console.users import Session, User
from services.console.web import (
    Api,
    Console,
    ConsoleDep,
    PostSessionDep,
    SessionDep,
    language_of,
    problem_detail,
    redirect,
    render,
)

router = APIRouter(include_in_schema=False)
# The plans' clock: liaisons have the approved statement within 0.5 h.
DISTRIBUTION_CLOCK = timedelta(minutes=30)
DELIVERIES_FOR = 50  # approved statements whose deliveries the list shows
FIELDS = ("title", "text", "language", "incident_id")
OWN_DRAFT = "You drafted this statement: another leader must approve it (four eyes)."


def may_draft(user: User) -> bool:
    caller = user.caller()
    return caller.has("cases:write") or caller.has("statements:draft")


def approval_refusal(user: User, statement: dict[str, Any]) -> str | None:
    """Why this user may not approve this statement, or None when they may (the API
    decides in the end, by the same rules)."""
    if statement["status"] != "draft":
        return "Already approved."
    if not user.caller().has("statements:approve"):
        return "Only the leadership group may approve a statement."
    if statement["drafted_by"] == user.caller().owner:
        return OWN_DRAFT
    return None


def distribution(statement: dict[str, Any], deliveries: list[dict[str, Any]]
                 ) -> dict[str, Any] | None:
    """The distribution clock of an approved statement: start, due, done."""
    if not statement.get("approved_at"):
        return None
    approved = datetime.fromisoformat(statement["approved_at"])
    due = statement.get("distribute_by") or (approved + DISTRIBUTION_CLOCK).isoformat()
    done = bool(deliveries) and all(d["status"] == "sent" for d in deliveries)
    return {"start": statement["approved_at"], "due": due, "done": done}


async def statements_context(console: Console, session: Session) -> dict[str, Any]:
    api = Api(console, session.user)
    statements: list[dict[str, Any]] = (await api.json("/api/v1/statements"))["items"]
    approved = [s for s in statements if s.get("approved_at")][:DELIVERIES_FOR]
    answers = await asyncio.gather(*[
        api.get("/api/v1/notifications", {"statement_id": s["id"], "limit": 1000})
        for s in approved])
    deliveries = {s["id"]: a.json()["items"] if a.status_code == 200 else []
                  for s, a in zip(approved, answers, strict=True)}
    return {"statements": [
        {**s, "deliveries": deliveries.get(s["id"], []),
         "clock": distribution(s, deliveries.get(s["id"], [])),
         "refusal": approval_refusal(session.user, s)} for s in statements],
        "can_draft": may_draft(session.user)}


def page(request: Request, console: Console, session: Session, context: dict[str, Any], *,
         status: int = 200, message: tuple[str, dict[str, Any]] | None = None,
         values: dict[str, str] | None = None) -> Response:
    return render(request, console, session, "statements.html", status=status,
                  message=message, values=values or {}, **context)


@router.get("/statements", response_class=HTMLResponse)
async def statements_page(request: Request, console: ConsoleDep,
                          session: SessionDep) -> Response:
    return page(request, console, session, await statements_context(console, session))


@router.get("/statements/list", response_class=HTMLResponse)
async def statements_fragment(request: Request, console: ConsoleDep,
                              session: SessionDep) -> Response:
    """The list alone: what a statement or notification notice refetches."""
    return render(request, console, session, "_statements_list.html",
                  **await statements_context(console, session))


@router.post("/statements", response_class=HTMLResponse)
async def draft(request: Request, console: ConsoleDep, session: PostSessionDep) -> Response:
    form = await request.form()
    values = {k: str(form.get(k) or "").strip() for k in FIELDS}
    body: dict[str, Any] = {k: v for k, v in values.items() if v}
    api = Api(console, session.user, language_of(request))
    answer = await api.post("/api/v1/statements", body)
    if answer.status_code == 201:
        return redirect(f"/statements#statement-{answer.json()['id']}", request)
    return page(request, console, session, await statements_context(console, session),
                status=answer.status_code, values=values,
                message=("The statement could not be saved: {detail}",
                         {"detail": problem_detail(answer)}))


@router.post("/statements/{statement_id}/approve", response_class=HTMLResponse)
async def approve(request: Request, console: ConsoleDep, session: PostSessionDep,
                  statement_id: str) -> Response:
    """Approve through the API, which refuses anyone without statements:approve (403)."""
    answer = await Api(console, session.user).post(
        f"/api/v1/statements/{statement_id}/approve")
    if answer.status_code == 200:
        return redirect(f"/statements#statement-{statement_id}", request)
    context = await statements_context(console, session)
    refusal = next((s["refusal"] for s in context["statements"] if s["id"] == statement_id),
                   None)
    explained = {403: "Only the leadership group may approve a statement: {detail}",
                 409: "This statement was already approved: {detail}"}
    message = explained.get(answer.status_code, "Refused: {detail}")
    if refusal == OWN_DRAFT:  # said in the page's language, not the API's words
        message = OWN_DRAFT
    return page(request, console, session, context, status=answer.status_code,
                message=(message, {"detail": problem_detail(answer)}))
