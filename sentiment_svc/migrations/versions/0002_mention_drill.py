"""mentions carry a drill flag

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('sentiment_mentions', sa.Column('drill', sa.Boolean(),
                                                  server_default=sa.false(), nullable=False))


def downgrade() -> None:
    op.drop_column('sentiment_mentions', 'drill')
