"""Lessons: who may publish, where they go, once per question, and the Markdown export."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.cli import export_lessons
from bot.config import ConfigError, Settings
from bot.services import catalog, lessons
from bot.services.errors import AlreadyPublished, NotAllowed, NotAnswered
from storage.db import Database
from storage.models import Community, Lesson, Question
from tests.factories import add_community

AMS = ZoneInfo("Europe/Amsterdam")
ADMINS = frozenset({"UADMIN"})
NOW = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)
ANSWER = "Ja, <b>alle</b> algoritmes & modellen."

CATALOGUE = """
[[programme]]
name = "City Deal"
channel = "C0CITYDEAL"

[[community]]
slug = "ethiek"
name = "Ethiek"
programme = "City Deal"
facilitators = ["UFAC"]

[[community]]
slug = "groen-klein"
name = "Groen klein"
programme = "Groene Stad Challenge"
"""


def _load(db: Database, text: str = CATALOGUE) -> None:
    with db.write() as session:
        catalog.apply(
            session, catalog.parse(text, AMS), programmes=catalog.parse_programmes(text), now=NOW
        )


def _next_number(session: Session, community_id: int) -> int:
    """The community's next question number, as questions.ask gives it."""
    latest = session.scalar(
        select(func.max(Question.number)).where(Question.community_id == community_id)
    )
    return (latest or 0) + 1


def _question(db: Database, *, status: str = Question.ANSWERED, slug: str = "ethiek") -> int:
    with db.write() as session:
        community = session.scalars(select(Community).where(Community.slug == slug)).one()
        question = Question(
            community_id=community.id, number=_next_number(session, community.id),
            text="Moet elk algoritme in het register?",
            asked_by="U1", status=status,
            answer=ANSWER if status == Question.ANSWERED else None,
        )  # fmt: skip
        session.add(question)
        session.flush()
        return question.id


def _publish_text(db: Database, text: str, *, user: str = "UFAC", query: str = "ethiek",
                  default: str | None = None) -> lessons.Published:  # fmt: skip
    with db.write() as session:
        return lessons.publish_text(session, query=query, user_id=user, text=text,
                                    admins=ADMINS, now=NOW, default_channel=default)  # fmt: skip


def test_the_catalogue_gives_each_community_its_programmes_lessons_channel(db: Database) -> None:
    _load(db)
    with db.read() as session:
        rows = session.execute(select(Community.slug, Community.lessons_channel_id))
        channels = {slug: channel for slug, channel in rows}
    assert channels == {"ethiek": "C0CITYDEAL", "groen-klein": None}


def test_a_programme_without_a_channel_id_stops_the_load() -> None:
    with pytest.raises(catalog.CatalogError, match="programme 'City Deal'"):
        catalog.parse_programmes('[[programme]]\nname = "City Deal"\nchannel = "algemeen"\n')


def test_a_lesson_goes_to_the_programme_channel_else_to_the_default(db: Database) -> None:
    _load(db)
    assert _publish_text(db, "Begin klein.").channel_id == "C0CITYDEAL"
    other = _publish_text(db, "Samen inkopen.", user="UADMIN", query="groen-klein",
                          default="C0ALLEMAAL")  # fmt: skip
    assert other.channel_id == "C0ALLEMAAL"
    nowhere = _publish_text(db, "Geen kanaal.", user="UADMIN", query="groen-klein")
    assert nowhere.channel_id is None
    with db.read() as session:
        assert session.scalar(select(Lesson.text).where(Lesson.id == nowhere.lesson.id))


def test_only_facilitators_and_admins_publish_lessons(db: Database) -> None:
    _load(db)
    with pytest.raises(NotAllowed):
        _publish_text(db, "Mag niet.", user="U1")
    question = _question(db)
    with db.write() as session, pytest.raises(NotAllowed):
        lessons.publish_question(session, question_id=question, user_id="U1", admins=ADMINS,
                                 now=NOW, default_channel=None)  # fmt: skip
    with db.read() as session:
        assert session.scalar(select(Lesson.id)) is None


def test_an_answered_question_is_published_once(db: Database) -> None:
    _load(db)
    question = _question(db)
    with db.write() as session:
        published = lessons.publish_question(
            session, question_id=question, user_id="UFAC", admins=ADMINS, now=NOW,
            default_channel=None,
        )  # fmt: skip
    assert published.lesson.title == "Moet elk algoritme in het register?"
    assert published.lesson.text.startswith("Ja, <b>alle</b>")
    with db.write() as session, pytest.raises(AlreadyPublished):
        lessons.publish_question(session, question_id=question, user_id="UADMIN",
                                 admins=ADMINS, now=NOW, default_channel=None)  # fmt: skip


def test_an_open_question_is_no_lesson_yet(db: Database) -> None:
    _load(db)
    question = _question(db, status=Question.RESEARCH)
    with db.write() as session, pytest.raises(NotAnswered):
        lessons.publish_question(session, question_id=question, user_id="UFAC",
                                 admins=ADMINS, now=NOW, default_channel=None)  # fmt: skip


def test_export_writes_one_markdown_document_by_programme_and_community(
    db: Database, db_url: str, tmp_path: Path
) -> None:
    _load(db)
    add_community(db, "voorspellen", name="Voorspellen", programme="City Deal",
                  facilitators=("UFAC",))  # fmt: skip
    _publish_text(db, "Begin klein: <één> register & één eigenaar.")
    _publish_text(db, "Test op oude data.", query="voorspellen")
    question = _question(db)
    with db.write() as session:
        lessons.publish_question(session, question_id=question, user_id="UFAC",
                                 admins=ADMINS, now=NOW, default_channel=None)  # fmt: skip
    output = tmp_path / "lessen.md"
    settings = Settings(database_url=db_url, timezone=AMS)
    document = export_lessons(settings, output=output)
    assert output.read_text(encoding="utf-8") == document
    assert document.startswith("# Lessen uit de Communities of Practice\n")
    assert document.count("## City Deal") == 1
    assert document.index("### Ethiek") < document.index("### Voorspellen")
    assert "**Vraag:** Moet elk algoritme in het register?" in document
    # HTML in the users' text is shown, not rendered: escaped once, for Markdown.
    assert "Ja, &lt;b&gt;alle&lt;/b&gt; algoritmes &amp; modellen." in document
    assert "Begin klein: &lt;één&gt; register &amp; één eigenaar." in document
    assert "<" not in document and "&amp;amp;" not in document and "&amp;lt;" not in document
    assert "Gedeeld op maandag 23 november 2026" in document


def test_cop_community_channel_is_read_and_checked() -> None:
    assert Settings.from_env({"COP_COMMUNITY_CHANNEL": "C0ALLEMAAL"}).community_channel == (
        "C0ALLEMAAL"
    )
    with pytest.raises(ConfigError, match="COP_COMMUNITY_CHANNEL"):
        Settings.from_env({"COP_COMMUNITY_CHANNEL": "#algemeen"})
