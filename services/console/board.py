"""The board: open cases in four lanes by response level, filters in the URL, saved views,
bulk acknowledge and assign."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from services.console.users import Session
from services.console.web import (
    Api,
    Console,
    ConsoleDep,
    PostSessionDep,
    SessionDep,
    drill_of,
    redirect,
    render,
)

router = APIRouter(include_in_schema=False)
FILTERS = ("level", "state", "category", "channel", "department", "overdue", "drill")
CATEGORIES = ("safety", "product_quality", "service_attitude", "after_sales", "billing",
              "contract", "process", "privacy", "legal", "other")
CHANNELS = ("hotline", "email", "web", "wechat", "app", "sms", "letter", "onsite", "media")
STATES = ("triaged", "acknowledged", "investigating", "reopened")


def board_filters(request: Request) -> dict[str, str]:
    """The board's filters as the URL gives them (unknown values are dropped)."""
    raw = {k: request.query_params.get(k, "").strip()[:200] for k in FILTERS}
    allowed = {"level": ("1", "2", "3", "4"), "state": STATES, "category": CATEGORIES,
               "channel": CHANNELS, "overdue": ("true",), "drill": ("true", "false")}
    return {k: v for k, v in raw.items()
            if v and (k not in allowed or v in allowed[k])}


def lane_query(filters: dict[str, str], level: int, drill: bool, limit: int) -> dict[str, Any]:
    return {"answered": "false", "response_level": level, "drill": str(drill).lower(),
            "state": filters.get("state"), "category": filters.get("category"),
            "channel": filters.get("channel"), "department": filters.get("department"),
            "overdue": filters.get("overdue"), "limit": limit, "total": "true"}


async def lanes(console: Console, session: Session, request: Request) -> list[dict[str, Any]]:
    """Each level's first page of cards (a level filter leaves one lane)."""
    filters, api = board_filters(request), Api(console, session.user)
    levels = [int(filters["level"])] if "level" in filters else [1, 2, 3, 4]
    pages = await asyncio.gather(*[
        api.json("/api/v1/cases", lane_query(filters, level, drill_of(request),
                                             console.settings.lane_size))
        for level in levels])
    return [{"level": level, "cases": page["items"], "total": page["total"],
             "next_cursor": page["next_cursor"]} for level, page in zip(levels, pages,
                                                                          strict=True)]


@router.get("/", include_in_schema=False)
async def home(request: Request) -> Response:
    return redirect("/board", request)


@router.get("/board", response_class=HTMLResponse)
async def board(request: Request, console: ConsoleDep, session: SessionDep) -> Response:
    filters = board_filters(request)
    return render(request, console, session, "board.html",
                  lanes=await lanes(console, session, request), filters=filters,
                  filter_query=urlencode(filters), views=await console.users.views(
                      session.user.username),
                  categories=CATEGORIES, channels=CHANNELS, states=STATES)


@router.get("/board/lanes", response_class=HTMLResponse)
async def board_lanes(request: Request, console: ConsoleDep, session: SessionDep) -> Response:
    """The lanes alone: what a live notice makes the page refetch."""
    filters = board_filters(request)
    return render(request, console, session, "_lanes.html",
                  lanes=await lanes(console, session, request),
                  filter_query=urlencode(filters))


@router.get("/board/lane/{level}", response_class=HTMLResponse)
async def more_cards(request: Request, console: ConsoleDep, session: SessionDep,
                     level: int, cursor: Annotated[str, Query(max_length=200)]) -> Response:
    """The next page of one lane, replacing its 'more' button."""
    query = lane_query(board_filters(request), level, drill_of(request),
                       console.settings.lane_size)
    page = await Api(console, session.user).json("/api/v1/cases", {**query, "cursor": cursor})
    return render(request, console, session, "_cards.html",
                  lane={"level": level, "cases": page["items"], "total": page["total"],
                        "next_cursor": page["next_cursor"]},
                  filter_query=urlencode(board_filters(request)))


@router.post("/board/bulk", response_class=HTMLResponse)
async def bulk(request: Request, console: ConsoleDep, session: PostSessionDep,
               action: Annotated[str, Form(pattern="^(acknowledge|assign)$")],
               case_ids: Annotated[list[str], Form(max_length=500)],
               assignee: Annotated[str, Form(max_length=100)] = "") -> Response:
    """Acknowledge or assign every selected case, one API action each; each result shown."""
    api = Api(console, session.user)
    body = {"assignee": assignee} if action == "assign" else {}
    answers = await asyncio.gather(*[
        api.post(f"/api/v1/cases/{case_id}/{action}", body) for case_id in case_ids[:500]])
    done = sum(1 for a in answers if a.status_code == 200)
    return render(request, console, session, "_flash.html",
                  message=("{done} done, {failed} refused",
                           {"done": done, "failed": len(answers) - done}),
                  ok=done == len(answers))


@router.post("/board/views")
async def save_view(request: Request, console: ConsoleDep, session: PostSessionDep,
                    name: Annotated[str, Form(min_length=1, max_length=100)],
                    query: Annotated[str, Form(max_length=1000)] = "") -> Response:
    await console.users.save_view(session.user.username, name.strip() or "view", query)
    return redirect(f"/board?{query}" if query else "/board", request)


@router.post("/board/views/{view_id}/delete")
async def delete_view(request: Request, console: ConsoleDep, session: PostSessionDep,
                      view_id: str) -> Response:
    await console.users.delete_view(session.user.username, view_id)
    return redirect("/board", request)
