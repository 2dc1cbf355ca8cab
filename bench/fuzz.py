"""Fuzz the edge of a real `cop-bot serve`: generated, signed requests of every kind.

    ./dev fuzz [--count 10000] [--seed 1] [--clients 4] [--database-url URL]

Starts the Slack stand-in (in this process) and `cop-bot serve` (gunicorn, on SQLite by
default; PostgreSQL with --database-url, a database it may fill), sets up a member, a
non-member, a facilitator and an admin with a meeting, a topic, a question and a lesson,
opens the real modals, then sends --count generated requests: slash commands with every
subcommand word and nasty text, clicks on every action_id the app registers with
generated values, submissions of the real modals with generated state, the message
shortcut, and requests the edge must refuse. Every answer and every call the app makes to
Slack is checked (see bench/fuzzkit.py). Prints the report (also bench/results/fuzz.md)
and exits 1 when there was any 5xx, unexpected status, answer later than 3 s, apology,
traceback in the server's log, active markup from user text or control character.
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import dataclasses
import datetime as dt
import http.client
import itertools
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench import fuzzkit as kit
from bench.fuzzkit import ADMIN, FACILITATOR, MEMBER, OTHER, Finding, Gen, Request
from bench.serve_bench import free_port, wait_healthy
from bot.sandbox.standin import Call, SlackStandIn

RESULTS = kit.ROOT / "bench" / "results"
SECRET = "fuzz-signing-secret"
# What share of the requests is of which kind.
WEIGHTS = {"command": 45, "click": 27, "select": 2, "submit": 15, "shortcut": 5, "edge": 6}


@dataclasses.dataclass
class Report:
    count: int
    seed: int
    database: str
    clients: int
    seconds: float = 0.0
    statuses: collections.Counter[int] = dataclasses.field(default_factory=collections.Counter)
    kinds: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    latencies: list[float] = dataclasses.field(default_factory=list)
    findings: list[Finding] = dataclasses.field(default_factory=list)
    outputs: int = 0
    log_errors: int = 0

    def by_category(self) -> collections.Counter[str]:
        return collections.Counter(f.category for f in self.findings)

    @property
    def failed(self) -> bool:
        return bool(self.findings)

    def pct(self, p: float) -> float:
        ordered = sorted(self.latencies) or [0.0]
        return 1000 * ordered[min(len(ordered) - 1, int(len(ordered) * p))]

    def text(self) -> str:
        c = self.by_category()
        statuses = ", ".join(f"{s} × {n}" for s, n in sorted(self.statuses.items()))
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(self.kinds.items()))
        lines = [
            f"Fuzz run {time.strftime('%Y-%m-%d %H:%M')}: {sum(self.statuses.values())} "
            f"requests (seed {self.seed}, {self.clients} clients, database {self.database}) "
            f"in {self.seconds:.0f} s; {self.outputs} outputs to Slack checked.",
            f"Requests: {kinds}.",
            f"Status: {statuses}.",
            f"5xx: {c['5xx']}; unexpected status: {c['status']}; over "
            f"{kit.DEADLINE_SECONDS:.0f} s: {c['slow']}; apologies: {c['apology']}; "
            f"tracebacks in the server log: {c['traceback']} ({self.log_errors} ERROR lines); "
            f"active markup: {c['markup']}; control characters: {c['control']}.",
            f"Latency: p50 {self.pct(0.5):.1f} ms, p99 {self.pct(0.99):.1f} ms, "
            f"max {self.pct(1.0):.0f} ms.",
        ]
        if self.findings:
            lines += ["", "Findings by kind, with one example each:", kit.summarize(self.findings)]
        else:
            lines += ["", "No findings."]
        return "\n".join(lines)


class _Views:
    """The modals the app opened (from views.open/push/update), newest last, by callback_id."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._views: dict[str, collections.deque[dict[str, Any]]] = {}

    def add(self, call: Call) -> None:
        view = (call.response or {}).get("view") if call.status == 200 else None
        if isinstance(view, dict) and view.get("callback_id"):
            with self._lock:
                self._views.setdefault(view["callback_id"], collections.deque(maxlen=8))
                self._views[view["callback_id"]].append(view)

    def all(self) -> list[dict[str, Any]]:
        with self._lock:
            return [v for views in self._views.values() for v in views]

    def callbacks(self) -> set[str]:
        with self._lock:
            return set(self._views)


