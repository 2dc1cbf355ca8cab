"""Answers to questions and meeting notices travel the delivery road: each is written as
an outbox item in the transaction of its cause, and sent exactly once, also when the
worker that sent it died before it could mark it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from bot.app import build_services, make_courier
from bot.clock import FrozenClock
from bot.config import Settings
from bot.outbox import Sending, _ChannelPace
from bot.runtime import Services
from bot.sandbox.standin import SlackStandIn
from bot.services import meetings, membership, outbox, questions
from handlers import deliveries
from storage.models import OutboxItem
from tests.factories import add_community, meeting
from tests.handlers.support import dms_to, one_dm_each_saying, settle_outbox

MARCH_30 = dt.datetime(2027, 3, 30, 12, 0, tzinfo=dt.UTC)  # 14:00 in Amsterdam
APRIL_6 = dt.datetime(2027, 4, 6, 8, 0, tzinfo=dt.UTC)  # 10:00 in Amsterdam


class Boom(Exception):
    pass


@pytest.fixture
def quiet(settings: Settings, clock: FrozenClock) -> Iterator[Services]:
    """Services without a courier of their own: nothing is sent unless a test sends it."""
    svc = build_services(settings, clock=clock, courier=False)
    add_community(
        svc.db, "ethiek", name="Ethiek", facilitators=("UFAC",),
        meetings=(meeting(MARCH_30, key="2027-03-30", title="Startbijeenkomst"),),
    )  # fmt: skip
    with svc.db.write() as session:
        for user in ("U1", "U2", "U3"):
            membership.join(session, query="ethiek", user_id=user, now=svc.clock(),
                            tz=svc.settings.timezone)  # fmt: skip
    settle_outbox(svc)  # their welcomes went out long ago
    yield svc
    svc.shutdown()


def _items(services: Services, kind: str) -> list[OutboxItem]:
    with services.db.read() as session:
        rows = session.scalars(
            select(OutboxItem).where(OutboxItem.kind == kind).order_by(OutboxItem.id)
        ).all()
        session.expunge_all()
        return list(rows)


def _ask_and_vote(services: Services) -> int:
    with services.db.write() as session:
        asked = questions.ask(session, query="ethiek", user_id="U1", text="Hoe regel je dat?",
                              admins=(), now=services.clock())  # fmt: skip
        questions.toggle_vote(session, question_id=asked.id, user_id="U2", admins=())
    return asked.id


def _answer(services: Services, question_id: int) -> None:
    with services.db.write() as session:
        questions.answer(session, question_id=question_id, text="Met een overeenkomst.",
                         user_id="UFAC", admins=(), now=services.clock())  # fmt: skip


def _move(services: Services) -> None:
    settings = services.settings
    with services.db.write() as session:
        meetings.move(
            session, query="ethiek", number=1, user_id="UFAC", starts_at=APRIL_6, admins=(),
            offsets=settings.reminder_offsets, now=services.clock(), tz=settings.timezone,
        )  # fmt: skip


def _cancel(services: Services) -> None:
    settings = services.settings
    with services.db.write() as session:
        meetings.cancel(
            session, query="ethiek", number=1, user_id="UFAC", admins=(),
            offsets=settings.reminder_offsets, now=services.clock(), tz=settings.timezone,
        )  # fmt: skip


def _crash_then_take_over(
    services: Services, standin: SlackStandIn, clock: FrozenClock, kind: str
) -> None:
    """A worker claims every item of `kind` and sends it, then dies before marking it;
    another worker takes the claims over once the lease and the in-flight bound passed."""
    handler = deliveries.lanes(services)[kind].handler
    with services.db.write() as session:
        claimed = outbox.claim(session, kind=kind, owner="dead", now=clock(), limit=100)
    assert claimed
    for item in claimed:
        handler(item, Sending(services.notifier, item, now=clock(), pace=_ChannelPace()))
    clock.advance(outbox.LEASE + outbox.IN_FLIGHT + dt.timedelta(seconds=1))
    looked_up = len(standin.calls("conversations.history"))
    courier = make_courier(services)
    try:
        assert courier.drain() == len(claimed)
    finally:
        courier.close()
    # The new worker looked each message up by its key, found it, and posted nothing.
    assert len(standin.calls("conversations.history")) >= looked_up + len(claimed)
    assert {item.state for item in _items(services, kind)} == {OutboxItem.DONE}


# -- answers ------------------------------------------------------------------------------


def test_an_answer_is_queued_for_the_asker_and_the_voter_in_its_own_transaction(
    quiet: Services, standin: SlackStandIn
) -> None:
    question_id = _ask_and_vote(quiet)
    with pytest.raises(Boom), quiet.db.write() as session:
        questions.answer(session, question_id=question_id, text="Zo.", user_id="UFAC",
                         admins=(), now=quiet.clock())  # fmt: skip
        raise Boom  # the answer does not stand, and neither do its messages
    assert _items(quiet, outbox.QUESTION_ANSWERED) == []

    _answer(quiet, question_id)
    queued = _items(quiet, outbox.QUESTION_ANSWERED)
    assert [(i.recipient, i.subject, i.state) for i in queued] == [
        ("U1", str(question_id), OutboxItem.PENDING),
        ("U2", str(question_id), OutboxItem.PENDING),
    ]
    assert dms_to(standin, "U1") == dms_to(standin, "U2") == []  # nobody sent anything yet


def test_an_answer_sent_by_a_worker_that_died_reaches_each_recipient_once(
    quiet: Services, standin: SlackStandIn, clock: FrozenClock
) -> None:
    question_id = _ask_and_vote(quiet)
    _answer(quiet, question_id)
    _crash_then_take_over(quiet, standin, clock, outbox.QUESTION_ANSWERED)
    [asker] = dms_to(standin, "U1")
    assert asker.args["text"].startswith(f":bulb: Je vraag *#{question_id}* in *Ethiek*")
    [voter] = dms_to(standin, "U2")
    assert "waarop je stemde" in voter.args["text"]
    assert dms_to(standin, "U3") == []


def test_an_answer_is_not_sent_to_someone_who_left_before_it_went_out(
    quiet: Services, standin: SlackStandIn
) -> None:
    question_id = _ask_and_vote(quiet)
    _answer(quiet, question_id)
    with quiet.db.write() as session:
        membership.leave(session, query="ethiek", user_id="U2", now=quiet.clock(),
                         tz=quiet.settings.timezone)  # fmt: skip
    courier = make_courier(quiet)
    try:
        courier.drain()
    finally:
        courier.close()
    assert len(dms_to(standin, "U1")) == 1
    assert dms_to(standin, "U2") == []
    assert {i.state for i in _items(quiet, outbox.QUESTION_ANSWERED)} == {OutboxItem.DONE}


# -- meeting notices ----------------------------------------------------------------------


@pytest.mark.parametrize("change", [_move, _cancel], ids=["moved", "cancelled"])
def test_a_meeting_change_queues_a_notice_per_member_in_its_own_transaction(
    quiet: Services, standin: SlackStandIn, change: object
) -> None:
    settings = quiet.settings
    with pytest.raises(Boom), quiet.db.write() as session:
        meetings.cancel(
            session, query="ethiek", number=1, user_id="UFAC", admins=(),
            offsets=settings.reminder_offsets, now=quiet.clock(), tz=settings.timezone,
        )  # fmt: skip
        raise Boom
    assert _items(quiet, outbox.MEETING_NOTICE) == []

    assert callable(change)
    change(quiet)
    queued = _items(quiet, outbox.MEETING_NOTICE)
    assert [(i.recipient, i.state) for i in queued] == [
        ("U1", OutboxItem.PENDING), ("U2", OutboxItem.PENDING), ("U3", OutboxItem.PENDING),
    ]  # fmt: skip
    assert len({i.subject for i in queued}) == 1
    assert dms_to(standin, "U1") == []


def test_a_move_notice_sent_by_a_worker_that_died_reaches_each_member_once(
    quiet: Services, standin: SlackStandIn, clock: FrozenClock
) -> None:
    _move(quiet)
    _crash_then_take_over(quiet, standin, clock, outbox.MEETING_NOTICE)
    one_dm_each_saying(
        standin,
        ("U1", "U2", "U3"),
        "dinsdag 30 maart 2027 om 14:00",
        "dinsdag 6 april 2027 om 10:00",
    )


def test_a_cancel_notice_sent_by_a_worker_that_died_reaches_each_member_once(
    quiet: Services, standin: SlackStandIn, clock: FrozenClock
) -> None:
    _cancel(quiet)
    _crash_then_take_over(quiet, standin, clock, outbox.MEETING_NOTICE)
    one_dm_each_saying(
        standin, ("U1", "U2", "U3"), "gaat niet door", "dinsdag 30 maart 2027 om 14:00"
    )


def test_a_move_notice_is_dropped_once_the_meeting_is_cancelled_or_the_member_left(
    quiet: Services, standin: SlackStandIn
) -> None:
    _move(quiet)
    with quiet.db.write() as session:
        membership.leave(session, query="ethiek", user_id="U3", now=quiet.clock(),
                         tz=quiet.settings.timezone)  # fmt: skip
    _cancel(quiet)  # U3 has left: only U1 and U2 are told of this one
    courier = make_courier(quiet)
    try:
        courier.drain()
    finally:
        courier.close()
    # the cancellation only: the move is no news any more
    one_dm_each_saying(standin, ("U1", "U2"), "gaat niet door", "6 april 2027 om 10:00")
    assert dms_to(standin, "U3") == []
