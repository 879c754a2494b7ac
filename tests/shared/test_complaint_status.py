"""One owner of a complaint's status: every case state has one, and each is one of API.md's
complaint statuses."""

from __future__ import annotations

from typing import get_args

from shared.complaint_status import STATUS_OF_CASE_STATE, ComplaintStatus, complaint_status
from shared.events.schemas import CaseState


def test_every_case_state_maps_to_a_documented_status() -> None:
    assert set(STATUS_OF_CASE_STATE) == set(get_args(CaseState))
    assert set(STATUS_OF_CASE_STATE.values()) == set(get_args(ComplaintStatus))
    assert (complaint_status("acknowledged"), complaint_status("follow_up")) == (
        "in_progress", "responded")


def test_a_state_unknown_to_this_release_has_no_status() -> None:
    assert complaint_status("escalated_to_mars") is None
