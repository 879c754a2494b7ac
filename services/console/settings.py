"""The console's settings (environment variables, like every other service's)."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ConsoleSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    timezone: str = Field("Asia/Shanghai", validation_alias="CONSOLE_TIMEZONE")
    idle_timeout_s: int = Field(1800, ge=60, le=7 * 86400,
                                validation_alias="CONSOLE_IDLE_TIMEOUT_S")
    # Secure cookies; leave unset to follow the request's scheme (https behind TLS).
    secure_cookies: bool | None = Field(None, validation_alias="CONSOLE_SECURE_COOKIES")
    event_buffer: int = Field(2000, ge=10, le=100_000, validation_alias="CONSOLE_EVENT_BUFFER")
    heartbeat_s: float = Field(15.0, gt=0, le=300, validation_alias="CONSOLE_HEARTBEAT_S")
    lane_size: int = Field(50, ge=5, le=500, validation_alias="CONSOLE_LANE_SIZE")
    login_failures_per_user: int = Field(5, ge=1, validation_alias="CONSOLE_LOGIN_FAILURES")
    login_failures_per_address: int = Field(20, ge=1,
                                            validation_alias="CONSOLE_LOGIN_FAILURES_PER_ADDRESS")
    login_window_s: int = Field(300, ge=10, validation_alias="CONSOLE_LOGIN_WINDOW_S")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)
