"""rectifications (整改措施) and accountability (追责问责); a case's repeat reason (重复投诉)
and when its personal data was purged (retention)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('triage_cases', sa.Column('repeat_reason', sa.String(length=500),
                                            nullable=True))
    op.add_column('triage_cases', sa.Column('personal_data_purged_at',
                                            sa.DateTime(timezone=True), nullable=True))
    op.create_table('triage_rectifications',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('case_id', sa.String(length=32), nullable=True),
    sa.Column('incident_id', sa.String(length=32), nullable=True),
    sa.Column('action', sa.String(length=2000), nullable=False),
    sa.Column('owner', sa.String(length=100), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('verified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('verified_by', sa.String(length=100), nullable=True),
    sa.Column('verify_note', sa.String(length=2000), nullable=True),
    sa.Column('reminded_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['triage_cases.id'], ),
    sa.ForeignKeyConstraint(['incident_id'], ['triage_incidents.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_triage_rectifications_case_id', 'triage_rectifications', ['case_id'],
                    unique=False)
    op.create_index('ix_triage_rectifications_incident_id', 'triage_rectifications',
                    ['incident_id'], unique=False)
    op.create_index('ix_triage_rectifications_open_due', 'triage_rectifications',
                    ['verified_at', 'reminded_at', 'due_at'], unique=False)
    op.create_table('triage_accountability',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('case_id', sa.String(length=32), nullable=False),
    sa.Column('department', sa.String(length=200), nullable=False),
    sa.Column('person', sa.String(length=100), nullable=True),
    sa.Column('finding', sa.String(length=5000), nullable=False),
    sa.Column('measure', sa.String(length=2000), nullable=False),
    sa.Column('recorded_by', sa.String(length=100), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['triage_cases.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_triage_accountability_case_id', 'triage_accountability', ['case_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_triage_accountability_case_id', table_name='triage_accountability')
    op.drop_table('triage_accountability')
    op.drop_index('ix_triage_rectifications_open_due', table_name='triage_rectifications')
    op.drop_index('ix_triage_rectifications_incident_id', table_name='triage_rectifications')
    op.drop_index('ix_triage_rectifications_case_id', table_name='triage_rectifications')
    op.drop_table('triage_rectifications')
    op.drop_column('triage_cases', 'personal_data_purged_at')
    op.drop_column('triage_cases', 'repeat_reason')
