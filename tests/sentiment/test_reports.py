"""The public-opinion report: volume and negative share against the previous period,
sources, top stories with their headline, alerts with their warning level, mentions linked
to complaints, the default period and the refusals; and through the gateway."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sentiment_svc.models import Alert, Mention, MentionLink, Story, Topic
from shared.events import make_event
from shared.events.schemas import StatementApproved, StatementDistributed
from tests.support import Sentiment, System, pdf_text

START = datetime(2025, 2, 1, tzinfo=UTC)
END = START + timedelta(days=1)
PERIOD = {"from": START.isoformat(), "to": END.isoformat()}


def _mention(at: datetime, source: str, label: str, story: str, *, title: str | None = None,
             risk: int = 4) -> Mention:
    return Mention(
        id=uuid.uuid4().hex, source=source, url=None, title=title, content=f"内容 {story}",
        author=None, published_at=None, received_at=at, reach={}, language="zh",
        sentiment_label=label, sentiment_score=0.9, risk_level=risk, risk_score=10,
        risk_reasons=[], cluster_id=story, topic_id="t1")


def _seed() -> tuple[list[Any], Mention]:
    hour = timedelta(hours=1)
    first = _mention(START + hour, "weibo", "negative", "s1", title="热水器爆炸", risk=2)
    current = [first,
               _mention(START + 2 * hour, "weibo", "negative", "s1", risk=1),
               _mention(START + 3 * hour, "news", "neutral", "s1"),
               _mention(START + 4 * hour, "news", "negative", "s2"),
               _mention(START + 5 * hour, "forum", "positive", "s3")]
    previous = [_mention(START - hour, "weibo", "negative", "s1"),
                _mention(START - 2 * hour, "news", "neutral", "s2")]
    outside = [_mention(END, "weibo", "negative", "s9"),
               _mention(START - timedelta(days=2), "weibo", "negative", "s9")]
    rows: list[Any] = [
        *current, *previous, *outside,
        Topic(id="t1", label="热水器 安全", centroid={}, created_at=START, updated_at=START),
        Story(id="s1", topic_id="t1", signature=b"", first_mention_id=first.id,
              created_at=START, last_seen_at=START),
        Alert(id="a1", scope="overall", topic_id=None, warning_level=2,
              raised_at=START + 2 * hour, evidence={"mentions": 2}),
        Alert(id="a2", scope="topic:t1", topic_id="t1", warning_level=3,
              raised_at=START + 3 * hour, evidence={}),
        Alert(id="a0", scope="overall", topic_id=None, warning_level=1,
              raised_at=START - hour, evidence={}),  # the previous day's
        MentionLink(mention_id=first.id, complaint_id="c1", similarity=0.9,
                    linked_at=START + hour),
        MentionLink(mention_id=first.id, complaint_id="c2", similarity=0.7,
                    linked_at=START + hour),
        MentionLink(mention_id=current[3].id, complaint_id="c1", similarity=0.8,
                    linked_at=START + hour),
        MentionLink(mention_id=previous[0].id, complaint_id="c3", similarity=0.8,
                    linked_at=START),
    ]
    return rows, first


async def _report(sentiment: Sentiment, **params: str) -> dict[str, Any]:
    async with sentiment.runtime.unit() as unit:
        rows, _ = _seed()
        unit.session.add_all(rows)
    answer = await sentiment.client.get("/api/v1/reports/public-opinion", params=params)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def test_volume_sources_and_stories_against_the_previous_day(
        sentiment: Sentiment) -> None:
    report = await _report(sentiment, **PERIOD)
    assert report["previous_period"] == {"start": "2025-01-31T00:00:00Z",
                                         "end": "2025-02-01T00:00:00Z"}
    assert report["volume"] == {"mentions": 5, "negative": 3, "negative_share": 0.6,
                                "previous": 2, "previous_negative_share": 0.5,
                                "change_pct": 150.0}
    assert [(s["source"], s["mentions"], s["negative"]) for s in report["sources"]] == [
        ("news", 2, 1), ("weibo", 2, 2), ("forum", 1, 0)]
    top = report["top_stories"][0]
    assert (top["story_id"], top["mentions"], top["negative"], top["max_risk_level"]) == (
        "s1", 3, 2, 1)
    assert (top["headline"], top["topic"]) == ("热水器爆炸", "热水器 安全")
    # A story without its own row still has a headline, from one of its mentions.
    assert [(s["story_id"], s["headline"]) for s in report["top_stories"][1:]] == [
        ("s2", "内容 s2"), ("s3", "内容 s3")]


async def test_alerts_with_levels_and_mentions_linked_to_complaints(
        sentiment: Sentiment) -> None:
    report = await _report(sentiment, **PERIOD)
    assert [(a["id"], a["warning_level"]) for a in report["alerts"]] == [("a2", 3), ("a1", 2)]
    assert report["alerts_by_level"] == {"2": 1, "3": 1}
    linked = report["linked"]
    assert (linked["mentions"], linked["complaints"]) == (2, 2)
    assert [item["complaint_ids"] for item in linked["items"]] == [["c1"], ["c1", "c2"]]


async def test_pdf_has_the_figures_and_charts(sentiment: Sentiment, tmp_path: Path) -> None:
    async with sentiment.runtime.unit() as unit:
        unit.session.add_all(_seed()[0])
    answer = await sentiment.client.get("/api/v1/reports/public-opinion",
                                        params={**PERIOD, "format": "pdf"})
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/pdf"
    assert "beacon-public-opinion-20250201-20250202.pdf" in answer.headers[
        "content-disposition"]
    assert answer.content.count(b"/Subtype /Image") == 2
    text = pdf_text(answer.content, tmp_path)
    assert "舆情监测报告" in text and "5（上期 2，+150.0%）" in text
    assert "热水器爆炸" in text and "weibo" in text and "60%" in text
    assert "统一口径" in text and "（无）" in text  # no statement in the period
    refused = await sentiment.client.get("/api/v1/reports/public-opinion",
                                         params={"format": "docx"})
    assert refused.status_code == 422


async def test_statements_issued_come_from_notify_s_events(sentiment: Sentiment,
                                                           tmp_path: Path) -> None:
    approved_at = START + timedelta(hours=6)
    events: list[StatementApproved | StatementDistributed] = [
        # The distribution may arrive first: it is another topic.
        StatementDistributed(statement_id="st1", incident_id="i1", approved_at=approved_at,
                             distribute_by=approved_at + timedelta(minutes=30),
                             distributed_at=approved_at + timedelta(minutes=5), recipients=3),
        StatementApproved(statement_id="st1", incident_id="i1", title="关于热水器事件的说明",
                          text="正在调查", approved_by="leader-wang", approved_at=approved_at),
        StatementApproved(statement_id="st0", title="上月的说明", text="已处理",
                          approved_by="leader-wang", approved_at=START - timedelta(days=3)),
        # A drill's statement, however it arrives, stays out of the real report.
        StatementDistributed(statement_id="st2", incident_id="i2", approved_at=approved_at,
                             distribute_by=approved_at + timedelta(minutes=30),
                             distributed_at=approved_at, recipients=3, drill=True),
        StatementApproved(statement_id="st2", incident_id="i2", title="演练说明", text="演练",
                          approved_by="leader-wang", approved_at=approved_at, drill=False),
        StatementApproved(statement_id="st3", incident_id="i3", title="演练说明二", text="演练",
                          approved_by="leader-wang", approved_at=approved_at, drill=True),
    ]
    for data in events:
        await sentiment.runtime.bus.publish(data.topic, make_event(
            data, source="/notify", subject=data.statement_id))
    await sentiment.consumed(len(events))
    report = await _report(sentiment, **PERIOD)
    [issued] = report["statements"]  # st0 was approved before the period; st2, st3 drills
    assert issued == {"statement_id": "st1", "incident_id": "i1", "title": "关于热水器事件的说明",
                      "approved_by": "leader-wang", "approved_at": "2025-02-01T06:00:00Z",
                      "distributed_at": "2025-02-01T06:05:00Z", "recipients": 3}
    answer = await sentiment.client.get("/api/v1/reports/public-opinion",
                                        params={**PERIOD, "format": "pdf"})
    assert "关于热水器事件的说明" in pdf_text(answer.content, tmp_path)


async def test_the_default_period_is_the_week_before_now(sentiment: Sentiment) -> None:
    sentiment.clock.now = END + timedelta(days=3)
    report = await _report(sentiment)
    assert report["period"]["end"] == "2025-02-05T00:00:00Z"
    assert report["period"]["start"] == "2025-01-29T00:00:00Z"
    assert report["volume"]["mentions"] == 9 and report["volume"]["previous"] == 0


async def test_bad_periods_are_refused_in_plain_words(sentiment: Sentiment) -> None:
    backwards = await sentiment.client.get("/api/v1/reports/public-opinion",
                                           params={"from": END.isoformat(),
                                                   "to": START.isoformat()})
    assert backwards.status_code == 422 and "must be before" in backwards.json()["detail"]
    too_long = await sentiment.client.get("/api/v1/reports/public-opinion",
                                          params={"from": "2023-01-01", "to": "2025-01-01"})
    assert too_long.status_code == 422 and "at most 366 days" in too_long.json()["detail"]


async def test_through_the_gateway_with_cases_read(system: System) -> None:
    posted = await system.client.post("/api/v1/mentions", json={
        "source": "weibo", "content": "某品牌热水器爆炸，有人受伤"})
    assert posted.status_code == 202
    now = datetime.now(UTC)
    window = {"from": (now - timedelta(hours=1)).isoformat(),
              "to": (now + timedelta(minutes=1)).isoformat()}
    answer = await system.client.get("/api/v1/reports/public-opinion", params=window,
                                      headers=system.as_key("operator"))
    assert answer.status_code == 200, answer.text
    assert answer.json()["volume"]["mentions"] == 1
    refused = await system.client.get("/api/v1/reports/public-opinion", params=window,
                                      headers=system.as_key("hotline-a"))
    assert refused.status_code == 403
