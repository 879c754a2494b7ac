"""Incidents: group complaints (群体投诉) and public-opinion incidents, filtered in the URL,
each with its member complaints (linked to their cases) and mentions, closing with a
reason, and its post-event summary (总结评估: edit, approve, archive, PDF)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from services.console.users import Session
from services.console.web import (
    Api,
    Console,
    ConsoleDep,
    PostSessionDep,
    SessionDep,
    drill_of,
    language_of,
    problem_detail,
    redirect,
    render,
)

router = APIRouter(include_in_schema=False)
KINDS = ("group", "public_opinion")
STATES = ("open", "closed")
MENTIONS_SHOWN = 50  # titles fetched for the first ones; the rest are listed by id
# A group complaint's work group (plan-group-complaint.txt, 专项工作组) and the emotional
# states of its registration, as the API names them.
TEAMS = ("on_site", "negotiation", "assessment", "information", "logistics")
EMOTIONAL_STATES = ("calm", "anxious", "agitated", "hostile")


def incident_filters(request: Request) -> dict[str, str]:
    """kind and state as the URL gives them (unknown values are dropped)."""
    kind, state = request.query_params.get("kind", ""), request.query_params.get("state", "")
    return {k: v for k, v in (("kind", kind), ("state", state))
            if v in (KINDS if k == "kind" else STATES)}


async def incident_list(console: Console, session: Session,
                        request: Request) -> list[dict[str, Any]]:
    query = {**incident_filters(request), "drill": str(drill_of(request)).lower(),
             "limit": 200}
    page = await Api(console, session.user).json("/api/v1/incidents", query)
    items: list[dict[str, Any]] = page["items"]
    return items


@router.get("/incidents", response_class=HTMLResponse)
async def incidents_page(request: Request, console: ConsoleDep, session: SessionDep) -> Response:
    filters = incident_filters(request)
    return render(request, console, session, "incidents.html", filters=filters,
                  filter_query=urlencode(filters), kinds=KINDS, states=STATES,
                  incidents=await incident_list(console, session, request))


@router.get("/incidents/list", response_class=HTMLResponse)
async def incidents_fragment(request: Request, console: ConsoleDep,
                             session: SessionDep) -> Response:
    """The table alone: what a live notice makes the page refetch."""
    return render(request, console, session, "_incidents_table.html",
                  incidents=await incident_list(console, session, request))


async def incident_context(console: Console, session: Session,
                           incident_id: str) -> dict[str, Any]:
    """The incident, its complaints with their cases, and its mentions (titles of the first
    MENTIONS_SHOWN)."""
    api = Api(console, session.user)
    incident = await api.json(f"/api/v1/incidents/{incident_id}")
    cases, mentions, summary, fixes = await asyncio.gather(
        api.get("/api/v1/cases", {"incident_id": incident_id, "limit": 500}),
        asyncio.gather(*[api.get(f"/api/v1/mentions/{m}")
                         for m in incident["mention_ids"][:MENTIONS_SHOWN]]),
        api.get(f"/api/v1/incidents/{incident_id}/summary"),
        api.get(f"/api/v1/incidents/{incident_id}/rectifications"))
    caller = session.user.caller()
    by_complaint = {c["complaint_id"]: c for c in
                    (cases.json()["items"] if cases.status_code == 200 else [])}
    found = {a.json()["id"]: a.json() for a in mentions if a.status_code == 200}
    return {
        "incident": incident,
        "members": [(cid, by_complaint.get(cid)) for cid in incident["complaint_ids"]],
        "mentions": [(mid, found.get(mid)) for mid in incident["mention_ids"]],
        "can_close": caller.has("cases:write") and incident["state"] == "open",
        "can_register": caller.has("cases:write") and incident["state"] == "open"
        and incident["kind"] == "group",
        "teams": TEAMS, "emotional_states": EMOTIONAL_STATES,
        # The post-event summary (总结评估): edited by operators, approved by leaders only.
        "summary": summary.json() if summary.status_code == 200 else None,
        "can_edit_summary": caller.has("cases:write"),
        "can_approve_summary": caller.has("statements:approve"),
        # 整改措施 of the incident itself (its cases' are on their case pages).
        "rectifications": fixes.json() if fixes.status_code == 200 else [],
        "can_rectify": caller.has("cases:write"),
    }


@router.get("/incidents/{incident_id}", response_class=HTMLResponse)
async def incident_page(request: Request, console: ConsoleDep, session: SessionDep,
                        incident_id: str) -> Response:
    return render(request, console, session, "incident.html", message=None, reason="",
                  **await incident_context(console, session, incident_id))


@router.get("/incidents/{incident_id}/panel", response_class=HTMLResponse)
async def incident_panel(request: Request, console: ConsoleDep, session: SessionDep,
                         incident_id: str) -> Response:
    return render(request, console, session, "_incident_panel.html",
                  **await incident_context(console, session, incident_id))


@router.post("/incidents/{incident_id}/close", response_class=HTMLResponse)
async def close_incident(request: Request, console: ConsoleDep, session: PostSessionDep,
                         incident_id: str,
                         reason: Annotated[str, Form(max_length=2000)] = "") -> Response:
    """Close with a reason; a refusal (409 already closed, 403, 422) is shown in plain words."""
    message: tuple[str, dict[str, Any]]
    if not reason.strip():
        answer_status, message = 422, ("A reason is required to close an incident.", {})
    else:
        answer = await Api(console, session.user, language_of(request)).post(
            f"/api/v1/incidents/{incident_id}/close", {"reason": reason.strip()})
        if answer.status_code == 200:
            return redirect(f"/incidents/{incident_id}", request)
        answer_status = answer.status_code
        message = ("This incident is already closed: {detail}" if answer_status == 409
                   else "Refused: {detail}", {"detail": problem_detail(answer)})
    return render(request, console, session, "incident.html", status=answer_status,
                  message=message, reason=reason,
                  **await incident_context(console, session, incident_id))


def _registration_body(form: Any) -> dict[str, Any]:
    """The ticked member complaints and any other complaint ids typed in are the
    representatives; empty fields are left out (the API names what is missing)."""
    typed = [part.strip() for part in str(form.get("other_representatives") or "").split(",")]
    body: dict[str, Any] = {name: str(form.get(name) or "").strip() for name in (
        "core_demands", "place", "emotional_state", "note")}
    body = {name: value for name, value in body.items() if value}
    body["representatives"] = [str(v) for v in form.getlist("representatives")] + [
        part for part in typed if part]
    return body


def _work_group_body(form: Any) -> dict[str, Any]:
    """Each team's lead and its members (comma-separated); a team without a lead is left out."""
    body: dict[str, Any] = {name: str(form.get(name) or "").strip() for name in ("leader",
                                                                                "deputy")}
    body = {name: value for name, value in body.items() if value}
    for team in TEAMS:
        lead = str(form.get(f"{team}_lead") or "").strip()
        members = [m.strip() for m in str(form.get(f"{team}_members") or "").split(",")]
        if lead:
            body[team] = {"lead": lead, "members": [m for m in members if m]}
    return body


