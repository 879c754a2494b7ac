"""intake retention (archived complaints, purged personal data) and at-risk pre-registrations

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('intake_complaints',
                  sa.Column('purged_at', sa.DateTime(timezone=True), nullable=True))
    op.create_table('intake_archived',
    sa.Column('complaint_id', sa.String(length=32), nullable=False),
    sa.Column('archived_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('purge_after', sa.DateTime(timezone=True), nullable=False),
    sa.Column('purged_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('complaint_id')
    )
    op.create_index('ix_intake_archived_purge_after', 'intake_archived', ['purge_after'],
                    unique=False)
    op.create_table('intake_at_risk',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('phone_key', sa.String(length=64), nullable=True),
    sa.Column('email_key', sa.String(length=64), nullable=True),
    sa.Column('note', sa.String(length=1000), nullable=False),
    sa.Column('registered_by', sa.String(length=100), nullable=False),
    sa.Column('registered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_by', sa.String(length=32), nullable=True),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_intake_at_risk_phone_key', 'intake_at_risk', ['phone_key'],
                    unique=False)
    op.create_index('ix_intake_at_risk_email_key', 'intake_at_risk', ['email_key'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_intake_at_risk_email_key', table_name='intake_at_risk')
    op.drop_index('ix_intake_at_risk_phone_key', table_name='intake_at_risk')
    op.drop_table('intake_at_risk')
    op.drop_index('ix_intake_archived_purge_after', table_name='intake_archived')
    op.drop_table('intake_archived')
    op.drop_column('intake_complaints', 'purged_at')
