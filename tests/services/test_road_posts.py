"""Agenda, minutes and lesson posts, the minutes nudge and the admins' notice after a
forget travel the delivery road: each is written to the outbox in the transaction of its
cause, and sent exactly once even when the worker that sent it died before marking it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.app import build_services
from bot.clock import FrozenClock
from bot.config import Settings
from bot.outbox import Courier, Sending, _ChannelPace
from bot.runtime import Services
from bot.sandbox.standin import Call, SlackStandIn
from bot.services import agenda, audit, lessons, minutes, outbox, privacy
from bot.slack_notifier import SlackNotifier, make_web_client
from handlers import deliveries
from storage import health
from storage.models import Community, Lesson, Meeting, OutboxItem
from tests.conftest import AMS, NOW
from tests.factories import add_community, meeting

CHANNEL = "C0ETHIEK"
LESSONS = "C0CITYDEAL"
FRIDAY = dt.datetime(2026, 11, 20, 13, 0, tzinfo=dt.UTC)  # NOW is the Monday after
LATER = dt.datetime(2027, 3, 30, 12, 0, tzinfo=dt.UTC)
TAKE_OVER = outbox.LEASE + outbox.IN_FLIGHT + dt.timedelta(seconds=1)


@pytest.fixture
def quiet(settings: Settings, clock: FrozenClock) -> Iterator[Services]:
    """The services without a courier: nothing is sent unless a test sends it."""
    svc = build_services(settings, clock=clock, courier=False)
    yield svc
    svc.shutdown()


@pytest.fixture
def ids(quiet: Services) -> dict[str, int]:
    add_community(
        quiet.db, "ethiek", name="Ethiek", programme="City Deal", channel=CHANNEL,
        facilitators=("UFAC", "UFAC2"),
        meetings=(meeting(FRIDAY, key="friday"), meeting(LATER, key="later")),
    )  # fmt: skip
    with quiet.db.write() as session:
        session.execute(update(Community).values(lessons_channel_id=LESSONS))
        return {key: mid for key, mid in session.execute(select(Meeting.key, Meeting.id))}


def _items(services: Services, kind: str) -> list[tuple[str, str, str]]:
    with services.db.read() as session:
        rows = session.execute(
            select(OutboxItem.recipient, OutboxItem.subject, OutboxItem.state)
            .where(OutboxItem.kind == kind)
            .order_by(OutboxItem.id)
        )
        return [(r, s, st) for r, s, st in rows]


def _posts(standin: SlackStandIn, channel: str, method: str = "chat.postMessage") -> list[Call]:
    return [c for c in standin.calls(method) if c.args.get("channel") == channel]


def _crash_then_take_over(services: Services, clock: FrozenClock, kind: str) -> None:
    """A worker claims the items of `kind` and sends them through their handler, then
    dies before marking them; after the lease (and the in-flight bound) another worker
    takes them over and must not send anything twice."""
    lanes = deliveries.lanes(services)
    with services.db.write() as session:
        claimed = outbox.claim(session, kind=kind, owner="dead", now=clock(), limit=100)
    assert claimed, f"no {kind} item waited"
    for item in claimed:
        sending = Sending(services.notifier, item, now=clock(), pace=_ChannelPace(0))
        lanes[kind].handler(item, sending)
    clock.advance(TAKE_OVER)
    heir = Courier(services.db, services.notifier, lanes, owner="heir", clock=clock)
    try:
        assert heir.drain() >= len(claimed)  # and whatever else waits
    finally:
        heir.close()
    assert {state for _, _, state in _items(services, kind)} == {OutboxItem.DONE}


def _in_a_rolled_back_transaction(services: Services, change: Callable[[Session], Any]) -> None:
    class Abandoned(Exception):
        pass

    with pytest.raises(Abandoned), services.db.write() as session:
        change(session)
        raise Abandoned


def _save_agenda(session: Session, meeting_id: int, text: str) -> None:
    agenda.save_agenda(
        session, meeting_id=meeting_id, user_id="UFAC", text=text, speakers=None,
        admins=(), now=NOW,
    )  # fmt: skip


# -- the agenda -------------------------------------------------------------------------


def test_a_saved_agenda_is_queued_with_the_save_and_posted_once_with_one_note(
    quiet: Services, standin: SlackStandIn, clock: FrozenClock, ids: dict[str, int]
) -> None:
    _in_a_rolled_back_transaction(quiet, lambda s: _save_agenda(s, ids["later"], "1. Welkom"))
    assert _items(quiet, outbox.AGENDA_POST) == []

    with quiet.db.write() as session:
        _save_agenda(session, ids["later"], "1. Welkom")
    # Committed with the agenda, nothing sent yet: no worker runs here.
    assert _items(quiet, outbox.AGENDA_POST) == [("UFAC", str(ids["later"]), OutboxItem.PENDING)]
    assert standin.calls("chat.postMessage") == []

    _crash_then_take_over(quiet, clock, outbox.AGENDA_POST)
    [post] = _posts(standin, CHANNEL)
    assert "Welkom" in post.args["text"] + str(post.args["blocks"])
    [note] = _posts(standin, "UFAC")
    assert "geplaatst in <#C0ETHIEK>" in note.args["text"]
    with quiet.db.read() as session:
        stored = session.get(Meeting, ids["later"])
        assert stored is not None and stored.agenda_ts == post.response["ts"]
    assert _posts(standin, CHANNEL, "chat.update") == []


def test_an_edited_agenda_updates_the_post_and_its_note_comes_once(
    quiet: Services, standin: SlackStandIn, clock: FrozenClock, ids: dict[str, int]
) -> None:
    with quiet.db.write() as session:
        _save_agenda(session, ids["later"], "1. Welkom")
    _crash_then_take_over(quiet, clock, outbox.AGENDA_POST)
    with quiet.db.write() as session:
        _save_agenda(session, ids["later"], "1. Welkom\n2. Casus Zwolle")

    _crash_then_take_over(quiet, clock, outbox.AGENDA_POST)
    assert len(_posts(standin, CHANNEL)) == 1  # no second post
    updates = _posts(standin, CHANNEL, "chat.update")
    assert updates and all("Casus Zwolle" in str(u.args["blocks"]) for u in updates)
    notes = [c.args["text"] for c in _posts(standin, "UFAC")]
    assert len(notes) == 2 and "bijgewerkt" in notes[1]


def test_an_agenda_that_cannot_be_posted_tells_its_author_once(
    quiet: Services, standin: SlackStandIn, clock: FrozenClock, ids: dict[str, int]
) -> None:
    standin.add_channel(CHANNEL, archived=True)
    with quiet.db.write() as session:
        _save_agenda(session, ids["later"], "1. Welkom")
    _crash_then_take_over(quiet, clock, outbox.AGENDA_POST)
    [note] = _posts(standin, "UFAC")
    assert "is_archived" in note.args["text"]


# -- the minutes ------------------------------------------------------------------------


def test_saved_minutes_are_queued_with_the_save_and_posted_once(
    quiet: Services, standin: SlackStandIn, clock: FrozenClock, ids: dict[str, int]
) -> None:
    def save(session: Session) -> None:
        minutes.save(
            session, meeting_id=ids["friday"], user_id="UFAC", text="Besproken: registers.",
            admins=(), now=NOW,
        )  # fmt: skip

    _in_a_rolled_back_transaction(quiet, save)
    assert _items(quiet, outbox.MINUTES_POST) == []
    with quiet.db.write() as session:
        save(session)
    assert _items(quiet, outbox.MINUTES_POST) == [("UFAC", str(ids["friday"]), OutboxItem.PENDING)]
    assert standin.calls("chat.postMessage") == []

    _crash_then_take_over(quiet, clock, outbox.MINUTES_POST)
    [post] = _posts(standin, CHANNEL)
    assert "Besproken: registers." in str(post.args["blocks"])
    assert _posts(standin, "UFAC") == []  # posted: nothing to tell
    with quiet.db.read() as session:
        stored = session.get(Meeting, ids["friday"])
        assert stored is not None
        assert stored.minutes_ts == post.response["ts"] and stored.minutes_permalink


def test_minutes_saved_again_while_the_first_post_waits_for_its_retry_update_that_post(
    quiet: Services, standin: SlackStandIn, clock: FrozenClock, ids: dict[str, int]
) -> None:
    def save(text: str) -> None:
        with quiet.db.write() as session:
            minutes.save(
                session, meeting_id=ids["friday"], user_id="UFAC", text=text, admins=(),
                now=clock(),
            )  # fmt: skip

    # A worker whose client gives up after a second: the first post reaches Slack, but its
    # answer comes too late, so the item waits for a retry and no ts is stored.
    notifier = SlackNotifier(make_web_client("xoxb-test", standin.api_url, timeout=1))
    worker = Courier(quiet.db, notifier, deliveries.lanes(quiet), owner="w", clock=clock)
    try:
        held = standin.hold("chat.postMessage")
        save("Besproken: registers.")
        worker.drain()
        held.release()
        [first] = standin.wait_for("chat.postMessage")
        save("Besproken: registers en inkoop.")  # edited before the first item's retry
        while worker.drain():
            pass
        clock.advance(dt.timedelta(minutes=1))
        while worker.drain():
            pass
    finally:
        worker.close()
    posts = [c for c in _posts(standin, CHANNEL) if c.response["ok"]]
    assert [p.response["ts"] for p in posts] == [first.response["ts"]]
    [edit] = _posts(standin, CHANNEL, "chat.update")
    assert edit.args["ts"] == first.response["ts"] and "inkoop" in str(edit.args["blocks"])
    with quiet.db.read() as session:
        stored = session.get(Meeting, ids["friday"])
        assert stored is not None and stored.minutes_ts == first.response["ts"]


def test_items_of_one_post_are_claimed_one_at_a_time_in_order(
    quiet: Services, clock: FrozenClock, ids: dict[str, int]
) -> None:
    """An agenda's later items wait while an earlier one for the same meeting is being
    sent or waits for its retry; other meetings' items do not wait for it."""
    with quiet.db.write() as session:
        for text in ("1. Welkom", "1. Welkom\n2. Casus"):
            _save_agenda(session, ids["later"], text)
        minutes.save(
            session, meeting_id=ids["friday"], user_id="UFAC", text="Besproken.", admins=(),
            now=NOW,
        )  # fmt: skip
        agenda.save_agenda(
            session, meeting_id=ids["later"], user_id="UFAC", text="1. Welkom\n2. Casus\n3. Rond",
            speakers=None, admins=(), now=NOW,
        )  # fmt: skip

    def claim(owner: str) -> list[outbox.Item]:
        with quiet.db.write() as session:
            return outbox.claim(
                session, kind=outbox.AGENDA_POST, owner=owner, now=clock(), limit=10
            )

    def due() -> set[str]:
        with quiet.db.read() as session:
            return outbox.due_kinds(session, kinds=outbox.KINDS, owner="b", now=clock())

    def waiting() -> int:
        with quiet.db.read() as session:
            queues = health.backlog(
                session, now=clock(), kinds=outbox.KINDS, in_order=outbox.IN_ORDER
            )
        return next(q.items for q in queues if q.name == outbox.AGENDA_POST)

    assert waiting() == 1
    [first] = claim("a")
    assert claim("b") == []  # the second waits while the first is being sent
    assert outbox.AGENDA_POST not in due()
    assert outbox.MINUTES_POST in due()  # another subject's lane is not held up
    with quiet.db.write() as session:
        outbox.mark_retry(session, first, error="internal_error", now=clock())
    assert claim("b") == []  # and while it waits for its retry
    assert waiting() == 0  # nothing of the lane is due meanwhile (/readyz, the metrics)
    clock.advance(dt.timedelta(minutes=1))
    assert waiting() == 1  # the retry, not the saves behind it
    assert [item.id for item in claim("b")] == [first.id]  # the retry comes first
    with quiet.db.write() as session:
        outbox.mark_done(session, first.id, now=clock())
    [second] = claim("b")
    assert second.id > first.id
    assert claim("a") == []  # the third waits for the second
    with quiet.db.write() as session:
        outbox.mark_failed(session, second.id, error="is_archived", now=clock())
    [third] = claim("a")  # a failed one holds nothing up
    assert third.id > second.id


