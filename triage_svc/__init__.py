"""Triage: cases, response levels with reasons, SLA clocks, escalation and incidents."""
