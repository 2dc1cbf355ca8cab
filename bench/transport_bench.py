"""What slack_sdk's stock transport costs the delivery worker: N chat.postMessage calls to
the stand-in through the bot's Slack client (bot/slack_notifier.py, slack_sdk's WebClient
with its retry handlers, a new connection per call), against the same calls on one
keep-alive connection with nothing above it (the floor), in the same run.

    .venv/bin/python -m bench.transport_bench [--calls 2000] [--threads 8]
"""

from __future__ import annotations

import argparse
import http.client
import json
import threading
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from bot.notifier import Message
from bot.sandbox.standin import SlackStandIn
from bot.slack_notifier import SlackNotifier, make_web_client


def _timed(calls: int, threads: int, send: Callable[[int], None]) -> float:
    per = calls // threads
    began = time.perf_counter()
    workers = [
        threading.Thread(target=lambda t=t: [send(t * per + i) for i in range(per)])
        for t in range(threads)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return per * threads / (time.perf_counter() - began)


def _floor(api_url: str) -> Callable[[int], None]:
    parts = urlsplit(api_url)
    local = threading.local()

    def send(i: int) -> None:
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = http.client.HTTPConnection(parts.netloc, timeout=10)
        body = json.dumps({"channel": f"U{i % 500:04d}", "text": "herinnering"}).encode()
        conn.request("POST", parts.path + "chat.postMessage", body=body, headers={
            "Content-Type": "application/json;charset=utf-8", "Authorization": "Bearer xoxb-test",
        })  # fmt: skip
        response = conn.getresponse()
        assert json.loads(response.read())["ok"]

    return send


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with SlackStandIn() as standin:
        notifier = SlackNotifier(make_web_client("xoxb-test", standin.api_url))

        def via_client(i: int) -> None:
            notifier.send_dm(f"U{i % 500:04d}", Message(text="herinnering"))

        floor = _floor(standin.api_url)
        _timed(200, args.threads, via_client)  # warm-up
        _timed(200, args.threads, floor)
        for round_ in range(1, args.rounds + 1):
            standin.clear()
            client = _timed(args.calls, args.threads, via_client)
            standin.clear()
            bare = _timed(args.calls, args.threads, floor)
            print(f"round {round_}: bot's client {client:.0f} calls/s, one keep-alive "
                  f"connection {bare:.0f} calls/s, ratio {client / bare:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
