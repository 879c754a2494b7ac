from __future__ import annotations

from pathlib import Path

from pydantic import Field

from drill_svc.scenarios import DEFAULT_DIR
from shared.settings import ServiceSettings, database_alias


class DrillSettings(ServiceSettings):
    service_name: str = "drill"
    database_url: str | None = Field(None, validation_alias=database_alias("drill"))
    scenarios_dir: Path = Field(DEFAULT_DIR, validation_alias="DRILL_SCENARIOS_DIR")
    # Where the runner posts, as a hotline and a monitoring bot would (a service run alone;
    # embedded mode hands it the gateway in process) and with which key.
    gateway_url: str = Field("http://127.0.0.1:8000", validation_alias="DRILL_GATEWAY_URL")
    api_key: str | None = Field(None, min_length=16, validation_alias="DRILL_API_KEY")
    tick_s: float = Field(0.25, gt=0, le=60, validation_alias="DRILL_TICK_S")
    # While no run is running nothing can fall due; a run started through this replica's
    # API wakes the injector at once, one started through another replica is seen within
    # this.
    idle_tick_s: float = Field(30.0, gt=0, le=3600, validation_alias="DRILL_IDLE_TICK_S")
