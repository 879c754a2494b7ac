"""media complaints' start (media_at) and incident records (group registration, work group)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-21 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('triage_cases', sa.Column('media_at', sa.DateTime(timezone=True),
                                            nullable=True))
    op.create_table('triage_incident_records',
    sa.Column('incident_id', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('version', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('body', sa.JSON(), nullable=False),
    sa.Column('author', sa.String(length=100), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['triage_incidents.id'], ),
    sa.PrimaryKeyConstraint('incident_id', 'kind', 'version')
    )


def downgrade() -> None:
    op.drop_table('triage_incident_records')
    op.drop_column('triage_cases', 'media_at')
