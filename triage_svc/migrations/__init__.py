"""Alembic migrations of triage's tables (PostgreSQL)."""
