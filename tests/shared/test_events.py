from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from shared.events import Envelope, UnknownEventSchema, make_event
from shared.events.schemas import MentionScored


def scored() -> MentionScored:
    return MentionScored(mention_id="m1", source="news", sentiment_label="negative",
                         sentiment_score=-0.8)


def test_envelope_round_trips_with_cloudevents_attributes() -> None:
    event = make_event("mention.scored", scored(), source="/sentiment", subject="m1",
                       requestid="r-1")
    again = Envelope.from_bytes(event.to_bytes())
    assert again == event
    assert (again.specversion, again.type, again.subject) == ("1.0", "mention.scored", "m1")
    assert again.dataschema == "urn:beacon:event:mention.scored:v1"
    assert again.payload() == scored()


def test_make_event_refuses_a_model_not_registered_for_the_type() -> None:
    class Stray(BaseModel):
        x: int = 1

    with pytest.raises(UnknownEventSchema):
        make_event("mention.scored", Stray(), source="/x", subject="s")
    with pytest.raises(UnknownEventSchema):
        make_event("complaint.received", scored(), source="/x", subject="s")


def test_payload_is_validated_against_its_schema() -> None:
    event = make_event("mention.scored", scored(), source="/s", subject="m1")
    broken = event.model_copy(update={"data": {**event.data, "sentiment_score": 7}})
    with pytest.raises(ValidationError):
        broken.payload()
    unknown = event.model_copy(update={"dataschema": "urn:beacon:event:mention.scored:v9"})
    with pytest.raises(UnknownEventSchema):
        unknown.payload()
