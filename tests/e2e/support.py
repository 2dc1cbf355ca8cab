"""Helpers for the end-to-end reminder tests: a catalogue with a meeting moments away,
`cop-bot serve` processes on the stand-in, and the reminder DMs that reached it."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot.sandbox.standin import SlackStandIn
from tests.conftest import AMS, SECRET, SlackHTTP
from tests.e2e.test_serve import COP_BOT, _env, _free_port, _wait_healthy


def catalogue(starts: dt.datetime, offset: str = "15s") -> str:
    """One community, "snel", with one meeting at `starts` and one reminder `offset` before."""
    local = starts.astimezone(AMS).replace(tzinfo=None).isoformat(timespec="seconds")
    return f"""
[[community]]
slug = "snel"
name = "Snel"
reminders = ["{offset}"]

[[community.meeting]]
id = "nu"
starts = {local}
kind = "online"
"""


def start_serve(
    db_url: str, standin: SlackStandIn, tmp_path: Path, catalogue: Path, name: str
) -> tuple[subprocess.Popen[bytes], Path]:
    """`cop-bot serve` in a session of its own (so that a SIGKILL to its process group
    reaches gunicorn's worker too), sweeping every 0.3 s; returns once /healthz is 200."""
    process, _, log = start_serve_http(db_url, standin, tmp_path, catalogue, name)
    return process, log


def start_serve_http(
    db_url: str, standin: SlackStandIn, tmp_path: Path, catalogue: Path, name: str
) -> tuple[subprocess.Popen[bytes], SlackHTTP, Path]:
    """As start_serve, with a client that sends it requests signed as Slack does."""
    port = _free_port()
    log = tmp_path / f"{name}.log"
    env = _env(
        SLACK_BOT_TOKEN="xoxb-test", SLACK_SIGNING_SECRET=SECRET, SLACK_API_URL=standin.api_url,
        DATABASE_URL=db_url, COP_CATALOG=str(catalogue), COP_SWEEP_SECONDS="0.3",
        HOME=str(tmp_path),
    )  # fmt: skip
    with log.open("ab") as output:
        process = subprocess.Popen(
            [str(COP_BOT), "serve", "--port", str(port), "--host", "127.0.0.1", "--workers", "1"],
            env=env, cwd=tmp_path, stdout=output, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    _wait_healthy(base, process, log)
    return process, SlackHTTP(base, standin), log


def reminder_dms(standin: SlackStandIn) -> Counter[str]:
    """Reminder DMs (keyed in their metadata, with the Ik kom / Ik kom niet buttons) that
    Slack accepted, per user; welcomes and other messages are not counted."""
    return Counter(
        str(call.args["channel"])
        for call in standin.calls("chat.postMessage")
        if call.status == 200
        and call.response.get("ok")
        and call.args.get("metadata")
        and _is_reminder(call.args.get("blocks"))
    )


def is_reminder_dm(args: dict[str, Any]) -> bool:
    """Whether a chat.postMessage call's arguments are a keyed reminder DM (as counted by
    reminder_dms): for the stand-in's hold_after."""
    return bool(args.get("metadata")) and _is_reminder(args.get("blocks"))


def _is_reminder(blocks: object) -> bool:
    if isinstance(blocks, str):  # the Web API's form encoding sends them as JSON
        blocks = json.loads(blocks)
    return isinstance(blocks, list) and any(
        isinstance(b, dict) and str(b.get("block_id", "")).startswith("rsvp-") for b in blocks
    )


def reminder_items(db_url: str) -> list[tuple[str, str, bool]]:
    """(recipient, state, unsure) of every reminder item in the outbox."""
    from bot.services import outbox
    from storage.db import Database
    from storage.models import OutboxItem

    db = Database(db_url)
    try:
        with db.read() as session:
            rows = session.execute(
                select(OutboxItem.recipient, OutboxItem.state, OutboxItem.unsure).where(
                    OutboxItem.kind.in_(outbox.REMINDERS)
                )
            )
            return [(r, s, bool(u)) for r, s, u in rows]
    finally:
        db.dispose()
