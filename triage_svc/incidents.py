"""Incidents: group complaints (群体投诉) and public-opinion events (舆情事件), and media
mentions linked to complaints. Each function runs inside one unit of work.

Concurrency: incident decisions for one key (a target, an alert topic) are serialised by a
transaction-scoped advisory lock on PostgreSQL (SQLite has one writer anyway), so two
replicas never open two incidents for one group; cases are locked in id order.
"""

from __future__ import annotations

import uuid
import zlib
from collections.abc import Callable, Collection, Sequence
from datetime import datetime, timedelta
from typing import Literal, cast

from sqlalchemy import Row, func, select, text

from shared.events import Envelope
from shared.events.schemas import (
    ComplaintReceived,
    IncidentOpened,
    IncidentUpdated,
    MentionLinked,
    OpinionAlert,
)
from shared.runtime import Unit
from triage_svc import actions, media
from triage_svc.errors import Conflict, NotFound
from triage_svc.models import Case, Incident, IncidentMember, IncidentRecord, MediaLink
from triage_svc.rules import Rules
from triage_svc.similarity import Fingerprints, overlap

Kind = Literal["group", "public_opinion"]
Action = Literal["raised", "members_added", "closed", "registered",
                 "work_group_assigned"]


HELD = "triage.locks"  # session.info: the advisory lock keys this transaction holds


async def _lock(unit: Unit, key: str) -> None:
    """Lock `key` until the transaction ends (re-entrant: one taken already costs no
    statement; a batch takes its keys first, in `lock_batch`)."""
    held: set[int] = unit.session.info.setdefault(HELD, set())
    number = zlib.crc32(key.encode())
    if number in held:
        return
    if unit.session.get_bind().dialect.name == "postgresql":
        await unit.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": number})
    held.add(number)


async def lock_batch(unit: Unit, events: list[Envelope]) -> None:
    """Take the incident locks a batch of events will need, in one sorted order."""
    keys: set[str] = set()
    for event in events:
        data = event.payload()
        if isinstance(data, ComplaintReceived):
            key = group_lock(data.target.department, data.target.product)
            if key is not None:
                keys.add(key)
        elif isinstance(data, OpinionAlert):
            keys.add(f"opinion:{opinion_key(data)}")
    for key in sorted(keys, key=lambda k: zlib.crc32(k.encode())):
        await _lock(unit, key)


def group_key(department: str | None, product: str | None) -> str | None:
    """Group candidates share the target: the department, and the product when given."""
    return f"{department}|{product or ''}" if department else None


def group_lock(department: str | None, product: str | None) -> str | None:
    """The lock a complaint about this target takes for its group decision; None for one
    without a target, which has no candidates to compare with (`detect_group`): what it
    decides depends on no other transaction, and one shared key for all of them would
    make every batch of such complaints wait for the one before to commit."""
    key = group_key(department, product)
    return None if key is None else f"group:{key}"


def opinion_key(alert: OpinionAlert) -> str:
    return f"{alert.scope}:{alert.topic_id or '*'}"


# -- group complaints ---------------------------------------------------------------------

async def detect_group(unit: Unit, case: Case, rules: Rules, *, announce_self: bool = True,
                       unseen: Collection[str] = ()) -> None:
    """Attach a new case to its group incident, or open one when enough complainants (or
    one complaint for many people) say the same about the same target. The case itself is
    raised without announcing it when `announce_self` is false (it is being opened);
    `unseen` cases (written, not yet opened) are no candidates."""
    policy, key = rules.group, group_key(case.department, case.product)
    if key is None and case.people_count < policy.min_people:
        return
    lock = group_lock(case.department, case.product)
    if lock is not None:  # without a target the group is this new case alone
        await _lock(unit, lock)
    alike, grouped = (await _alike(unit, case, rules, unseen) if key is not None
                      else (set(), set()))
    quiet = set() if announce_self else {case.id}
    joined = await _open_group(unit, grouped)
    if joined is not None:
        await _join_group(unit, joined, [case], rules, quiet)
        return
    similar = await _locked(unit, alike)
    complainants = {c.complainant_key or c.id for c in [*similar, case]}
    if len(complainants) >= policy.min_complainants or case.people_count >= policy.min_people:
        members = sorted([*similar, case], key=lambda c: c.id)
        await _start_group(unit, key or f"case:{case.id}", members, rules, quiet)


