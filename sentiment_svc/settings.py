from __future__ import annotations

from pydantic import Field

from shared.settings import ServiceSettings, database_alias


class SentimentSettings(ServiceSettings):
    service_name: str = "sentiment"
    database_url: str | None = Field(None, validation_alias=database_alias("sentiment"))
    spike_bucket_s: int = Field(600, ge=10, le=86400, validation_alias="SENTIMENT_BUCKET_S")
    spike_min_count: int = Field(10, ge=1, validation_alias="SENTIMENT_SPIKE_MIN_COUNT")
    topic_spike_min_count: int = Field(8, ge=1,
                                       validation_alias="SENTIMENT_TOPIC_SPIKE_MIN_COUNT")
    cluster_window_days: int = Field(7, ge=1, le=90, validation_alias="SENTIMENT_CLUSTER_DAYS")