def _rectification_body(form: Any, console: Console) -> dict[str, Any]:
    """A corrective action; its deadline (datetime-local, in the console's zone) made aware."""
    body = {name: str(form.get(name) or "").strip() for name in ("action", "owner", "due_at")}
    try:
        moment = datetime.fromisoformat(body["due_at"])
    except ValueError:
        return body  # the API names the bad field
    if moment.tzinfo is None:
        body["due_at"] = moment.replace(tzinfo=console.settings.zone).isoformat()
    return body


@router.post("/incidents/{incident_id}/do/{action}", response_class=HTMLResponse)
async def incident_action(request: Request, console: ConsoleDep, session: PostSessionDep,
                          incident_id: str, action: str) -> Response:
    """A group complaint's registration or work group through the API; a refusal (404, 409,
    422) is shown in plain words and keeps the page."""
    def rectification(form: Any) -> dict[str, Any]:
        return _rectification_body(form, console)

    builders: dict[str, Callable[[Any], dict[str, Any]]] = {
        "registration": _registration_body, "work-group": _work_group_body,
        "rectifications": rectification}
    verify = action.startswith("verify-")
    if action not in builders and not verify:
        return render(request, console, session, "incident.html", status=404,
                      message=("Not found.", {}), reason="",
                      **await incident_context(console, session, incident_id))
    form = await request.form()
    if verify:
        fix = action.removeprefix("verify-")
        path = f"/api/v1/incidents/{incident_id}/rectifications/{fix}/verify"
        body = {"note": str(form.get("note") or "").strip()}
    else:
        path, body = f"/api/v1/incidents/{incident_id}/{action}", builders[action](form)
    answer = await Api(console, session.user, language_of(request)).post(path, body)
    if answer.status_code in (200, 201):
        return redirect(f"/incidents/{incident_id}", request)
    return render(request, console, session, "incident.html", status=answer.status_code,
                  message=("This action is not allowed now: {detail}"
                           if answer.status_code == 409 else "Refused: {detail}",
                           {"detail": problem_detail(answer)}), reason="",
                  **await incident_context(console, session, incident_id))


