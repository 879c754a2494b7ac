from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import AliasChoices, Field, create_model, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SERVICES = ("intake", "triage", "notify", "sentiment", "drill")
DEFAULT_PORTS = {"gateway": 8000, "intake": 8001, "triage": 8002, "notify": 8003, "sentiment": 8004,
                 "drill": 8005}


class LauncherSettings(BaseSettings):
    """What `python -m services` reads for every process it runs, before any app exists."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True,
                                      env_ignore_empty=True)

    log_level: str = Field("INFO", validation_alias="LOG_LEVEL")
    # How long a process may take to stop after SIGTERM (a watchdog ends it 3 s later).
    shutdown_timeout_s: float = Field(10.0, ge=1.0, le=600.0,
                                      validation_alias="SHUTDOWN_TIMEOUT_S")


class ListenSettings(BaseSettings):
    """Where a service run alone listens (`<SERVICE>_HOST`, `<SERVICE>_PORT`): loopback
    unless its deployment says otherwise. One subclass per service, in LISTEN_SETTINGS."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    if TYPE_CHECKING:  # the fields, with their per-service variables, are the subclasses'
        host: str
        port: int


def _listen_settings(service: str) -> type[ListenSettings]:
    prefix = service.upper()
    return create_model(
        f"{service.capitalize()}ListenSettings", __base__=ListenSettings, __module__=__name__,
        host=(str, Field("127.0.0.1", validation_alias=f"{prefix}_HOST")),
        port=(int, Field(DEFAULT_PORTS[service], ge=1, le=65535,
                         validation_alias=f"{prefix}_PORT")),
    )


# Per service, so a service reads (and refuses) only its own two variables.
LISTEN_SETTINGS = {name: _listen_settings(name) for name in SERVICES}


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    host: str = Field("127.0.0.1", validation_alias="GATEWAY_HOST")
    port: int = Field(8000, ge=1, le=65535, validation_alias="GATEWAY_PORT")
    data_dir: Path = Field(Path("data"), validation_alias="DATA_DIR")
    dev_api_key: str | None = Field(None, min_length=16, validation_alias="DEV_API_KEY")
    log_level: str = Field("INFO", validation_alias="LOG_LEVEL")
    database_url: str | None = Field(None, validation_alias=AliasChoices(
        "GATEWAY_DATABASE_URL", "DATABASE_URL"))
    rate_limit_per_s: float = Field(200.0, gt=0, validation_alias="RATE_LIMIT_PER_S")
    rate_limit_burst: int = Field(400, ge=1, validation_alias="RATE_LIMIT_BURST")
    max_body_bytes: int = Field(256 * 1024, ge=1024, validation_alias="MAX_BODY_BYTES")
    max_batch_body_bytes: int = Field(8 * 1024 * 1024, ge=1024,
                                      validation_alias="MAX_BATCH_BODY_BYTES")
    upstream_timeout_s: float = Field(30.0, gt=0, validation_alias="UPSTREAM_TIMEOUT_S")
    # Distributed mode: a JSON file naming each service's replicas, followed while the
    # gateway runs (`make up` keeps one); without it, the fixed lists below.
    upstreams_file: Path | None = Field(None, validation_alias="GATEWAY_UPSTREAMS_FILE")
    # Signs the caller of every request it forwards; services check it (shared/caller.py).
    internal_secret: str | None = Field(None, min_length=16,
                                        validation_alias="BEACON_INTERNAL_SECRET")
    # Addresses (or networks) of the proxies whose X-Forwarded-For is believed; none: the
    # peer's own address is the client's.
    trusted_proxies: str = Field("", validation_alias="TRUSTED_PROXIES")
    # redis://host:port/db to share limits among gateway replicas; unset: this process's.
    rate_limit_storage_url: str | None = Field(None, validation_alias="RATE_LIMIT_STORAGE_URL")
    rate_limit_key_prefix: str = Field("beacon", min_length=1,
                                       validation_alias="RATE_LIMIT_KEY_PREFIX")
    auth_failures_per_address: int = Field(20, ge=1,
                                           validation_alias="AUTH_FAILURES_PER_ADDRESS")
    auth_failure_window_s: int = Field(60, ge=1, le=86400,
                                       validation_alias="AUTH_FAILURE_WINDOW_S")
    max_headers: int = Field(100, ge=10, le=1000, validation_alias="MAX_HEADERS")
    max_header_bytes: int = Field(32 * 1024, ge=4096, le=1024 * 1024,
                                  validation_alias="MAX_HEADER_BYTES")
    # Distributed mode: comma-separated base URLs of each service's replicas.
    intake_url: str = Field("http://127.0.0.1:8001", validation_alias="INTAKE_URL")
    triage_url: str = Field("http://127.0.0.1:8002", validation_alias="TRIAGE_URL")
    notify_url: str = Field("http://127.0.0.1:8003", validation_alias="NOTIFY_URL")
    sentiment_url: str = Field("http://127.0.0.1:8004", validation_alias="SENTIMENT_URL")
    drill_url: str = Field("http://127.0.0.1:8005", validation_alias="DRILL_URL")
    # The drill runner's key (complaints:write, mentions:write), which the drill service
    # posts with; embedded mode makes one per process when it is unset.
    drill_api_key: str | None = Field(None, min_length=16, validation_alias="DRILL_API_KEY")

    @field_validator("internal_secret", mode="before")
    @classmethod
    def _empty_secret_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'gateway.db'}"

    def upstream_urls(self) -> dict[str, list[str]]:
        return {
            name: [u.strip() for u in getattr(self, f"{name}_url").split(",") if u.strip()]
            for name in SERVICES
        }

    def proxies(self) -> list[str]:
        return [p.strip() for p in self.trusted_proxies.split(",") if p.strip()]
