"""Sentiment's in-process state: the indexes mention batches share, a cache of the tables.

The tables are the truth, shared by every replica. A batch first takes its turn
(`take_turn`: it adds one to the intake revision, which locks that row until the batch
commits), so the batches of all replicas run one after the other, as in one process. Then
the indexes catch up: loaded whole at the first batch or after a failed one, else only the
stories and topics that other replicas' batches stamped since this one's last.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from sentiment_svc.clustering import StoryIndex, TopicIndex
from sentiment_svc.linking import ComplaintIndex, LinkableComplaint
from sentiment_svc.model import SentimentModel, default_model
from sentiment_svc.models import ComplaintRow, IntakeRevision, Story, Topic
from sentiment_svc.settings import SentimentSettings
from sentiment_svc.spikes import SpikeConfig


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class MentionIntakeState:
    """What this process keeps between mention batches: the scoring model, the story, topic
    and open-complaint indexes (loaded from the tables, `revision` the intake revision they
    hold), the clock, and the lock a batch holds from before its unit begins until it has
    committed (the revision row serialises the replicas; this lock, the batches in one)."""

    settings: SentimentSettings
    model: SentimentModel = field(default_factory=default_model)
    clock: Callable[[], datetime] = utcnow
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    stories: StoryIndex = field(default_factory=StoryIndex)
    story_topic: dict[str, str] = field(default_factory=dict)
    topics: TopicIndex = field(default_factory=TopicIndex)
    complaints: ComplaintIndex = field(default_factory=ComplaintIndex.empty)
    complaints_version: tuple[int, datetime | None] = (-1, None)
    loaded: bool = False
    revision: int = -1

    @property
    def spike_config(self) -> SpikeConfig:
        return SpikeConfig(bucket_s=self.settings.spike_bucket_s,
                           min_count=self.settings.spike_min_count)

    @property
    def topic_spike_config(self) -> SpikeConfig:
        return SpikeConfig(bucket_s=self.settings.spike_bucket_s, warmup_buckets=0,
                           min_count=self.settings.topic_spike_min_count)

    def invalidate(self) -> None:
        """After a failed batch the memory may hold what never committed: reload it."""
        self.stories, self.story_topic, self.topics = StoryIndex(), {}, TopicIndex()
        self.complaints_version = (-1, None)
        self.loaded, self.revision = False, -1

    async def refresh(self, session: AsyncSession, now: datetime, revision: int) -> None:
        """Up to date for the batch of `revision` (its turn taken): everything the batches
        before it committed, on any replica."""
        if not self.loaded:
            await self._load_clusters(session, now)
            self.loaded = True
        elif self.revision < revision - 1:  # another replica's batches came in between
            await self._load_clusters(session, now, since_revision=self.revision)
        self.revision = revision
        await self._refresh_complaints(session, now)

    async def _load_clusters(self, session: AsyncSession, now: datetime, *,
                             since_revision: int | None = None) -> None:
        """Every story and topic of the window, or those stamped after `since_revision`."""
        since = now - timedelta(days=self.settings.cluster_window_days)
        stories = select(Story.id, Story.topic_id, Story.signature)
        topics = select(Topic.id, Topic.centroid)
        if since_revision is None:
            stories = stories.where(Story.last_seen_at >= since)
            topics = topics.where(Topic.updated_at >= since)
        else:
            stories = stories.where(Story.revision > since_revision)
            topics = topics.where(Topic.revision > since_revision)
        for story_id, topic_id, sig in await session.execute(stories):
            self.stories.add(story_id, np.frombuffer(sig, np.uint32).copy())
            self.story_topic[story_id] = topic_id
        for topic_id, centroid in await session.execute(topics):
            self.topics.set(topic_id, {int(k): float(v) for k, v in centroid.items()})

    async def _refresh_complaints(self, session: AsyncSession, now: datetime) -> None:
        """Reloaded only when the table changed: any replica's consumer may have written it."""
        version_row = (await session.execute(
            select(func.count(), func.max(ComplaintRow.updated_at)))).one()
        version = (int(version_row[0]), version_row[1])
        if version == self.complaints_version:
            return
        rows = (await session.execute(select(ComplaintRow).where(
            ComplaintRow.open.is_(True),
            ComplaintRow.received_at >= now - timedelta(days=45)))).scalars().all()
        views = [LinkableComplaint(r.complaint_id, r.department, r.product, r.received_at)
                 for r in rows]
        self.complaints = ComplaintIndex.build(views, [r.text for r in rows],
                                               self.model.topic_idf)
        self.complaints_version = version


async def take_turn(session: AsyncSession) -> int:
    """The next intake revision, its row locked until the transaction ends: the mention
    batches of every replica take turns from here to their commit. First in the transaction
    and outside any savepoint (undoing one would release the lock). The row is the
    migration's; a SQLite file made from the models gets it at its first batch."""
    bump = (update(IntakeRevision).where(IntakeRevision.id == 1)
            .values(revision=IntakeRevision.revision + 1).returning(IntakeRevision.revision))
    revision = (await session.execute(bump)).scalar_one_or_none()
    if revision is not None:
        return int(revision)
    try:
        async with session.begin_nested():
            session.add(IntakeRevision(id=1, revision=1))
        return 1
    except IntegrityError:  # another replica's first batch inserted it first
        return int((await session.execute(bump)).scalar_one())
