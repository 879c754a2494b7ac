"""stories and topics stamped with the intake revision, and the revision row that makes the
mention batches of every replica take turns

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'sentiment_intake_revision',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('revision', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id'))
    op.execute("INSERT INTO sentiment_intake_revision (id, revision) VALUES (1, 0)")
    for table in ('sentiment_stories', 'sentiment_topics'):
        op.add_column(table, sa.Column('revision', sa.Integer(), server_default='0',
                                       nullable=False))
        op.create_index(f'ix_{table}_revision', table, ['revision'], unique=False)


def downgrade() -> None:
    for table in ('sentiment_stories', 'sentiment_topics'):
        op.drop_index(f'ix_{table}_revision', table_name=table)
        op.drop_column(table, 'revision')
    op.drop_table('sentiment_intake_revision')
