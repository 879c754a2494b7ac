"""Sentiment's in-process state: the indexes mention batches share, rebuilt from the tables
when the process starts or a batch fails."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sentiment_svc.clustering import StoryIndex, TopicIndex
from sentiment_svc.linking import ComplaintIndex, LinkableComplaint
from sentiment_svc.model import SentimentModel, default_model
from sentiment_svc.models import ComplaintRow, Story, Topic
from sentiment_svc.settings import SentimentSettings
from sentiment_svc.spikes import SpikeConfig


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class MentionIntakeState:
    """What this process keeps between mention batches: the scoring model, the story, topic
    and open-complaint indexes (loaded from the tables), the clock, and the lock a batch
    holds from before its unit begins until it has committed."""

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
        self.loaded = False

    async def refresh(self, session: AsyncSession, now: datetime) -> None:
        if not self.loaded:
            await self._load_clusters(session, now)
            self.loaded = True
        await self._refresh_complaints(session, now)

    async def _load_clusters(self, session: AsyncSession, now: datetime) -> None:
        since = now - timedelta(days=self.settings.cluster_window_days)
        rows = await session.execute(select(Story.id, Story.topic_id, Story.signature)
                                     .where(Story.last_seen_at >= since))
        for story_id, topic_id, sig in rows:
            self.stories.add(story_id, np.frombuffer(sig, np.uint32).copy())
            self.story_topic[story_id] = topic_id
        topics = await session.execute(select(Topic.id, Topic.centroid)
                                       .where(Topic.updated_at >= since))
        for topic_id, centroid in topics:
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
