"""outbox lanes: look up due items by kind

Welcome DMs go out at once while calendar files wait their turn at Slack's file pace, so
each kind is claimed on its own. Keyed on kind first, a burst of waiting calendar files
no longer lies in the way of finding the next welcome.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 17:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_due")
        batch_op.create_index("ix_outbox_lane", ["kind", "state", "not_before"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_lane")
        batch_op.create_index("ix_outbox_due", ["state", "not_before"], unique=False)
