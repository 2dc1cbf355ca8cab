"""Migration 0012: questions asked before it get their number per community, in the order
they were asked (by id), and each community's counter continues from there."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic import command
from sqlalchemy import text

from storage import migrate
from storage.db import Database
from tests.factories import add_community


@pytest.fixture
def old_url(db_url: str) -> Iterator[str]:
    """Ethiek and Voorspellen in a database then taken back to 0011, before question
    numbers, where five questions are asked."""
    db = Database(db_url)
    try:
        add_community(db, "ethiek", name="Ethiek")
        add_community(db, "voorspellen", name="Voorspellen")
    finally:
        db.dispose()
    command.downgrade(migrate.alembic_config(db_url), "0011")
    db = Database(db_url)
    try:
        with db.engine.begin() as conn:
            rows = conn.execute(text("SELECT slug, id FROM communities")).all()
            ids = {slug: cid for slug, cid in rows}
            for slug in ("ethiek", "voorspellen", "ethiek", "ethiek", "voorspellen"):
                conn.execute(
                    text(
                        "INSERT INTO questions (community_id, text, asked_by, status, "
                        "created_at, updated_at) VALUES (:c, 'Vraag?', 'U1', 'open', "
                        "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                    ),
                    {"c": ids[slug]},
                )
    finally:
        db.dispose()
    yield db_url


def test_existing_questions_are_numbered_per_community_and_the_counter_follows(
    old_url: str,
) -> None:
    migrate.upgrade(old_url)

    db = Database(old_url)
    try:
        with db.engine.connect() as conn:
            numbered = conn.execute(
                text(
                    "SELECT c.slug, q.number FROM questions q JOIN communities c "
                    "ON c.id = q.community_id ORDER BY q.id"
                )
            ).all()
            counted = conn.execute(text("SELECT slug, question_counter FROM communities")).all()
            counters = {slug: n for slug, n in counted}
    finally:
        db.dispose()
    assert [tuple(row) for row in numbered] == [
        ("ethiek", 1), ("voorspellen", 1), ("ethiek", 2), ("ethiek", 3), ("voorspellen", 2),
    ]  # fmt: skip
    assert counters == {"ethiek": 3, "voorspellen": 2}
