"""Input dates: the zone a zoneless time is read in, a date alone, and the window."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import BaseModel, ValidationError

from shared import dates
from shared.settings import ConfigError


class Form(BaseModel):
    at: dates.InputDateTime | None = dates.field()


@pytest.fixture(autouse=True)
def shanghai() -> Iterator[None]:
    dates.configure("Asia/Shanghai")
    yield
    dates.configure(None)


def test_a_date_alone_is_midnight_in_the_input_zone() -> None:
    at = Form(at="2026-03-01").at
    assert at is not None and at.astimezone(UTC) == datetime(2026, 2, 28, 16, tzinfo=UTC)


def test_a_time_without_a_zone_is_read_in_the_configured_zone() -> None:
    dates.configure("Europe/London")
    at = Form(at="2026-07-01T12:00:00").at
    assert at is not None and at.astimezone(UTC) == datetime(2026, 7, 1, 11, tzinfo=UTC)


def test_a_time_with_its_zone_is_kept() -> None:
    at = Form(at="2026-03-01T08:00:00+08:00").at
    assert at == datetime(2026, 3, 1, tzinfo=UTC)
    assert at is not None and at.utcoffset() == timedelta(hours=8)


@pytest.mark.parametrize("value", [
    "0001-01-01", "0001-01-01T00:00:00Z", "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-12:00", "9999-12-31", "1899-12-31T23:59:59Z", "2100-01-01T00:00:00Z",
])
def test_dates_outside_the_window_are_refused_in_words(value: str) -> None:
    with pytest.raises(ValidationError, match="in the years 1900 to 2099"):
        Form(at=value)


def test_the_window_edges_as_written() -> None:
    assert Form(at="1900-01-01T00:00:00+14:00").at == datetime(1899, 12, 31, 10, tzinfo=UTC)
    edge = datetime(2099, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-12)))
    assert Form(at=edge).at == datetime(2100, 1, 1, 11, 59, 59, tzinfo=UTC)


def test_the_published_pattern_says_the_same() -> None:
    import re

    assert re.match(dates.PATTERN, "1900-01-01") and re.match(dates.PATTERN, "2099-12-31")
    assert not re.match(dates.PATTERN, "1899-12-31") and not re.match(dates.PATTERN, "2100-01")
    assert Form.model_json_schema()["properties"]["at"]["pattern"] == dates.PATTERN


def test_an_unknown_zone_names_the_setting() -> None:
    with pytest.raises(ConfigError, match="INPUT_TIMEZONE"):
        dates.configure("Mars/Olympus")
