"""Intake of mentions: score, assess risk, cluster, link to complaints, watch for spikes.

One batch is one unit (the request's): mention rows, new stories and topics, spike state,
trend buckets, links and every outgoing event commit together. The texts are scored first,
before anything is locked (that is most of the work, and replicas do it side by side); then
the batch takes its turn (`state.take_turn`: the intake revision's row, locked until the
commit), so the batches of every replica cluster, count and alert one after the other,
each seeing what the ones before committed. The story and topic indexes are a cache in the
process (`state.MentionIntakeState`), caught up from the tables at the batch's turn; its
lock serialises the batches of one process.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from sentiment_svc.clustering import centroid_add, signature, topic_vectors
from sentiment_svc.linking import Link
from sentiment_svc.model import Language, Scored
from sentiment_svc.models import (
    DRILL_SCOPE_PREFIX,
    Alert,
    Bucket,
    Mention,
    MentionLink,
    SpikeStateRow,
    Story,
    Topic,
)
from sentiment_svc.risk import Risk, assess
from sentiment_svc.schemas import MentionIn
from sentiment_svc.spikes import Spike, SpikeConfig, SpikeState, advance, check, observe
from sentiment_svc.state import MentionIntakeState, take_turn
from shared.events.schemas import MentionLinked, MentionScored, OpinionAlert
from shared.runtime import Unit

OVERALL = "overall"


@dataclass(frozen=True)
class Outcome:
    mention_id: str
    created: bool  # False: the URL was known, this is the earlier mention's id


async def accept_mentions(unit: Unit, state: MentionIntakeState,
                          mentions: Sequence[MentionIn]) -> list[Outcome]:
    """Add and score the mentions in the unit; a URL seen before answers with the earlier
    mention's id. The caller holds `state.lock` until the unit has committed.

    The batch waits for its turn (another replica's batch, or this one's, that holds it
    commits first), so the same URL posted to two replicas at once is stored by the first
    and found by the second. Should a URL still be stored under it (by a writer that took
    no turn), the unique URL fails this batch's savepoint: it is undone, the memory
    reloaded, and the retry finds the URL.
    """
    prepared = _prepare(state, mentions)
    revision = await take_turn(unit.session)
    emitted = len(unit.emitted)
    try:
        async with unit.session.begin_nested():
            return await _store(unit, state, mentions, prepared, revision)
    except IntegrityError:
        state.invalidate()
        del unit.emitted[emitted:]  # the undone attempt's events
        async with unit.session.begin_nested():
            return await _store(unit, state, mentions, prepared, revision)


@dataclass
class _New:
    item: MentionIn
    url: str | None
    text: str
    scored: Scored
    vectors: sp.csr_matrix  # the batch's topic vectors; this mention's is row `row`
    row: int
    signature: NDArray[np.uint32]
    mention_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    @property
    def vector(self) -> sp.csr_matrix:
        row: sp.csr_matrix = self.vectors[self.row]
        return row


def _prepare(state: MentionIntakeState, mentions: Sequence[MentionIn]) -> dict[int, _New]:
    """By position, each mention scored, with its topic vector and story signature: what
    needs no state (most of a batch's CPU), done before the batch takes its turn. A URL
    repeated inside the batch is scored once (its first place)."""
    places: list[tuple[int, str | None, str]] = []
    seen: set[str] = set()
    for pos, item in enumerate(mentions):
        url = _url(item)
        if url and url in seen:
            continue
        if url:
            seen.add(url)
        places.append((pos, url, f"{item.title or ''}\n{item.content}".strip()))
    if not places:
        return {}
    texts = [text for _, _, text in places]
    langs: list[Language | None] = [mentions[pos].language for pos, _, _ in places]
    scores = state.model.score_many(texts, langs)
    vectors = topic_vectors(texts, state.model.topic_idf)
    return {pos: _New(mentions[pos], url, text, scored, vectors, row, signature(text))
            for row, ((pos, url, text), scored) in enumerate(zip(places, scores, strict=True))}


async def _store(unit: Unit, state: MentionIntakeState, mentions: Sequence[MentionIn],
                 prepared: dict[int, _New], revision: int) -> list[Outcome]:
    now = state.clock()
    await state.refresh(unit.session, now, revision)
    known = await _known_urls(unit.session, [n.url for n in prepared.values() if n.url])
    outcomes: list[Outcome] = []
    fresh: list[_New] = []
    for pos, item in enumerate(mentions):
        url = _url(item)
        if url and url in known:
            outcomes.append(Outcome(known[url], created=False))
            continue
        new = prepared[pos]  # the URL's first place in the batch
        if url:
            known[url] = new.mention_id
        fresh.append(new)
        outcomes.append(Outcome(new.mention_id, created=True))
    if fresh:
        await _process(unit, state, fresh, now, revision)
    await unit.session.flush()  # a lost URL race shows here, inside the savepoint
    return outcomes


async def _known_urls(session: AsyncSession, urls: list[str]) -> dict[str, str]:
    if not urls:
        return {}
    rows = await session.execute(select(Mention.url, Mention.id).where(Mention.url.in_(urls)))
    return {url: mention_id for url, mention_id in rows if url}


def _url(item: MentionIn) -> str | None:
    """Blank URLs mean "no URL": they identify nothing, so they dedupe nothing."""
    return item.url.strip() or None if item.url else None


async def _process(unit: Unit, state: MentionIntakeState, fresh: list[_New], now: datetime,
                   revision: int) -> None:
    texts = [n.text for n in fresh]
    vectors = fresh[0].vectors[[n.row for n in fresh]]
    links = state.complaints.match(texts, vectors, now)
    # A drill mention never links to (and so never raises) a real complaint.
    links = [[] if n.item.drill else found for n, found in zip(fresh, links, strict=True)]
    clusters = _Clusters(state, now, revision)
    rows: list[Mention] = []
    for n in fresh:
        risk = assess(n.scored.label, n.scored.score, n.item.source, n.url,
                      n.item.reach.model_dump(), n.text)
        story_id, topic_id = clusters.assign(n)
        rows.append(_mention_row(n, n.scored, risk, story_id, topic_id, now))
    unit.session.add_all(rows)
    await clusters.save(unit.session)
    for row, row_links in zip(rows, links, strict=True):
        await unit.emit(_scored_event(row), subject=row.id)
        if row_links:
            await _link(unit, row, row_links, now)
    real = [row for row in rows if not row.drill]
    if real:
        await _count_bucket(unit.session, state.spike_config, real, now)
        await _watch_spikes(unit, state, real, now)
    drill = [row for row in rows if row.drill]
    if drill:  # a drill's spike alerts in scopes of its own, so real baselines never see it
        await _watch_spikes(unit, state, drill, now, prefix=DRILL_SCOPE_PREFIX)


def _mention_row(n: _New, scored: Scored, risk: Risk, story_id: str, topic_id: str,
                 now: datetime) -> Mention:
    item = n.item
    return Mention(
        id=n.mention_id, source=item.source, url=n.url, title=item.title, content=item.content,
        author=item.author, published_at=item.published_at, received_at=now,
        reach=item.reach.model_dump(), language=scored.language,
        sentiment_label=scored.label, sentiment_score=scored.score,
        risk_level=risk.level, risk_score=risk.score,
        risk_reasons=[*scored.reasons, *risk.reasons], cluster_id=story_id, topic_id=topic_id,
        drill=item.drill,
    )


def _scored_event(row: Mention) -> MentionScored:
    return MentionScored(
        mention_id=row.id, source=row.source, url=row.url, sentiment_label=row.sentiment_label,
        sentiment_score=max(-1.0, min(1.0, row.sentiment_score)),
        published_at=row.published_at, language="zh" if row.language == "zh" else "en",
        risk_level=row.risk_level, cluster_id=row.cluster_id, topic_id=row.topic_id,
        drill=row.drill,
    )


class _Clusters:
    """A batch's story and topic assignments, applied to the state and written to tables."""

    def __init__(self, state: MentionIntakeState, now: datetime, revision: int) -> None:
        self.state, self.now, self.revision = state, now, revision
        self.new_stories: list[Story] = []
        self.seen_stories: set[str] = set()
        self.new_topics: dict[str, Topic] = {}
        self.changed_topics: set[str] = set()

    def assign(self, n: _New) -> tuple[str, str]:
        sig = n.signature
        story_id = self.state.stories.find(sig)
        if story_id is not None:  # a repost or near-copy: same story, same topic
            self.seen_stories.add(story_id)
            return story_id, self.state.story_topic[story_id]
        topic_id = self._topic_for(n, n.vector)
        story_id = uuid.uuid4().hex
        self.state.stories.add(story_id, sig)
        self.state.story_topic[story_id] = topic_id
        self.new_stories.append(Story(id=story_id, topic_id=topic_id, signature=sig.tobytes(),
                                      first_mention_id=n.mention_id, created_at=self.now,
                                      last_seen_at=self.now, revision=self.revision))
        return story_id, topic_id

    def _topic_for(self, n: _New, vector: sp.csr_matrix) -> str:
        topics = self.state.topics
        topic_id, _ = topics.nearest(vector)
        if topic_id is None:
            topic_id = uuid.uuid4().hex
            label = (n.item.title or n.item.content).strip().replace("\n", " ")[:200]
            self.new_topics[topic_id] = Topic(id=topic_id, label=label, centroid={},
                                              created_at=self.now, updated_at=self.now,
                                              revision=self.revision)
            topics.set(topic_id, {})
        topics.set(topic_id, centroid_add(topics.centroids[topic_id], vector))
        self.changed_topics.add(topic_id)
        return topic_id

    async def save(self, session: AsyncSession) -> None:
        session.add_all(self.new_stories)
        centroids = self.state.topics.centroids
        for topic_id, topic in self.new_topics.items():
            topic.centroid = {str(k): v for k, v in centroids[topic_id].items()}
            session.add(topic)
        changed = [{"id": t, "centroid": {str(k): v for k, v in centroids[t].items()},
                    "updated_at": self.now, "revision": self.revision}
                   for t in self.changed_topics if t not in self.new_topics]
        if changed:
            await session.execute(update(Topic), changed)
        if self.seen_stories:
            await session.execute(update(Story).where(Story.id.in_(self.seen_stories))
                                  .values(last_seen_at=self.now))


async def _link(unit: Unit, row: Mention, links: list[Link], now: datetime) -> None:
    unit.session.add_all(MentionLink(mention_id=row.id, complaint_id=link.complaint_id,
                                     similarity=link.similarity, linked_at=now)
                         for link in links)
    await unit.emit(MentionLinked(
        mention_id=row.id, complaint_ids=[link.complaint_id for link in links],
        similarity=links[0].similarity, source=row.source, url=row.url,
        risk_level=row.risk_level, linked_at=now), subject=row.id)


async def _count_bucket(session: AsyncSession, cfg: SpikeConfig, rows: list[Mention],
                        now: datetime) -> None:
    start = datetime.fromtimestamp(int(now.timestamp()) // cfg.bucket_s * cfg.bucket_s, UTC)
    negative = sum(r.sentiment_label == "negative" for r in rows)
    bucket = await session.get(Bucket, start)
    if bucket is None:
        session.add(Bucket(bucket_start=start, total=len(rows), negative=negative))
    else:
        bucket.total += len(rows)
        bucket.negative += negative


async def _watch_spikes(unit: Unit, intake: MentionIntakeState, rows: list[Mention],
                        now: datetime, *, prefix: str = "") -> None:
    """Feed the overall scope and each touched topic; raise an alert on entering a spike.
    Drill mentions feed scopes of their own (`prefix`), so their alerts are drills."""
    by_scope: dict[str, list[Mention]] = {prefix + OVERALL: rows}
    for row in rows:
        by_scope.setdefault(f"{prefix}topic:{row.topic_id}", []).append(row)
    states = {r.scope: r for r in (await unit.session.execute(
        select(SpikeStateRow).where(SpikeStateRow.scope.in_(by_scope)))).scalars()}
    level_one = {r.id for r in rows if r.risk_level == 1}
    for scope, members in by_scope.items():
        cfg = intake.spike_config if scope == prefix + OVERALL else intake.topic_spike_config
        stored = states.get(scope)
        state = SpikeState.from_json(stored.state) if stored else SpikeState()
        advance(state, now, cfg)
        for row in members:
            observe(state, row.id, row.sentiment_label == "negative", row.risk_score)
        spike = check(state, cfg, severe=any(m in level_one for m, _ in state.top))
        if stored is None:
            unit.session.add(SpikeStateRow(scope=scope, state=state.to_json(), updated_at=now))
        else:
            stored.state, stored.updated_at = state.to_json(), now
        if spike is not None:
            await _alert(unit, scope, spike, members, now, drill=bool(prefix))


async def _alert(unit: Unit, scope: str, spike: Spike, members: list[Mention],
                 now: datetime, *, drill: bool = False) -> None:
    bare = scope.removeprefix(DRILL_SCOPE_PREFIX) if drill else scope
    topic_id = bare.removeprefix("topic:") if bare != OVERALL else None
    where = "overall" if topic_id is None else f"topic {topic_id}"
    label = members[0].title or members[0].content[:60] if topic_id else None
    rising = "another wave of negative mentions" if spike.follow_up else \
        "negative mentions rising"
    summary = (f"{rising} ({where}): {spike.negative} in the window against "
               f"a baseline of {spike.baseline:.1f}" + (f"; e.g. {label}" if label else ""))
    event = OpinionAlert(
        alert_id=uuid.uuid4().hex, warning_level=spike.warning_level,
        scope="overall" if topic_id is None else "topic", topic_id=topic_id, summary=summary,
        window_start=spike.window_start, window_end=spike.window_end,
        negative_count=spike.negative, baseline=spike.baseline,
        negative_share=min(1.0, spike.share), top_mention_ids=spike.top_mention_ids,
        raised_at=now, drill=drill)
    unit.session.add(Alert(id=event.alert_id, scope=scope, topic_id=topic_id,
                           warning_level=event.warning_level, raised_at=now,
                           evidence={**event.model_dump(mode="json"),
                                     "total": spike.total, "reasons": spike.reasons}))
    await unit.emit(event, subject=event.alert_id)
