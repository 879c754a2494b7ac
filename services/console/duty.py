"""Duty and roster (值班与通讯录): who is on duty now and next, the members with their roles,
and who hears of what by level. Channel addresses are staff's personal data: only admin
sees them (notify leaves them out for everyone else)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from services.console.users import Session
from services.console.web import Api, Console, ConsoleDep, SessionDep, problem_detail, render

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class Shift:
    """One duty slot in local time; an end not after the start runs into the next day."""

    role: str
    member: str
    start: datetime
    end: datetime

    @classmethod
    def of(cls, slot: dict[str, Any], zone: ZoneInfo) -> Shift:
        day = date.fromisoformat(slot["date"])
        start = datetime(day.year, day.month, day.day, tzinfo=zone) + timedelta(
            hours=slot["start_hour"])
        end_day = day if slot["end_hour"] > slot["start_hour"] else day + timedelta(days=1)
        end = datetime(end_day.year, end_day.month, end_day.day, tzinfo=zone) + timedelta(
            hours=slot["end_hour"])
        return cls(slot["role"], slot["member"], start, end)


def now_and_next(shifts: list[Shift], now: datetime) -> tuple[list[Shift], list[Shift]]:
    """The shifts under way, and for each role the next one to start."""
    current = sorted((s for s in shifts if s.start <= now < s.end),
                     key=lambda s: (s.role, s.member))
    upcoming: dict[str, Shift] = {}
    for s in sorted((s for s in shifts if s.start > now), key=lambda s: s.start):
        upcoming.setdefault(s.role, s)
    return current, sorted(upcoming.values(), key=lambda s: (s.start, s.role))


async def duty_context(console: Console, session: Session) -> dict[str, Any]:
    api, zone = Api(console, session.user), console.settings.zone
    now = datetime.now(zone)
    days = [now.date() + timedelta(days=d) for d in (-1, 0, 1)]
    is_admin = session.user.role == "admin"
    # Admin reads with the admin scope, so the addresses come along; others never get them.
    roster_answer, *day_answers = await asyncio.gather(
        api.get("/api/v1/roster", reveal=is_admin),
        *[api.get("/api/v1/roster/duty", {"on": d.isoformat()}) for d in days])
    for answer in (roster_answer, *day_answers):
        if answer.status_code != 200:
            raise HTTPException(answer.status_code, problem_detail(answer))
    roster = roster_answer.json()
    shifts = [Shift.of(slot, zone) for a in day_answers for slot in a.json()["items"]]
    current, upcoming = now_and_next(shifts, now)
    members = {m["id"]: m for m in roster["members"]}
    return {"now": now, "current": current, "upcoming": upcoming, "members": members,
            "routing": [(level, roles, _holders(roster["members"], roles))
                        for level, roles in sorted(roster["routing"].items())],
            "incidents": roster["incidents"], "statement_roles": roster["statement"],
            "digest_levels": roster["digest_levels"], "show_addresses": is_admin}


def _holders(members: list[dict[str, Any]], roles: list[str]) -> list[dict[str, Any]]:
    return [m for m in members if set(m["roles"]) & set(roles)]


@router.get("/duty", response_class=HTMLResponse)
async def duty_page(request: Request, console: ConsoleDep, session: SessionDep) -> Response:
    return render(request, console, session, "duty.html",
                  **await duty_context(console, session))


@router.get("/duty/now", response_class=HTMLResponse)
async def duty_now(request: Request, console: ConsoleDep, session: SessionDep) -> Response:
    """Who is on duty now and next: refetched as the hours turn."""
    return render(request, console, session, "_duty_now.html",
                  **await duty_context(console, session))
