"""Alembic migrations of the gateway's tables (PostgreSQL)."""
