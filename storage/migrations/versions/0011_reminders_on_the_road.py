"""reminders on the delivery road: the reminders' own ledger (deliveries) goes

A due reminder is now fanned out into outbox items (kinds reminder_dm and
reminder_channel, subject the reminder's id). What the ledger still had to send moves
over: a pending delivery becomes a pending item; one that was being sent, or was tried
before (its post may have reached Slack), becomes an unsure item that carries the
ledger's key (`{"key": "delivery-<id>"}`), under which the reminder's handler looks it up
in Slack before posting it. Then the table is dropped.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KIND = "CASE WHEN kind = 'dm' THEN 'reminder_dm' ELSE 'reminder_channel' END"
_TRIED = "(state = 'sending' OR attempts > 0)"


def upgrade() -> None:
    op.execute(
        f"""
        INSERT INTO outbox (kind, recipient, subject, state, attempts, not_before, created_at,
                            payload, unsure)
        SELECT {_KIND}, recipient, CAST(reminder_id AS VARCHAR(64)), 'pending', attempts,
               not_before, COALESCE(claimed_at, not_before),
               CASE WHEN {_TRIED}
                    THEN '{{"key":"delivery-' || CAST(id AS VARCHAR(32)) || '"}}' END,
               CASE WHEN {_TRIED} THEN TRUE ELSE FALSE END
        FROM deliveries
        WHERE state IN ('pending', 'sending')
        ORDER BY id
        """
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_state")
    op.drop_table("deliveries")


def downgrade() -> None:
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reminder_id", sa.Integer(), nullable=False),
        sa.Column("recipient", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("not_before", storage.models.UTCDateTime(), nullable=False),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("claimed_at", storage.models.UTCDateTime(), nullable=True),
        sa.Column("sent_at", storage.models.UTCDateTime(), nullable=True),
        sa.Column("ts", sa.String(length=32), nullable=True),
        sa.Column("error", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["reminder_id"],
            ["reminders.id"],
            name=op.f("fk_deliveries_reminder_id_reminders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
        sa.UniqueConstraint("reminder_id", "recipient", name=op.f("uq_deliveries_reminder_id")),
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_deliveries_state", ["state", "not_before"], unique=False)
    # What waits on the road goes back into the ledger (sent again without a lookup: the
    # old ledger looked up only its own claims).
    op.execute(
        """
        INSERT INTO deliveries (reminder_id, recipient, kind, state, attempts, not_before)
        SELECT CAST(subject AS INTEGER), recipient,
               CASE WHEN kind = 'reminder_dm' THEN 'dm' ELSE 'channel' END, 'pending',
               attempts, not_before
        FROM outbox
        WHERE kind IN ('reminder_dm', 'reminder_channel') AND state IN ('pending', 'sending')
          AND CAST(subject AS INTEGER) IN (SELECT id FROM reminders)
        """
    )
    op.execute("DELETE FROM outbox WHERE kind IN ('reminder_dm', 'reminder_channel')")
