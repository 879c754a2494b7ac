"""Intake consumes no events: it is the start of the flow (HTTP in, `complaint.received` out)."""
