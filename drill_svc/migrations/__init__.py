"""Alembic migrations of sentiment's tables (PostgreSQL)."""
