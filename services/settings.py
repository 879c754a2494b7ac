from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

SERVICES = ("intake", "triage", "notify", "sentiment")
DEFAULT_PORTS = {"gateway": 8000, "intake": 8001, "triage": 8002, "notify": 8003, "sentiment": 8004}


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore")

    host: str = Field("127.0.0.1", validation_alias="GATEWAY_HOST")
    port: int = Field(8000, ge=1, le=65535, validation_alias="GATEWAY_PORT")
    data_dir: Path = Field(Path("data"), validation_alias="DATA_DIR")
    dev_api_key: str | None = Field(None, min_length=16, validation_alias="DEV_API_KEY")
    log_level: str = Field("INFO", validation_alias="LOG_LEVEL")
    upstream_timeout_s: float = Field(30.0, gt=0, validation_alias="UPSTREAM_TIMEOUT_S")
    # Distributed mode: comma-separated base URLs of each service's replicas.
    intake_url: str = Field("http://127.0.0.1:8001", validation_alias="INTAKE_URL")
    triage_url: str = Field("http://127.0.0.1:8002", validation_alias="TRIAGE_URL")
    notify_url: str = Field("http://127.0.0.1:8003", validation_alias="NOTIFY_URL")
    sentiment_url: str = Field("http://127.0.0.1:8004", validation_alias="SENTIMENT_URL")

    def upstream_urls(self) -> dict[str, list[str]]:
        return {
            name: [u.strip() for u in getattr(self, f"{name}_url").split(",") if u.strip()]
            for name in SERVICES
        }
