"""question numbers per community: "#1" is a community's first question

Questions were shown by their table id, counted across all communities. Each now gets
`number`, counted per community in the order they were asked (existing ones numbered by
id), and each community a `question_counter` that the next question bumps. Buttons and
outbox items keep referring to questions by id.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("communities", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("question_counter", sa.Integer(), server_default="0", nullable=False)
        )
    with op.batch_alter_table("questions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("number", sa.Integer(), nullable=True))
    op.execute(
        """
        UPDATE questions SET number = (
            SELECT COUNT(*) FROM questions AS earlier
            WHERE earlier.community_id = questions.community_id AND earlier.id <= questions.id
        )
        """
    )
    op.execute(
        """
        UPDATE communities SET question_counter = COALESCE(
            (SELECT MAX(number) FROM questions WHERE questions.community_id = communities.id), 0
        )
        """
    )
    with op.batch_alter_table("questions", schema=None) as batch_op:
        batch_op.alter_column("number", existing_type=sa.Integer(), nullable=False)
        batch_op.create_unique_constraint(
            batch_op.f("uq_questions_community_id"), ["community_id", "number"]
        )


def downgrade() -> None:
    with op.batch_alter_table("questions", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_questions_community_id"), type_="unique")
        batch_op.drop_column("number")
    with op.batch_alter_table("communities", schema=None) as batch_op:
        batch_op.drop_column("question_counter")
