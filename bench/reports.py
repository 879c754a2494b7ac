"""The hotspot and public-opinion reports over a large history on PostgreSQL.

    python bench/reports.py                          # 100,000 cases, 200,000 mentions
    python bench/reports.py --cases 20000 --mentions 40000 --runs 3   # a quick look

A throwaway database `bench_reports_<hex>` gets triage's and sentiment's tables through
their migrations, then set-based inserts (`INSERT ... SELECT FROM generate_series`, no row
crosses the wire): `--cases` cases over the last 60 days (one in fifty a drill), with
timeline moves for the SLA clocks, follow-ups, group incidents and repeat complainants;
`--mentions` mentions over the same days with stories, topics, alerts and links to
complaints. Then each report is asked `--runs` times through its service's own app (the
HTTP route, JSON and all) for a 30-day period (so the change against the previous 30 days
reads every case) and a 7-day one; it prints p50 and max per report. The target (issue
#17) is under 2 s for each. It is a benchmark, not a test: run it by
hand, once.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from _common import drop_database, machine_line, pg_admin, pg_durability
from fastapi import FastAPI
from sqlalchemy import text

from sentiment_svc.main import create_app as sentiment_app
from sentiment_svc.settings import SentimentSettings
from shared.bus import MemoryBroker
from shared.caller import Caller, signed_headers
from triage_svc.main import create_app as triage_app
from triage_svc.settings import TriageSettings

PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/"
DAYS = 60

CASES = """
INSERT INTO triage_cases (id, complaint_id, response_level, category, level_reasons, state,
  department, drill, opened_at, acknowledge_by, first_contact_by, report_by, resolve_by,
  incident_id, rules_version, complainant_key, product, channel, satisfaction,
  escalation_step, media, people_count, fingerprint)
SELECT md5('case' || g), md5('complaint' || g), 1 + g % 4,
  (ARRAY['product_quality','service','billing','network','delivery','safety','privacy',
         'other'])[1 + g % 8], '[]', (ARRAY['triaged','acknowledged','investigating',
         'responded','follow_up','closed'])[1 + g % 6],
  'department ' || (g % 40), g % 50 = 0, t, t + interval '1 hour', t + interval '4 hours',
  t + interval '8 hours', t + interval '3 days',
  CASE WHEN g % 100 < 3 THEN md5('incident' || (g % 300)) END, 1,
  md5('person' || (g % CAST(:people AS int))), 'product ' || (g % 25),
  (ARRAY['hotline','email','web','app','onsite','letter','media'])[1 + g % 7],
  CASE WHEN g % 6 = 4 THEN 1 + g % 5 END, 0, false, 1, '[]'
FROM generate_series(1, CAST(:n AS int)) AS g,
     LATERAL (SELECT CAST(:now AS timestamptz)
                     - g * interval '1 second' * CAST(:spread AS float8)) AS o(t)
"""
# One move per answered case and one acknowledgement for half of them: the SLA join reads
# about 1.5 timeline rows per case; some are late.
TIMELINE = """
INSERT INTO triage_timeline (case_id, at, actor, action, detail, reason)
SELECT id, opened_at + (CASE WHEN response_level = 1 THEN interval '2 hours'
                             ELSE interval '20 minutes' END), 'bench', 'acknowledged',
       CAST('{"from": "triaged", "to": "acknowledged"}' AS json), NULL
FROM triage_cases WHERE state <> 'triaged' AND right(id, 1) < '8'
UNION ALL
SELECT id, opened_at + interval '1 day', 'bench', 'answered',
       CAST('{"from": "investigating", "to": "responded"}' AS json), NULL
FROM triage_cases WHERE state IN ('responded', 'follow_up', 'closed')
"""
# Every case's registration form, with one of 200 places (group_by=location joins it).
REGISTRATIONS = """
INSERT INTO triage_registrations (case_id, received_at, subject, content, occurred_at,
  location, target_department, target_product, people_count)