# -- lessons ----------------------------------------------------------------------------


def test_a_lesson_is_queued_with_its_publication_and_posted_once(
    quiet: Services, standin: SlackStandIn, clock: FrozenClock, ids: dict[str, int]
) -> None:
    def publish(session: Session) -> None:
        lessons.publish_text(
            session, query="ethiek", user_id="UFAC", text="Begin klein.", admins=(), now=NOW,
            default_channel=None,
        )  # fmt: skip

    _in_a_rolled_back_transaction(quiet, publish)
    assert _items(quiet, outbox.LESSON_POST) == []
    with quiet.db.write() as session:
        publish(session)
    [(recipient, subject, state)] = _items(quiet, outbox.LESSON_POST)
    assert (recipient, state) == (LESSONS, OutboxItem.PENDING)
    assert standin.calls("chat.postMessage") == []

    _crash_then_take_over(quiet, clock, outbox.LESSON_POST)
    [post] = _posts(standin, LESSONS)
    assert "Begin klein." in str(post.args["blocks"])
    with quiet.db.read() as session:
        lesson = session.get(Lesson, int(subject))
        assert lesson is not None and lesson.ts == post.response["ts"]


def test_a_lesson_without_a_channel_queues_nothing(quiet: Services, ids: dict[str, int]) -> None:
    with quiet.db.write() as session:
        session.execute(update(Community).values(lessons_channel_id=None))
        lessons.publish_text(
            session, query="ethiek", user_id="UFAC", text="Begin klein.", admins=(), now=NOW,
            default_channel=None,
        )  # fmt: skip
    assert _items(quiet, outbox.LESSON_POST) == []


