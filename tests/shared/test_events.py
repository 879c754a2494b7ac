from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.events import (
    TOPICS,
    Envelope,
    EventPayload,
    UnknownEventSchema,
    make_event,
    registered,
    schemas,
)
from shared.events.registry import register
from shared.events.schemas import MentionScored


def scored() -> MentionScored:
    return MentionScored(mention_id="m1", source="news", sentiment_label="negative",
                         sentiment_score=-0.8)


def test_envelope_round_trips_with_cloudevents_attributes() -> None:
    event = make_event(scored(), source="/sentiment", subject="m1",
                       requestid="r-1")
    again = Envelope.from_bytes(event.to_bytes())
    assert again == event
    assert (again.specversion, again.type, again.subject) == ("1.0", MentionScored.topic, "m1")
    assert again.dataschema == "urn:beacon:event:mention.scored:v1"
    assert again.payload() == scored()


def test_make_event_refuses_a_model_not_registered() -> None:
    class Stray(EventPayload):
        x: int = 1

    class Derived(MentionScored):  # inherits the topic, but is not its registered schema
        extra: int = 1

    with pytest.raises(UnknownEventSchema):
        make_event(Stray(), source="/x", subject="s")
    with pytest.raises(UnknownEventSchema):
        make_event(Derived.model_validate(scored().model_dump()), source="/x", subject="s")


def test_each_class_names_its_topic_and_version_and_holds_them_alone() -> None:
    assert {(cls.topic, cls.version): cls for cls in registered().values()} == registered()
    payloads = [cls for cls in vars(schemas).values() if isinstance(cls, type)
                and issubclass(cls, EventPayload) and cls is not EventPayload]
    assert sorted(TOPICS) == sorted(cls.topic for cls in payloads)

    class Rival(EventPayload):
        x: int = 1

    with pytest.raises(ValueError, match="registered twice"):
        register(MentionScored.topic, MentionScored.version)(Rival)
    with pytest.raises(ValueError, match="already"):
        register("elsewhere.scored", 1)(MentionScored)
    assert registered()[(MentionScored.topic, 1)] is MentionScored


def test_payload_is_validated_against_its_schema() -> None:
    event = make_event(scored(), source="/s", subject="m1")
    broken = event.model_copy(update={"data": {**event.data, "sentiment_score": 7}})
    with pytest.raises(ValidationError):
        broken.payload()
    unknown = event.model_copy(update={"dataschema": "urn:beacon:event:mention.scored:v9"})
    with pytest.raises(UnknownEventSchema):
        unknown.payload()
