"""Schemathesis against the gateway's merged OpenAPI, on a real embedded server: no 500, and
no answer that breaks the published schema (status codes, content types, bodies)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.core.result import Ok

from deploy.tansu import free_port

ROOT = Path(__file__).resolve().parents[2]
KEY = "fuzz-admin-key-0123456789"
EXAMPLES = int(os.environ.get("BEACON_FUZZ_EXAMPLES", "50"))


@pytest.fixture(scope="module")
def live_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    data = tmp_path_factory.mktemp("fuzz")
    env = {**os.environ, "DATA_DIR": str(data), "GATEWAY_PORT": str(port), "DEV_API_KEY": KEY,
           "RATE_LIMIT_PER_S": "100000", "RATE_LIMIT_BURST": "100000", "LOG_LEVEL": "WARNING",
           # Generated URLs such as http://0 are schema-valid yet internal; the contract
           # is checked here, the refusal in tests/security/test_outbound_urls.py.
           "OUTBOUND_URL_ALLOWLIST": "*"}
    log = (data / "server.log").open("wb")
    server = subprocess.Popen([sys.executable, "-m", "services"], cwd=ROOT, env=env,
                              stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base, server)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()


def _wait_ready(base: str, server: subprocess.Popen[bytes]) -> None:
    with httpx.Client(base_url=base, timeout=1) as client:
        for _ in range(300):
            if server.poll() is not None:
                raise RuntimeError("embedded server exited at start")
            try:
                if client.get("/readyz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)  # the server has no start signal to await but its port
    raise TimeoutError("embedded server not ready in 30 s")


def test_api_keeps_its_contract(live_gateway: str) -> None:
    """Every operation, `EXAMPLES` generated cases each; all failures reported together."""
    api = schemathesis.openapi.from_url(f"{live_gateway}/api/v1/openapi.json")
    headers = {"Authorization": f"Bearer {KEY}"}
    failures: dict[str, str] = {}
    operations = [result.ok() for result in api.get_all_operations()
                  if isinstance(result, Ok)]
    assert len(operations) >= 8

    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case: schemathesis.Case[Any]) -> None:
            case.call_and_validate(base_url=live_gateway, headers=headers)

        try:
            check()
        except Exception as exc:  # collect, so one run shows every broken operation
            failures[operation.label] = str(exc)[:3000]
    assert not failures, "\n\n".join(f"{label}:\n{why}" for label, why in failures.items())
