"""Issue 13, LOW: security headers on every answer, no-store where personal data may be,
header sections of bounded size (replayed on a real port), /metrics behind a scope, and an
API docs page whose every file the gateway serves itself."""

from __future__ import annotations

import re

from services.auth import ApiKey, key_hash
from services.console.security import CSP as CONSOLE_CSP
from tests.support import ADMIN, System, raw_request, request_head, serving

METRICS_KEY = "key-metrics-reader"


async def test_every_answer_carries_the_security_headers(system: System) -> None:
    anonymous = {"Authorization": ""}
    answers = {
        "ok": await system.client.get("/api/v1/cases"),
        "401": await system.client.get("/api/v1/cases", headers=anonymous),
        "404": await system.client.get("/api/v1/nothing-here"),
        "health": await system.client.get("/healthz"),
        "docs": await system.client.get("/api/v1/docs"),
        "console": await system.client.get("/login", headers=anonymous),
    }
    for name, answer in answers.items():
        assert answer.headers["x-content-type-options"] == "nosniff", name
        assert answer.headers["x-frame-options"] == "DENY", name
        assert answer.headers["referrer-policy"], name
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"], name
        assert "," not in answer.headers["content-security-policy"], f"{name}: two policies"
    for name in ("ok", "401", "404"):
        assert answers[name].headers["cache-control"] == "no-store", name
    assert answers["console"].headers["content-security-policy"] == CONSOLE_CSP  # its own


async def test_oversized_header_sections_are_refused(system: System) -> None:
    async with serving(system.embedded.gateway) as port:
        huge = await raw_request(port, request_head("GET", "/api/v1/cases", {
            "Authorization": "Bearer " + "a" * (8 * 1024 * 1024)}))
        many = await raw_request(port, request_head("GET", "/api/v1/cases", {
            f"X-Filler-{i}": "x" for i in range(5000)}))
        normal = await raw_request(port, request_head("GET", "/api/v1/cases", {
            "Authorization": f"Bearer {ADMIN}"}))
    assert huge.status in (400, 431), huge.status
    assert many.status in (400, 431), many.status
    assert normal.status == 200


async def test_metrics_need_the_metrics_scope(system: System) -> None:
    keys = system.embedded.gateway.state.keys
    keys._static[key_hash(METRICS_KEY)] = ApiKey("m", "prometheus", frozenset({"metrics:read"}),
                                                  key_hash(METRICS_KEY))
    assert (await system.client.get("/metrics", headers={"Authorization": ""})).status_code == 401
    assert (await system.client.get("/metrics", headers=system.as_key("operator"))
            ).status_code == 403
    scraped = await system.client.get("/metrics",
                                      headers={"Authorization": f"Bearer {METRICS_KEY}"})
    assert scraped.status_code == 200 and "beacon_http_requests_total" in scraped.text


async def test_the_docs_page_loads_only_files_the_gateway_serves(system: System) -> None:
    page = await system.client.get("/api/v1/docs")
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert "script-src 'self';" in csp and "unsafe-eval" not in csp
    assert "<script>" not in page.text  # no inline script: the CSP would refuse it
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert len(sources) >= 4
    for source in sources:
        assert source.startswith("/api/v1/docs/assets/"), source
        asset = await system.client.get(source)
        assert asset.status_code == 200 and asset.content, source
    bundle = await system.client.get("/api/v1/docs/assets/swagger-ui-bundle.js")
    assert "SwaggerUIBundle" in bundle.text
    assert (await system.client.get("/api/v1/docs/assets/../openapi.json")).status_code != 200
