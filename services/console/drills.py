"""Drills (应急演练): the shipped scenarios, starting one (leaders), its state while it runs,
stopping it, its evaluation report (and the PDF), and cleaning it up afterwards. Every call
goes through the API with the user's scopes (`cases:write` to start, stop and clean up)."""

from __future__ import annotations

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
SPEEDS = (1, 10, 60, 120, 600)
VERDICTS = ("met", "missed", "pending")


def may_run(user: User) -> bool:
    caller = user.caller()
    return caller.has("cases:write") or caller.has("drills:run")


async def drills_context(console: Console, session: Session) -> dict[str, Any]:
    api = Api(console, session.user)
    scenarios = (await api.json("/api/v1/drills/scenarios"))["items"]
    runs = (await api.json("/api/v1/drills", {"limit": 50}))["items"]
    return {"scenarios": scenarios, "runs": runs, "can_run": may_run(session.user),
            "speeds": SPEEDS}


@router.get("/drills", response_class=HTMLResponse)
async def drills_page(request: Request, console: ConsoleDep, session: SessionDep) -> Response:
    return render(request, console, session, "drills.html",
                  message=None, **await drills_context(console, session))


@router.post("/drills", response_class=HTMLResponse)
async def start(request: Request, console: ConsoleDep, session: PostSessionDep) -> Response:
    form = await request.form()
    scenario = str(form.get("scenario") or "")
    try:
        speed = float(str(form.get("speed") or "1"))
    except ValueError:
        speed = 0.0  # the API refuses it in plain words
    answer = await Api(console, session.user, language_of(request)).post(
        "/api/v1/drills", {"scenario": scenario, "speed": speed})
    if answer.status_code == 201:
        return redirect(f"/drills/{answer.json()['id']}", request)
    return render(request, console, session, "drills.html", status=answer.status_code,
                  message=("The drill could not start: {detail}",
                           {"detail": problem_detail(answer)}),
                  **await drills_context(console, session))


async def run_context(console: Console, session: Session, run_id: str) -> dict[str, Any]:
    report = await Api(console, session.user).json(f"/api/v1/drills/{run_id}/report")
    return {"report": report, "run": report["run"], "can_run": may_run(session.user),
            "verdicts": VERDICTS}


@router.get("/drills/{run_id}", response_class=HTMLResponse)
async def run_page(request: Request, console: ConsoleDep, session: SessionDep,
                   run_id: str) -> Response:
    return render(request, console, session, "drill.html", message=None,
                  **await run_context(console, session, run_id))


@router.get("/drills/{run_id}/panel", response_class=HTMLResponse)
async def run_panel(request: Request, console: ConsoleDep, session: SessionDep,
                    run_id: str) -> Response:
    """The state and the scores alone: what the page refetches while the drill runs."""
    return render(request, console, session, "_drill_panel.html",
                  **await run_context(console, session, run_id))


@router.post("/drills/{run_id}/stop", response_class=HTMLResponse)
async def stop(request: Request, console: ConsoleDep, session: PostSessionDep,
               run_id: str) -> Response:
    answer = await Api(console, session.user).post(f"/api/v1/drills/{run_id}/stop")
    if answer.status_code == 200:
        return redirect(f"/drills/{run_id}", request)
    return render(request, console, session, "drill.html", status=answer.status_code,
                  message=("Refused: {detail}", {"detail": problem_detail(answer)}),
                  **await run_context(console, session, run_id))


@router.post("/drills/{run_id}/delete", response_class=HTMLResponse)
async def clean_up(request: Request, console: ConsoleDep, session: PostSessionDep,
                   run_id: str) -> Response:
    answer = await Api(console, session.user).delete(f"/api/v1/drills/{run_id}")
    if answer.status_code == 204:
        return redirect("/drills", request)
    return render(request, console, session, "drill.html", status=answer.status_code,
                  message=("Refused: {detail}", {"detail": problem_detail(answer)}),
                  **await run_context(console, session, run_id))


@router.get("/drills/{run_id}/report.pdf")
async def report_pdf(console: ConsoleDep, session: SessionDep, run_id: str) -> Response:
    answer = await Api(console, session.user).get(f"/api/v1/drills/{run_id}/report",
                                                  {"format": "pdf"})
    return Response(answer.content, status_code=answer.status_code,
                    media_type=answer.headers.get("content-type", "application/pdf"),
                    headers={"Content-Disposition": f'inline; filename="drill-{run_id}.pdf"'})
