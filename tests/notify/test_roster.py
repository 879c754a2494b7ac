from __future__ import annotations

from pathlib import Path

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


GOOD = """[[member]]
id = "duty-room"
roles = ["duty_room"]
channels = { log = "duty-room" }

[[member]]
id = "ga"
roles = ["general_affairs"]
channels = { log = "ga", webhook = { address = "https://hooks.example.com/ga" } }

[routing]
1 = ["duty_room"]
2 = ["general_affairs"]
3 = ["general_affairs"]
4 = ["general_affairs"]
"""


def error_for(tmp_path: Path, text: str) -> str:
    path = tmp_path / "roster.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RosterError) as caught:
        load_roster(path)
    return str(caught.value)


def test_the_good_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "roster.toml"
    path.write_text(GOOD, encoding="utf-8")
    roster = load_roster(path)
    assert [m.id for m in roster.members] == ["duty-room", "ga"]
    assert roster.members[1].channels["webhook"].address == "https://hooks.example.com/ga"
    assert roster.members[1].name == "ga" and roster.members[1].language == "zh"


@pytest.mark.parametrize(("old", "new", "expected"), [
    ('channels = { log = "ga", ', 'channels = { fax = "1", log = "ga", ',
     ":9: member #2 channels: unknown channel fax; known: log, webhook"),
    ('webhook = { address = "https://hooks.example.com/ga" }', 'webhook = { secret = "s" }',
     ":9: member #2 channels.webhook.address: Field required"),
    ('roles = ["general_affairs"]\n', 'roles = ["general_affairs"]\nlanguage = "fr"\n',
     ":9: member #2 language: language must be one of zh, en"),
    ('roles = ["duty_room"]\n', "", ":1: member #1 roles: Field required"),
    ('3 = ["general_affairs"]\n', "", ":11: routing: [routing] must name roles for levels"),
    ('4 = ["general_affairs"]\n', '4 = ["general_affairs"]\n[[duty]]\ndate = 2026-01-01\n'
     'start_hour = 24\nrole = "duty_room"\nmember = "duty-room"\n',
     ":18: duty #1 start_hour: Input should be less than or equal to 23"),
])
def test_an_error_names_the_file_the_line_and_the_key(
    tmp_path: Path, old: str, new: str, expected: str,
) -> None:
    assert old in GOOD
    message = error_for(tmp_path, GOOD.replace(old, new, 1))
    assert message.startswith(f"{tmp_path / 'roster.toml'}{expected}"), message


def test_a_toml_syntax_error_names_the_file_and_the_line(tmp_path: Path) -> None:
    message = error_for(tmp_path, GOOD.replace("[routing]", "[routing"))
    assert message.startswith(str(tmp_path / "roster.toml")) and "line 11" in message


def test_an_error_in_a_sub_table_names_the_sub_tables_line(tmp_path: Path) -> None:
    text = GOOD.replace('channels = { log = "duty-room" }\n',
                        '[member.channels]\nlog = "duty-room"\npager = "7"\n', 1)
    message = error_for(tmp_path, text)
    assert message.startswith(f"{tmp_path / 'roster.toml'}:4: member #1 channels: "
                              "unknown channel pager"), message
