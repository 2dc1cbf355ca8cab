"""membership counters on communities

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("communities", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("member_count", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("waitlist_count", sa.Integer(), server_default="0", nullable=False)
        )
    op.execute(
        "UPDATE communities SET "
        "member_count = (SELECT count(*) FROM memberships m "
        "WHERE m.community_id = communities.id AND m.status = 'member'), "
        "waitlist_count = (SELECT count(*) FROM memberships m "
        "WHERE m.community_id = communities.id AND m.status = 'waitlist')"
    )


def downgrade() -> None:
    with op.batch_alter_table("communities", schema=None) as batch_op:
        batch_op.drop_column("waitlist_count")
        batch_op.drop_column("member_count")
