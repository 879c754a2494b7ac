"""Triage's routes, one module per resource: `cases` (the case list, one case, its
actions), `casefile` (the case file's records and the dossier), `incidents`, `summary`
(an incident's post-event summary), `reports`, `rectification` (corrective actions and
accountability); `deps` holds what they share. A route parses, calls `queries` (reads) or
the domain modules (writes, in the request's unit, which commits), and returns a schema."""

from __future__ import annotations

from triage_svc.api import casefile, cases, incidents, rectification, reports, summary

ROUTERS = (cases.router, casefile.router, incidents.router, summary.router, reports.router,
           rectification.cases, rectification.incident_routes)