async def _alike(unit: Unit, case: Case, rules: Rules, unseen: Collection[str] = ()
                 ) -> tuple[set[str], set[str]]:
    """The recent cases about the same target that say the same thing, and the open
    incidents they belong to. The search stops at the first one already in an open
    incident: a big group costs one comparison pass per new complaint, not one per member.
    Members of a closed incident were handled with it and count no more."""
    policy = rules.group
    # The window reaches both ways: cases on different partitions are triaged in any
    # order, so one received earlier may be triaged after the look-alikes that followed it.
    window = timedelta(hours=policy.window_hours)
    # The candidates, newest first, and whether each one's incident is open.
    query = (
        select(Case.id, Case.incident_id, Incident.state)
        .outerjoin(Incident, Incident.id == Case.incident_id).where(
            Case.department == case.department,
            Case.product.is_(None) if case.product is None else Case.product == case.product,
            Case.opened_at.between(case.opened_at - window, case.opened_at + window),
            Case.drill.is_(case.drill), Case.id != case.id,
            *([Case.id.not_in(unseen)] if unseen else []),
        ).order_by(Case.opened_at.desc(), Case.id))
    # In a surge the newest look-alikes are already in the open group: the first page
    # gives the answer the whole search would (see _joins_directly), without reading
    # max_candidates rows for every new complaint.
    size = min(_PAGE, policy.max_candidates)
    page = (await unit.session.execute(query.limit(size))).all()
    incident_of, open_, candidates = await _candidates(unit, page)
    if (direct := _joins_directly(case, incident_of, open_, candidates,
                                  policy.similarity)) is not None:
        return direct
    if len(page) == size < policy.max_candidates:  # more candidates than the page
        found = (await unit.session.execute(query.limit(policy.max_candidates))).all()
        incident_of, open_, candidates = await _candidates(unit, found)
    alike = linked(case.fingerprint, candidates, policy.similarity,
                   stop=lambda i: incident_of[i] in open_)
    return alike, {incident for i in alike if (incident := incident_of[i]) in open_}


_PAGE = 100  # candidates looked at before all of them
# Candidate rows: case id, its incident, that incident's state (None without one).
_Found = Sequence[Row[str, str | None, str]]


async def _candidates(unit: Unit, found: _Found
                      ) -> tuple[dict[str, str | None], set[str], dict[str, Sequence[int]]]:
    """Each found case's incident, the open ones, and the fingerprints of the cases not in
    a closed incident, in the order found."""
    incident_of = {i: incident for i, incident, _ in found}
    open_ = {incident for _, incident, state in found if incident and state == "open"}
    wanted = [i for i, incident, _ in found if incident is None or incident in open_]
    fingerprints = await _fingerprints(unit, wanted)
    return incident_of, open_, {i: fingerprints[i] for i in wanted}


def _joins_directly(case: Case, incident_of: dict[str, str | None], open_: set[str],
                    candidates: dict[str, Sequence[int]], threshold: float
                    ) -> tuple[set[str], set[str]] | None:
    """What `linked` over all the candidates finds when the first candidate alike the new
    case itself that is in an open incident lies in the first page: `linked` compares the
    new case with every candidate, in this order, before it compares any other pair, and
    stops there. The page holds the newest candidates, so every candidate before that one
    is in it too. None when the page holds no such candidate."""
    near = _near(case.fingerprint, candidates, threshold)
    for k, i in enumerate(near):
        if (incident := incident_of[i]) in open_:
            return set(near[:k + 1]), {incident}
    return None


# Candidates' fingerprints, by case id, as far as this process has read them.
FINGERPRINTS = Fingerprints()
_IN_CHUNK = 500  # ids per IN list: well under SQLite's and PostgreSQL's parameter limits


async def _fingerprints(unit: Unit, case_ids: list[str]) -> dict[str, Sequence[int]]:
    """The fingerprints of `case_ids`: those kept, and the others read in a few IN queries."""
    found = {i: fp for i in case_ids if (fp := FINGERPRINTS.get(i)) is not None}
    missing = [i for i in case_ids if i not in found]
    for start in range(0, len(missing), _IN_CHUNK):
        rows = await unit.session.execute(select(Case.id, Case.fingerprint).where(
            Case.id.in_(missing[start:start + _IN_CHUNK])))
        for case_id, hashes in rows:
            FINGERPRINTS.keep(case_id, hashes)
            found[case_id] = hashes
    return found