# -- the day-after nudge ----------------------------------------------------------------


def test_the_nudges_are_queued_as_the_meeting_is_claimed_and_each_sent_once(
    quiet: Services, standin: SlackStandIn, clock: FrozenClock, ids: dict[str, int]
) -> None:
    _in_a_rolled_back_transaction(quiet, lambda s: minutes.due_nudges(s, now=NOW, tz=AMS))
    assert _items(quiet, outbox.MINUTES_NUDGE) == []
    with quiet.db.read() as session:
        stored = session.get(Meeting, ids["friday"])
        assert stored is not None and stored.minutes_nudged_at is None

    with quiet.db.write() as session:
        [nudge] = minutes.due_nudges(session, now=NOW, tz=AMS)
    assert nudge.facilitators == ("UFAC", "UFAC2")
    friday = str(ids["friday"])
    assert _items(quiet, outbox.MINUTES_NUDGE) == [
        ("UFAC", friday, OutboxItem.PENDING),
        ("UFAC2", friday, OutboxItem.PENDING),
    ]
    with quiet.db.write() as session:
        assert minutes.due_nudges(session, now=NOW, tz=AMS) == []  # claimed: once
    assert standin.calls("chat.postMessage") == []

    _crash_then_take_over(quiet, clock, outbox.MINUTES_NUDGE)
    for user in ("UFAC", "UFAC2"):
        [dm] = _posts(standin, user)
        assert dm.args["blocks"][1]["elements"][0]["value"] == friday


