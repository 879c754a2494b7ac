"""A complaint's status, what its filer is told (API.md's complaint statuses), from its
case's state. The gateway's complaint view and notify's hotline callbacks both say it."""

from __future__ import annotations

from typing import Literal

ComplaintStatus = Literal["received", "triaged", "in_progress", "responded", "closed",
                          "reopened"]

# Keyed by every CaseState (tests/shared/test_complaint_status.py holds it to that).
STATUS_OF_CASE_STATE: dict[str, ComplaintStatus] = {
    "received": "received", "triaged": "triaged", "acknowledged": "in_progress",
    "investigating": "in_progress", "responded": "responded", "follow_up": "responded",
    "closed": "closed", "reopened": "reopened",
}


def complaint_status(case_state: str) -> ComplaintStatus | None:
    """The status for a case in `case_state`; None for a state this release does not know
    (a newer triage's), where the caller keeps what it would say without one."""
    return STATUS_OF_CASE_STATE.get(case_state)
