"""POST/GET /api/v1/mentions and /api/v1/mentions/trends on a sentiment app of the test's own."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx

from sentiment_svc.main import create_app
from sentiment_svc.settings import SentimentSettings
from shared.bus import MemoryBroker
from shared.events import make_event
from shared.events.schemas import (
    ComplaintReceived,
    ComplaintTarget,
    MentionLinked,
    MentionScored,
    OpinionAlert,
)
from tests.support import START, Clock, Sentiment, as_gateway

NEWS = {"source": "news", "url": "https://news.example.cn/a/1",
        "title": "某品牌热水器漏电致用户受伤",
        "content": "多名消费者投诉某品牌热水器漏电，已有用户受伤住院，记者调查发现问题由来已久。",
        "reach": {"followers": 200000, "reposts": 3000, "comments": 800}}


async def test_one_mention_is_scored_and_explained(sentiment: Sentiment) -> None:
    answer = await sentiment.post(NEWS)
    assert answer.status_code == 202
    body = answer.json()
    assert body["accepted"] == 1 and len(body["ids"]) == 1
    got = (await sentiment.client.get(f"/api/v1/mentions/{body['ids'][0]}")).json()
    assert got["sentiment"]["label"] == "negative" and got["sentiment"]["score"] < 0
    assert got["language"] == "zh"
    assert got["risk_level"] <= 2
    reasons = " | ".join(got["risk_reasons"])
    assert "sentiment negative" in reasons and "reach" in reasons and "受伤" in reasons
    assert got["cluster_id"] and got["topic_id"] and got["linked_complaint_ids"] == []
    [event] = await sentiment.emitted(MentionScored)
    scored = event.payload()
    assert isinstance(scored, MentionScored)
    assert (scored.risk_level, scored.cluster_id, scored.language) == (
        got["risk_level"], got["cluster_id"], "zh")


async def test_a_batch_answers_per_item_and_keeps_the_good_ones(sentiment: Sentiment) -> None:
    items = [
        {"source": "weibo", "content": "客服态度太差了，再也不买了", "url": "https://w.cn/1"},
        {"source": "fax", "content": ""},
        {"source": "forum", "content": "Great service, thank you!", "url": "https://w.cn/2"},
        {"source": "weibo", "content": "转发", "url": "https://w.cn/1"},
        {"source": "news", "content": "x", "reach": {"views": -1}},
        "not an object",
    ]
    answer = await sentiment.post({"mentions": items})
    assert answer.status_code == 202
    body = answer.json()
    assert [r["status"] for r in body["results"]] == [202, 422, 202, 200, 422, 422]
    # Counted as the complaints batch counts: new ones, repeats apart, refused ones.
    assert (body["accepted"], body["duplicates"], body["rejected"]) == (2, 1, 3)
    results = body["results"]
    assert results[3]["id"] == results[0]["id"]  # same URL, one mention
    assert body["ids"] == [results[0]["id"], results[2]["id"], results[0]["id"]]
    assert {e["field"] for e in results[1]["errors"]} == {"source", "content"}
    assert {e["field"] for e in results[4]["errors"]} == {"reach.views"}
    english = (await sentiment.client.get(f"/api/v1/mentions/{results[2]['id']}")).json()
    assert (english["language"], english["sentiment"]["label"]) == ("en", "positive")
    assert len(await sentiment.emitted(MentionScored)) == 2


async def test_a_url_pushed_again_later_is_the_same_mention(sentiment: Sentiment) -> None:
    first = (await sentiment.post(NEWS)).json()
    again = (await sentiment.post({"mentions": [NEWS]})).json()
    assert again["ids"] == first["ids"] and again["results"][0]["status"] == 200
    # A repeat is not counted as accepted, as a complaint replay is not.
    assert (first["accepted"], first["duplicates"]) == (1, 0)
    assert (again["accepted"], again["duplicates"]) == (0, 1)


async def test_bad_input_is_a_problem_never_a_500(sentiment: Sentiment) -> None:
    bodies: list[object] = [{"mentions": []}, {"mentions": [{}] * 1001}, {"source": "news"},
                            [], {"source": "news", "content": " "}]
    for body in bodies:
        answer = await sentiment.client.post("/api/v1/mentions", json=body)
        assert answer.status_code == 422, body
        assert answer.headers["content-type"] == "application/problem+json"
    refused = await sentiment.post({"mentions": [{"source": "blog", "content": ""}]})
    assert refused.status_code == 202
    assert (refused.json()["accepted"], refused.json()["rejected"]) == (0, 1)
    assert refused.json()["results"][0]["errors"][0]["field"] == "content"
    full = await sentiment.post({"mentions": [{"source": "forum", "content": f"第{i}条帖子"}
                                              for i in range(1000)]})
    assert full.status_code == 202 and full.json()["accepted"] == 1000
    assert (await sentiment.client.get("/api/v1/mentions/nope")).status_code == 404


async def test_texts_with_no_words_are_scored_not_refused(sentiment: Sentiment) -> None:
    """A schemathesis run once found a 500 on `"content": "0"` (a head missing for a text
    whose language the detector could not tell): such texts are neutral, never an error."""
    for text in ("0", "?", "。", "1 2", "😀"):
        answer = await sentiment.client.post("/api/v1/mentions",
                                             json={"source": "blog", "content": text})
        assert answer.status_code == 202, (text, answer.text)


async def test_reposts_share_a_cluster_and_it_survives_a_restart(
        sentiment: Sentiment, tmp_path: Path) -> None:
    original = "某银行APP升级后无法登录，转账失败，客服电话一直打不通，大家有没有遇到？"
    posts = [{"source": "weibo", "content": original},
             {"source": "weibo", "content": f"转发微博 //@小王: {original}"},
             {"source": "weibo", "content": f"{original} 同问！"},
             {"source": "weibo", "content": "今天天气不错，去公园散步了，心情很好"}]
    ids = (await sentiment.post({"mentions": posts})).json()["ids"]
    clusters = [(await sentiment.client.get(f"/api/v1/mentions/{i}")).json()["cluster_id"]
                for i in ids]
    assert clusters[0] == clusters[1] == clusters[2] != clusters[3]

    settings = SentimentSettings(data_dir=tmp_path,
                                 database_url=f"sqlite+aiosqlite:///{tmp_path / 's.db'}")
    fresh = create_app(settings, broker=MemoryBroker())  # a new process: empty memory
    fresh.state.intake_state.clock = Clock(START + timedelta(hours=1))
    async with fresh.router.lifespan_context(fresh), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=fresh), base_url="http://s",
            auth=as_gateway(fresh)) as client:
        later = await client.post("/api/v1/mentions", json={
            "source": "forum", "content": f"搬运：{original}"})
        got = (await client.get(f"/api/v1/mentions/{later.json()['ids'][0]}")).json()
    assert got["cluster_id"] == clusters[0]


async def test_a_burst_of_negative_mentions_raises_one_alert(sentiment: Sentiment) -> None:
    quiet = ["今天去营业厅办理了宽带业务", "请问社保卡在哪里补办", "客服很耐心，点赞",
             "物业通知明天停水检修"]
    for hour in range(6):  # a baseline: a few calm mentions every ten minutes
        for _ in range(6):
            await sentiment.post({"mentions": [{"source": "weibo", "content": f"{t}（{hour}）"}
                                               for t in quiet]})
            sentiment.clock.advance(minutes=10)
    assert await sentiment.emitted(OpinionAlert) == []
    angry = [f"第{i}位用户：某品牌充电宝充电时起火，差点烧了房子，厂家拒不赔偿，必须曝光！"
             for i in range(40)]
    for chunk in range(4):  # the burst arrives over a few minutes, in four batches
        await sentiment.post({"mentions": [{"source": "weibo", "content": t}
                                           for t in angry[chunk * 10:(chunk + 1) * 10]]})
        sentiment.clock.advance(minutes=1)
    alerts = [e.payload() for e in await sentiment.emitted(OpinionAlert)]
    overall = [a for a in alerts if isinstance(a, OpinionAlert) and a.scope == "overall"]
    assert len(overall) == 1
    alert = overall[0]
    assert alert.negative_count >= 10 and alert.baseline < 3 and alert.top_mention_ids
    assert alert.window_start <= START + timedelta(hours=6) <= alert.window_end
    trends = (await sentiment.client.get("/api/v1/mentions/trends",
                                         params={"hours": 8, "bucket_s": 3600})).json()
    assert trends["alerts"] and trends["top_topics"]
    assert trends["top_topics"][0]["negative"] >= 30
    last = [p for p in trends["series"] if p["total"]][-1]
    assert last["negative_share"] > 0.8
    assert sum(p["total"] for p in trends["series"]) == 6 * 6 * 4 + 40


async def test_a_second_burst_half_an_hour_later_alerts_again(sentiment: Sentiment) -> None:
    """Issue #15: the open incident must collect a later burst of the same story, so the
    second burst raises its own alert (a follow-up wave) with its own evidence."""
    for _ in range(36):  # six calm hours
        await sentiment.post({"mentions": [{"source": "weibo", "content": "请问社保卡在哪里补办"}]})
        sentiment.clock.advance(minutes=10)
    story = "燃气管道老化漏气引发爆炸，多人烧伤，燃气公司至今拒不回应，太过分了"
    first = await sentiment.post({"mentions": [{"source": "weibo", "content": f"转发：{story}"}
                                               for _ in range(40)]})
    sentiment.clock.advance(minutes=30)
    second = await sentiment.post({"mentions": [
        {"source": "weibo", "content": f"转发微博 //@网友{i}: {story}"} for i in range(120)]})
    alerts = [a for e in await sentiment.emitted(OpinionAlert)
              if isinstance(a := e.payload(), OpinionAlert)]
    for scope in ("overall", "topic"):
        waves = [a for a in alerts if a.scope == scope]
        assert len(waves) == 2, scope
        assert set(waves[0].top_mention_ids) <= set(first.json()["ids"])
        assert set(waves[1].top_mention_ids) <= set(second.json()["ids"])
        assert waves[1].negative_count >= 100 and "another wave" in waves[1].summary
    assert len({a.topic_id for a in alerts if a.scope == "topic"}) == 1


GAS_STORY = ["燃气管道老化漏气，爆炸伤人，燃气公司失职", "燃气公司回应爆炸事故避重就轻，网友不满",
             "幸福小区燃气管道起火爆炸，多名居民烧伤，燃气公司至今拒不回应",
             "幸福小区燃气爆炸事故：伤者已送医，燃气公司称正在调查原因"]


async def test_one_story_told_four_ways_is_one_topic_and_its_spike_alerts(
        sentiment: Sentiment) -> None:
    """Issue #15: the gas-explosion story split into four topics, so no alert fired."""
    for _ in range(36):
        await sentiment.post({"mentions": [{"source": "weibo", "content": "请问社保卡在哪里补办"}]})
        sentiment.clock.advance(minutes=10)
    posted = await sentiment.post({"mentions": [
        {"source": "weibo", "content": f"{text}（{n}）"} for n in range(4) for text in GAS_STORY]})
    ids = posted.json()["ids"]
    got = [(await sentiment.client.get(f"/api/v1/mentions/{i}")).json() for i in ids]
    assert len({m["topic_id"] for m in got}) == 1
    assert all(m["sentiment"]["label"] == "negative" for m in got[:2])
    topic_alerts = [a for e in await sentiment.emitted(OpinionAlert)
                    if isinstance(a := e.payload(), OpinionAlert) and a.scope == "topic"]
    assert [a.topic_id for a in topic_alerts] == [got[0]["topic_id"]]


