"""answer versions and the filer's reference

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-08 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('triage_cases', sa.Column('external_ref', sa.String(length=200),
                                            nullable=True))
    op.create_table('triage_answers',
    sa.Column('case_id', sa.String(length=32), nullable=False),
    sa.Column('version', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('text', sa.String(length=5000), nullable=False),
    sa.Column('author', sa.String(length=100), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['triage_cases.id'], ),
    sa.PrimaryKeyConstraint('case_id', 'version')
    )
    # An answer recorded before versions existed becomes version 1, by whoever recorded
    # the case's last `answered` entry (the earlier ones were overwritten).
    last = ("(SELECT t.{0} FROM triage_timeline t WHERE t.case_id = c.id "
            "AND t.action = 'answered' ORDER BY t.at DESC, t.id DESC LIMIT 1)")
    op.execute("INSERT INTO triage_answers (case_id, version, text, author, at) "
               f"SELECT c.id, 1, c.answer, COALESCE({last.format('actor')}, 'unknown'), "
               f"COALESCE({last.format('at')}, c.opened_at) FROM triage_cases c "
               "WHERE c.answer IS NOT NULL")


def downgrade() -> None:
    op.drop_table('triage_answers')
    op.drop_column('triage_cases', 'external_ref')
