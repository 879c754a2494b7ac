"""Alembic migrations of intake's tables (PostgreSQL)."""
