"""A case: the complaint (masked unless revealed), level and reasons, deadlines, timeline,
escalation ladder, notifications, linked mentions, and every case action of the API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from services.console.users import Session
from services.console.web import (
    Api,
    Console,
    ConsoleDep,
    PostSessionDep,
    SessionDep,
    language_of,
    problem_detail,
    render,
)

router = APIRouter(include_in_schema=False)
# Each action of the API, with how a form's fields become its body.
ACTIONS: dict[str, tuple[str, ...]] = {
    "acknowledge": ("note",), "assign": ("assignee", "department"),
    "level": ("response_level", "reason"), "state": ("state", "reason"),
    "answer": ("text",), "follow-up": ("satisfaction", "note"), "appeal": ("reason",),
    "plan": ("method", "owner", "due_at"),
    "investigation": ("findings", "root_cause", "evidence_name", "evidence_url"),
    "opinion": ("text",),
    "transfer": ("to_department", "to_owner", "reason", "out_of_jurisdiction"),
    "follow-up-impossible": ("reason",), "archive": (),
    "cause-analysis": ("cause", "prevention"),
    "rectifications": ("action", "owner", "due_at"),
    "accountability": ("department", "person", "finding", "measure"),
    "interviews": ("at", "place", "reporter", "outlet", "answers", "topic"),
}
INTEGER_FIELDS = frozenset({"response_level", "satisfaction"})
BOOLEAN_FIELDS = frozenset({"out_of_jurisdiction"})  # a checkbox: sent only when ticked
LOCAL_TIMES = ("due_at", "at")  # datetime-local inputs, in the console's zone


async def case_context(console: Console, session: Session, case_id: str, *,
                       reveal: bool = False) -> dict[str, Any]:
    api = Api(console, session.user)
    case = await api.json(f"/api/v1/cases/{case_id}")
    complaint = await api.get(f"/api/v1/complaints/{case['complaint_id']}", reveal=reveal)
    notes = await api.get("/api/v1/notifications", {"case_id": case_id, "limit": 200})
    # 追责问责 is the leadership's: only they fetch (and see) the records.
    leadership = session.user.caller().has("accountability")
    records = await api.get(f"/api/v1/cases/{case_id}/accountability") if leadership else None
    return {
        "case": case,
        "complaint": complaint.json() if complaint.status_code == 200 else None,
        "notifications": notes.json().get("items", []) if notes.status_code == 200 else [],
        "revealed": reveal,
        "can_reveal": session.user.pii or session.user.role == "admin",
        "can_act": "cases:write" in session.user.scopes or session.user.role == "admin",
        "leadership": leadership,
        "accountability": records.json() if records and records.status_code == 200 else [],
        "oob_header": True,  # a fragment refreshes the page's header too
    }


def _case_file_body(body: dict[str, Any], console: Console) -> dict[str, Any]:
    """A form's one evidence link becomes the API's list, and the plan's local deadline and
    an interview's time (datetime-local, in the console's zone) aware times."""
    name, url = body.pop("evidence_name", None), body.pop("evidence_url", None)
    if name or url:
        body["evidence"] = [{"name": name or url, "url": url or ""}]
    for field in LOCAL_TIMES:
        value = body.get(field)
        if not isinstance(value, str):
            continue
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            continue  # the API names the bad field
        if moment.tzinfo is None:
            body[field] = moment.replace(tzinfo=console.settings.zone).isoformat()
    return body


@router.get("/cases/{case_id}/dossier.pdf")
async def dossier_pdf(console: ConsoleDep, session: SessionDep, case_id: str) -> Response:
    """The dossier as PDF through the API (personal data as the user's pii:read allows)."""
    answer = await Api(console, session.user).get(f"/api/v1/cases/{case_id}/dossier",
                                                  {"format": "pdf"})
    return Response(answer.content, status_code=answer.status_code,
                    media_type=answer.headers.get("content-type", "application/pdf"),
                    headers={"Content-Disposition": f'inline; filename="dossier-{case_id}.pdf"'})


@router.get("/cases/{case_id}", response_class=HTMLResponse)
async def case_page(request: Request, console: ConsoleDep, session: SessionDep,
                    case_id: str) -> Response:
    context = await case_context(console, session, case_id)
    return render(request, console, session, "case.html", message=None,
                  **{**context, "oob_header": False})


@router.get("/cases/{case_id}/panel", response_class=HTMLResponse)
async def case_panel(request: Request, console: ConsoleDep, session: SessionDep,
                     case_id: str) -> Response:
    """The case without the page around it: what a live notice refetches."""
    return render(request, console, session, "_case_panel.html", message=None,
                  **await case_context(console, session, case_id))


@router.post("/cases/{case_id}/reveal", response_class=HTMLResponse)
async def reveal(request: Request, console: ConsoleDep, session: PostSessionDep,
                 case_id: str) -> Response:
    """Show personal data once the reveal is on the timeline; refused without pii:read."""
    recorded = await Api(console, session.user).post(f"/api/v1/cases/{case_id}/reveal",
                                                      reveal=True)
    if recorded.status_code != 204:
        return render(request, console, session, "_case_panel.html",
                      status=recorded.status_code,
                      message=("Refused: {detail}", {"detail": problem_detail(recorded)}),
                      **await case_context(console, session, case_id))
    return render(request, console, session, "_case_panel.html", message=None,
                  **await case_context(console, session, case_id, reveal=True))


@router.post("/cases/{case_id}/do/{action}", response_class=HTMLResponse)
async def act(request: Request, console: ConsoleDep, session: PostSessionDep, case_id: str,
              action: str) -> Response:
    """One case action, through the API; its refusal (409, 422) is shown in plain words."""
    if action not in ACTIONS:
        return render(request, console, session, "_case_panel.html", status=404,
                      message=("Not found.", {}),
                      **await case_context(console, session, case_id))
    form = await request.form()
    body: dict[str, Any] = {}
    for name in ACTIONS[action]:
        value = str(form.get(name) or "").strip()
        if value and name in BOOLEAN_FIELDS:
            body[name] = True
        elif value:
            body[name] = int(value) if name in INTEGER_FIELDS and value.isdigit() else value
    body = _case_file_body(body, console)
    return await _post_action(request, console, session, case_id,
                              f"/api/v1/cases/{case_id}/{action}", body)


@router.post("/cases/{case_id}/rectifications/{rectification_id}/verify",
             response_class=HTMLResponse)
async def verify_rectification(request: Request, console: ConsoleDep, session: PostSessionDep,
                               case_id: str, rectification_id: str) -> Response:
    """验证 a corrective action, with its note, through the API."""
    form = await request.form()
    body = {"note": str(form.get("note") or "").strip()}
    return await _post_action(
        request, console, session, case_id,
        f"/api/v1/cases/{case_id}/rectifications/{rectification_id}/verify", body)


@router.post("/cases/{case_id}/pre-register", response_class=HTMLResponse)
async def pre_register(request: Request, console: ConsoleDep, session: PostSessionDep,
                       case_id: str) -> Response:
    """提前报备 this case's complainant: intake hashes their contact (the console never
    sees it), and their next complaint is raised one level."""
    form = await request.form()
    case = await Api(console, session.user).json(f"/api/v1/cases/{case_id}")
    body = {"complaint_id": case["complaint_id"], "note": str(form.get("note") or "").strip()}
    return await _post_action(request, console, session, case_id,
                              "/api/v1/complainants/at-risk", body,
                              done_message="Pre-registered: their next complaint is raised "
                                           "one level.")


async def _post_action(request: Request, console: Console, session: Session, case_id: str,
                       path: str, body: dict[str, Any], *,
                       done_message: str = "Done.") -> Response:
    answer = await Api(console, session.user, language_of(request)).post(path, body)
    done = answer.status_code in (200, 201)
    message = ((done_message, {}) if done else
               ("This action is not allowed now: {detail}" if answer.status_code == 409
                else "Refused: {detail}", {"detail": problem_detail(answer)}))
    # The API's status goes back too: the page swaps 403, 409 and 422 answers in (base.html's
    # htmx config) and keeps what the user typed unless the action was done.
    status = 200 if done else answer.status_code
    return render(request, console, session, "_case_panel.html", status=status,
                  message=message, ok=done, **await case_context(console, session, case_id))
