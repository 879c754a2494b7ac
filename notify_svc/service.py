"""What each event causes, and the notifier the routes and the dispatcher share. No HTTP
here, and no commit: everything happens in the caller's unit.

Handlers only record `pending` deliveries (or `batched` ones for the digest) inside the
event's transaction; the dispatcher sends them after the commit, so a slow peer never holds
a transaction open and a redelivered event finds its deliveries already recorded.

The concerns live in their own modules: `routing` (who an event reaches), `recording` (the
delivery rows), `callbacks` (hotline callbacks), `acknowledgement`, `digest` (level 4), and
`templating` (the messages), `briefs` (the scheduled daily and weekly briefs).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from notify_svc import acknowledgement, briefs, callbacks, digest, statements
from notify_svc.ack_tokens import AckTokens
from notify_svc.models import Delivery
from notify_svc.recording import Recorder, Refs
from notify_svc.roster import Routing
from notify_svc.routing import Router
from notify_svc.settings import NotifySettings
from notify_svc.templating import Message, Renderer, Templates
from shared.events import Envelope
from shared.events.schemas import (
    BriefFigures,
    CaseEscalated,
    CaseUpdated,
    ComplaintTriaged,
    IncidentOpened,
    IncidentUpdated,
    RectificationOverdue,
    StatementApproved,
)
from shared.runtime import ServiceRuntime, Unit, applying


class Notifier:
    def __init__(self, settings: NotifySettings, rules: Routing, templates: Templates,
                 tokens: AckTokens) -> None:
        self.settings, self.rules, self.templates, self.tokens = (
            settings, rules, templates, tokens)
        self.zone = ZoneInfo(settings.timezone)
        self.renderer = Renderer(templates, tokens, settings.public_base())
        self.recorder = Recorder(settings, tokens, self.renderer)
        self.router = Router(self.recorder, self.zone)

    # -- what each event causes ---------------------------------------------------------

    async def handle_many(self, unit: Unit, events: list[Envelope]) -> None:
        """A batch of events in one unit, as `handle` on each in turn: their deliveries
        read in one statement, the roster from the cache, the owners and clocks they
        remember written in one statement each at the end, the deliveries in one flush."""
        await self.recorder.prefetch(unit.session, [e.id for e in events])
        async with (callbacks.deferred_owners(unit.session),
                    acknowledgement.deferred_clocks(unit.session)):
            for event in events:
                with applying(event):
                    await self.handle(unit, event)

    async def handle(self, unit: Unit, event: Envelope) -> None:
        data = event.payload()
        if isinstance(data, ComplaintTriaged):
            await self._triaged(unit, event, data)
        elif isinstance(data, CaseEscalated):
            refs = Refs(data.complaint_id, data.complaint_id, data.case_id,
                        escalation_id=data.escalation_id)
            await self.router.route(unit, event, [data.step_role], refs, None)
        elif isinstance(data, CaseUpdated):
            await callbacks.remember_owner(unit.session, data.complaint_id, data.submitted_by)
            await acknowledgement.remember_clocks(unit.session, data.case_id, data.state, data)
            await callbacks.call_back(self.recorder, self.router.roster, unit, event, data,
                                      data.state, data.action)
        elif isinstance(data, IncidentOpened) or (
                isinstance(data, IncidentUpdated) and data.action == "raised"):
            if isinstance(data, IncidentOpened) and data.drill:
                await statements.remember_drill(unit, data.incident_id, data.opened_at)
            # A raised incident reaches its new level's people (members joining do not).
            roles = self.rules.roles_for_incident(data.kind, data.response_level)
            refs = Refs(data.incident_id, incident_id=data.incident_id)
            await self.router.route(unit, event, roles, refs, None)
        elif isinstance(data, StatementApproved):
            refs = Refs(data.statement_id, incident_id=data.incident_id,
                        statement_id=data.statement_id)
            sent = await self.router.route(unit, event, self.rules.statement, refs, None)
            await statements.distributed(unit, data.statement_id, recipients=len(sent))
        elif isinstance(data, RectificationOverdue):
            refs = Refs(data.complaint_id or data.incident_id or data.rectification_id,
                        data.complaint_id, data.case_id, incident_id=data.incident_id)
            await self.router.route_to_owner(unit, event, data.owner, self.rules.rectification,
                                             refs, data.department)
        elif isinstance(data, BriefFigures):
            await briefs.on_figures(unit, data, self.router, self.rules.briefs)

    async def _triaged(self, unit: Unit, event: Envelope, data: ComplaintTriaged) -> None:
        refs = Refs(data.complaint_id, data.complaint_id, data.case_id)
        # Level 4 (一般信息，影响较小) reaches the case owner in a digest, not one by one.
        batched = data.response_level in self.rules.digest_levels
        await self.router.route(unit, event, self.rules.levels.get(data.response_level, ()),
                                refs, data.department, batched=batched)
        # By category too (法务部协助处理 …), at once: a legal question does not wait for a
        # level-4 digest. Someone the level already reached is not told twice.
        level_roles = set(self.rules.levels.get(data.response_level, ()))
        helpers = [r for r in self.rules.categories.get(data.category, ())
                   if r not in level_roles]
        if helpers:
            await self.router.route(unit, event, helpers, refs, data.department)
        await callbacks.remember_owner(unit.session, data.complaint_id, data.submitted_by)
        await acknowledgement.remember_clocks(unit.session, data.case_id, "triaged", data)
        await callbacks.call_back(self.recorder, self.router.roster, unit, event, data,
                                  "triaged", "triaged")

    # -- for the routes and the dispatcher ------------------------------------------------

    async def make_digests(self, unit: Unit) -> list[Delivery]:
        return await digest.make_digests(self.recorder, unit)

    async def check_briefs(self, runtime: ServiceRuntime, now: dt.datetime | None = None
                           ) -> int:
        return await briefs.check(runtime, self.router, self.rules.briefs, self.zone, now)

    async def acknowledge(self, unit: Unit, *, by: str | None, token: str | None = None,
                          delivery_id: str | None = None) -> Delivery:
        return await acknowledgement.acknowledge(
            unit, by=by, ttl_s=self.settings.ack_token_ttl_s, token=token,
            delivery_id=delivery_id)

    def token_expired_at(self, d: Delivery) -> dt.datetime | None:
        return acknowledgement.token_expired_at(d, self.settings.ack_token_ttl_s)

    def render(self, d: Delivery, language: str | None = None) -> Message:
        return self.renderer.render(d, language)

    def ack_url(self, delivery_id: str) -> str:
        return self.renderer.ack_url(delivery_id)

    def endpoint(self, channel: str, address: str) -> str:
        return self.recorder.endpoint(channel, address)

    async def emit_sent(self, unit: Unit, d: Delivery, now: dt.datetime) -> None:
        await self.recorder.emit_sent(unit, d, now)
