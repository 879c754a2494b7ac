from __future__ import annotations

import pytest

from notify_svc.roster import RosterError, load_roster, parse_roster


def test_level_one_reaches_leadership_general_affairs_and_duty_room() -> None:
    roster = load_roster()
    reached = {member.id for member, _, _ in roster.recipients_for_level(1)}
    assert reached == {"leadership", "general-affairs", "duty-room"}
    assert {member.id for member, _, _ in roster.recipients_for_level(4)} == {"case-owner"}


def test_routing_must_cover_every_level() -> None:
    with pytest.raises(RosterError, match="levels 1, 2, 3 and 4"):
        parse_roster({"member": [], "routing": {"1": ["duty_room"]}}, "roster.toml")
