"""Storing and scoring mentions. The scorer here is a small bilingual lexicon; the trained
model comes with the sentiment issue."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from sentiment_svc.models import Mention
from sentiment_svc.schemas import MentionIn
from shared.events.schemas import MentionScored
from shared.runtime import ServiceRuntime

SCORED_TOPIC = "mention.scored"

NEGATIVE = ("投诉", "曝光", "维权", "差", "骗", "坑", "欺诈", "故障", "愤怒", "失望", "泄露",
            "terrible", "scam", "fraud", "angry", "awful", "worst", "broken", "leak", "complaint")
POSITIVE = ("满意", "好评", "点赞", "感谢", "优秀", "不错", "great", "excellent", "thanks",
            "love", "good", "helpful")
NEGATION = ("不", "没", "未", "not ", "n't", "never ")


def detect_language(text: str) -> str:
    cjk = len(re.findall(r"[\u4e00-\u9fff]", text))
    return "zh" if cjk * 4 >= len(text.strip()) or cjk >= 10 else "en"


def score(text: str) -> tuple[str, float]:
    """(label, score in -1…1) from term counts; a negation just before a term flips it."""
    lowered = text.lower()
    total = 0
    for terms, sign in ((NEGATIVE, -1), (POSITIVE, 1)):
        for term in terms:
            for match in re.finditer(re.escape(term), lowered):
                before = lowered[max(0, match.start() - 4) : match.start()]
                total += -sign if any(n in before for n in NEGATION) else sign
    value = max(-1.0, min(1.0, total / 3))
    label = "negative" if value <= -0.3 else "positive" if value >= 0.3 else "neutral"
    return label, round(value, 3)


async def accept_mentions(runtime: ServiceRuntime, mentions: list[MentionIn]) -> list[str]:
    """Store and score; a URL seen before answers with the earlier mention's id.

    A concurrent request that stored the same URL first makes this one retry once, and the
    retry finds it.
    """
    try:
        return await _store(runtime, mentions)
    except IntegrityError:
        return await _store(runtime, mentions)


async def _store(runtime: ServiceRuntime, mentions: list[MentionIn]) -> list[str]:
    ids: list[str] = []
    async with runtime.unit() as unit:
        urls = [url for m in mentions if (url := _url(m))]
        known: dict[str, str] = {}
        if urls:
            rows = await unit.session.execute(
                select(Mention.url, Mention.id).where(Mention.url.in_(urls)))
            known = {url: mention_id for url, mention_id in rows if url}
        for item in mentions:
            url = _url(item)
            if url in known:
                ids.append(known[url])
                continue
            mention = _scored(item, url)
            unit.session.add(mention)
            if url:
                known[url] = mention.id
            ids.append(mention.id)
            await unit.emit(SCORED_TOPIC, MentionScored(
                mention_id=mention.id, source=mention.source, url=mention.url,
                sentiment_label=mention.sentiment_label,
                sentiment_score=mention.sentiment_score, published_at=mention.published_at,
            ), subject=mention.id)
    return ids


def _url(item: MentionIn) -> str | None:
    """Blank URLs mean "no URL": they identify nothing, so they dedupe nothing."""
    return item.url.strip() or None if item.url else None


def _scored(item: MentionIn, url: str | None) -> Mention:
    label, value = score(f"{item.title or ''} {item.content}")
    return Mention(
        id=uuid.uuid4().hex, source=item.source, url=url, title=item.title,
        content=item.content, author=item.author, published_at=item.published_at,
        received_at=datetime.now(UTC), reach=item.reach.model_dump(),
        language=item.language or detect_language(item.content),
        sentiment_label=label, sentiment_score=value,
    )
