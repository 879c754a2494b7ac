"""Issue 13, point 3: valid ISO dates crashed intake and sentiment (500), one such item spoilt
a whole batch, and the 500's log carried SQLAlchemy's `[parameters: ...]`, free text
included. Now a zoneless date is read in INPUT_TIMEZONE, out-of-range is 422 in words, and
SQL parameters never reach a log."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import text

from tests.support import System

BAD = ["0001-01-01T00:00:00Z", "0001-01-01", "9999-12-31T23:59:59-12:00", "9999-12-31",
       "1800-06-01T00:00:00"]


def _complaint(**extra: object) -> dict[str, object]:
    return {"channel": "hotline", "content": "水管漏水", **extra}


@pytest.mark.parametrize(("given", "utc"), [
    ("2026-03-01", datetime(2026, 2, 28, 16, tzinfo=UTC)),  # midnight in Asia/Shanghai
    ("2026-03-01T09:30:00", datetime(2026, 3, 1, 1, 30, tzinfo=UTC)),
    ("2026-03-01T09:30:00+00:00", datetime(2026, 3, 1, 9, 30, tzinfo=UTC)),
])
async def test_a_date_alone_or_without_a_zone_is_read_in_the_input_zone(
        system: System, given: str, utc: datetime) -> None:
    posted = await system.client.post("/api/v1/complaints", json=_complaint(occurred_at=given))
    assert posted.status_code == 202, posted.text
    view = (await system.client.get(posted.json()["status_url"])).json()
    assert datetime.fromisoformat(view["occurred_at"]) == utc


@pytest.mark.parametrize("given", BAD)
async def test_a_date_out_of_range_is_422_in_words(system: System, given: str) -> None:
    answer = await system.client.post("/api/v1/complaints", json=_complaint(occurred_at=given))
    assert answer.status_code == 422, answer.text
    [error] = answer.json()["errors"]
    assert error == {"field": "occurred_at",
                     "message": "the date must fall in the years 1900 to 2099"}
    assert await system.complaints_stored() == 0


async def test_one_bad_date_in_a_batch_spoils_only_its_item(system: System) -> None:
    items = [_complaint(external_ref="a", occurred_at="2026-03-01"),
             _complaint(external_ref="b", occurred_at="0001-01-01T00:00:00+14:00"),
             _complaint(external_ref="c", occurred_at="2026-03-01T08:00:00")]
    answer = await system.client.post("/api/v1/complaints/batch", json={"complaints": items})
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert [r["status"] for r in results] == [202, 422, 202]
    assert results[1]["errors"][0]["field"] == "occurred_at"
    assert await system.complaints_stored() == 2


async def test_mentions_dates_never_500(system: System) -> None:
    mention = {"source": "weibo", "content": "小区停水三天没人管"}
    alone = await system.client.post("/api/v1/mentions",
                                     json={**mention, "published_at": "2026-03-01"})
    assert alone.status_code == 202, alone.text
    stored = (await system.client.get(f"/api/v1/mentions/{alone.json()['ids'][0]}")).json()
    assert datetime.fromisoformat(stored["published_at"]) == datetime(2026, 2, 28, 16,
                                                                      tzinfo=UTC)
    for given in BAD:
        single = await system.client.post("/api/v1/mentions",
                                          json={**mention, "published_at": given})
        assert single.status_code == 422, (given, single.text)
    batch = await system.client.post("/api/v1/mentions", json={"mentions": [
        {**mention, "url": "https://weibo.example/1", "published_at": "9999-12-31"},
        {**mention, "url": "https://weibo.example/2", "published_at": "2026-03-01T10:00"}]})
    assert batch.status_code == 202, batch.text
    assert [r["status"] for r in batch.json()["results"]] == [422, 202]


async def test_a_database_error_logs_no_sql_parameter(
        system: System, caplog: pytest.LogCaptureFixture) -> None:
    """Force an insert to fail after its parameters were bound, then grep every log line."""
    intake = system.embedded.services["intake"].state.runtime
    async with intake.db.engine.begin() as conn:
        await conn.execute(text(
            "CREATE TRIGGER refuse BEFORE INSERT ON intake_complaints "
            "BEGIN SELECT RAISE(FAIL, 'forced by the test'); END"))
    caplog.set_level(logging.DEBUG)
    marker = "MARKER-free-text-7f3a 王五的投诉"
    # As a real client sees it: an answer, not the exception the test transport re-raises.
    transport = httpx.ASGITransport(app=system.embedded.gateway, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://beacon",
                                 headers=system.client.headers) as client:
        answer = await client.post("/api/v1/complaints", json={
            "channel": "hotline", "content": marker, "location": "secret-location-9c1",
            "complainant": {"name": "王五", "phone": "13812345678"}})
    assert answer.status_code >= 500 and marker not in answer.text
    assert "forced by the test" in caplog.text  # the error was logged, with its traceback
    assert "parameters hidden" in caplog.text.lower() or "hide_parameters" in caplog.text
    for secret in ("MARKER-free-text-7f3a", "王五", "secret-location-9c1", "13812345678"):
        assert secret not in caplog.text
