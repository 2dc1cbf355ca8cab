"""the delivery road: every message the bot sends on its own travels the outbox

Adds what exactly-once delivery needs to the outbox: a lease that the live worker
renews (an expired one is taken over within seconds), whether an earlier attempt may
have reached Slack (then each message is looked up by its key first), the ts of what
was posted, and a payload for what a message needs beyond recipient and subject.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("payload", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("lease_until", storage.models.UTCDateTime(), nullable=True))
        batch_op.add_column(
            sa.Column("unsure", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("ts", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("ts")
        batch_op.drop_column("unsure")
        batch_op.drop_column("lease_until")
        batch_op.drop_column("payload")
