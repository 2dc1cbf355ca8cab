"""Personal data through signed requests: /cop mijn gegevens, /cop vergeet mij (after the
confirmation), /cop audit, the retention chore, and the CLI for admins."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
from typing import Any

import pytest
from sqlalchemy import String, Text, func, inspect, select

from bot import cli
from bot.clock import FrozenClock
from bot.config import Settings
from bot.runtime import Services
from bot.sandbox.standin import SlackStandIn
from bot.services import audit, membership, privacy
from storage.db import Database
from storage.models import AuditEntry, Base, Departure, Membership, Question, Topic
from tests.factories import add_community, meeting
from tests.handlers.support import CheckedSlack, buttons, dms_to, texts

MARCH_30 = dt.datetime(2027, 3, 30, 12, 0, tzinfo=dt.UTC)
BOB = "U0BOB"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # With a public URL `/cop kalender` hands out a feed token: personal data too.
    return dataclasses.replace(settings, public_url="https://cop.example.org")


@pytest.fixture
def world(services: Services, slack: CheckedSlack) -> None:
    """Bob is a member (and facilitator) of the full Ethiek, UCAROL waits behind him; Bob
    has asked a question, proposed a topic, voted, answered a meeting, chosen English and
    has a feed token. UALICE is a member who mentions Bob in her question."""
    add_community(
        services.db, "ethiek", name="Ethiek", capacity=2, facilitators=(BOB,),
        meetings=(meeting(MARCH_30, key="start"),),
    )  # fmt: skip
    add_community(services.db, "data", name="Data")
    for user, slug in ((BOB, "ethiek"), ("UALICE", "ethiek"), ("UCAROL", "ethiek"), (BOB, "data")):
        with services.db.write() as session:
            membership.join(session, query=slug, user_id=user, now=services.clock(),
                            tz=services.settings.timezone)  # fmt: skip
    assert "#1" in texts(slack.command(BOB, "vraag ethiek Hoe begin je een register?").json())
    slack.command("UALICE", f"vraag ethiek Wat vindt @{BOB} ervan?")
    slack.command(BOB, "onderwerp ethiek Algoritmeregister")
    slack.command("UALICE", "taal en")
    slack.command(BOB, "taal en")
    slack.command(BOB, "kalender")
    with services.db.read() as session:
        topic_id = session.scalar(select(Topic.id))
        meeting_id = session.scalar(select(func.min(Question.id)))
    slack.click(BOB, "topic_vote", str(topic_id))
    slack.click(BOB, "question_vote", str(meeting_id))
    assert services.wait_idle(5)


def every_string_holding(db: Database, value: str) -> list[str]:
    """table.column for every string column of every table in the database (as the
    database itself lists them) that holds `value` somewhere."""
    found = []
    with db.engine.connect() as conn:
        schema = inspect(conn)
        tables = schema.get_table_names()
        assert {"memberships", "audit_log", "questions", "outbox"} <= set(tables)
        for table in tables:
            meta = Base.metadata.tables.get(table)
            if meta is None:
                continue  # alembic_version
            for column in schema.get_columns(table):
                if not isinstance(column["type"], String | Text):
                    continue
                col = meta.c[column["name"]]
                hits = conn.execute(
                    select(func.count()).select_from(meta).where(col.contains(value))
                ).scalar()
                if hits:
                    found.append(f"{table}.{column['name']}")
    return found


def responses(standin: SlackStandIn) -> list[dict[str, Any]]:
    return [c.args for c in standin.calls("response_url")]


# -- my data ----------------------------------------------------------------------------


@pytest.mark.usefixtures("world")
def test_my_data_says_a_dm_is_coming_and_sends_a_summary_and_a_json_file_of_every_table(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    reply = slack.command(BOB, "mijn gegevens").json()
    assert "DM" in reply["text"]
    assert services.wait_idle(5)
    summary = texts(dms_to(standin, BOB)[-1].args)
    assert "Ethiek (member)" in summary and "Data (member)" in summary  # Bob chose English
    assert "Facilitator of:* Ethiek" in summary
    [upload] = [c for c in standin.calls("upload") if c.args["content"].startswith("{")]
    data = json.loads(upload.args["content"])
    assert data["user_id"] == BOB
    tables = data["tables"]
    assert {r["status"] for r in tables["memberships"]} == {"member"}
    assert len(tables["memberships"]) == 2
    assert [r["user_id"] for r in tables["facilitators"]] == [BOB]
    assert [r["text"] for r in tables["questions"]] == ["Hoe begin je een register?"]
    assert [r["language"] for r in tables["user_settings"]] == ["en"]
    assert len(tables["calendar_feeds"]) == 1 and len(tables["topic_votes"]) == 1
    assert len(tables["question_votes"]) == 1
    # Nobody else's rows: Alice's question and membership are not in Bob's file.
    assert all(BOB in json.dumps(rows) for rows in tables.values() if rows)
    assert "UALICE" not in upload.args["content"]


# -- forget me --------------------------------------------------------------------------


@pytest.mark.usefixtures("world")
def test_forget_me_asks_with_a_confirm_dialog_and_the_click_leaves_the_id_nowhere(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    ask = slack.command(BOB, "vergeet mij").json()
    [forget] = buttons(ask)
    assert forget["action_id"] == "privacy_forget"
    assert forget["confirm"]["confirm"]["text"]  # Slack asks "are you sure?" first
    assert every_string_holding(services.db, BOB)  # nothing happened yet
    assert slack.click(BOB, "privacy_forget", "me").status == 200
    assert services.wait_idle(5)
    assert "removed everything" in texts(responses(standin)[-1])

    assert every_string_holding(services.db, BOB) == []
    # The forget request is in the audit log under a salted hash.
    with services.db.read() as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == audit.FORGOTTEN)
        ).one()
        salt = audit.salt(session, None)
    assert entry.subject == audit.pseudonym(BOB, salt) and entry.actor == entry.subject
    # Carol moved up into Bob's seat, by the waitlist rule, and was welcomed.
    assert any("Ethiek" in texts(c.args) for c in dms_to(standin, "UCAROL"))
    # The admin heard that Ethiek lost its facilitator, without Bob's id.
    [admin_dm] = [c for c in dms_to(standin, "UADMIN") if "Ethiek" in texts(c.args)]
    assert BOB not in json.dumps(admin_dm.args)
    # The questions still read, without a name; Alice's mention of Bob lost the id.
    listed = texts(slack.command("UALICE", "vragen ethiek").json())
    assert "Hoe begin je een register?" in listed and "a former member" in listed
    assert "@oud-lid" in listed
    assert "a former member" in texts(slack.command("UALICE", "onderwerpen ethiek").json())


@pytest.mark.usefixtures("world")
def test_forgetting_twice_or_someone_unknown_changes_nothing_more(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    slack.click(BOB, "privacy_forget", "me")
    assert services.wait_idle(5)
    slack.click(BOB, "privacy_forget", "UALICE")  # the value never names whom to forget
    assert services.wait_idle(5)
    with services.db.read() as session:
        alice = session.scalar(select(Membership.id).where(Membership.user_id == "UALICE"))
        forgotten = session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == audit.FORGOTTEN)
        )
    assert alice is not None
    assert forgotten == 2
    assert every_string_holding(services.db, BOB) == []


# Columns named like a person's that hold something else: a process, a community's slug.
NOT_PEOPLE = {("outbox", "claimed_by"), ("outbox", "subject")}


def test_every_user_column_is_known_to_the_export_and_the_forget() -> None:
    known = {(m.__tablename__, c.key) for m, cols in privacy.USER_COLUMNS.items() for c in cols}
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            name = column.name
            if name in ("user_id", "recipient", "actor", "subject") or name.endswith("_by"):
                if (table.name, name) in NOT_PEOPLE:
                    continue
                assert (table.name, name) in known, f"{table.name}.{name} is not in USER_COLUMNS"


# -- the audit log ----------------------------------------------------------------------


@pytest.mark.usefixtures("world")
def test_the_audit_log_is_for_admins_names_role_changes_and_pages(
    slack: CheckedSlack, services: Services, standin: SlackStandIn
) -> None:
    assert "admin" in texts(slack.command(BOB, "audit").json()).lower()
    slack.command("UADMIN", "kartrekker ethiek @UALICE")
    shown = texts(slack.command("UADMIN", "audit ethiek").json())
    assert "kartrekker benoemd" in shown and "<@UALICE>" in shown and "<@UADMIN>" in shown
    with services.db.write() as session:
        for i in range(20):
            audit.record(session, action=audit.COMMUNITY_UPDATED, actor="catalog",
                         community="data", now=services.clock(), detail=f"edit {i}")  # fmt: skip
    first = slack.command("UADMIN", "audit").json()
    [more] = buttons(first)
    assert "edit 19" in texts(first) and "edit 0" not in texts(first)
    slack.click("UADMIN", more["action_id"], more["value"])
    assert services.wait_idle(5)
    assert "Pagina 2" in texts(responses(standin)[-1])
    slack.click(BOB, more["action_id"], more["value"])  # forged by a non-admin
    assert services.wait_idle(5)
    assert "edit" not in texts(responses(standin)[-1])


# -- retention --------------------------------------------------------------------------


@pytest.mark.usefixtures("world")
def test_who_left_long_ago_is_forgotten_by_the_daily_chore_and_who_came_back_is_not(
    slack: CheckedSlack, services: Services, clock: FrozenClock
) -> None:
    from handlers.privacy import retention_chore

    slack.command("UALICE", "afmelden ethiek")
    slack.command("UCAROL", "afmelden ethiek")
    slack.command("UCAROL", "aanmelden ethiek")  # back again
    assert services.wait_idle(5)
    with services.db.read() as session:
        assert session.get(Departure, "UALICE") is not None
    assert retention_chore(services) == 0  # nobody left long enough ago
    clock.advance(dt.timedelta(days=366))
    assert retention_chore(services) == 1
    assert every_string_holding(services.db, "UALICE") == []
    assert every_string_holding(services.db, "UCAROL")  # came back: still a member
    with services.db.read() as session:
        actions = session.scalars(select(AuditEntry.action)).all()
    assert audit.RETENTION in actions
    # At most once a day: Carol's leave, dated long ago, waits for tomorrow's run.
    slack.command("UCAROL", "afmelden ethiek")
    with services.db.write() as session:
        departure = session.get(Departure, "UCAROL")
        assert departure is not None
        departure.left_at = clock.now - dt.timedelta(days=400)
    assert retention_chore(services) == 0
    clock.advance(dt.timedelta(days=1))
    assert retention_chore(services) == 1
    assert every_string_holding(services.db, "UCAROL") == []


# -- the CLI ----------------------------------------------------------------------------


@pytest.fixture
def cli_env(
    monkeypatch: pytest.MonkeyPatch, services: Services, world: None, tmp_path: Any
) -> None:
    monkeypatch.setenv("DATABASE_URL", services.settings.database_url)
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)  # no .env of the working directory


@pytest.mark.usefixtures("cli_env")
def test_the_cli_exports_forgets_with_yes_and_exports_the_audit_log(
    capsys: pytest.CaptureFixture[str], services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli.main(["privacy", "export", BOB]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data["tables"]["memberships"]) == 2
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    with pytest.raises(SystemExit):
        cli.main(["privacy", "forget", BOB])
    assert every_string_holding(services.db, BOB)  # said no: nothing removed
    capsys.readouterr()
    assert cli.main(["privacy", "forget", f"<@{BOB}>", "--yes"]) == 0
    out = capsys.readouterr().out
    assert "UCAROL moved up" in out and "anon-" in out
    assert every_string_holding(services.db, BOB) == []
    assert cli.main(["audit", "export", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    forgotten = [r for r in rows if r["action"] == audit.FORGOTTEN]
    assert len(forgotten) == 1 and forgotten[0]["actor"] == "cli"
    assert forgotten[0]["subject"].startswith("anon-")
    assert cli.main(["audit", "export"]) == 0
    assert {e["action"] for e in json.loads(capsys.readouterr().out)} >= {audit.FORGOTTEN}
    with pytest.raises(SystemExit):
        cli.main(["privacy", "export", "not-a-user"])


def test_a_configured_salt_is_used_and_a_generated_one_is_kept(db: Database) -> None:
    with db.write() as session:
        assert audit.salt(session, "pepper") == "pepper"
        first = audit.salt(session, None)
    with db.write() as session:
        assert audit.salt(session, None) == first
    assert audit.pseudonym(BOB, first) != audit.pseudonym(BOB, "pepper")
    assert audit.pseudonym(BOB, first).startswith("anon-")
