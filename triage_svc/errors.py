"""Triage's domain errors. Service code raises them; the routes answer each with one status
(`triage_svc.api.deps.DOMAIN_ERRORS`): not found 404, conflict 409, missing reason 422."""

from __future__ import annotations


class NotFound(LookupError):
    """No case or incident with this id (answered with 404)."""


class Conflict(Exception):
    """The state of the case or incident refuses this action (answered with 409)."""


class MissingReason(ValueError):
    """A reason is required and was blank (answered with 422)."""


class IncompleteRecord(Conflict):
    """Closing refused: names what is missing."""

    def __init__(self, missing: list[str]) -> None:
        self.missing = missing
        hint = ("; a repeated complaint needs POST …/cause-analysis"
                if "cause_analysis" in missing else "")
        super().__init__(f"the case file is incomplete; missing: {', '.join(missing)} "
                         f"(a follow-up may be replaced by POST …/follow-up-impossible{hint})")


class Archived(Conflict):
    """An archived case is read-only."""

    def __init__(self, case_id: str) -> None:
        super().__init__(f"case {case_id} is archived and read-only")