SELECT id, opened_at, NULL, 'bench', NULL, '网点 ' || (abs(hashtext(id)) % 200), department,
       product, 1
FROM triage_cases
"""
# One statement every six hours, for the public-opinion report's "statements issued".
STATEMENTS = """
INSERT INTO sentiment_statements (statement_id, incident_id, title, approved_by, approved_at,
  distributed_at, recipients)
SELECT md5('statement' || g), NULL, 'statement ' || g, 'bench',
       CAST(:now AS timestamptz) - g * interval '6 hours',
       CAST(:now AS timestamptz) - g * interval '6 hours' + interval '5 minutes', 3
FROM generate_series(1, CAST(:n AS int)) AS g
"""
INCIDENTS = """
INSERT INTO triage_incidents (id, kind, response_level, state, opened_at, updated_at,
  summary, key, people_count, drill)
SELECT incident_id, 'group', 2, 'open', min(opened_at), max(opened_at),
       'group complaint: ' || count(*) || ' similar complaints',
       min(department) || '|' || min(product), count(*), false
FROM triage_cases WHERE incident_id IS NOT NULL GROUP BY incident_id
"""
MENTIONS = """
INSERT INTO sentiment_mentions (id, source, url, title, content, author, published_at,
  received_at, reach, language, sentiment_label, sentiment_score, risk_level, risk_score,
  risk_reasons, cluster_id, topic_id)
SELECT md5('mention' || g),
  (ARRAY['news','weibo','wechat','forum','video','blog','hotline_board','other'])[1 + g % 8],
  NULL, CASE WHEN g % 3 = 0 THEN 'title ' || g END, 'mention text ' || g, NULL, NULL,
  CAST(:now AS timestamptz) - g * interval '1 second' * CAST(:spread AS float8), '{}', 'zh',
  (ARRAY['negative','neutral','positive','negative'])[1 + g % 4], 0.8, 1 + g % 4, 10, '[]',
  md5('story' || (g % 2000)), md5('topic' || (g % 100))
FROM generate_series(1, CAST(:n AS int)) AS g
"""
STORIES = """
INSERT INTO sentiment_stories (id, topic_id, signature, first_mention_id, created_at,
  last_seen_at)
SELECT cluster_id, min(topic_id), CAST('' AS bytea), min(id), min(received_at), max(received_at)
FROM sentiment_mentions GROUP BY cluster_id
"""
TOPICS = """
INSERT INTO sentiment_topics (id, label, centroid, created_at, updated_at)
SELECT topic_id, 'topic ' || topic_id, CAST('{}' AS json), CAST(:now AS timestamptz),
       CAST(:now AS timestamptz) FROM sentiment_mentions GROUP BY topic_id
"""
ALERTS = """
INSERT INTO sentiment_alerts (id, scope, topic_id, warning_level, raised_at, evidence)
SELECT md5('alert' || g), 'overall', NULL, 1 + g % 4,
       CAST(:now AS timestamptz) - g * interval '1 hour', '{}'
