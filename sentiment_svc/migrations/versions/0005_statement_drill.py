"""a drill's statements are kept out of the public-opinion report

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 02:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('sentiment_statements', sa.Column('drill', sa.Boolean(),
                                                    server_default=sa.false(), nullable=False))


def downgrade() -> None:
    op.drop_column('sentiment_statements', 'drill')
