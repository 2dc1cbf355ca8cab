"""The App Home of a busy user against `/cop hulp`, in the same process and the same run.

    ./dev home [--communities 1000] [--mine 10] [--rounds 200]
    ./dev home --database-url postgresql+psycopg://postgres@127.0.0.1:5432/copbench

The database holds `--communities` communities (three upcoming meetings each, 25 members
in the viewer's); the viewer is a member of `--mine` of them and facilitates one, so the
tab shows every part: their communities with the next meeting, RSVP buttons and agenda,
communities to discover, and the management panel with who comes by name.

Both requests go through the real edge (signed as Slack signs them, the replay check)
and the Bolt app, against the Slack stand-in, taking turns:

- baseline: `/cop hulp`, from the request until its answer;
- home: `app_home_opened`, from the request until the stand-in has the views.publish
  (the ack, then building the view in the background, then publishing it).

Reported: the median and p90 of each, and their ratio (the target: home at most 2x hulp);
then, in the same process, the median of each part of home on its own: reading the tab
from the database, rendering its blocks, and one views.publish of the built view.
Results are appended to bench/results/home.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select

from bench.scale_bench import fresh
from bot.app import build_app, build_services
from bot.config import Settings
from bot.edge import Edge
from bot.sandbox.signed import (
    app_home_opened_event,
    event_callback_body,
    signed_headers,
    slash_command_body,
)
from bot.sandbox.standin import SlackStandIn
from bot.services import home as home_service
from bot.services.catalog import CommunitySpec, MeetingSpec, apply
from bot.services.home import HomeState
from handlers.render import home as home_view
from storage.db import Database
from storage.models import Community, Facilitator, Membership, Rsvp

AMS = ZoneInfo("Europe/Amsterdam")
RESULTS = Path(__file__).resolve().parent / "results"
SECRET = "bench-secret"
VIEWER = "U0VIEWER"


def populate(url: str, communities: int, mine: int, now: dt.datetime) -> None:
    db = Database(url)
    starts = now + dt.timedelta(days=30)

    def meetings(count: int) -> tuple[MeetingSpec, ...]:
        return tuple(
            MeetingSpec(
                f"m{k}", starts + dt.timedelta(days=30 * k), None, "online", None, f"Meeting {k}"
            )
            for k in range(count)
        )

    specs = [
        CommunitySpec(
            slug=f"cop-{i:04d}",
            name=f"Community {i:04d}",
            programme=f"Programma {i % 7}",
            description="Over deze community.",
            capacity=25 if i % 3 == 0 else None,
            registration_deadline=None,
            approval=i % 5 == 0,
            channel=None,
            facilitators=(),
            reminders=None,
            meetings=meetings(3),
        )
        for i in range(communities)
    ]
    with db.write() as session:
        apply(session, specs, now=now)
        ids = list(session.scalars(select(Community.id).order_by(Community.id)))
        rows: list[dict[str, Any]] = []
        for index, cid in enumerate(ids[:mine]):
            others = [f"U{index:03d}{j:03d}" for j in range(24)] if index == 0 else []
            for seq, user in enumerate([VIEWER, *others], 1):
                rows.append({"community_id": cid, "user_id": user, "status": "member", "seq": seq})
        session.execute(insert(Membership), rows)
        session.execute(
            insert(Facilitator), [{"community_id": ids[0], "user_id": VIEWER, "source": "admin"}]
        )
        session.flush()
        for cid in ids[:mine]:
            community = session.get(Community, cid)
            assert community is not None
            community.member_count = 25 if cid == ids[0] else 1
        first = session.scalars(select(Community).where(Community.id == ids[0])).one()
        meeting_ids = [m.id for m in first.meetings]
        session.execute(
            insert(Rsvp),
            [{"meeting_id": meeting_ids[0], "user_id": f"U000{j:03d}", "answer": "yes"}
             for j in range(10)],
        )  # fmt: skip
    db.dispose()


def _median_ms(fn: Any, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        began = time.perf_counter()
        fn()
        times.append(time.perf_counter() - began)
    return statistics.median(times) * 1000


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--communities", type=int, default=1000)
    p.add_argument("--mine", type=int, default=10)
    p.add_argument("--rounds", type=int, default=200)
    p.add_argument("--database-url", default=None)
    args = p.parse_args()

    url = args.database_url or f"sqlite:///{tempfile.mkdtemp(prefix='cop-home-')}/home.db"
    now = dt.datetime.now(dt.UTC)
    fresh(url)
    populate(url, args.communities, args.mine, now)

    with SlackStandIn(max_calls=args.rounds * 10) as standin:
        settings = Settings(
            database_url=url, timezone=AMS, slack_bot_token="xoxb-bench",
            slack_signing_secret=SECRET, slack_api_url=standin.api_url,
        )  # fmt: skip
        services = build_services(settings)
        app = build_app(settings, services)
        edge = Edge(app, services)

        def hulp() -> float:
            body = slash_command_body(user_id=VIEWER, text="hulp",
                                      response_url=standin.response_url())  # fmt: skip
            began = time.perf_counter()
            response = edge.handle(body.encode(), dict(signed_headers(SECRET, body)))
            elapsed = time.perf_counter() - began
            assert response.status == 200, response.body
            return elapsed

        def home() -> float:
            body = event_callback_body(app_home_opened_event(VIEWER))
            headers = signed_headers(SECRET, body, content_type="application/json")
            before = len(standin.calls("views.publish"))
            began = time.perf_counter()
            response = edge.handle(body.encode(), dict(headers))
            assert response.status == 200, response.body
            assert services.wait_idle(10)
            elapsed = time.perf_counter() - began
            published = standin.calls("views.publish")
            assert len(published) == before + 1 and published[-1].response.get("ok"), published
            return elapsed

        for _ in range(10):  # warm-up: connections, caches, Bolt's first auth.test
            hulp()
            home()
        standin.clear()
        hulps, homes = [], []
        for _ in range(args.rounds):
            hulps.append(hulp())
            homes.append(home())
        view = standin.calls("views.publish")[-1].args["view"]
        blocks = len(view["blocks"]) if isinstance(view, dict) else -1

        # The parts of `home`, each on its own, as handlers/home.py runs them.
        t = services.translator(VIEWER)

        def read() -> home_service.HomePage:
            with services.db.read() as session:
                return home_service.home(
                    session, user_id=VIEWER, state=HomeState(), admins=settings.admins,
                    now=services.clock(), tz=AMS,
                )  # fmt: skip

        page = read()
        built = home_view.home_view(t, page)
        parts = {
            "read": _median_ms(read, args.rounds),
            "render": _median_ms(lambda: home_view.home_view(t, page), args.rounds),
            "publish": _median_ms(
                lambda: app.client.views_publish(user_id=VIEWER, view=built), args.rounds
            ),
        }
        services.shutdown()

    def p90(values: list[float]) -> float:
        return statistics.quantiles(values, n=10)[-1]

    db_name = "SQLite" if url.startswith("sqlite") else "PostgreSQL"
    ratio = statistics.median(homes) / statistics.median(hulps)
    line = (
        f"| {db_name} | {args.communities} | {args.mine} | {args.rounds} "
        f"| {statistics.median(hulps) * 1000:.1f} | {p90(hulps) * 1000:.1f} "
        f"| {statistics.median(homes) * 1000:.1f} | {p90(homes) * 1000:.1f} "
        f"| {ratio:.2f}× | {blocks} |"
    )
    header = (
        "| database | communities | mine | rounds | hulp ms (median) | hulp ms (p90) "
        "| home ms (median) | home ms (p90) | home / hulp | blocks |\n"
        "|---|---|---|---|---|---|---|---|---|---|"
    )
    print(header)
    print(line)
    print(
        "home's parts, median ms: "
        + ", ".join(f"{name} {ms:.1f}" for name, ms in parts.items())
        + f" (publish alone is {parts['publish'] / (statistics.median(hulps) * 1000):.1f}× hulp)"
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    with (RESULTS / "home.md").open("a") as out:
        out.write(line + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
