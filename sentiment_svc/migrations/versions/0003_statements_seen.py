"""unified statements as notify's events tell of them, for the public-opinion report

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 20:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'sentiment_statements',
        sa.Column('statement_id', sa.String(length=32), nullable=False),
        sa.Column('incident_id', sa.String(length=32), nullable=True),
        sa.Column('title', sa.String(length=500), nullable=False),
        sa.Column('approved_by', sa.String(length=100), nullable=False),
        sa.Column('approved_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('distributed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('recipients', sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint('statement_id'))
    op.create_index('ix_sentiment_statements_approved_at', 'sentiment_statements',
                    ['approved_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_sentiment_statements_approved_at', table_name='sentiment_statements')
    op.drop_table('sentiment_statements')
