"""Registering a complaint received by phone, letter or in person (登记), through intake's
own path with an idempotency key rendered into the form: a double click files once."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from services.console.web import (
    Api,
    ConsoleDep,
    PostSessionDep,
    SessionDep,
    language_of,
    new_form_key,
    problem_detail,
    redirect,
    render,
)

router = APIRouter(include_in_schema=False)
CHANNELS = ("hotline", "letter", "onsite", "email", "web", "wechat", "app", "sms", "media")


def complaint_body(form: FormData, drill: bool) -> dict[str, Any]:
    """The intake body from the form; blank fields are left out, intake validates the rest."""
    def text(name: str) -> str:
        return str(form.get(name) or "").strip()

    body: dict[str, Any] = {"channel": text("channel"), "content": text("content"),
                            "drill": drill}
    for name in ("subject", "location"):
        if text(name):
            body[name] = text(name)
    complainant = {k: text(k) for k in ("name", "phone", "email", "id_number") if text(k)}
    if complainant:
        body["complainant"] = complainant
    target = {k: text(k) for k in ("department", "product") if text(k)}
    if target:
        body["target"] = target
    if text("people_count").isdigit():
        body["people_count"] = int(text("people_count"))
    body["media_involved"] = form.get("media_involved") == "on"
    if text("attachment_url"):
        body["attachments"] = [{"name": text("attachment_name") or text("attachment_url"),
                                "url": text("attachment_url")}]
    return body


@router.get("/register", response_class=HTMLResponse)
async def register_form(request: Request, console: ConsoleDep, session: SessionDep) -> Response:
    return render(request, console, session, "register.html", form_key=new_form_key(),
                  channels=CHANNELS, error=None, values={})


@router.post("/register", response_class=HTMLResponse)
async def register(request: Request, console: ConsoleDep, session: PostSessionDep) -> Response:
    form = await request.form()
    key = str(form.get("form_key") or "")[:200] or new_form_key()
    answer = await Api(console, session.user, language_of(request)).post(
        "/api/v1/complaints", complaint_body(form, request.cookies.get("beacon_drill") == "1"),
        headers={"idempotency-key": key})
    if answer.status_code in (200, 202):
        return redirect(f"/complaints/{answer.json()['id']}", request)
    values = {k: str(v) for k, v in form.items() if k != "csrf_token"}
    return render(request, console, session, "register.html", status=422, form_key=key,
                  channels=CHANNELS, values=values,
                  error=("The complaint could not be registered: {detail}",
                         {"detail": problem_detail(answer)}))


@router.get("/complaints/{complaint_id}", response_class=HTMLResponse)
async def registered(request: Request, console: ConsoleDep, session: SessionDep,
                     complaint_id: str) -> Response:
    """The complaint just registered; it links to its case once triage has run."""
    complaint = await Api(console, session.user).json(f"/api/v1/complaints/{complaint_id}")
    return render(request, console, session, "registered.html", complaint=complaint)