class Fuzzer:
    def __init__(self, base_url: str, standin: SlackStandIn, report: Report, *, seed: int,
                 public_url: str) -> None:  # fmt: skip
        self.port = int(base_url.rsplit(":", 1)[1])
        self.standin = standin
        self.report = report
        self.allowed = (kit.TEAM_URL, public_url)
        self.views = _Views()
        self.gen = Gen(seed)
        self.keys = itertools.count(1)
        self.lock = threading.Lock()
        self.by_key: dict[str, str] = {}
        self.last_by_user: dict[str, str] = {}
        self.local = threading.local()
        self.seen = 0  # calls the app made to Slack
        self.listeners = kit.listeners()
        standin.add_listener(self.on_call)

    # Outputs to Slack, as they arrive.
    def on_call(self, call: Call) -> None:
        if call.method in ("views.open", "views.push", "views.update"):
            self.views.add(call)
        args = call.args
        with self.lock:
            self.seen += 1
            request = self.by_key.get(str(args.get("_key", "")), "")
            if not request:
                request = self.last_by_user.get(str(args.get("channel", "")), "")
            self.report.outputs += call.method not in kit.READ_METHODS
        label = f"output {call.method}"
        findings = kit.check_call(call.method, args, allowed_links=self.allowed, label=label,
                                  request=request)  # fmt: skip
        if findings:
            with self.lock:
                self.report.findings.extend(findings)

    def response_url(self) -> tuple[str, str]:
        key = f"Q{next(self.keys):07d}"
        return self.standin.response_url(key), key

    # Sending.
    def send(self, request: Request) -> tuple[int, str]:
        if request.response_key:
            with self.lock:
                self.by_key[request.response_key] = f"{request.label}: {request.summary}"
        with self.lock:
            self.last_by_user[request.user] = f"{request.label}: {request.summary}"
        began = time.perf_counter()
        for attempt in (0, 1):
            conn = getattr(self.local, "conn", None)
            reused = conn is not None
            if conn is None:
                conn = self.local.conn = http.client.HTTPConnection(
                    "127.0.0.1", self.port, timeout=30
                )
            try:
                conn.request("POST", "/slack/events", body=request.body.encode(),
                             headers=request.headers)  # fmt: skip
                response = conn.getresponse()
                status, body = response.status, response.read().decode("utf-8", "replace")
                if response.will_close:
                    conn.close()
                    self.local.conn = None
                break
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                self.local.conn = None
                status, body = 599, f"connection failed: {exc!r}"
                # A kept-alive connection the server had closed (as it does after refusing
                # a body unread): the request never arrived, so send it once more, as HTTP
                # clients do. A fresh connection that fails is a finding.
                if not reused or attempt:
                    break
        seconds = time.perf_counter() - began
        findings = kit.check_answer(request, status, body, seconds, allowed_links=self.allowed)
        with self.lock:
            self.report.statuses[status] += 1
            self.report.kinds[request.label.split(" ", 1)[0]] += 1
            self.report.latencies.append(seconds)
            self.report.findings.extend(findings)
        return status, body

    # The state the interesting paths need.
    def command(self, user: str, text: str, *, raw: bool | None = None) -> Request:
        url, key = self.response_url()
        return kit.command_request(SECRET, user, text, url, key, raw=raw)

    def click(self, user: str, action_id: str, value: str, label: str = "") -> Request:
        url, key = self.response_url()
        return kit.click_request(SECRET, user, action_id, value, url, key,
                                 label=label or action_id)  # fmt: skip

    def shortcut(self, user: str, text: str, channel: str = "C0GENERAL",
                 ts: str = "1700000000.000100") -> Request:  # fmt: skip
        url, key = self.response_url()
        return kit.shortcut_request(SECRET, user, "save_question", text, channel, ts, url, key)

    def open_modals(self, ids: dict[str, list[int]]) -> list[Request]:
        """Requests that open every modal the app has, as the facilitator (and a member)."""
        out = [
            self.click(FACILITATOR, "agenda_open", "ethiek"),
            self.click(FACILITATOR, "meeting_form_plan-ethiek", "ethiek", "meeting_form_plan"),
            self.command(FACILITATOR, "verslag ethiek"),
            self.shortcut(MEMBER, "Wie weet hoe je <!channel> een register begint? R&D"),
        ]
        for question in ids.get("question", [])[-2:]:
            out.append(self.click(FACILITATOR, f"question_answer_open-{question}", str(question),
                                  "question_answer_open"))  # fmt: skip
        for meeting in ids.get("meeting", [])[:2]:
            out.append(self.click(FACILITATOR, f"meeting_form_move-{meeting}",
                                  f"ethiek|{meeting}", "meeting_form_move"))  # fmt: skip
        return out

    def setup(self) -> list[Request]:
        when = (dt.date.today() + dt.timedelta(days=40)).strftime("%Y-%m-%d")
        return [
            # The mention as Slack sends a picked one; the rest as typed or as markup.
            self.command(ADMIN, "kartrekker ethiek <@UFACIL|ufacil>", raw=True),
            self.command(MEMBER, "aanmelden ethiek"),
            self.command(FACILITATOR, "aanmelden ethiek"),
            self.command(MEMBER, "aanmelden voorspellen"),
            self.command(FACILITATOR, f"bijeenkomst toevoegen ethiek {when} 14:00 online"),
            self.command(MEMBER, "onderwerp ethiek Algoritmeregister <!here> & R&D"),
            self.command(MEMBER, "vraag ethiek Wie heeft ervaring met een ethische commissie?"),
            self.command(OTHER, "vraag ethiek Mag ik ook iets vragen? <@U123>"),
            self.command(FACILITATOR, "les ethiek Begin klein & deel <https://evil.example|veel>"),
        ]

    # Generated requests.
    def generate(self) -> Request:
        gen = self.gen
        kind = gen.r.choices(list(WEIGHTS), weights=list(WEIGHTS.values()))[0]
        views = self.views.all()
        if kind == "submit" and views:
            view = gen.pick(views)
            user = FACILITATOR if gen.chance(0.6) else gen.user()
            return kit.submit_request(SECRET, user, view, gen)
        if kind == "select":
            minutes = [v for v in views if v.get("callback_id") == "minutes_form"]
            if minutes:
                view = gen.pick(minutes)
                option = {"text": {"type": "plain_text", "text": gen.text(1, 1)},
                          "value": gen.button_value("minutes_meeting")}  # fmt: skip
                url, key = self.response_url()
                user = FACILITATOR if gen.chance(0.6) else gen.user()
                return kit.select_request(SECRET, user, "minutes_meeting", view, option, url, key)
        if kind in ("click", "select"):
            constraint = gen.pick(self.listeners["action"])
            action_id = gen.action_id(constraint)
            label = getattr(constraint, "pattern", constraint).strip("^$")
            return self.click(gen.user(), action_id, gen.button_value(action_id), label)
        if kind == "shortcut":
            channel = gen.pick(["C0GENERAL", "D0DM", "C0ETHIEK", gen.text(1, 1)])
            ts = gen.pick(["1700000000.000100", "", "x", gen.number(), gen.text(1, 1)])
            url, key = self.response_url()
            return kit.shortcut_request(SECRET, gen.user(), "save_question", gen.text(0, 6),
                                        channel, ts, url, key)  # fmt: skip
        if kind == "edge":
            url, _ = self.response_url()
            return kit.edge_request(SECRET, gen, url)
        return self.command(gen.user(), gen.command_text())


