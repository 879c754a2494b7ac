"""intake sealed text

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-08 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A table of its own (not columns): SQLite files made before it gain it by create_all.
    op.create_table('intake_sealed_text',
    sa.Column('complaint_id', sa.String(length=32), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('subject', sa.LargeBinary(), nullable=True),
    sa.PrimaryKeyConstraint('complaint_id')
    )


def downgrade() -> None:
    op.drop_table('intake_sealed_text')
