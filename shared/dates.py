"""Dates typed by people and other systems: a time without a zone is read in the input zone
(`INPUT_TIMEZONE`, Asia/Shanghai unless configured), a date alone is midnight there, and a
moment outside a sane window is refused as invalid input (never a 500 when it is stored)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BeforeValidator

from shared.settings import ConfigError

DEFAULT_ZONE = "Asia/Shanghai"
# Nothing Beacon records happened before 1900 or after 2100; outside it a date is a typo,
# and near year 1 or 9999 converting to UTC would overflow.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
DESCRIPTION = (
    "ISO 8601. Without a time zone it is read in the server's INPUT_TIMEZONE (default "
    "Asia/Shanghai); a date alone (2026-03-01) is midnight there. Must fall between "
    "1900-01-01 and 2100-01-01 (UTC).")


class _Zone:
    current: ZoneInfo = ZoneInfo(DEFAULT_ZONE)


def configure(name: str | None) -> None:
    """Set the input zone for this process (each service's app factory calls it)."""
    try:
        _Zone.current = ZoneInfo((name or DEFAULT_ZONE).strip())
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError("INPUT_TIMEZONE", f"unknown time zone {name!r}") from exc


def input_zone() -> ZoneInfo:
    return _Zone.current


def _date_alone(value: Any) -> Any:
    """A bare date (`2026-03-01`) becomes midnight of that day, still without a zone."""
    if isinstance(value, str) and len(value.strip()) == 10:
        try:
            return datetime.combine(date.fromisoformat(value.strip()), time())
        except ValueError:
            return value  # pydantic names the problem
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime.combine(value, time())
    return value


def in_range(value: datetime) -> datetime:
    """Aware, in the input zone when it came without one, and inside the window."""
    if value.tzinfo is None or value.utcoffset() is None:
        if not EARLIEST.year < value.year < LATEST.year:
            raise ValueError("the date must fall between 1900-01-01 and 2100-01-01")
        value = value.replace(tzinfo=_Zone.current)
    try:
        moment = value.astimezone(UTC)
    except (OverflowError, ValueError):
        raise ValueError("the date must fall between 1900-01-01 and 2100-01-01") from None
    if not EARLIEST <= moment < LATEST:
        raise ValueError("the date must fall between 1900-01-01 and 2100-01-01")
    return value


# Give the field `description=DESCRIPTION` so the OpenAPI says how it is read.
InputDateTime = Annotated[datetime, BeforeValidator(_date_alone), AfterValidator(in_range)]
