"""The URL race on PostgreSQL: one mention posted to two replicas at once is stored once.
The loser waits for its turn until the winner has committed, then finds the URL: it queues
no event of its own and answers with the winner's id."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import func, select

from sentiment_svc.model import default_model
from sentiment_svc.models import Mention, metadata
from sentiment_svc.schemas import MentionIn
from sentiment_svc.service import Outcome, accept_mentions
from sentiment_svc.settings import SentimentSettings
from sentiment_svc.state import MentionIntakeState
from shared.events import Envelope
from shared.runtime import ServiceRuntime
from tests.support import eventually, waits_on_a_lock

pytestmark = pytest.mark.postgres


async def test_the_loser_of_a_url_race_answers_with_the_winners_id(
        pg_url: str, pg_schema: str, tmp_path: Path) -> None:
    settings = SentimentSettings(database_url=pg_url, data_dir=tmp_path)
    runtime = ServiceRuntime("sentiment", settings, metadata,
                             migrations="sentiment_svc.migrations", schema=pg_schema)
    model = default_model()
    replicas = [MentionIntakeState(settings, model=model) for _ in range(2)]
    mention = MentionIn(source="weibo", content="星光牌热水器爆炸了，太吓人", url="https://w.example/1")
    await runtime.start()
    try:
        async def post_to_the_second() -> tuple[list[Outcome], list[Envelope]]:
            async with runtime.unit() as unit:
                answer = await accept_mentions(unit, replicas[1], [mention])
                return answer, [event for _, event in unit.emitted]

        async with runtime.unit() as first:
            [won] = await accept_mentions(first, replicas[0], [mention])
            second = asyncio.create_task(post_to_the_second())
            await eventually(lambda: waits_on_a_lock(runtime.db),
                             "the second batch waits for the first's turn")
        [lost], lost_events = await second
        async with runtime.db.session() as session:
            rows = await session.scalar(select(func.count()).select_from(Mention))
    finally:
        await runtime.stop()
    assert won.created and not lost.created
    assert lost.mention_id == won.mention_id
    assert lost_events == [] and rows == 1
