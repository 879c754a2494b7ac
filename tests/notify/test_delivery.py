"""Delivery you can trust: timeouts, retries with backoff, a circuit breaker per endpoint,
dead-letter records, and a slow peer that holds back nobody else."""

from __future__ import annotations

from pathlib import Path

from notify_svc.breaker import Backoff, Breaker
from shared.events.schemas import NotificationFailed, NotificationSent
from tests.notify.peers import Behaviour, HttpPeer, notify_settings, running, triaged

ROUTING = """
[routing]
1 = ["leadership_group"]
2 = ["leadership_group"]
3 = ["leadership_group"]
4 = ["leadership_group"]
[digest]
levels = []
"""


def members(peer: HttpPeer, *paths: str) -> str:
    return "".join(
        f'[[member]]\nid = "m{i}"\nroles = ["leadership_group"]\n'
        f'channels = {{ webhook = "{peer.url(path)}" }}\n'
        for i, path in enumerate(paths)) + ROUTING


async def test_a_failing_endpoint_is_retried_then_dead_lettered(tmp_path: Path) -> None:
    async with HttpPeer() as peer:
        peer.behaviour["/down"] = Behaviour(status=503, fail_times=None)
        async with running(notify_settings(tmp_path, members(peer, "/down"),
                                           max_attempts=3)) as notify:
            await notify.publish(triaged(1), "c" * 32)
            await notify.outcomes.until(notify.sent("dead"))
            [item] = await notify.deliveries(complaint_id="c" * 32)
            [failed] = await notify.until_published(NotificationFailed, 1)
    assert [o.status for o in notify.outcomes.seen] == ["retry", "retry", "dead"]
    assert peer.behaviour["/down"].seen == 3
    assert item["status"] == "dead" and item["attempts"] == 3
    assert "HTTP 503" in item["last_error"]
    assert failed.data["delivery_id"] == item["id"] and failed.data["attempts"] == 3
    assert failed.subject == "c" * 32


async def test_a_passing_failure_is_retried_until_sent(tmp_path: Path) -> None:
    async with HttpPeer() as peer:
        peer.behaviour["/flaky"] = Behaviour(status=500, fail_times=2)
        async with running(notify_settings(tmp_path, members(peer, "/flaky"))) as notify:
            await notify.publish(triaged(1), "c" * 32)
            await peer.next()
            await notify.outcomes.until(notify.sent())
            [item] = await notify.deliveries(complaint_id="c" * 32)
            [sent] = await notify.until_published(NotificationSent, 1)
    assert item["status"] == "sent" and item["attempts"] == 3 and item["last_error"] is None
    assert sent.data["delivery_id"] == item["id"]


async def test_a_refusal_is_final_at_once(tmp_path: Path) -> None:
    async with HttpPeer() as peer:
        peer.behaviour["/gone"] = Behaviour(status=404, fail_times=None)
        async with running(notify_settings(tmp_path, members(peer, "/gone"))) as notify:
            await notify.publish(triaged(1), "c" * 32)
            await notify.outcomes.until(notify.sent("dead"))
            [item] = await notify.deliveries(complaint_id="c" * 32)
    assert item["attempts"] == 1 and "HTTP 404" in item["last_error"]


async def test_the_circuit_opens_and_later_attempts_do_not_reach_the_endpoint(
    tmp_path: Path,
) -> None:
    async with HttpPeer() as peer:
        peer.behaviour["/down"] = Behaviour(status=500, fail_times=None)
        settings = notify_settings(tmp_path, members(peer, "/down"), max_attempts=5,
                                   breaker_failures=2, breaker_reset_s=60.0)
        async with running(settings) as notify:
            await notify.publish(triaged(1), "c" * 32)
            await notify.outcomes.until(notify.sent("dead"))
            await notify.publish(triaged(1, complaint_id="d" * 32),
                                 "d" * 32)
            await notify.outcomes.until(lambda: notify.count("dead") == 2)
            items = await notify.deliveries(status="dead")
            breaker = notify.app.state.dispatcher.breakers.get(
                f"webhook:{peer.url('/down')}")
    assert peer.behaviour["/down"].seen == 2  # 10 attempts, 2 reached the endpoint
    assert {i["attempts"] for i in items} == {5}
    assert all("circuit open" in i["last_error"] for i in items)
    assert breaker.state == "open"


async def test_a_slow_endpoint_times_out_without_holding_back_the_others(
    tmp_path: Path,
) -> None:
    async with HttpPeer() as peer:
        peer.behaviour["/slow"] = Behaviour(delay=2.0, fail_times=0)
        settings = notify_settings(tmp_path, members(peer, "/slow", "/fast"),
                                   timeout_webhook_s=0.5, max_attempts=1)
        async with running(settings) as notify:
            await notify.publish(triaged(1), "c" * 32)
            fast = await peer.next()
            assert fast.path == "/fast"
            assert notify.count("dead") == 0  # the slow one is still in flight
            await notify.outcomes.until(notify.sent("dead"))
            items = {i["recipient"]: i for i in await notify.deliveries(complaint_id="c" * 32)}
    assert items["m1"]["status"] == "sent"
    assert items["m0"]["status"] == "dead" and "timed out" in items["m0"]["last_error"]


def test_backoff_grows_exponentially_with_bounded_jitter() -> None:
    backoff = Backoff(initial=1.0, maximum=30.0, jitter=0.5)
    for attempt, base in ((1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (6, 30.0), (9, 30.0)):
        assert base <= backoff.delay(attempt) <= base + 0.5


def test_breaker_half_opens_after_the_reset_and_closes_on_success() -> None:
    now = [0.0]
    breaker = Breaker(2, 10.0, clock=lambda: now[0])
    breaker.failure()
    assert breaker.allow()
    breaker.failure()
    assert breaker.state == "open" and not breaker.allow()
    now[0] = 10.0
    assert breaker.allow() and not breaker.allow()  # one trial at a time
    breaker.failure()
    assert breaker.state == "open"
    now[0] = 20.0
    assert breaker.allow()
    breaker.success()
    assert breaker.state == "closed" and breaker.allow()
