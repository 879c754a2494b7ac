"""POST/GET /api/v1/mentions and /api/v1/mentions/trends on a sentiment app of the test's own."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx

from sentiment_svc.main import create_app
from sentiment_svc.settings import SentimentSettings
from shared.bus import MemoryBroker
from shared.events import make_event
from shared.events.schemas import ComplaintReceived, MentionScored, OpinionAlert, Target
from tests.sentiment.conftest import START, Clock, Sentiment

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
    [event] = await sentiment.emitted("mention.scored")
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
    assert (body["accepted"], body["duplicates"], body["rejected"]) == (3, 1, 3)
    results = body["results"]
    assert results[3]["id"] == results[0]["id"]  # same URL, one mention
    assert body["ids"] == [results[0]["id"], results[2]["id"], results[0]["id"]]
    assert {e["field"] for e in results[1]["errors"]} == {"source", "content"}
    assert {e["field"] for e in results[4]["errors"]} == {"reach.views"}
    english = (await sentiment.client.get(f"/api/v1/mentions/{results[2]['id']}")).json()
    assert (english["language"], english["sentiment"]["label"]) == ("en", "positive")
    assert len(await sentiment.emitted("mention.scored")) == 2


async def test_a_url_pushed_again_later_is_the_same_mention(sentiment: Sentiment) -> None:
    first = (await sentiment.post(NEWS)).json()
    again = (await sentiment.post({"mentions": [NEWS]})).json()
    assert again["ids"] == first["ids"] and again["results"][0]["status"] == 200


async def test_bad_input_is_a_problem_never_a_500(sentiment: Sentiment) -> None:
    for body in ({"mentions": []}, {"mentions": [{}] * 1001}, {"source": "news"}, [],
                 {"source": "news", "content": " "}):
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
    fresh.state.engine.clock = Clock(START + timedelta(hours=1))
    async with fresh.router.lifespan_context(fresh), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=fresh), base_url="http://s") as client:
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
    assert await sentiment.emitted("opinion.alert") == []
    angry = [f"第{i}位用户：某品牌充电宝充电时起火，差点烧了房子，厂家拒不赔偿，必须曝光！"
             for i in range(40)]
    for chunk in range(4):  # the burst arrives over a few minutes, in four batches
        await sentiment.post({"mentions": [{"source": "weibo", "content": t}
                                           for t in angry[chunk * 10:(chunk + 1) * 10]]})
        sentiment.clock.advance(minutes=1)
    alerts = [e.payload() for e in await sentiment.emitted("opinion.alert")]
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


async def test_a_mention_matching_an_open_complaint_is_linked(sentiment: Sentiment) -> None:
    complaint = ComplaintReceived(
        complaint_id="c1", channel="hotline", received_at=START - timedelta(days=2),
        content="我家的星光牌热水器洗澡时漏电，人被电了一下，要求厂家赔偿",
        target=Target(product="星光牌热水器"))
    other = ComplaintReceived(
        complaint_id="c2", channel="web", received_at=START - timedelta(days=2),
        content="宽带经常断网，维修一直不上门", target=Target(product="宽带"))
    for c in (complaint, other):
        await sentiment.runtime.bus.publish("complaint.received", make_event(
            "complaint.received", c, source="/intake", subject=c.complaint_id))
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
    [link] = [e.payload() for e in await sentiment.emitted("mention.linked")]
    assert link.model_dump()["complaint_ids"] == ["c1"]
    assert link.model_dump()["mention_id"] == linked_id
