"""What `python -m deploy.local` reads from the environment it starts the services with
(pydantic-settings, through `shared.settings.settings_from_env`: tests pass a mapping)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.settings import SERVICES

MAX_REPLICAS = 32
# With BEACON_BASE_PORT, replicas take the lowest free port of this many from the base.
PORT_RANGE = 200


class RunSettings(BaseSettings):
    """Where a run keeps its state: all `down` and `status` read."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    data_dir: Path = Field(Path("data"), validation_alias="DATA_DIR")


class LocalSettings(RunSettings):
    """deploy/local's own variables. The gateway's port, host and key, the launcher's
    SHUTDOWN_TIMEOUT_S and the bus's session timeout it reads through their own classes."""

    intake_replicas: int = Field(1, ge=1, le=MAX_REPLICAS, validation_alias="INTAKE_REPLICAS")
    triage_replicas: int = Field(1, ge=1, le=MAX_REPLICAS, validation_alias="TRIAGE_REPLICAS")
    notify_replicas: int = Field(1, ge=1, le=MAX_REPLICAS, validation_alias="NOTIFY_REPLICAS")
    sentiment_replicas: int = Field(1, ge=1, le=MAX_REPLICAS,
                                    validation_alias="SENTIMENT_REPLICAS")
    drill_replicas: int = Field(1, ge=1, le=MAX_REPLICAS, validation_alias="DRILL_REPLICAS")
    # Where replica ports start (unset: any free port).
    base_port: int | None = Field(None, ge=1024, le=65535 - PORT_RANGE,
                                  validation_alias="BEACON_BASE_PORT")
    # A broker of the user's (not ours to start or stop); unset: Tansu on KAFKA_PORT.
    kafka_bootstrap_servers: str | None = Field(None, validation_alias="KAFKA_BOOTSTRAP_SERVERS")
    kafka_port: int = Field(9092, ge=1, le=65535, validation_alias="KAFKA_PORT")
    # Unset: made once under $DATA_DIR/run/ and shared by every replica, later ones too.
    pii_keys: str | None = Field(None, validation_alias="PII_KEYS")
    internal_secret: str | None = Field(None, validation_alias="BEACON_INTERNAL_SECRET")
    drill_api_key: str | None = Field(None, validation_alias="DRILL_API_KEY")
    database_url: str | None = Field(None, validation_alias="DATABASE_URL")
    intake_database_url: str | None = Field(None, validation_alias="INTAKE_DATABASE_URL")
    triage_database_url: str | None = Field(None, validation_alias="TRIAGE_DATABASE_URL")
    notify_database_url: str | None = Field(None, validation_alias="NOTIFY_DATABASE_URL")
    sentiment_database_url: str | None = Field(None, validation_alias="SENTIMENT_DATABASE_URL")
    drill_database_url: str | None = Field(None, validation_alias="DRILL_DATABASE_URL")

    def replicas(self) -> dict[str, int]:
        return {name: int(getattr(self, f"{name}_replicas")) for name in SERVICES}

    def database_urls(self) -> dict[str, str | None]:
        """(variable, URL) of every database URL given, the shared one first."""
        found = {"DATABASE_URL": self.database_url}
        found.update({f"{name.upper()}_DATABASE_URL": getattr(self, f"{name}_database_url")
                      for name in SERVICES})
        return found

    def database_url_of(self, service: str) -> str:
        """What the service's settings resolve: its own URL, else the shared one."""
        own: str | None = getattr(self, f"{service}_database_url")
        return own or self.database_url or ""

