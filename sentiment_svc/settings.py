from __future__ import annotations

from pydantic import Field

from shared.settings import ServiceSettings, database_alias


class SentimentSettings(ServiceSettings):
    service_name: str = "sentiment"
    database_url: str | None = Field(None, validation_alias=database_alias("sentiment"))
