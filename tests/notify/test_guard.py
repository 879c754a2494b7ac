"""The outbound guard on its own: which addresses are internal, the allow-list, and the
pinned address a send connects to."""

from __future__ import annotations

import ipaddress

import pytest

from notify_svc.channels.guard import OutboundGuard, UnsafeUrl, blocked, parse_allowlist


@pytest.mark.parametrize("address", [
    "127.0.0.1", "127.8.9.10", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254",
    "100.64.0.1", "0.0.0.0", "224.0.0.251", "255.255.255.255", "198.18.0.1", "::1", "::",
    "fd00::1", "fd00:ec2::254", "fe80::1", "ff02::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1",
    "64:ff9b::a9fe:a9fe", "2002:7f00:1::",
])
def test_internal_addresses_are_blocked(address: str) -> None:
    assert blocked(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"])
def test_public_addresses_are_not(address: str) -> None:
    assert not blocked(ipaddress.ip_address(address))


def test_allowlist_entries() -> None:
    assert parse_allowlist(" hooks.internal , 127.0.0.1:9000,[::1]:8080,[fd00::5]") == {
        ("hooks.internal", None), ("127.0.0.1", 9000), ("::1", 8080), ("fd00::5", None)}
    assert parse_allowlist(None) == frozenset()


async def test_registration_refuses_internal_and_accepts_allowed() -> None:
    guard = OutboundGuard("127.0.0.1:9000")
    await guard.check_registration("http://127.0.0.1:9000/hook")
    with pytest.raises(UnsafeUrl, match="OUTBOUND_URL_ALLOWLIST"):
        await guard.check_registration("http://127.0.0.1:9001/hook")
    with pytest.raises(UnsafeUrl):
        await guard.check_registration("http://LOCALHOST./hook")
    await guard.check_registration("http://\u0007/")  # not sendable: nothing is reached
    await OutboundGuard("*").check_registration("http://127.0.0.1/")  # the check turned off


async def test_a_send_connects_to_the_address_it_checked() -> None:
    async def resolver(_host: str, _port: int) -> list[str]:
        return ["93.184.216.34"]

    target = await OutboundGuard(resolver=resolver).address_for(
        "https://hooks.example.com/x?a=1")
    assert target.url == "https://93.184.216.34/x?a=1"
    assert target.host == "hooks.example.com" and target.sni == "hooks.example.com"


async def test_a_name_resolving_to_any_internal_address_is_refused() -> None:
    async def resolver(_host: str, _port: int) -> list[str]:
        return ["93.184.216.34", "10.0.0.7"]

    with pytest.raises(UnsafeUrl, match=r"10\.0\.0\.7"):
        await OutboundGuard(resolver=resolver).address_for("https://hooks.example.com/x")
