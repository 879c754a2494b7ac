"""Log lines: JSON or text as LOG_FORMAT says (text on a terminal by default), every line
naming its service, one access line per request with no query string and no body."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys

import httpx
import pytest
from fastapi import FastAPI, Request

from shared.app import RequestContext
from shared.logctx import bind, configure_logging, log_format
from shared.settings import ConfigError
from tests.support import log_lines

log = logging.getLogger("beacon.test")


def _app() -> FastAPI:
    app = FastAPI()

    @app.post("/things/{thing}")
    async def thing(thing: str, request: Request) -> dict[str, str]:
        await request.body()
        log.info("handled")
        return {"thing": thing}

    app.add_middleware(RequestContext, service="probe")
    return app


async def _post(path: str, **kwargs: object) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=_app()),
                                 base_url="http://probe") as client:
        return await client.post(path, **kwargs)  # type: ignore[arg-type]


async def test_one_json_access_line_per_request_without_query_or_body() -> None:
    with log_lines("json") as buffer:
        answer = await _post("/things/a1?name=王五&phone=13798765432",
                             json={"secret": "13798765432"},
                             headers={"X-Request-ID": "req-42"})
    assert answer.status_code == 200
    records = [json.loads(line) for line in buffer.getvalue().splitlines()]
    access = [r for r in records if r["logger"] == "beacon.access"]
    assert len(access) == 1
    line = access[0]
    assert (line["method"], line["path"], line["status"]) == ("POST", "/things/a1", 200)
    assert line["service"] == "probe" and line["request_id"] == "req-42"
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert line["trace_id"] and line["span_id"]
    handled = next(r for r in records if r["message"] == "handled")
    assert handled["service"] == "probe" and handled["request_id"] == "req-42"
    assert "13798765432" not in buffer.getvalue() and "王五" not in buffer.getvalue()


async def test_text_lines_read_as_text_and_name_the_service() -> None:
    with log_lines("text") as buffer:
        await _post("/things/b2", headers={"X-Request-ID": "req-7"})
        logging.getLogger("beacon.test").warning("outside any request")
    lines = buffer.getvalue().splitlines()
    access = next(line for line in lines if "beacon.access" in line)
    assert " INFO  probe " in access and "POST /things/b2 200 " in access
    assert "ms  request_id=req-7 trace_id=" in access
    outside = next(line for line in lines if "outside any request" in line)
    assert " WARNING test-process " in outside  # the process's own name, never null
    assert "request_id=" not in outside


async def test_a_crafted_path_cannot_forge_a_text_line() -> None:
    with log_lines("text") as buffer:
        await _post("/things/x%0A2025-01-01%20INFO%20forged")
    access = [line for line in buffer.getvalue().splitlines() if "beacon.access" in line]
    assert len(access) == 1 and "\\n2025-01-01 INFO forged" in access[0]


def test_a_bound_service_wins_over_the_process_name() -> None:
    with log_lines("json") as buffer:
        with bind("triage"):
            log.info("inside")
        log.info("after")
    services = {json.loads(line)["message"]: json.loads(line)["service"]
                for line in buffer.getvalue().splitlines()}
    assert services == {"inside": "triage", "after": "test-process"}


def test_auto_is_text_on_a_terminal_and_json_otherwise() -> None:
    leader, follower = os.openpty()
    try:
        with open(follower, "w", closefd=False) as terminal:
            assert terminal.isatty()
            assert log_format({}, terminal) == "text"
            assert log_format({"LOG_FORMAT": "auto"}, terminal) == "text"
            assert log_format({"LOG_FORMAT": "json"}, terminal) == "json"
    finally:
        os.close(leader)
        os.close(follower)
    assert log_format({}, io.StringIO()) == "json"
    assert log_format({"LOG_FORMAT": "TEXT"}, io.StringIO()) == "text"
    with pytest.raises(ConfigError, match="LOG_FORMAT"):
        log_format({"LOG_FORMAT": "xml"}, io.StringIO())


async def test_log_access_false_silences_access_lines_only() -> None:
    root = logging.getLogger()
    before = list(root.handlers), root.level
    buffer = io.StringIO()
    handler = configure_logging("INFO", env={"LOG_ACCESS": "false", "LOG_FORMAT": "json"},
                                stream=buffer)
    try:
        await _post("/things/c3")
    finally:
        root.removeHandler(handler)
        root.setLevel(before[1])
        logging.getLogger("beacon.access").disabled = False
    messages = [json.loads(line)["message"] for line in buffer.getvalue().splitlines()]
    assert messages == ["handled"]
    with pytest.raises(ConfigError, match="LOG_ACCESS"):
        configure_logging(env={"LOG_ACCESS": "maybe"}, stream=io.StringIO())


def test_a_bad_log_format_stops_the_start_with_one_line() -> None:
    env = {**os.environ, "LOG_FORMAT": "xml"}
    done = subprocess.run([sys.executable, "-m", "services", "gateway"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "beacon: configuration error: LOG_FORMAT: Input should be 'auto', 'text' or 'json', "
        "got 'xml'"]
