"""the case file: registration, records (plan, investigation, opinion, transfer), owner,
plan deadline, archive; escalation timers unique per step and clock

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-20 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('triage_cases', sa.Column('owner', sa.String(length=100), nullable=True))
    op.add_column('triage_cases', sa.Column('plan_by', sa.DateTime(timezone=True),
                                            nullable=True))
    op.add_column('triage_cases', sa.Column('archived_at', sa.DateTime(timezone=True),
                                            nullable=True))
    op.drop_constraint('uq_triage_escalations_case_step', 'triage_escalations', type_='unique')
    op.create_unique_constraint('uq_triage_escalations_case_step', 'triage_escalations',
                                ['case_id', 'step', 'clock'])
    op.create_table('triage_registrations',
    sa.Column('case_id', sa.String(length=32), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('subject', sa.String(length=500), nullable=True),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('location', sa.String(length=500), nullable=True),
    sa.Column('target_department', sa.String(length=200), nullable=True),
    sa.Column('target_product', sa.String(length=200), nullable=True),
    sa.Column('people_count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['triage_cases.id'], ),
    sa.PrimaryKeyConstraint('case_id')
    )
    op.create_table('triage_case_records',
    sa.Column('case_id', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('version', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('body', sa.JSON(), nullable=False),
    sa.Column('author', sa.String(length=100), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['triage_cases.id'], ),
    sa.PrimaryKeyConstraint('case_id', 'kind', 'version')
    )


def downgrade() -> None:
    op.drop_table('triage_case_records')
    op.drop_table('triage_registrations')
    op.drop_constraint('uq_triage_escalations_case_step', 'triage_escalations', type_='unique')
    op.create_unique_constraint('uq_triage_escalations_case_step', 'triage_escalations',
                                ['case_id', 'step'])
    op.drop_column('triage_cases', 'archived_at')
    op.drop_column('triage_cases', 'plan_by')
    op.drop_column('triage_cases', 'owner')