async def _locked(unit: Unit, case_ids: set[str]) -> list[Case]:
    if not case_ids:
        return []
    return list((await unit.session.scalars(
        select(Case).where(Case.id.in_(case_ids)).order_by(Case.id).with_for_update()
    )).all())


# session.info: the group incidents this transaction holds (row-locked or created by it),
# by id. Their rows are as its objects say, so a batch of look-alikes reads the group once
# (issue 18), and their member counts once (`_member_counts`).
GROUPS = "triage.groups"


def _hold(unit: Unit, incident: Incident) -> None:
    unit.session.info.setdefault(GROUPS, {})[incident.id] = incident


async def _open_group(unit: Unit, incident_ids: set[str]) -> Incident | None:
    if not incident_ids:
        return None
    held: dict[str, Incident] = unit.session.info.get(GROUPS, {})
    if incident_ids <= held.keys():
        open_ = [held[i] for i in incident_ids if held[i].state == "open"]
        return min(open_, key=lambda incident: incident.opened_at, default=None)
    incident = await unit.session.scalar(
        select(Incident).where(Incident.id.in_(incident_ids), Incident.kind == "group",
                               Incident.state == "open")
        .order_by(Incident.opened_at).limit(1).with_for_update())
    if incident is not None:
        _hold(unit, incident)
    return incident


def _near(probe: Sequence[int], candidates: dict[str, Sequence[int]], threshold: float
          ) -> list[str]:
    """The candidates at least `threshold` alike `probe`, in their order (one set for the
    probe, not one per pair)."""
    probe_set = set(probe)
    return [i for i, hashes in candidates.items() if overlap(probe_set, hashes) >= threshold]


def linked(start: Sequence[int], candidates: dict[str, Sequence[int]], threshold: float, *,
           stop: Callable[[str], bool] = lambda _: False) -> set[str]:
    """The candidates reachable from `start` through pairs at least `threshold` alike
    (single linkage): B says what A said, C says what B said in other words. Returns as
    soon as a candidate satisfying `stop` is reached."""
    found: set[str] = set()
    frontier = [start]
    remaining = dict(candidates)
    while frontier and remaining:
        for i in _near(frontier.pop(), remaining, threshold):
            found.add(i)
            frontier.append(remaining.pop(i))
            if stop(i):
                return found
    return found


def _group_level(people: int, rules: Rules) -> int:
    return 1 if people >= rules.group.large_people else rules.group.response_level


async def _start_group(unit: Unit, key: str, members: list[Case], rules: Rules,
                       quiet: set[str]) -> None:
    now = max(c.opened_at for c in members)
    people = sum(c.people_count for c in members)
    department = members[0].department or "—"
    incident = Incident(
        id=uuid.uuid4().hex, kind="group", response_level=_group_level(people, rules),
        opened_at=now, updated_at=now, key=key, people_count=people, drill=members[0].drill,
        summary=f"群体投诉 group complaint: {len(members)} similar complaints about "
                f"{department}, {people} people",
    )
    unit.session.add(incident)
    _hold(unit, incident)
    await _attach(unit, incident, members, rules, now, quiet)
    await unit.emit(IncidentOpened(
        incident_id=incident.id, kind="group", response_level=incident.response_level,
        summary=incident.summary, opened_at=now, complaint_ids=[c.complaint_id for c in members],
        drill=incident.drill,
    ), subject=incident.id)


async def _join_group(unit: Unit, incident: Incident, joining: list[Case], rules: Rules,
                      quiet: set[str]) -> None:
    now = max(c.opened_at for c in joining)
    before = incident.response_level
    incident.people_count += sum(c.people_count for c in joining)
    incident.response_level = min(before, _group_level(incident.people_count, rules))
    incident.updated_at = max(incident.updated_at, now)
    members = joining
    if incident.response_level < before:  # every member rises with the incident
        members = list((await unit.session.scalars(
            select(Case).where(Case.incident_id == incident.id).order_by(Case.id)
            .with_for_update())).all()) + joining
    await _attach(unit, incident, members, rules, now, quiet)
    await _announce(unit, incident, before, now,
                    complaints=[c.complaint_id for c in joining])