def _ids(database_url: str) -> dict[str, list[int]]:
    from sqlalchemy import select

    from storage.db import Database
    from storage.models import Facilitator, Meeting, Question, Topic

    db = Database(database_url, pool_size=1)
    try:
        with db.read() as session:
            # Facilitators appointed before (a database used for an earlier run): the
            # bot names them, which is no markup from user text.
            kit.KNOWN_USERS.update(session.scalars(select(Facilitator.user_id)))
            return {
                "topic": list(session.scalars(select(Topic.id))),
                "question": list(session.scalars(select(Question.id))),
                "meeting": list(session.scalars(select(Meeting.id).limit(50))),
            }
    finally:
        db.dispose()


def add_past_meeting(database_url: str, *, now: dt.datetime | None = None) -> None:
    """The shipped catalogue, and a meeting of `ethiek` two days ago, so that the minutes
    modal opens (serve loads the catalogue again, which keeps the meeting)."""
    from zoneinfo import ZoneInfo

    from sqlalchemy import select

    from bot.app import load_catalog
    from storage.db import Database
    from storage.models import Community, Meeting

    db = Database(database_url, pool_size=1)
    try:
        with db.write() as session:
            now = now or dt.datetime.now(dt.UTC)
            load_catalog(session, kit.CATALOG, ZoneInfo("Europe/Amsterdam"), now=now)
            community_id = session.scalar(select(Community.id).where(Community.slug == "ethiek"))
            starts = now.replace(microsecond=0) - dt.timedelta(days=2)
            session.add(Meeting(community_id=community_id, key=f"fuzz-{starts:%Y%m%d%H%M%S}",
                                title="Terugblik", starts_at=starts,
                                ends_at=starts + dt.timedelta(hours=2), kind="online",
                                source="slack"))  # fmt: skip
    finally:
        db.dispose()


def _quiet(fuzzer: Fuzzer, *, still: float = 1.5, limit: float = 30.0) -> None:
    """Wait until the app has made no call to Slack for `still` seconds."""
    deadline = time.monotonic() + limit
    seen, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        count = fuzzer.seen
        if count != seen:
            seen, since = count, time.monotonic()
        elif time.monotonic() - since >= still:
            return
        time.sleep(0.1)


