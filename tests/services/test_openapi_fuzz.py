"""Schemathesis against the gateway's merged OpenAPI, on a real embedded server: no 500, and
no answer that breaks the published schema (status codes, content types, bodies). Each operation
alone, then in sequences that follow the document's links (services/openapi_links.py)."""

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
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis.errors import Flaky
from schemathesis.checks import CheckFunction
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok
from schemathesis.core.transport import Response
from schemathesis.generation.stateful.state_machine import APIStateMachine, StepInput, StepOutput
from schemathesis.specs.openapi.checks import positive_data_acceptance

from deploy.support import free_port
from tests.support import eventually_blocking

ROOT = Path(__file__).resolve().parents[2]
KEY = "fuzz-admin-key-0123456789"
EXAMPLES = int(os.environ.get("BEACON_FUZZ_EXAMPLES", "50"))
# The stateful run: scenarios, steps in each, and a wall-clock cap for a loaded machine.
SCENARIOS = int(os.environ.get("BEACON_FUZZ_SCENARIOS", "60"))
STEPS = int(os.environ.get("BEACON_FUZZ_STEPS", "10"))
STATEFUL_SECONDS = float(os.environ.get("BEACON_FUZZ_STATEFUL_SECONDS", "75"))


@pytest.fixture(scope="module")
def live_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    data = tmp_path_factory.mktemp("fuzz")
    env = {**os.environ, "DATA_DIR": str(data), "GATEWAY_PORT": str(port), "DEV_API_KEY": KEY,
           "RATE_LIMIT_PER_S": "100000", "RATE_LIMIT_BURST": "100000",
           "AUTH_FAILURES_PER_ADDRESS": "100000", "LOG_LEVEL": "WARNING",
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
    """The server has no start signal to await but its port: poll /readyz."""
    with httpx.Client(base_url=base, timeout=1) as client:

        def ready() -> bool:
            if server.poll() is not None:
                raise RuntimeError("embedded server exited at start")
            try:
                return client.get("/readyz").status_code == 200
            except httpx.TransportError:
                return False

        # A start budget, not a speed check: the whole system starts in one process, and
        # stop 24's CI at load 8-10 needed more than 30 s.
        eventually_blocking(ready, "the embedded server ready", within=120, every=0.1)


# The reports take a period whose rules a schema cannot say (`from` before `to`, at most 366
# days, years 1900-2099): a schema-valid period may be refused with 422 in plain words, which
# tests/triage/test_reports.py and tests/sentiment/test_reports.py check. Every other check
# (no 5xx, answers as documented) still runs on them.
PERIOD_RULES = ("/api/v1/reports/",)
# A drill names a shipped scenario (the files under drills/, not the schema), and an inline
# scenario keeps rules across its fields (offsets within its length, refs that exist), which
# tests/drill/ checks: a schema-valid start may be refused with 422 in plain words.
SCENARIO_RULES = ("/api/v1/drills",)


def _beyond_schema(case: schemathesis.Case[Any]) -> list[CheckFunction]:
    path = case.operation.path
    beyond = path.startswith(PERIOD_RULES) or (path in SCENARIO_RULES
                                               and case.method.upper() == "POST")
    return [positive_data_acceptance] if beyond else []


# Every operation in turn takes about a minute on an idle 2-core machine and several under
# load: the suite's 120 s per test would cut the run short inside an operation's examples.
@pytest.mark.timeout(900)
def test_api_keeps_its_contract(live_gateway: str) -> None:
    """Every operation, `EXAMPLES` generated cases each; all failures reported together."""
    api = schemathesis.openapi.from_url(f"{live_gateway}/api/v1/openapi.json")
    headers = {"Authorization": f"Bearer {KEY}"}
    failures: dict[str, str] = {}
    operations = [result.ok() for result in api.get_all_operations()
                  if isinstance(result, Ok)]
    assert len(operations) >= 8
    # A generated path parameter that spells a fixed sibling path (case_id "stats" is
    # GET /api/v1/cases/stats) asks another operation, whose answer is not this one's.
    fixed = {operation.path for operation in operations if "{" not in operation.path}

    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case: schemathesis.Case[Any]) -> None:
            assume(case.operation.path in fixed or case.formatted_path not in fixed)
            case.call_and_validate(base_url=live_gateway, headers=headers,
                                   excluded_checks=_beyond_schema(case))

        try:
            check()
        except Exception as exc:  # collect, so one run shows every broken operation
            failures[operation.label] = _explained(exc)[:6000]
    assert not failures, "\n\n".join(f"{label}:\n{why}" for label, why in failures.items())