async def _attach(unit: Unit, incident: Incident, cases: Sequence[Case], rules: Rules,
                  now: datetime, quiet: set[str]) -> None:
    """Make the cases members, each at least as severe as the incident; `quiet` cases are
    being opened and announce themselves."""
    for case in cases:
        joins = case.incident_id != incident.id
        if joins:
            case.incident_id = incident.id
            _add_member(unit, incident.id, "complaint", case.complaint_id, now)
        reason = f"group complaint (群体投诉): {incident.summary} [incident {incident.id}]"
        raised = await actions.raise_level(
            unit, case, incident.response_level, rules, now, reason=reason,
            detail={"incident_id": incident.id}, announce=case.id not in quiet)
        if joins and not raised and case.id not in quiet:
            await actions.record(unit, case, "triage", "incident_joined", at=now,
                                 reason=reason, detail={"incident_id": incident.id})


async def _announce(unit: Unit, incident: Incident, before: int, now: datetime, *,
                    complaints: Sequence[str] = (), mentions: Sequence[str] = (),
                    action: Action | None = None, actor: str | None = None,
                    version: int | None = None) -> None:
    counts = await _member_counts(unit, incident)
    await unit.emit(IncidentUpdated(
        incident_id=incident.id, kind=cast(Kind, incident.kind),
        action=action or ("raised" if incident.response_level < before else "members_added"),
        response_level=incident.response_level, previous_level=before,
        summary=incident.summary, opened_at=incident.opened_at, updated_at=now,
        complaint_count=counts.get("complaint", 0), mention_count=counts.get("mention", 0),
        added_complaint_ids=list(complaints), added_mention_ids=list(mentions),
        drill=incident.drill, actor=actor, record_version=version,
    ), subject=incident.id)


_COUNTS = "triage.member_counts"  # session.info: member counts of held groups, by id


async def _member_counts(unit: Unit, incident: Incident) -> dict[str, int]:
    """Members per kind. A group this transaction holds is counted once and then kept
    up to date by `_add_member` (only a holder of its lock adds to a group)."""
    kept: dict[str, dict[str, int]] = unit.session.info.setdefault(_COUNTS, {})
    if incident.id in kept:
        return dict(kept[incident.id])
    counts = dict((await unit.session.execute(
        select(IncidentMember.member_kind, func.count()).where(
            IncidentMember.incident_id == incident.id).group_by(IncidentMember.member_kind)
    )).all())
    if incident.id in unit.session.info.get(GROUPS, {}):
        kept[incident.id] = dict(counts)
    return counts


def _add_member(unit: Unit, incident_id: str, kind: str, member_id: str,
                at: datetime) -> None:
    unit.session.add(IncidentMember(incident_id=incident_id, member_kind=kind,
                                    member_id=member_id, added_at=at))
    kept: dict[str, dict[str, int]] = unit.session.info.get(_COUNTS, {})
    if incident_id in kept:
        kept[incident_id][kind] = kept[incident_id].get(kind, 0) + 1


# -- public opinion -----------------------------------------------------------------------

async def on_opinion_alert(unit: Unit, alert: OpinionAlert, rules: Rules) -> None:
    """Open a public-opinion incident at the alert's warning level, or join (and raise)
    the open one on the same topic seen within `merge_hours`: a later wave of the same
    story adds its evidence and counts (`members_added`, or `raised` when more severe)."""
    key = opinion_key(alert)
    await _lock(unit, f"opinion:{key}")
    since = alert.raised_at - timedelta(hours=rules.opinion.merge_hours)
    incident = await unit.session.scalar(
        select(Incident).where(Incident.kind == "public_opinion", Incident.key == key,
                               Incident.state == "open", Incident.updated_at >= since,
                               Incident.drill.is_(alert.drill))
        .order_by(Incident.opened_at.desc()).limit(1).with_for_update())
    if incident is None:
        incident = Incident(
            id=uuid.uuid4().hex, kind="public_opinion", response_level=alert.warning_level,
            opened_at=alert.raised_at, updated_at=alert.raised_at, key=key,
            summary=alert.summary[:500], drill=alert.drill)
        unit.session.add(incident)
        await _add_mentions(unit, incident, alert.top_mention_ids, alert.raised_at)
        await unit.emit(IncidentOpened(
            incident_id=incident.id, kind="public_opinion",
            response_level=incident.response_level, summary=incident.summary,
            opened_at=incident.opened_at, mention_ids=list(alert.top_mention_ids),
            drill=incident.drill,
        ), subject=incident.id)
        return
    before = incident.response_level
    incident.response_level = min(before, alert.warning_level)
    incident.updated_at = max(incident.updated_at, alert.raised_at)
    incident.summary = alert.summary[:500]  # the latest wave's counts
    added = await _add_mentions(unit, incident, alert.top_mention_ids, alert.raised_at)
    await _announce(unit, incident, before, alert.raised_at, mentions=added)


