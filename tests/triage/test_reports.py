"""The hotspot and trend report: counts and changes against the previous period, repeated
issues, rising topics, SLA clocks met and missed, satisfaction, repeat complainants, drills
apart, the CSV form, the refusals; the same SQL on PostgreSQL; and through the gateway."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.bus import MemoryBroker
from shared.migrations import prepare_schema
from shared.periods import Period
from shared.runtime import ServiceRuntime
from tests.support import System, as_gateway, pdf_text
from triage_svc import reports
from triage_svc.main import create_app
from triage_svc.models import Case, Incident, Registration, TimelineEntry, metadata
from triage_svc.settings import TriageSettings

START = datetime(2025, 3, 1, tzinfo=UTC)  # the period: one week from here
END = START + timedelta(days=7)
PERIOD = {"from": START.isoformat(), "to": END.isoformat()}
BEFORE = START - timedelta(days=3)  # in the previous week
INCIDENT = "i" * 32


def _case(opened: datetime, category: str, *, level: int = 3, department: str = "营业厅A",
          product: str | None = "宽带", channel: str = "hotline", drill: bool = False,
          key: str | None = None, incident: str | None = None,
          satisfaction: int | None = None) -> Case:
    return Case(
        id=uuid.uuid4().hex, complaint_id=uuid.uuid4().hex, response_level=level,
        category=category, level_reasons=["test"], state="triaged", department=department,
        drill=drill, opened_at=opened, acknowledge_by=opened + timedelta(hours=1),
        first_contact_by=opened + timedelta(hours=2), report_by=opened + timedelta(hours=4),
        resolve_by=opened + timedelta(days=3), incident_id=incident, rules_version=1,
        complainant_key=key, product=product, channel=channel, satisfaction=satisfaction)


def _moves(case: Case, *steps: tuple[timedelta, str]) -> list[TimelineEntry]:
    entries, state = [], case.state
    for after, target in steps:
        entries.append(TimelineEntry(case_id=case.id, at=case.opened_at + after, actor="t",
                                     action="state_changed",
                                     detail={"from": state, "to": target}))
        state = target
    case.state = state
    return entries


@dataclass
class Seeded:
    on_time: Case  # acknowledged in time, first contact late, answered within resolve
    in_incident: list[Case]
    runtime: ServiceRuntime | None = None  # the triage app's, once it runs


def _seed() -> tuple[list[Any], Seeded]:
    day = timedelta(days=1)
    on_time = _case(START + day, "network", level=2, key="k1", satisfaction=4,
                    incident=INCIDENT)
    grouped = [on_time] + [_case(START + n * day, "network", incident=INCIDENT)
                           for n in (2, 3)]
    rows: list[Any] = [
        Incident(id=INCIDENT, kind="group", response_level=2, opened_at=START + day,
                 updated_at=START + 3 * day, summary="群体投诉: 宽带断网", key="营业厅A|宽带",
                 people_count=4, drill=False),
        *grouped,
        _case(BEFORE, "network", incident=INCIDENT),  # a member, but last week
        _case(START + 4 * day, "billing", product=None, department="营业厅B", key="k1",
              channel="email", satisfaction=2),
        _case(BEFORE, "billing", product=None, department="营业厅B", key="k2"),
        _case(BEFORE + timedelta(hours=1), "billing", product=None, department="营业厅B",
              channel="email"),
        _case(START + 5 * day, "service", department="=cmd|' /C calc'!A0", key="k2"),
        # Never counted: a drill in the period, and cases outside both weeks.
        _case(START + 2 * day, "network", drill=True, key="k1"),
        _case(END, "network"),
        _case(START - 8 * day, "service"),
    ]
    rows += _moves(on_time, (timedelta(minutes=30), "acknowledged"),
                   (timedelta(hours=3), "investigating"), (timedelta(days=1), "responded"))
    return rows, Seeded(on_time, grouped)


@pytest.fixture
async def triage(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, Seeded]]:
    settings = TriageSettings(data_dir=tmp_path,
                              database_url=f"sqlite+aiosqlite:///{tmp_path / 't.db'}")
    app = create_app(settings, broker=MemoryBroker())
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://triage",
            auth=as_gateway(app)) as client:
        rows, seeded = _seed()
        seeded.runtime = app.state.runtime
        async with app.state.runtime.unit() as unit:
            unit.session.add_all(rows)
        yield client, seeded


async def _report(client: httpx.AsyncClient, **params: str) -> dict[str, Any]:
    answer = await client.get("/api/v1/reports/hotspots", params={**PERIOD, **params})
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _groups(report: dict[str, Any]) -> dict[str | None, tuple[int, int, int, float | None]]:
    return {g["key"]: (g["count"], g["previous"], g["change"], g["change_pct"])
            for g in report["groups"]}


async def test_counts_per_group_against_the_previous_week(
        triage: tuple[httpx.AsyncClient, Seeded]) -> None:
    client, _ = triage
    report = await _report(client)
    assert report["period"] == {"start": "2025-03-01T00:00:00Z", "end": "2025-03-08T00:00:00Z"}
    assert report["previous_period"]["start"] == "2025-02-22T00:00:00Z"
    assert _groups(report) == {"network": (3, 1, 2, 200.0), "billing": (1, 2, -1, -50.0),
                               "service": (1, 0, 1, None)}
    assert [g["key"] for g in report["groups"]] == ["network", "billing", "service"]
    assert report["total"] == {"key": None, "count": 5, "previous": 3, "change": 2,
                               "change_pct": 66.7}
    by_channel = _groups(await _report(client, group_by="channel"))
    assert by_channel == {"hotline": (4, 2, 2, 100.0), "email": (1, 1, 0, 0.0)}
    by_product = _groups(await _report(client, group_by="product"))
    assert by_product == {"宽带": (4, 1, 3, 300.0), None: (1, 2, -1, -50.0)}
    by_department = _groups(await _report(client, group_by="department"))
    assert by_department["营业厅B"] == (1, 2, -1, -50.0)


async def test_repeated_issues_rising_topics_and_repeat_complainants(
        triage: tuple[httpx.AsyncClient, Seeded]) -> None:
    client, seeded = triage
    report = await _report(client)
    [issue] = report["repeated_issues"]
    assert (issue["incident_id"], issue["target"], issue["cases"]) == (INCIDENT, "营业厅A|宽带", 3)
    assert [e["case_id"] for e in issue["examples"]] == [c.id for c in seeded.in_incident]
    assert [(t["category"], t["target"], t["count"], t["previous"])
            for t in report["rising_topics"]] == [("network", "宽带", 3, 1)]
    # k1 filed twice in the week (its drill does not count); k2 once in each week.
    assert report["repeat_complainants"] == {"complainants": 1, "cases": 2, "most_cases": 2}


async def test_sla_clocks_met_and_missed_per_level_and_satisfaction(
        triage: tuple[httpx.AsyncClient, Seeded]) -> None:
    client, _ = triage
    report = await _report(client)
    level_two, level_three = report["sla"]
    assert level_two["response_level"] == 2 and level_two["cases"] == 1
    assert {clock: (o["met"], o["missed"]) for clock, o in level_two["clocks"].items()} == {
        "acknowledge": (1, 0), "first_contact": (0, 1), "report": (0, 1), "resolve": (1, 0)}
    assert level_two["compliance"] == 0.5 and level_two["satisfaction"] == 4.0
    # Nothing was done on the level-3 cases and every deadline is long past.
    assert level_three["cases"] == 4 and level_three["compliance"] == 0.0
    assert all(o == {"met": 0, "missed": 4, "pending": 0}
               for o in level_three["clocks"].values())
    assert report["satisfaction"] == {"followed_up": 2, "average": 3.0}


async def test_drills_only_when_asked(triage: tuple[httpx.AsyncClient, Seeded]) -> None:
    client, _ = triage
    drills = await _report(client, drill="true")
    assert drills["drill"] is True
    assert drills["total"]["count"] == 1 and _groups(drills) == {"network": (1, 0, 1, None)}
    assert drills["repeated_issues"] == [] and drills["repeat_complainants"]["complainants"] == 0


async def test_csv_has_fixed_columns_and_keeps_formulas_text(
        triage: tuple[httpx.AsyncClient, Seeded]) -> None:
    client, _ = triage
    answer = await client.get("/api/v1/reports/hotspots",
                              params={**PERIOD, "group_by": "department", "format": "csv"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert "beacon-hotspots-20250301-20250308.csv" in answer.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert rows[0] == ["section", "key", "metric", "value"]
    assert all(len(row) == 4 for row in rows)
    assert rows[1:5] == [["period", "", "start", "2025-03-01T00:00:00+00:00"],
                         ["period", "", "end", "2025-03-08T00:00:00+00:00"],
                         ["period", "", "group_by", "department"],
                         ["period", "", "drill", "false"]]
    assert ["total", "", "change_pct", "66.7"] in rows
    assert ["group", "营业厅B", "change_pct", "-50.0"] in rows  # a number stays a number
    assert ["group", "'=cmd|' /C calc'!A0", "count", "1"] in rows  # a formula does not
    assert ["sla", "2", "acknowledge_met", "1"] in rows
    assert ["repeat_complainants", "", "complainants", "1"] in rows
    again = await client.get("/api/v1/reports/hotspots",
                             params={**PERIOD, "group_by": "department", "format": "csv"})
    assert again.content == answer.content


@pytest.mark.parametrize(("params", "words"), [
    ({"from": "2025-03-08T00:00:00Z", "to": "2025-03-01T00:00:00Z"}, "must be before"),
    ({"from": "2024-01-01T00:00:00Z", "to": "2025-03-01T00:00:00Z"}, "at most 366 days"),
    ({"group_by": "colour"},
     "group_by=colour is not supported (no such grouping); "
     "supported: category, department, product, channel, location"),
    ({"from": "yesterday"}, "from"),
    ({"format": "xml"}, "format"),
])
async def test_bad_parameters_are_refused_in_plain_words(
        triage: tuple[httpx.AsyncClient, Seeded], params: dict[str, str], words: str) -> None:
    client, _ = triage
    answer = await client.get("/api/v1/reports/hotspots", params=params)
    assert answer.status_code == 422
    assert words in answer.json()["detail"]


@pytest.mark.postgres
async def test_the_same_figures_on_postgresql(tmp_path: Path, pg_url: str,
                                              pg_schema: str) -> None:
    runtime = ServiceRuntime("triage", TriageSettings(data_dir=tmp_path, database_url=pg_url),
                             metadata, migrations="triage_svc.migrations",
                             broker=MemoryBroker(), schema=pg_schema)
    await prepare_schema(runtime.db, metadata, "triage_svc.migrations", "triage")
    try:
        rows, _ = _seed()
        async with runtime.unit() as unit:
            unit.session.add_all(rows)
        async with runtime.db.session() as session:
            report = await reports.hotspots(session, Period(START, END), "category", False,
                                            datetime.now(UTC))
    finally:
        await runtime.db.dispose()
    assert [(g.key, g.count, g.previous) for g in report.groups] == [
        ("network", 3, 1), ("billing", 1, 2), ("service", 1, 0)]
    assert [(s.response_level, s.compliance) for s in report.sla] == [(2, 0.5), (3, 0.0)]
    assert report.repeated_issues[0].cases == 3
    assert report.repeat_complainants.complainants == 1
    assert report.satisfaction.average == 3.0


async def test_grouped_by_where_it_happened(
        triage: tuple[httpx.AsyncClient, Seeded], tmp_path: Path) -> None:
    client, seeded = triage
    places = ["朝阳区建国路营业厅", "朝阳区建国路营业厅", "海淀区 电话13812345678"]
    assert seeded.runtime is not None
    async with seeded.runtime.unit() as unit:
        unit.session.add_all(Registration(case_id=case.id, received_at=case.opened_at,
                                          content="x", location=place)
                             for case, place in zip(seeded.in_incident, places, strict=True))
    groups = _groups(await _report(client, group_by="location"))
    # Cases without a registered place count under null; a phone typed in stays masked.
    assert groups["朝阳区建国路营业厅"] == (2, 0, 2, None)
    assert groups[None] == (2, 3, -1, -33.3)
    [masked] = [key for key in groups if key and key.startswith("海淀区")]
    assert "13812345678" not in masked and groups[masked] == (1, 0, 1, None)
    answer = await client.get("/api/v1/reports/hotspots",
                              params={**PERIOD, "group_by": "location", "format": "pdf"})
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/pdf"
    text = pdf_text(answer.content, tmp_path)
    assert "投诉热点与趋势分析报告" in text and "按地点" in text
    assert "朝阳区建国路营业厅" in text and "13812345678" not in text


async def test_pdf_has_the_figures_and_charts(
        triage: tuple[httpx.AsyncClient, Seeded], tmp_path: Path) -> None:
    client, _ = triage
    answer = await client.get("/api/v1/reports/hotspots", params={**PERIOD, "format": "pdf"})
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/pdf"
    assert "beacon-hotspots-20250301-20250308.pdf" in answer.headers["content-disposition"]
    assert answer.content.count(b"/Subtype /Image") == 2  # the two charts
    text = pdf_text(answer.content, tmp_path)
    assert "投诉总量" in text and "5（上期 3，+66.7%）" in text
    assert "network" in text and "营业厅A|宽带" in text and "达标率" in text


async def test_through_the_gateway_with_cases_read(system: System) -> None:
    posted = await system.client.post("/api/v1/complaints", json={
        "channel": "email", "content": "话费多扣了二十元", "target": {"department": "营业厅C"},
        "complainant": {"name": "李四", "phone": "13800000009"}})
    assert posted.status_code == 202
    await system.notified.applied(1)
    now = datetime.now(UTC)
    window = {"from": (now - timedelta(days=1)).isoformat(),
              "to": (now + timedelta(minutes=1)).isoformat(), "group_by": "department"}
    answer = await system.client.get("/api/v1/reports/hotspots", params=window,
                                     headers=system.as_key("operator"))
    assert answer.status_code == 200, answer.text
    assert _groups(answer.json()) == {"营业厅C": (1, 0, 1, None)}
    refused = await system.client.get("/api/v1/reports/hotspots", params=window,
                                      headers=system.as_key("hotline-a"))
    assert refused.status_code == 403 and "cases:read" in refused.json()["detail"]


async def test_location_comes_from_the_complaint(system: System) -> None:
    """Intake sends where it happened in complaint.received; triage keeps it and groups."""
    posted = await system.client.post("/api/v1/complaints", json={
        "channel": "hotline", "content": "营业厅空调坏了", "location": "西城区金融街营业厅",
        "complainant": {"name": "王五", "phone": "13800000010"}})
    assert posted.status_code == 202
    await system.notified.applied(1)
    now = datetime.now(UTC)
    answer = await system.client.get("/api/v1/reports/hotspots", params={
        "from": (now - timedelta(days=1)).isoformat(),
        "to": (now + timedelta(minutes=1)).isoformat(), "group_by": "location"},
        headers=system.as_key("operator"))
    assert answer.status_code == 200, answer.text
    assert _groups(answer.json()) == {"西城区金融街营业厅": (1, 0, 1, None)}
