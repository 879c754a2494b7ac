"""console users, sessions and saved views

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 09:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'gateway_console_users',
        sa.Column('username', sa.String(length=64), nullable=False),
        sa.Column('display_name', sa.String(length=200), nullable=False),
        sa.Column('password_hash', sa.String(length=200), nullable=False),
        sa.Column('role', sa.String(length=30), nullable=False),
        sa.Column('pii', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('disabled_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('username'),
    )
    op.create_table(
        'gateway_console_sessions',
        sa.Column('id_hash', sa.String(length=64), nullable=False),
        sa.Column('username', sa.String(length=64), nullable=False),
        sa.Column('csrf_token', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_seen', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id_hash'),
    )
    op.create_index(op.f('ix_gateway_console_sessions_username'),
                    'gateway_console_sessions', ['username'], unique=False)
    op.create_table(
        'gateway_console_views',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('username', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('query', sa.String(length=1000), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(op.f('ix_gateway_console_views_username'), 'gateway_console_views',
                    ['username'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_gateway_console_views_username'), table_name='gateway_console_views')
    op.drop_table('gateway_console_views')
    op.drop_index(op.f('ix_gateway_console_sessions_username'),
                  table_name='gateway_console_sessions')
    op.drop_table('gateway_console_sessions')
    op.drop_table('gateway_console_users')