def test_a_nudge_is_not_sent_once_the_minutes_are_written(
    quiet: Services, standin: SlackStandIn, clock: FrozenClock, ids: dict[str, int]
) -> None:
    with quiet.db.write() as session:
        minutes.due_nudges(session, now=NOW, tz=AMS)
    with quiet.db.write() as session:
        minutes.save(
            session, meeting_id=ids["friday"], user_id="UFAC", text="Al geschreven.",
            admins=(), now=NOW,
        )  # fmt: skip
    _crash_then_take_over(quiet, clock, outbox.MINUTES_NUDGE)
    assert _posts(standin, "UFAC") == [] and _posts(standin, "UFAC2") == []


# -- forget me --------------------------------------------------------------------------


def _forget(session: Session, user_id: str) -> privacy.Forgotten:
    return privacy.forget(
        session, user_id=user_id, now=NOW, tz=AMS, salt=audit.salt(session, None),
        admins=("UADMIN", "UADMIN2", user_id),
    )  # fmt: skip


def test_forgetting_a_facilitator_queues_a_notice_to_each_admin_sent_once(
    quiet: Services, standin: SlackStandIn, clock: FrozenClock, ids: dict[str, int]
) -> None:
    _in_a_rolled_back_transaction(quiet, lambda s: _forget(s, "UFAC"))
    assert _items(quiet, outbox.FORGET_NOTICE) == []

    with quiet.db.write() as session:
        forgotten = _forget(session, "UFAC")
    assert forgotten.facilitator_of == ("Ethiek",)
    # The person forgotten is not told, even when they are an admin themselves.
    assert [(r, st) for r, _, st in _items(quiet, outbox.FORGET_NOTICE)] == [
        ("UADMIN", OutboxItem.PENDING),
        ("UADMIN2", OutboxItem.PENDING),
    ]
    assert standin.calls("chat.postMessage") == []

    _crash_then_take_over(quiet, clock, outbox.FORGET_NOTICE)
    for admin in ("UADMIN", "UADMIN2"):
        [dm] = _posts(standin, admin)
        assert "Ethiek" in dm.args["text"] and "UFAC" not in str(dm.args)


def test_forgetting_someone_who_led_nothing_tells_no_admin(
    quiet: Services, ids: dict[str, int]
) -> None:
    with quiet.db.write() as session:
        _forget(session, "U1")
    assert _items(quiet, outbox.FORGET_NOTICE) == []