@router.get("/incidents/{incident_id}/summary.pdf")
async def summary_pdf(console: ConsoleDep, session: SessionDep, incident_id: str) -> Response:
    """The post-event summary as PDF through the API."""
    answer = await Api(console, session.user).get(f"/api/v1/incidents/{incident_id}/summary",
                                                  {"format": "pdf"})
    return Response(answer.content, status_code=answer.status_code,
                    media_type=answer.headers.get("content-type", "application/pdf"),
                    headers={"Content-Disposition":
                             f'inline; filename="summary-{incident_id}.pdf"'})


async def _summary_answer(request: Request, console: Console, session: Session,
                          incident_id: str, answer_status: int, detail: str) -> Response:
    message = ("The summary was not changed: {detail}", {"detail": detail})
    return render(request, console, session, "incident.html", status=answer_status,
                  message=message, reason="",
                  **await incident_context(console, session, incident_id))


@router.post("/incidents/{incident_id}/summary", response_class=HTMLResponse)
async def edit_summary(request: Request, console: ConsoleDep, session: PostSessionDep,
                       incident_id: str,
                       assessment: Annotated[str, Form(max_length=20000)] = "",
                       lessons: Annotated[str, Form(max_length=20000)] = "",
                       version: Annotated[int | None, Form(ge=0)] = None) -> Response:
    """A new version of the summary's assessment and lessons (409 if another came first)."""
    answer = await Api(console, session.user, language_of(request)).put(
        f"/api/v1/incidents/{incident_id}/summary",
        {"assessment": assessment.strip(), "lessons": lessons.strip(), "version": version})
    if answer.status_code == 200:
        return redirect(f"/incidents/{incident_id}", request)
    return await _summary_answer(request, console, session, incident_id, answer.status_code,
                                 problem_detail(answer))


@router.post("/incidents/{incident_id}/summary/{step}", response_class=HTMLResponse)
async def summary_step(request: Request, console: ConsoleDep, session: PostSessionDep,
                       incident_id: str, step: Literal["approve", "archive"]) -> Response:
    """Approve (leaders) or archive the summary; a refusal is shown in plain words."""
    answer = await Api(console, session.user, language_of(request)).post(
        f"/api/v1/incidents/{incident_id}/summary/{step}")
    if answer.status_code == 200:
        return redirect(f"/incidents/{incident_id}", request)
    return await _summary_answer(request, console, session, incident_id, answer.status_code,
                                 problem_detail(answer))
