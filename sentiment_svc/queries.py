"""Reads for the API: one mention with its links, a page of mentions (newest first), and the
trends of the command centre."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sentiment_svc.models import DRILL_SCOPES, Alert, Bucket, Mention, MentionLink, Topic
from sentiment_svc.schemas import (
    AlertOut,
    MentionOut,
    Reach,
    Sentiment,
    TopicCount,
    TrendPoint,
    Trends,
)
from shared.paging import after_cursor, encode_cursor


@dataclass(frozen=True)
class MentionFilter:
    source: str | None = None
    sentiment_label: str | None = None
    min_risk: int | None = None  # 1 is the most severe: "at least as severe as"
    drill: bool | None = None  # None: both

    def clauses(self) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        if self.drill is not None:
            found.append(Mention.drill.is_(self.drill))
        if self.source is not None:
            found.append(Mention.source == self.source)
        if self.sentiment_label is not None:
            found.append(Mention.sentiment_label == self.sentiment_label)
        if self.min_risk is not None:
            found.append(Mention.risk_level <= self.min_risk)
        return found


def mention_out(row: Mention, linked: list[str]) -> MentionOut:
    return MentionOut(
        id=row.id, source=row.source, url=row.url, title=row.title, content=row.content,
        author=row.author, published_at=row.published_at, received_at=row.received_at,
        reach=Reach(**row.reach), language=row.language,
        sentiment=Sentiment.model_validate({"label": row.sentiment_label,
                                            "score": row.sentiment_score}),
        risk_level=row.risk_level, risk_reasons=row.risk_reasons, cluster_id=row.cluster_id,
        topic_id=row.topic_id, linked_complaint_ids=linked, drill=row.drill)


async def mention(session: AsyncSession, mention_id: str) -> MentionOut | None:
    row = await session.get(Mention, mention_id)
    if row is None:
        return None
    return mention_out(row, (await _links(session, [mention_id]))[mention_id])


async def page_of_mentions(session: AsyncSession, where: MentionFilter, limit: int,
                           cursor: str | None = None) -> tuple[list[MentionOut], str | None]:
    """One page, newest first (then id), and the cursor of the next page (None on the last)."""
    query = select(Mention).where(*where.clauses())
    if cursor:
        query = query.where(after_cursor(cursor, Mention.received_at, Mention.id))
    rows = list((await session.scalars(query.order_by(
        Mention.received_at.desc(), Mention.id.desc()).limit(limit + 1))).all())
    more, rows = len(rows) > limit, rows[:limit]
    links = await _links(session, [r.id for r in rows])
    return ([mention_out(r, links[r.id]) for r in rows],
            encode_cursor(rows[-1].received_at, rows[-1].id) if more and rows else None)


async def _links(session: AsyncSession, mention_ids: list[str]) -> dict[str, list[str]]:
    """Linked complaint ids per mention, the most similar first (one query for a page)."""
    found: dict[str, list[str]] = defaultdict(list)
    if mention_ids:
        rows = await session.execute(
            select(MentionLink.mention_id, MentionLink.complaint_id)
            .where(MentionLink.mention_id.in_(mention_ids))
            .order_by(MentionLink.similarity.desc(), MentionLink.complaint_id))
        for mention_id, complaint_id in rows.all():
            found[mention_id].append(complaint_id)
    return found


async def trends(session: AsyncSession, *, until: datetime, hours: int, bucket_s: int,
                 top: int) -> Trends:
    since = until - timedelta(hours=hours)
    return Trends(since=since, until=until, bucket_s=bucket_s,
                  series=await _series(session, since, until, bucket_s),
                  top_topics=await _top_topics(session, since, top),
                  alerts=await _alerts(session, since))


async def _series(session: AsyncSession, since: datetime, until: datetime,
                  bucket_s: int) -> list[TrendPoint]:
    """Stored buckets summed into `bucket_s` buckets; empty ones are kept (a gap is data)."""
    rows = await session.execute(select(Bucket).where(Bucket.bucket_start >= since,
                                                      Bucket.bucket_start <= until))
    sums: dict[int, list[int]] = {}
    for bucket in rows.scalars():
        key = int(bucket.bucket_start.timestamp()) // bucket_s
        acc = sums.setdefault(key, [0, 0])
        acc[0] += bucket.total
        acc[1] += bucket.negative
    first, last = int(since.timestamp()) // bucket_s, int(until.timestamp()) // bucket_s
    return [TrendPoint(bucket_start=datetime.fromtimestamp(k * bucket_s, UTC),
                       total=sums.get(k, [0, 0])[0], negative=sums.get(k, [0, 0])[1],
                       negative_share=round(sums[k][1] / sums[k][0], 3)
                       if sums.get(k, [0, 0])[0] else 0.0)
            for k in range(first, last + 1)]


async def _top_topics(session: AsyncSession, since: datetime, top: int) -> list[TopicCount]:
    negative = func.sum(case((Mention.sentiment_label == "negative", 1), else_=0))
    count = func.count()
    rows = await session.execute(
        select(Mention.topic_id, Topic.label, count, negative)
        .join(Topic, Topic.id == Mention.topic_id)
        .where(Mention.received_at >= since, Mention.drill.is_(False))
        .group_by(Mention.topic_id, Topic.label)
        .order_by(count.desc(), Mention.topic_id).limit(top))
    return [TopicCount(topic_id=t, label=label, mentions=int(n), negative=int(neg or 0),
                       negative_share=round(int(neg or 0) / int(n), 3))
            for t, label, n, neg in rows]


async def _alerts(session: AsyncSession, since: datetime) -> list[AlertOut]:
    rows = await session.execute(select(Alert).where(Alert.raised_at >= since,
                                                     Alert.scope.not_like(DRILL_SCOPES))
                                 .order_by(Alert.raised_at.desc()).limit(50))
    return [AlertOut(id=a.id, scope=a.scope, topic_id=a.topic_id, warning_level=a.warning_level,
                     raised_at=a.raised_at, evidence=a.evidence) for a in rows.scalars()]
