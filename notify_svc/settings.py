from __future__ import annotations

from pathlib import Path

from pydantic import Field

from notify_svc.roster import DEFAULT_ROSTER
from shared.settings import ServiceSettings, database_alias


class NotifySettings(ServiceSettings):
    service_name: str = "notify"
    database_url: str | None = Field(None, validation_alias=database_alias("notify"))
    roster_file: Path = Field(DEFAULT_ROSTER, validation_alias="NOTIFY_ROSTER_FILE")
