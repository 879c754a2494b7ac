from __future__ import annotations

from pathlib import Path

from pydantic import Field

from shared.settings import ServiceSettings, database_alias
from triage_svc.rules import DEFAULT_RULES


class TriageSettings(ServiceSettings):
    service_name: str = "triage"
    database_url: str | None = Field(None, validation_alias=database_alias("triage"))
    rules_file: Path = Field(DEFAULT_RULES, validation_alias="TRIAGE_RULES_FILE")
    # How often each replica looks for escalation timers that are due.
    timer_interval_s: float = Field(5.0, gt=0, le=3600,
                                    validation_alias="TRIAGE_TIMER_INTERVAL_S")
