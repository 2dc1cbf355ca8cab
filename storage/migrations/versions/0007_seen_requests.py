"""seen requests: a signed Slack request is served once

The edge (bot/edge.py) writes the hash of each verified request's signature here, and a
request whose hash is already here is answered without effect. Rows older than the
replay window are deleted as the edge goes; the table holds minutes of traffic, so it
has no index beside its key. On SQLite the edge keeps them in a file of its own beside
the database instead (Database.seen_requests_db), created there as it is first used, and
this table stays empty: one schema for both kinds of database.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "seen_requests",
        sa.Column("key", sa.LargeBinary(length=32), nullable=False),
        sa.Column("seen_at", storage.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_seen_requests")),
    )


def downgrade() -> None:
    op.drop_table("seen_requests")