FROM generate_series(1, CAST(:n AS int)) AS g
"""
LINKS = """
INSERT INTO sentiment_mention_links (mention_id, complaint_id, similarity, linked_at)
SELECT md5('mention' || g), md5('complaint' || g), 0.7, CAST(:now AS timestamptz)
FROM generate_series(1, CAST(:n AS int), 40) AS g
"""


async def _seed(app: FastAPI, statements: list[tuple[str, dict[str, object]]]) -> None:
    async with app.state.runtime.db.session() as session:
        for statement, params in statements:
            await session.execute(text(statement), params)
        await session.commit()


async def _analyze(app: FastAPI, tables: list[str]) -> None:
    async with app.state.runtime.db.engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        for table in tables:
            await conn.execute(text(f"VACUUM ANALYZE {table}"))


async def _time(app: FastAPI, path: str, params: dict[str, str], runs: int) -> list[float]:
    """Each run signed as the gateway signs (services answer only the gateway)."""
    took = []
    reader = Caller("bench", "bench", frozenset({"cases:read"}))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://bench", timeout=120) as client:
        for _ in range(runs):
            headers = signed_headers(app.state.internal_secret, reader, "GET", path,
                                     uuid.uuid4().hex)
            started = time.perf_counter()
            answer = await client.get(path, params=params, headers=headers)
            took.append(time.perf_counter() - started)
            if answer.status_code != 200:
                raise SystemExit(f"{path}: {answer.status_code} {answer.text[:300]}")
    return took


def _line(name: str, took: list[float]) -> str:
    return (f"  {name:<44} p50 {statistics.median(took) * 1000:7.0f} ms   "
            f"max {max(took) * 1000:7.0f} ms   ({len(took)} runs)")


async def run(cases: int, mentions: int, runs: int, data_dir: Path) -> None:
    name = f"bench_reports_{uuid.uuid4().hex[:8]}"
    await pg_admin(f'CREATE DATABASE "{name}"')
    try:
        triage = triage_app(TriageSettings(data_dir=data_dir, database_url=PG + name,
                                           timer_interval_s=3600), broker=MemoryBroker())
        sentiment = sentiment_app(SentimentSettings(data_dir=data_dir,
                                                    database_url=PG + name),
                                  broker=MemoryBroker())
        async with triage.router.lifespan_context(triage), \
                sentiment.router.lifespan_context(sentiment):
            now = datetime.now(UTC)
            started = time.perf_counter()
            spread_cases, spread_mentions = DAYS * 86400 / cases, DAYS * 86400 / mentions
            await _seed(triage, [
                (CASES, {"n": cases, "now": now, "spread": spread_cases,
                         "people": max(1, int(cases * 0.8))}),
                (TIMELINE, {}), (INCIDENTS, {}), (REGISTRATIONS, {})])
            await _seed(sentiment, [
                (MENTIONS, {"n": mentions, "now": now, "spread": spread_mentions}),
                (STORIES, {}), (TOPICS, {"now": now}), (ALERTS, {"n": DAYS * 24, "now": now}),
                (LINKS, {"n": mentions, "now": now}),
                (STATEMENTS, {"n": DAYS * 4, "now": now})])
            await _analyze(triage, ["triage_cases", "triage_timeline", "triage_incidents",
                                    "triage_registrations"])
            await _analyze(sentiment, ["sentiment_mentions", "sentiment_stories",
                                       "sentiment_mention_links", "sentiment_alerts",
                                       "sentiment_statements"])
            print(f"seeded {cases:,} cases and {mentions:,} mentions over {DAYS} days in "
                  f"{time.perf_counter() - started:.1f} s", flush=True)
            for days in (30, 7):
                period = {"from": (now - timedelta(days=days)).isoformat(),
                          "to": now.isoformat()}
                for group_by in ("category", "department", "location"):
                    took = await _time(triage, "/api/v1/reports/hotspots",
                                       {**period, "group_by": group_by}, runs)
                    print(_line(f"hotspots, {days} days, group_by={group_by}", took))
                took = await _time(triage, "/api/v1/reports/hotspots",
                                   {**period, "format": "csv"}, runs)
                print(_line(f"hotspots, {days} days, CSV", took))
                took = await _time(triage, "/api/v1/reports/hotspots",
                                   {**period, "format": "pdf"}, runs)
                print(_line(f"hotspots, {days} days, PDF with charts", took))
                took = await _time(sentiment, "/api/v1/reports/public-opinion", period, runs)
                print(_line(f"public opinion, {days} days", took), flush=True)
    finally:
        await asyncio.to_thread(drop_database, name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--mentions", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(machine_line())
    print(f"postgres: {pg_durability()}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(args.cases, args.mentions, args.runs, Path(tmp)))


if __name__ == "__main__":
    main()
