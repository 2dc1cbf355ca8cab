"""The baseline: a bare Bolt app with one trivial `/cop` handler, served like `cop-bot serve`."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import Ack, App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient

from bot.server import WSGIApp, serve


def make_bare_wsgi(token: str, secret: str, api_url: str) -> WSGIApp:
    app = App(
        client=WebClient(token=token, base_url=api_url),
        signing_secret=secret,
        process_before_response=True,
        token_verification_enabled=False,
    )

    @app.command("/cop")
    def cop(ack: Ack) -> None:
        ack(text="ok")

    slack = SlackRequestHandler(app)

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz":
            body = json.dumps({"ok": True}).encode()
            start_response("200 OK", [("Content-Type", "application/json")])
            return [body]
        return slack(environ, start_response)

    return wsgi


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--threads", type=int, default=8)
    p.add_argument("--token", default="xoxb-bench")
    p.add_argument("--secret", required=True)
    p.add_argument("--api-url", required=True)
    args = p.parse_args()
    serve(
        lambda: make_bare_wsgi(args.token, args.secret, args.api_url),
        port=args.port,
        host="127.0.0.1",
        workers=args.workers,
        threads=args.threads,
    )


if __name__ == "__main__":
    main()
