"""Issue 13, HIGH 2: the gateway decides route and scope on the path it forwards. Replayed on
a real gateway port with raw request lines (an HTTP client would resolve `..` itself):
`POST /api/v1/statements/../notifications/{id}/ack` with a key holding only
statements:approve, then every route of services/routing.py with dot-segment variants
towards every other: each is 404 and none reaches a service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from services.auth import ApiKey, key_hash
from services.routing import ROUTES
from services.upstreams import Upstream
from tests.support import System, raw_request, request_head, serving

# How a client may spell "one segment up" or a separator to smuggle a path past the router.
DOT_VARIANTS = ("..", "%2e%2e", "%2E%2E", ".%2e", "%2e.", "..%2f", "..\\", ".")
SEPARATOR_VARIANTS = ("%2f", "%2F", "\\", "%5c", "/")  # "/" makes an empty segment: `//`
APPROVER = "key-approver-only"


@dataclass
class Spy:
    """Every request the gateway sent to a service (the real request is still sent)."""

    sent: list[tuple[str, str, str]] = field(default_factory=list)


@pytest.fixture
async def live(system: System, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[int, Spy]]:
    spy = Spy()
    original = Upstream.request

    async def recording(self: Upstream, method: str, url: str, **kwargs: Any) -> Any:
        spy.sent.append((self.name, method, url))
        return await original(self, method, url, **kwargs)

    monkeypatch.setattr(Upstream, "request", recording)
    keys = system.embedded.gateway.state.keys
    keys._static[key_hash(APPROVER)] = ApiKey("approver", "leader",
                                              frozenset({"statements:approve"}),
                                              key_hash(APPROVER))
    async with serving(system.embedded.gateway) as port:
        yield port, spy


async def _deliveries(system: System) -> tuple[str, list[dict[str, Any]]]:
    posted = await system.client.post("/api/v1/complaints", json={
        "channel": "hotline", "content": "燃气泄漏爆炸，有人受伤"})
    await system.notified.applied(1)
    complaint_id = str(posted.json()["id"])
    deliveries = (await system.client.get("/api/v1/notifications", params={
        "complaint_id": complaint_id})).json()["items"]
    return complaint_id, deliveries


async def test_statements_key_cannot_acknowledge_through_dot_segments(
        system: System, live: tuple[int, Spy]) -> None:
    port, spy = live
    complaint_id, deliveries = await _deliveries(system)
    delivery = deliveries[0]["id"]
    auth = {"Authorization": f"Bearer {APPROVER}", "Content-Type": "application/json"}
    for dots in DOT_VARIANTS[:5]:
        target = f"/api/v1/statements/{dots}/notifications/{delivery}/ack"
        spy.sent.clear()
        answer = await raw_request(port, request_head("POST", target, auth, b"{}"), b"{}")
        assert answer.status, target
        assert answer.status == 404, (target, answer.status, answer.body)
        assert not spy.sent, (target, spy.sent)
    # Spelled plainly, the same key is refused the acknowledgement by its scope.
    plain = f"/api/v1/notifications/{delivery}/ack"
    answer = await raw_request(port, request_head("POST", plain, auth, b"{}"), b"{}")
    assert answer.status == 403
    _, after = await _deliveries_of(system, complaint_id)
    assert [d["acknowledged_at"] for d in after] == [None] * len(deliveries)


async def _deliveries_of(system: System, complaint_id: str
                         ) -> tuple[str, list[dict[str, Any]]]:
    listed = await system.client.get("/api/v1/notifications",
                                     params={"complaint_id": complaint_id})
    return complaint_id, list(listed.json()["items"])


def _smuggled(source: str, target: str) -> list[str]:
    """Paths that start under `source` and, resolved, land on `target`."""
    tail = target.removeprefix("/api/v1/") + "/some-id"
    paths = [f"{source}/{dots}/{tail}" for dots in DOT_VARIANTS if dots != "."]
    paths += [f"{source}/./../{tail}", f"{source}/x/{DOT_VARIANTS[1]}/{DOT_VARIANTS[1]}/{tail}"]
    paths += [f"{source}{sep}..{sep}{tail}" for sep in SEPARATOR_VARIANTS]
    return paths


@pytest.mark.parametrize("source", ROUTES, ids=lambda r: r.prefix)
async def test_no_route_smuggles_a_request_to_another(
        system: System, live: tuple[int, Spy], source: Any) -> None:
    port, spy = live
    for target in ROUTES:
        if target.prefix == source.prefix:
            continue
        for path in _smuggled(source.prefix, target.prefix):
            for method in ("GET", "POST"):
                answer = await raw_request(port, request_head(method, path, {
                    "Authorization": "Bearer key-operator"}))
                assert answer.status == 404, (method, path, answer.status)
                assert answer.headers["content-type"] == "application/problem+json"
    assert not spy.sent, spy.sent[:5]


async def test_a_trailing_slash_is_404_and_names_no_internal_host(
        system: System, live: tuple[int, Spy]) -> None:
    port, _spy = live
    for route in ROUTES:
        answer = await raw_request(port, request_head("GET", route.prefix + "/", {
            "Authorization": "Bearer test-admin-key-0123456789"}))
        assert answer.status == 404, (route.prefix, answer.status)
        assert "location" not in answer.headers
        for name in ("intake", "triage", "notify", "sentiment"):
            assert f"http://{name}" not in answer.body.decode(), route.prefix


async def test_the_console_path_is_checked_the_same_way(system: System) -> None:
    forwarder = system.embedded.gateway.state.forwarder
    caller = ApiKey("ops", "ops", frozenset({"cases:read", "cases:write"}), "h").caller()
    answer = await forwarder.call("POST", "/api/v1/cases/../notifications/x/ack", caller)
    assert answer.status_code == 404