def _explained(exc: BaseException) -> str:
    """The failure and, for Hypothesis's replay groups (Flaky), each first failure inside."""
    parts = [str(exc)]
    if exc.__cause__ is not None:  # Hypothesis wraps pytest's Failed, a BaseException
        parts.append(f"-- caused by {type(exc.__cause__).__name__}: {_explained(exc.__cause__)}")
    for inner in getattr(exc, "exceptions", ()):
        parts.append(f"-- {type(inner).__name__}: {_explained(inner)}")
    return "\n".join(parts)


class _TimeUp(Exception):
    """The stateful run's wall-clock cap passed: stop starting requests."""


class _Walk:
    """What a stateful run saw: failed checks, links followed with their values, scenarios."""

    def __init__(self, base: str, approver: str) -> None:
        self.base, self.approver = base, approver
        self.failures: dict[str, str] = {}
        self.followed: set[str] = set()
        self.scenarios = 0
        self.ends = time.monotonic() + STATEFUL_SECONDS

    def machine(self, schema: schemathesis.BaseSchema) -> type[APIStateMachine]:
        walk = self

        class Workflow(schema.as_state_machine()):  # type: ignore[misc]
            def get_call_kwargs(self, case: schemathesis.Case[Any]) -> dict[str, Any]:
                # Four eyes: the drafter (KEY) may not approve, a second key may.
                key = walk.approver if case.path.endswith("/approve") else KEY
                return {"base_url": walk.base, "headers": {"Authorization": f"Bearer {key}"}}

            def step(self, input: StepInput) -> StepOutput:
                if input.transition is not None and input.is_applied:
                    walk.followed.add(input.transition.id)
                output: StepOutput = super().step(input)
                return output

            def before_call(self, case: schemathesis.Case[Any]) -> None:
                if time.monotonic() > walk.ends:
                    raise _TimeUp

            def validate_response(self, response: Response, case: schemathesis.Case[Any],
                                  additional_checks: Any = None, **kwargs: Any) -> None:
                try:  # as APIStateMachine does, with the rules a schema cannot say
                    case.validate_response(response, additional_checks=additional_checks,
                                           excluded_checks=_beyond_schema(case),
                                           transport_kwargs=kwargs)
                except FailureGroup as exc:  # kept here: a replay may not see it again
                    walk.failures.setdefault(case.operation.label, str(exc)[:3000])
                    raise

            def teardown(self) -> None:
                walk.scenarios += 1

        return Workflow

    def run(self, machine: type[APIStateMachine]) -> None:
        """Scenarios until SCENARIOS ran, a check failed, or time is up. The server's state
        moves on between runs, so hypothesis may stop a run as `Flaky` when a replay draws
        differently; the next run carries on (failures were recorded when they happened)."""
        while self.scenarios < SCENARIOS and not self.failures:
            try:
                machine.run(settings=settings(
                    max_examples=SCENARIOS - self.scenarios, stateful_step_count=STEPS,
                    deadline=None, database=None, phases=[Phase.generate],
                    suppress_health_check=list(HealthCheck)))
            except _TimeUp:
                return
            except (Flaky, FailureGroup):
                pass


@pytest.mark.timeout(600)  # the walk stops itself after STATEFUL_SECONDS; a replay may follow
def test_linked_operations_keep_the_contract(live_gateway: str) -> None:
    """Sequences through the OpenAPI links (a complaint to its case to its actions, a draft to
    its approval, a key to its revocation), with the checks above on every answer."""
    with httpx.Client(base_url=live_gateway, headers={"Authorization": f"Bearer {KEY}"}) as api:
        approver = api.post("/api/v1/admin/keys", json={
            "name": "fuzz approver", "owner": "fuzz-approver",
            "scopes": ["statements:approve"]}).json()["key"]
    # Only the document's own links: inferred ones would test schemathesis's guesses.
    config = SchemathesisConfig.from_dict({"generation": {"mode": "positive"}, "phases": {
        "stateful": {"inference": {"algorithms": []}}}})
    schema = schemathesis.openapi.from_url(f"{live_gateway}/api/v1/openapi.json", config=config)
    walk = _Walk(live_gateway, approver)
    walk.run(walk.machine(schema))

    assert not walk.failures, "\n\n".join(f"{label}:\n{why}" for label, why in
                                          walk.failures.items())
    assert walk.scenarios >= min(SCENARIOS, 20), f"only {walk.scenarios} scenarios in time"
    # Links whose runtime expression found its value in a real answer and was used.
    assert len(walk.followed) >= min(SCENARIOS // 6, 10), sorted(walk.followed)
