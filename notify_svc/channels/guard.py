"""Where Beacon may send: callback and webhook URLs never reach loopback, private,
link-local, shared (CGNAT), multicast, reserved or cloud-metadata addresses unless the
operator's allow-list (`OUTBOUND_URL_ALLOWLIST`, `host[:port],…`) names them.

A URL is checked when it is registered and again at every send: the host is resolved, each
address checked, and the connection made to the address that passed (so a name that
resolves elsewhere the second time, DNS rebinding, gains nothing)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]

# Not all of these are covered by `is_global` on every Python (CGNAT, NAT64, Teredo, 6to4).
BLOCKED_NETWORKS = tuple(ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "100.64.0.0/10", "169.254.0.0/16", "192.0.0.0/24", "198.18.0.0/15",
    "64:ff9b::/96", "64:ff9b:1::/48", "2001::/32", "2002::/16", "fc00::/7", "fe80::/10",
))


class UnsafeUrl(ValueError):
    """The URL points where Beacon does not send; the message says why in plain words."""


def parse_allowlist(spec: str | None) -> frozenset[tuple[str, int | None]]:
    """`host[:port]` entries (an IPv6 address in brackets when it has a port)."""
    entries = set()
    for item in filter(None, (part.strip().lower() for part in (spec or "").split(","))):
        host, port = item, None
        if item.startswith("["):
            host, _, rest = item[1:].partition("]")
            port = int(rest[1:]) if rest.startswith(":") else None
        elif item.count(":") == 1:
            host, _, number = item.partition(":")
            port = int(number)
        entries.add((host, port))
    return frozenset(entries)


def blocked(address: Address) -> bool:
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:
        return blocked(mapped)
    return (not address.is_global or address.is_multicast or address.is_reserved
            or any(address in network for network in BLOCKED_NETWORKS
                   if network.version == address.version))


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class OutboundAddress:
    """Where to connect for a URL that passed the check: `url` names the checked (pinned)
    address; `host` goes in the Host header and `sni` is the TLS server name."""

    url: str
    host: str
    sni: str | None


class OutboundGuard:
    def __init__(self, allowlist: str | None = None, resolver: Resolver = system_resolver,
                 timeout_s: float = 2.0) -> None:
        self.allowed = parse_allowlist(allowlist)
        self.resolver, self.timeout_s = resolver, timeout_s

    def _parts(self, url: str) -> tuple[httpx.URL, str, int]:
        try:
            parsed = httpx.URL(url)
        except (httpx.InvalidURL, TypeError) as exc:
            raise UnsafeUrl("not a valid URL") from exc
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise UnsafeUrl("must be an http:// or https:// URL with a host")
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        return parsed, parsed.host.lower().rstrip("."), port

    def allows(self, host: str, port: int) -> bool:
        # `*` turns the check off (a development machine, the contract fuzz): said explicitly.
        return ("*", None) in self.allowed or (host, None) in self.allowed or (
            host, port) in self.allowed

    async def _addresses(self, host: str, port: int) -> list[Address]:
        try:
            return [ipaddress.ip_address(host)]
        except ValueError:
            pass
        if host == "localhost" or host.endswith(".localhost"):
            return [ipaddress.ip_address("127.0.0.1")]
        found = await asyncio.wait_for(self.resolver(host, port), self.timeout_s)
        return [ipaddress.ip_address(a.split("%", 1)[0]) for a in found]

    async def check_registration(self, url: str) -> None:
        """Refuse a URL to a blocked address. A name that does not resolve now is accepted
        (it is checked again when something is sent to it)."""
        try:
            _, host, port = self._parts(url)
        except UnsafeUrl:
            return  # not a URL httpx can send to: the send fails, nothing is reached
        if self.allows(host, port):
            return
        try:
            addresses = await self._addresses(host, port)
        except (OSError, TimeoutError, UnicodeError):
            return
        self._refuse_blocked(host, addresses)

    async def address_for(self, url: str) -> OutboundAddress:
        """The checked address to connect to for `url`, at send time."""
        parsed, host, port = self._parts(url)
        if self.allows(host, port):
            return OutboundAddress(url, parsed.netloc.decode("ascii"), None)
        try:
            addresses = await self._addresses(host, port)
        except (OSError, TimeoutError, UnicodeError) as exc:
            raise UnsafeUrl(f"cannot resolve {host}") from exc
        self._refuse_blocked(host, addresses)
        if not addresses:
            raise UnsafeUrl(f"cannot resolve {host}")
        address = addresses[0]
        literal = f"[{address}]" if address.version == 6 else str(address)
        pinned = parsed.copy_with(host=literal.strip("[]"))
        sni = host if parsed.scheme == "https" and literal != host else None
        return OutboundAddress(str(pinned), parsed.netloc.decode("ascii"), sni)

    @staticmethod
    def _refuse_blocked(host: str, addresses: list[Address]) -> None:
        bad = [a for a in addresses if blocked(a)]
        if bad:
            raise UnsafeUrl(
                f"{host} is a loopback, private, link-local or otherwise internal address "
                f"({bad[0]}); name it in OUTBOUND_URL_ALLOWLIST to allow it")
