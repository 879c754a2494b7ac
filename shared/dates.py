"""Dates typed by people and other systems: a time without a zone is read in the input zone
(`INPUT_TIMEZONE`, Asia/Shanghai unless configured), a date alone is midnight there, and a
moment outside a sane window is refused as invalid input (never a 500 when it is stored)."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BeforeValidator, Field

from shared.settings import ConfigError

DEFAULT_ZONE = "Asia/Shanghai"
# Nothing Beacon records happened before 1900 or after 2099; outside it a date is a typo, and
# near year 1 or 9999 converting to UTC would overflow. The year is taken as written (in the
# value's own zone), so the published pattern below says exactly what is accepted.
FIRST_YEAR, LAST_YEAR = 1900, 2099
PATTERN = r"^(19|20)[0-9]{2}-"
OUT_OF_RANGE = "the date must fall in the years 1900 to 2099"
DESCRIPTION = (
    "ISO 8601. Without a time zone it is read in the server's INPUT_TIMEZONE (default "
    "Asia/Shanghai); a date alone (2026-03-01) is midnight there. The year must be 1900 to "
    "2099.")


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
    """Aware (in the input zone when it came without one), in the years 1900 to 2099."""
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(OUT_OF_RANGE)
    if value.tzinfo is None or value.utcoffset() is None:
        value = value.replace(tzinfo=_Zone.current)
    return value


def field(**extra: Any) -> Any:
    """The pydantic Field of an input date: its description and pattern in the OpenAPI."""
    return Field(None, description=DESCRIPTION, json_schema_extra={"pattern": PATTERN}, **extra)


# Declare it with `= dates.field()`, so the OpenAPI says how it is read.
InputDateTime = Annotated[datetime, BeforeValidator(_date_alone), AfterValidator(in_range)]
