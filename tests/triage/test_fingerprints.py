"""Group detection keeps the fingerprints it has read, and looks at the newest candidates
first (issue 18): a case's fingerprint is written once, so a new complaint reads only its
candidates' ids, and the same groups form with kept fingerprints or none, and with a first
page of any size."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, select

from shared.events.schemas import ComplaintReceived
from shared.runtime import ServiceRuntime
from tests.triage.test_batch_groups import RULES, _state, complaint
from triage_svc import incidents
from triage_svc.models import Case
from triage_svc.service import open_cases
from triage_svc.similarity import Fingerprints, fingerprint, overlap, similarity

TEXTS = ["小区自来水发黄有异味，已经三天了", "小区的水发黄，有异味", "电梯坏了一周没人修",
         "The tap water smells of chlorine and looks brown", "brown smelly tap water again"]


def test_overlap_with_a_probe_set_is_the_similarity_of_the_two() -> None:
    prints = [fingerprint(t) for t in TEXTS]
    for a in prints:
        for b in prints:
            assert overlap(set(a), b) == similarity(a, b)
    assert similarity(prints[0], prints[1]) >= RULES.group.similarity > similarity(
        prints[0], prints[2])


def test_kept_fingerprints_read_back_and_the_oldest_half_go_when_full() -> None:
    kept = Fingerprints(capacity=4)
    for n in range(4):
        kept.keep(f"case-{n}", [n, n + 1, 4_294_967_295])  # crc32's largest value fits
    assert list(kept.get("case-3") or []) == [3, 4, 4_294_967_295]
    kept.keep("case-4", [9])
    assert len(kept) == 3
    assert kept.get("case-0") is None and kept.get("case-1") is None
    assert [list(kept.get(f"case-{n}") or []) for n in (2, 3, 4)] == [[2, 3, 4_294_967_295],
                                                                      [3, 4, 4_294_967_295],
                                                                      [9]]


@pytest.fixture
def fresh_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(incidents, "FINGERPRINTS", Fingerprints())


def _fingerprint_reads(runtime: ServiceRuntime) -> list[int]:
    """How many fingerprints each read of candidates' fingerprints asked for."""
    reads: list[int] = []

    def seen(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        # The read of candidates' fingerprints alone (a locked case loads its whole row).
        if statement.startswith("SELECT triage_cases.id, triage_cases.fingerprint \n"):
            reads.append(len(parameters))

    event.listen(runtime.db.engine.sync_engine, "before_cursor_execute", seen)
    return reads


async def test_the_same_groups_form_with_and_without_kept_fingerprints(
        two_triages: tuple[ServiceRuntime, ServiceRuntime], fresh_cache: None) -> None:
    kept, cold = two_triages
    kept_reads, cold_reads = _fingerprint_reads(kept), _fingerprint_reads(cold)
    kept_cache = Fingerprints()
    complaints = [complaint(n) for n in range(RULES.group.min_complainants + 2)]
    for c in complaints:
        incidents.FINGERPRINTS = kept_cache
        async with kept.unit() as unit:
            await open_cases(unit, [c], RULES)
        incidents.FINGERPRINTS = Fingerprints()  # nothing kept between complaints
        async with cold.unit() as unit:
            await open_cases(unit, [c], RULES)
    assert await _state(kept) == await _state(cold)
    cases, members, _, _ = await _state(kept)
    assert all(grouped for _, _, grouped in cases) and len(members) == len(complaints)
    # Cold, every complaint reads all its candidates' fingerprints; kept, only the one case
    # opened since the last complaint.
    assert cold_reads == list(range(1, len(complaints)))
    assert kept_reads == [1] * (len(complaints) - 1)


async def test_a_kept_fingerprint_is_not_read_again(
        two_triages: tuple[ServiceRuntime, ServiceRuntime], fresh_cache: None) -> None:
    runtime, _ = two_triages
    first, second, third = (complaint(n) for n in range(3))
    async with runtime.unit() as unit:
        await open_cases(unit, [first], RULES)
    async with runtime.unit() as unit:
        await open_cases(unit, [second], RULES)  # reads the first case's fingerprint once
    async with runtime.db.session() as session:
        ids = set((await session.scalars(select(Case.id))).all())
    assert len(incidents.FINGERPRINTS) == 1 and ids
    reads = _fingerprint_reads(runtime)
    async with runtime.unit() as unit:
        await open_cases(unit, [third], RULES)  # the first is kept; only the second is read
    assert reads == [1] and len(incidents.FINGERPRINTS) == 2
    assert all(incidents.FINGERPRINTS.get(i) is not None for i in ids)


def _story(n: int) -> ComplaintReceived:
    """Two stories about one target, interleaved: each opens a group of its own."""
    base = complaint(n)
    if n % 3:
        return base
    other = f"营业厅工作人员态度恶劣，当面辱骂老人，拒绝办理退费 {n}"
    return base.model_copy(update={"content": other})


@pytest.mark.parametrize("page", [1, 2, 5])
async def test_the_first_page_finds_what_the_whole_search_would(
        two_triages: tuple[ServiceRuntime, ServiceRuntime], fresh_cache: None,
        monkeypatch: pytest.MonkeyPatch, page: int) -> None:
    paged, whole = two_triages
    complaints = [_story(n) for n in range(14)]
    for c in complaints:
        monkeypatch.setattr(incidents, "_PAGE", page)
        async with paged.unit() as unit:
            await open_cases(unit, [c], RULES)
        monkeypatch.setattr(incidents, "_PAGE", RULES.group.max_candidates)
        async with whole.unit() as unit:
            await open_cases(unit, [c], RULES)
    assert await _state(paged) == await _state(whole)
    async with paged.db.session() as session:
        groups = set((await session.scalars(select(Case.incident_id))).all())
    assert len(groups - {None}) == 2  # both stories grouped, apart
