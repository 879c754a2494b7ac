"""Hotline callbacks: signed, carrying the hotline's own reference, the answer, the drill
flag and a `sequence` per complaint taken in the database (it survives a restart and never
repeats across replicas); a failing receiver gets the same callback until it recovers."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from notify_svc.callbacks import next_sequence
from notify_svc.models import CallbackSequence
from shared.db import Database
from shared.events.schemas import CaseUpdated, ComplaintTriaged
from tests.notify.peers import (
    ADMIN,
    NOW,
    Behaviour,
    HttpPeer,
    Notify,
    notify_settings,
    running,
    triaged,
)

SECRET = "hotline-a-callback-secret"
ROSTER = ('[[member]]\nid = "leader"\nroles = ["leadership_group"]\nchannels = { log = "l" }\n'
          '[routing]\n1 = ["leadership_group"]\n2 = ["leadership_group"]\n'
          '3 = ["leadership_group"]\n4 = ["leadership_group"]\n[digest]\nlevels = []\n')


def verified(body: bytes, headers: dict[str, str], secret: str = SECRET) -> dict[str, Any]:
    """What the README tells a hotline to do with a callback."""
    signed = headers["x-beacon-timestamp"].encode() + b"." + body
    expected = "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["x-beacon-signature"], expected)
    payload: dict[str, Any] = json.loads(body)
    return payload


def filed(drill: bool = False) -> ComplaintTriaged:
    event = triaged(2, submitted_by="hotline-a")
    assert isinstance(event, ComplaintTriaged)
    return event.model_copy(update={"external_ref": "HL-77", "drill": drill})


def updated(action: str, state: str, **extra: Any) -> CaseUpdated:
    return CaseUpdated(case_id="k" * 32, complaint_id="c" * 32, action=action, state=state,
                       response_level=2, actor="ops", at=NOW, submitted_by="hotline-a",
                       external_ref="HL-77", **extra)


async def _register(notify: Notify, url: str) -> None:
    answer = await notify.client.put("/api/v1/callbacks/hotline-a", headers=ADMIN,
                                     json={"url": url, "secret": SECRET})
    assert answer.status_code == 200, answer.text


async def test_callbacks_carry_the_reference_the_answer_and_a_rising_sequence(
        tmp_path: Path) -> None:
    async with HttpPeer() as peer, running(notify_settings(tmp_path, ROSTER)) as notify:
        await _register(notify, peer.url("/status"))
        await notify.publish(filed(), "c" * 32)
        first = await peer.next()
        await notify.publish(updated(
            "answered", "responded", answer="已修复，赠送一个月费用", answer_version=1), "c" * 32)
        second = await peer.next()
    one, two = (verified(got.body, got.headers) for got in (first, second))
    assert one["external_ref"] == two["external_ref"] == "HL-77"
    assert (one["sequence"], two["sequence"]) == (1, 2)
    assert one["answer"] is None and one["action"] == "triaged" and one["drill"] is False
    assert two["answer"] == "已修复，赠送一个月费用" and two["answer_version"] == 1
    assert two["action"] == "answered" and two["status"] == "responded"
    assert two["delivery_id"] == second.headers["x-beacon-delivery"]
    assert one["delivery_id"] != two["delivery_id"]


async def test_a_drill_callback_says_it_is_a_drill(tmp_path: Path) -> None:
    async with HttpPeer() as peer, running(notify_settings(tmp_path, ROSTER)) as notify:
        await _register(notify, peer.url("/status"))
        await notify.publish(filed(drill=True), "c" * 32)
        got = await peer.next()
    assert verified(got.body, got.headers)["drill"] is True


async def test_a_receiver_failing_then_recovering_gets_the_same_callback(
        tmp_path: Path) -> None:
    async with HttpPeer() as peer, running(notify_settings(tmp_path, ROSTER,
                                                           max_attempts=5)) as notify:
        peer.behaviour["/status"] = Behaviour(status=500, fail_times=3)
        await _register(notify, peer.url("/status"))
        await notify.publish(filed(), "c" * 32)
        delivered = await peer.next()
        await notify.outcomes.until(notify.sent("sent"))
        [item] = [d for d in await notify.deliveries(complaint_id="c" * 32)
                  if d["channel"] == "callback"]
    assert len(peer.attempts) == 4 and len(peer.received) == 1  # three 500s, then 200
    bodies = [verified(a.body, a.headers) for a in peer.attempts]
    assert {b["delivery_id"] for b in bodies} == {item["id"]}  # one idempotent id
    assert {b["sequence"] for b in bodies} == {1}  # a retry is not a new callback
    assert {a.headers["x-beacon-delivery"] for a in peer.attempts} == {item["id"]}
    assert verified(delivered.body, delivered.headers)["sequence"] == 1
    assert item["status"] == "sent" and item["attempts"] == 4
    assert item["ack_url"] is None  # a callback carries no acknowledgement link


async def test_the_sequence_survives_a_restart_and_a_redelivered_event(
        tmp_path: Path) -> None:
    settings = notify_settings(tmp_path, ROSTER)
    async with HttpPeer() as peer:
        async with running(settings) as notify:
            await _register(notify, peer.url("/status"))
            await notify.publish(filed(), "c" * 32)
            await peer.next()
            event = await notify.publish(updated("assigned", "triaged"),
                                         "c" * 32)
            await peer.next()
        async with running(settings) as again:  # the same database, a new process
            await again.send(event)  # the bus delivers it once more
            await again.publish(updated("acknowledged", "acknowledged"),
                                "c" * 32)
            third = await peer.next()
    assert verified(third.body, third.headers)["sequence"] == 3
    assert [json.loads(r.body)["sequence"] for r in peer.received] == [1, 2, 3]


async def test_a_bad_callback_registration_is_refused(tmp_path: Path) -> None:
    async with running(notify_settings(tmp_path, ROSTER)) as notify:
        no_url = await notify.client.put("/api/v1/callbacks/hotline-a", headers=ADMIN,
                                         json={"secret": SECRET})
        not_admin = await notify.client.put(
            "/api/v1/callbacks/hotline-a", json={"url": "http://127.0.0.1:9/x", "secret": SECRET},
            headers={"x-beacon-scopes": "cases:write", "x-beacon-owner": "hotline-a"})
    assert no_url.status_code == 422 and not_admin.status_code == 403


@pytest.mark.postgres
async def test_replicas_never_take_the_same_sequence(pg_url: str, pg_schema: str) -> None:
    """Twenty transactions at once, as replicas would: each takes its own number."""
    db = Database(pg_url, schema=pg_schema)
    try:
        async with db.engine.begin() as conn:
            table = CallbackSequence.metadata.tables["notify_callback_sequences"]
            await conn.run_sync(CallbackSequence.metadata.create_all, tables=[table])

        async def take() -> int:
            async with db.session() as session, session.begin():
                return await next_sequence(session, "c" * 32)

        taken = await asyncio.gather(*(take() for _ in range(20)))
        async with db.session() as session:
            last = await session.scalar(select(CallbackSequence.last_sequence))
    finally:
        await db.dispose()
    assert sorted(taken) == list(range(1, 21)) and last == 20
