"""What triage's routes share: the caller, the rules, the documented conflict answer, and
the domain errors (`triage_svc.errors`) answered as problems."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request

from shared.caller import Caller, current_caller
from triage_svc.errors import Conflict, MissingReason, NotFound
from triage_svc.rules import Rules

CallerDep = Annotated[Caller, Depends(current_caller)]
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"description": "not allowed from the case's state, or the case is archived"}}


async def rules_of(request: Request) -> Rules:
    rules: Rules = request.app.state.rules
    return rules


RulesDep = Annotated[Rules, Depends(rules_of)]


def actor_of(caller: Caller) -> str:
    """Who the timeline names for an action."""
    return caller.owner or caller.key_id or "unknown"


async def _answer_domain_errors() -> AsyncIterator[None]:
    # Entered before the route's unit (a router dependency), so the unit has rolled back
    # by the time the error is answered here.
    try:
        yield
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from exc
    except Conflict as exc:
        raise HTTPException(409, str(exc)) from exc
    except MissingReason as exc:
        raise HTTPException(422, str(exc)) from exc


DOMAIN_ERRORS = Depends(_answer_domain_errors, scope="function")
