"""`python -m bot.sandbox.standin`: the stand-in Slack on its own, in the foreground."""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence

from bot import slack_scopes
from bot.sandbox.standin.core import SlackStandIn
from bot.sandbox.standin.protocol import split_ids


def main(argv: Sequence[str] | None = None) -> int:
    """Run the stand-in in the foreground until Ctrl-C."""
    parser = argparse.ArgumentParser(
        prog="python -m bot.sandbox.standin",
        description="Serve a local stand-in of the Slack Web API.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--bot-user-id", default="UBOT")
    parser.add_argument("--team-id", default="T0COPBOT")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before each answer")
    parser.add_argument(
        "--max-calls", type=int, default=10_000, help="how many recent calls to keep in memory"
    )
    parser.add_argument(
        "--scopes",
        help="comma-separated scopes of every token (default: the ones manifest.yaml grants)",
    )
    options = parser.parse_args(argv)
    scopes = split_ids(options.scopes) if options.scopes is not None else slack_scopes.BOT_SCOPES
    standin = SlackStandIn(
        options.host,
        options.port,
        bot_user_id=options.bot_user_id,
        team_id=options.team_id,
        max_calls=options.max_calls,
        scopes=scopes,
    )
    standin.start()
    standin.set_delay(options.delay)
    print(standin.api_url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        standin.stop()
    return 0
