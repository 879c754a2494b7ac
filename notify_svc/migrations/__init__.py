"""Alembic migrations of notify's tables (PostgreSQL)."""
