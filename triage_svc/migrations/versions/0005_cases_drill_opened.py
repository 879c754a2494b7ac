"""an index for reports over a period: cases by drill flag and opening time

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-10 10:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # bench/reports.py: a weekly hotspot report over 100,000 cases reads a quarter of them
    # through it (bitmap scan) instead of the whole table.
    op.create_index('ix_triage_cases_drill_opened', 'triage_cases', ['drill', 'opened_at'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_triage_cases_drill_opened', table_name='triage_cases')
