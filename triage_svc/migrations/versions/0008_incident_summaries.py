"""the post-event summary of an incident (总结评估), with its versions; the deliveries and
approved statements triage learns of from notify's events

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-21 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('triage_incident_summaries',
    sa.Column('incident_id', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('snapshot', sa.JSON(), nullable=True),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('approved_by', sa.String(length=100), nullable=True),
    sa.Column('archived_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('archived_by', sa.String(length=100), nullable=True),
    sa.ForeignKeyConstraint(['incident_id'], ['triage_incidents.id'], ),
    sa.PrimaryKeyConstraint('incident_id')
    )
    op.create_table('triage_incident_summary_versions',
    sa.Column('incident_id', sa.String(length=32), nullable=False),
    sa.Column('version', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('assessment', sa.Text(), nullable=False),
    sa.Column('lessons', sa.Text(), nullable=False),
    sa.Column('author', sa.String(length=100), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['triage_incidents.id'], ),
    sa.PrimaryKeyConstraint('incident_id', 'version')
    )
    op.create_table('triage_notifications_seen',
    sa.Column('delivery_id', sa.String(length=64), nullable=False),
    sa.Column('complaint_id', sa.String(length=32), nullable=True),
    sa.Column('incident_id', sa.String(length=32), nullable=True),
    sa.Column('recipient', sa.String(length=200), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_by', sa.String(length=100), nullable=True),
    sa.PrimaryKeyConstraint('delivery_id')
    )
    op.create_index(op.f('ix_triage_notifications_seen_complaint_id'),
                    'triage_notifications_seen', ['complaint_id'], unique=False)
    op.create_index(op.f('ix_triage_notifications_seen_incident_id'),
                    'triage_notifications_seen', ['incident_id'], unique=False)
    op.create_table('triage_statements_seen',
    sa.Column('statement_id', sa.String(length=64), nullable=False),
    sa.Column('incident_id', sa.String(length=32), nullable=True),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('approved_by', sa.String(length=100), nullable=False),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('statement_id')
    )
    op.create_index(op.f('ix_triage_statements_seen_incident_id'), 'triage_statements_seen',
                    ['incident_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_triage_statements_seen_incident_id'),
                  table_name='triage_statements_seen')
    op.drop_table('triage_statements_seen')
    op.drop_index(op.f('ix_triage_notifications_seen_incident_id'),
                  table_name='triage_notifications_seen')
    op.drop_index(op.f('ix_triage_notifications_seen_complaint_id'),
                  table_name='triage_notifications_seen')
    op.drop_table('triage_notifications_seen')
    op.drop_table('triage_incident_summary_versions')
    op.drop_table('triage_incident_summaries')