async def _add_mentions(unit: Unit, incident: Incident, mention_ids: Sequence[str],
                        now: datetime) -> list[str]:
    known = set((await unit.session.scalars(select(IncidentMember.member_id).where(
        IncidentMember.incident_id == incident.id, IncidentMember.member_kind == "mention",
    ))).all())
    added = [m for m in dict.fromkeys(mention_ids) if m not in known]
    for mention_id in added:
        _add_member(unit, incident.id, "mention", mention_id, now)
    return added


async def on_mention_linked(unit: Unit, linked: MentionLinked, rules: Rules) -> None:
    """Record each link; a complaint whose case is open becomes a media complaint of at
    least `[public_opinion] linked_level`. A link that arrives before its case is kept and
    applied when the case opens (`apply_media_links`)."""
    for complaint_id in dict.fromkeys(linked.complaint_ids):
        exists = await unit.session.get(MediaLink, (complaint_id, linked.mention_id))
        if exists is None:
            unit.session.add(MediaLink(
                complaint_id=complaint_id, mention_id=linked.mention_id, source=linked.source,
                url=linked.url, similarity=linked.similarity, linked_at=linked.linked_at))
        case = await unit.session.scalar(
            select(Case).where(Case.complaint_id == complaint_id).with_for_update())
        if case is not None:
            await apply_media_links(unit, case, rules)


async def pending_media_links(unit: Unit, complaint_ids: Sequence[str]
                              ) -> dict[str, list[MediaLink]]:
    """The links not yet applied of each complaint, oldest first (one statement)."""
    found: dict[str, list[MediaLink]] = {}
    if not complaint_ids:
        return found
    for link in (await unit.session.scalars(select(MediaLink).where(
            MediaLink.complaint_id.in_(complaint_ids), MediaLink.applied.is_(False),
    ).order_by(MediaLink.linked_at, MediaLink.mention_id))).all():
        found.setdefault(link.complaint_id, []).append(link)
    return found


async def apply_media_links(unit: Unit, case: Case, rules: Rules, *,
                            announce: bool = True,
                            links: Sequence[MediaLink] | None = None) -> None:
    """Apply the case's links not yet applied (the caller holds the case's lock);
    `links` when the caller has read them already (`pending_media_links`)."""
    if links is None:
        links = (await pending_media_links(unit, [case.complaint_id])).get(
            case.complaint_id, [])
    for link in links:
        link.applied = True
        if case.state == "closed":
            continue  # only an open complaint is raised by a mention
        at = max(link.linked_at, case.opened_at)
        media.mark(unit.session, case, rules, at)
        reason = (f"media complaint (媒体投诉): linked to a {link.source} mention "
                  f"{link.mention_id} (similarity {link.similarity:.2f})")
        detail = {"mention_id": link.mention_id, "url": link.url}
        raised = await actions.raise_level(unit, case, rules.opinion.linked_level, rules, at,
                                           reason=reason, detail=detail, announce=announce)
        if announce and not raised:
            await actions.record(unit, case, "triage", "media_linked", at=at, reason=reason,
                                 detail=detail)
        await _join_opinion_incidents(unit, case, link)


