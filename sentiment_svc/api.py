from __future__ import annotations

from fastapi import APIRouter, HTTPException

from sentiment_svc.models import Mention
from sentiment_svc.schemas import (
    MentionBatch,
    MentionIn,
    MentionOut,
    MentionsAccepted,
    Reach,
    Sentiment,
)
from sentiment_svc.service import accept_mentions
from shared.app import RuntimeDep

router = APIRouter(prefix="/api/v1/mentions", tags=["mentions"])





@router.post("", status_code=202, response_model=MentionsAccepted)
async def post_mentions(body: MentionIn | MentionBatch, runtime: RuntimeDep) -> MentionsAccepted:
    items = body.mentions if isinstance(body, MentionBatch) else [body]
    ids = await accept_mentions(runtime, items)
    return MentionsAccepted(accepted=len(ids), ids=ids)


@router.get("/{mention_id}", response_model=MentionOut)
async def read_mention(mention_id: str, runtime: RuntimeDep) -> MentionOut:
    async with runtime.db.session() as session:
        mention = await session.get(Mention, mention_id)
    if mention is None:
        raise HTTPException(404, f"no mention {mention_id}")
    return MentionOut(
        id=mention.id, source=mention.source, url=mention.url, title=mention.title,
        content=mention.content, author=mention.author, published_at=mention.published_at,
        received_at=mention.received_at, reach=Reach(**mention.reach),
        language=mention.language,
        sentiment=Sentiment(label=mention.sentiment_label,
                            score=mention.sentiment_score),
    )