def run(
    count: int = 10_000,
    seed: int = 1,
    *,
    database_url: str | None = None,
    clients: int = 4,
    workdir: Path | None = None,
    progress: bool = False,
) -> Report:
    """One fuzz run against a fresh `cop-bot serve`; returns the report."""
    tmp = workdir or Path(tempfile.mkdtemp(prefix="cop-fuzz-"))
    url = database_url or f"sqlite:///{tmp / 'fuzz.db'}"
    report = Report(count, seed, url.split(":", 1)[0].split("+", 1)[0], clients)
    from storage import migrate

    migrate.upgrade(url)
    add_past_meeting(url)
    port = free_port()
    log_path = tmp / "serve.log"
    began = time.monotonic()
    with SlackStandIn(max_calls=2000) as standin:
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(tmp),  # gunicorn keeps its control socket there
            "SLACK_BOT_TOKEN": "xoxb-fuzz",
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": standin.api_url,
            "DATABASE_URL": url,
            "COP_CATALOG": str(kit.CATALOG),
            "COP_PUBLIC_URL": kit.PUBLIC_URL,
            "COP_ADMINS": ADMIN,
        }
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "serve", "--port", str(port),
                 "--host", "127.0.0.1", "--workers", "1"],
                env=env, cwd=tmp, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        try:
            wait_healthy(f"http://127.0.0.1:{port}/healthz")
            fuzzer = Fuzzer(f"http://127.0.0.1:{port}", standin, report, seed=seed,
                            public_url=kit.PUBLIC_URL)  # fmt: skip
            for request in fuzzer.setup():
                fuzzer.send(request)
            _quiet(fuzzer, still=0.5, limit=10)
            # Answer a question and publish it as a lesson, so those paths have state.
            fuzzer.gen.ids = ids = _ids(url)
            for request in fuzzer.open_modals(ids):
                fuzzer.send(request)
            _quiet(fuzzer, still=0.5, limit=10)
            for view in fuzzer.views.all():
                if view.get("callback_id") == "question_answer":
                    fuzzer.send(
                        kit.Request("view question_answer", FACILITATOR,
                                    *_answer_body(view, "Begin bij het register &amp; <!here>"))
                    )  # fmt: skip
                    break
            for question in ids["question"][:1]:
                fuzzer.send(fuzzer.click(FACILITATOR, "lesson_publish_question", str(question)))
            sent = 0
            with concurrent.futures.ThreadPoolExecutor(max_workers=clients) as pool:
                pending: set[concurrent.futures.Future[Any]] = set()
                while sent < count:
                    if sent and sent % 500 == 0:
                        fuzzer.gen.ids = ids = _ids(url)
                        batch = fuzzer.open_modals(ids)
                    else:
                        batch = [fuzzer.generate()]
                    for request in batch:
                        pending.add(pool.submit(fuzzer.send, request))
                        sent += 1
                    if len(pending) >= clients * 2:
                        _done, pending = concurrent.futures.wait(
                            pending, return_when=concurrent.futures.FIRST_COMPLETED
                        )
                    if progress and sent % 1000 == 0:
                        print(f"  {sent} requests sent", file=sys.stderr, flush=True)
                concurrent.futures.wait(pending)
            _quiet(fuzzer)
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=10)
    report.seconds = time.monotonic() - began
    lines = log_path.read_text(encoding="utf-8", errors="replace").splitlines()
    report.findings.extend(kit.log_problems(lines))
    report.log_errors = sum(" ERROR " in line for line in lines)
    return report


def _answer_body(view: dict[str, Any], text: str) -> tuple[str, dict[str, str]]:
    from bot.sandbox.signed import signed_headers, view_submission_body

    body = view_submission_body(user_id=FACILITATOR, view=view, answers={"answer_text": text},
                                view_id=str(view.get("id") or "V0MODAL"))  # fmt: skip
    return body, signed_headers(SECRET, body)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--count", type=int, default=10_000, help="generated requests (default 10000)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--clients", type=int, default=4, help="requests in flight at once")
    p.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    args = p.parse_args()
    report = run(args.count, args.seed, database_url=args.database_url, clients=args.clients,
                 progress=True)  # fmt: skip
    text = report.text()
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "fuzz.md").write_text(text + "\n")
    (RESULTS / "fuzz.json").write_text(json.dumps({
        "requests": sum(report.statuses.values()), "seed": report.seed,
        "database": report.database, "statuses": dict(report.statuses),
        "findings": dict(report.by_category()), "p50_ms": report.pct(0.5),
        "p99_ms": report.pct(0.99), "max_ms": report.pct(1.0),
    }, indent=2))  # fmt: skip
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
