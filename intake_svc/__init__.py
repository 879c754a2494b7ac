"""Intake: complaints as received, idempotency keys and complainant data (encrypted)."""