async def _join_opinion_incidents(unit: Unit, case: Case, link: MediaLink) -> None:
    """A complaint whose mention belongs to a public-opinion incident joins it too."""
    incident_ids = (await unit.session.scalars(select(IncidentMember.incident_id).where(
        IncidentMember.member_kind == "mention", IncidentMember.member_id == link.mention_id,
    ))).all()
    for incident_id in incident_ids:
        member = await unit.session.get(IncidentMember,
                                        (incident_id, "complaint", case.complaint_id))
        if member is None:
            _add_member(unit, incident_id, "complaint", case.complaint_id, link.linked_at)


class AlreadyClosed(Conflict):
    pass


async def locked(unit: Unit, incident_id: str) -> Incident:
    """The incident, row-locked for a change; NotFound if there is none."""
    incident = await unit.session.get(Incident, incident_id, with_for_update=True)
    if incident is None:
        raise NotFound(f"no incident {incident_id}")
    return incident


async def close(unit: Unit, incident: Incident, actor: str, reason: str,
                now: datetime) -> None:
    """An operator closes an incident (事件处置完毕): it keeps its members and takes no more,
    and they count no more towards a group; look-alikes that come later may open a new one
    among themselves."""
    if incident.state == "closed":
        raise AlreadyClosed(f"incident {incident.id} was closed at {incident.closed_at}")
    incident.state, incident.updated_at = "closed", now
    incident.closed_at, incident.closed_by, incident.close_reason = now, actor, reason
    await _announce(unit, incident, incident.response_level, now, action="closed")


# -- group complaint registration and work group (plan-group-complaint.txt) ----------------

class NotAGroup(Conflict):
    pass


async def add_record(unit: Unit, incident: Incident, kind: str, body: dict[str, object],
                     author: str, at: datetime) -> int:
    """A new version of the incident's `kind` record; returns its version."""
    last = await unit.session.scalar(select(func.max(IncidentRecord.version)).where(
        IncidentRecord.incident_id == incident.id, IncidentRecord.kind == kind))
    version = (last or 0) + 1
    unit.session.add(IncidentRecord(incident_id=incident.id, kind=kind, version=version,
                                    body=body, author=author, at=at))
    return version


def _writable_group(incident: Incident) -> None:
    if incident.kind != "group":
        raise NotAGroup(f"incident {incident.id} is a {incident.kind} incident, not a group "
                        "complaint")
    if incident.state == "closed":
        raise AlreadyClosed(f"incident {incident.id} was closed at {incident.closed_at}")


async def register_group(unit: Unit, incident: Incident, actor: str, body: dict[str, object],
                         representatives: Sequence[str], rules: Rules, now: datetime) -> int:
    """接报与初步研判: "记录投诉人数、核心诉求、发生地点、当前情绪状态等关键信息", and the
    "推选出2-3名代表" (plan-group-complaint.txt). A representative is a complainant with a
    complaint of their own (their identity stays sealed in intake); naming one whose
    complaint is not a member yet joins it to the incident. Returns the record's version."""
    _writable_group(incident)
    cases = []
    for complaint_id in representatives:
        case = await unit.session.scalar(
            select(Case).where(Case.complaint_id == complaint_id).with_for_update())
        if case is None:
            raise NotFound(f"no case for complaint {complaint_id}")
        if case.incident_id not in (None, incident.id):
            raise Conflict(f"complaint {complaint_id} belongs to incident {case.incident_id}")
        cases.append(case)
    joining = sorted((c for c in cases if c.incident_id != incident.id), key=lambda c: c.id)
    if joining:  # as any look-alike joins: head-count, level, `members_added`
        await _join_group(unit, incident, joining, rules, set())
    version = await add_record(unit, incident, "registration",
                               {**body, "representatives": list(representatives)}, actor, now)
    incident.updated_at = now
    await _announce(unit, incident, incident.response_level, now, action="registered",
                    actor=actor, version=version)
    return version


async def assign_work_group(unit: Unit, incident: Incident, actor: str,
                            body: dict[str, object], now: datetime) -> int:
    """应急小组: "组长应由…高层管理人员担任" with its 专项工作组 (现场处置组、沟通谈判组、问题
    研判组、信息发布组、后勤保障组), "各工作组应明确负责人" (plan-group-complaint.txt)."""
    _writable_group(incident)
    version = await add_record(unit, incident, "work_group", body, actor, now)
    incident.updated_at = now
    await _announce(unit, incident, incident.response_level, now,
                    action="work_group_assigned", actor=actor, version=version)
    return version
