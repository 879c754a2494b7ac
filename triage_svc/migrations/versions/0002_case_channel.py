"""case channel

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 09:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('triage_cases', sa.Column('channel', sa.String(length=20), nullable=True))
    # The board lists open cases per level, newest first.
    op.create_index('ix_triage_cases_level_opened', 'triage_cases',
                    ['response_level', 'opened_at', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_triage_cases_level_opened', table_name='triage_cases')
    op.drop_column('triage_cases', 'channel')
