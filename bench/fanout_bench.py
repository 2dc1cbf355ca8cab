"""Fan-out of one reminder to many members, against the Slack stand-in.

    ./dev fanout [--members 10000] [--throttle 0]

Plans one meeting whose reminder is due now for `--members` members, then lets one
ReminderScheduler tick (the fan-out onto the delivery road) and the courier (the
delivery worker, with the reminder's own handler) drain the outbox until every item is
settled, and reports messages per second (fan-out and sending together),
how many each member got (must be exactly one), and how many 429s the stand-in answered.
With `--throttle N` the stand-in answers 429 (Retry-After 1) beyond N chat.postMessage
calls a second, like Slack's rate limits.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select

from bot.config import Settings
from bot.outbox import Courier
from bot.runtime import Services
from bot.sandbox.standin import SlackStandIn
from bot.scheduler import ReminderScheduler
from bot.services import meetings, outbox
from bot.services.catalog import CommunitySpec, MeetingSpec, apply
from bot.slack_notifier import SlackNotifier, make_web_client
from handlers import deliveries
from storage import migrate
from storage.db import Database
from storage.models import Community, Membership, OutboxItem

AMS = ZoneInfo("Europe/Amsterdam")
RESULTS = Path(__file__).resolve().parent / "results"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--members", type=int, default=10_000)
    p.add_argument("--throttle", type=float, default=0.0, help="postMessage calls/s before 429")
    p.add_argument("--workers", type=int, default=8)
    p.add_argument("--database-url", default=None)
    args = p.parse_args()

    url = args.database_url or f"sqlite:///{tempfile.mkdtemp(prefix='cop-fanout-')}/fanout.db"
    migrate.upgrade(url)
    db = Database(url)
    now = dt.datetime.now(dt.UTC)
    starts = now + dt.timedelta(hours=1)
    with db.write() as session:
        apply(session, [CommunitySpec(
            slug="groot", name="Groot", programme="Bench", description="", capacity=None,
            registration_deadline=None, approval=False, channel=None, facilitators=(),
            reminders="1h", meetings=(MeetingSpec("m", starts, None, "online", None, None),),
        )], now=now)  # fmt: skip
        community = session.query(Community).filter_by(slug="groot").one()
        session.execute(
            insert(Membership),
            [
                {
                    "community_id": community.id,
                    "user_id": f"U{i:06d}",
                    "status": "member",
                    "seq": i + 1,
                }
                for i in range(args.members)
            ],
        )
        community.member_count = args.members
        meetings.sync_reminders(session, offsets=[], now=now - dt.timedelta(seconds=1), tz=AMS)

    with SlackStandIn(max_calls=args.members * 3) as standin:
        if args.throttle:
            standin.throttle("chat.postMessage", per_second=args.throttle, retry_after=1)
        notifier = SlackNotifier(make_web_client("xoxb-bench", standin.api_url))
        services = Services(
            settings=Settings(database_url=url, timezone=AMS), db=db, notifier=notifier
        )
        courier = Courier(db, notifier, deliveries.lanes(services), threads=args.workers)
        scheduler = ReminderScheduler(db=db)
        assert scheduler.become_owner()
        began = time.perf_counter()
        scheduler.tick()
        while _waiting(db):  # retries wait for their backoff moment
            if not courier.drain():
                time.sleep(1)
        elapsed = time.perf_counter() - began
        accepted = Counter(
            str(c.args["channel"])
            for c in standin.calls("chat.postMessage")
            if c.status == 200 and c.response.get("ok")
        )
        throttled = sum(1 for c in standin.calls("chat.postMessage") if c.status == 429)
        scheduler.stop()
        courier.close()
        services.background.shutdown(wait=True)
        services.foreground.shutdown(wait=True)
    db.dispose()

    lost = args.members - len(accepted)
    doubled = sum(1 for n in accepted.values() if n > 1)
    line = (
        f"| {args.members} | {args.throttle or 'off'} | {sum(accepted.values()) / elapsed:.0f} "
        f"| {elapsed:.1f} | {throttled} | {lost} | {doubled} |"
    )
    header = (
        "| members | throttle (msg/s) | messages/s | seconds | 429s | lost | doubled |\n"
        "|---|---|---|---|---|---|---|"
    )
    print(header)
    print(line)
    RESULTS.mkdir(parents=True, exist_ok=True)
    with (RESULTS / "fanout.md").open("a") as out:
        out.write(line + "\n")
    return 0 if lost == 0 and doubled == 0 else 1


def _waiting(db: Database) -> int:
    """Reminder items not yet settled (pending, or claimed and being sent)."""
    with db.read() as session:
        return int(
            session.scalar(
                select(func.count()).where(
                    OutboxItem.kind.in_(outbox.REMINDERS),
                    OutboxItem.state.in_((OutboxItem.PENDING, OutboxItem.SENDING)),
                )
            )
            or 0
        )


if __name__ == "__main__":
    sys.exit(main())