async def test_a_mention_matching_an_open_complaint_is_linked(sentiment: Sentiment) -> None:
    complaint = ComplaintReceived(
        complaint_id="c1", channel="hotline", received_at=START - timedelta(days=2),
        content="我家的星光牌热水器洗澡时漏电，人被电了一下，要求厂家赔偿",
        target=ComplaintTarget(product="星光牌热水器"))
    other = ComplaintReceived(
        complaint_id="c2", channel="web", received_at=START - timedelta(days=2),
        content="宽带经常断网，维修一直不上门", target=ComplaintTarget(product="宽带"))
    for c in (complaint, other):
        await sentiment.runtime.bus.publish(ComplaintReceived.topic, make_event(
            c, source="/intake", subject=c.complaint_id))
    await sentiment.consumed(2)
    posted = await sentiment.post({"mentions": [
        {"source": "weibo", "content": "曝光！星光牌热水器漏电，洗澡时被电到，厂家还不赔偿"},
        {"source": "weibo", "content": "某品牌热水器漏电，洗澡时被电到"},  # no target named
    ]})
    linked_id, unlinked_id = posted.json()["ids"]
    got = (await sentiment.client.get(f"/api/v1/mentions/{linked_id}")).json()
    assert got["linked_complaint_ids"] == ["c1"]
    assert (await sentiment.client.get(
        f"/api/v1/mentions/{unlinked_id}")).json()["linked_complaint_ids"] == []
    [link] = [e.payload() for e in await sentiment.emitted(MentionLinked)]
    assert link.model_dump()["complaint_ids"] == ["c1"]
    assert link.model_dump()["mention_id"] == linked_id
