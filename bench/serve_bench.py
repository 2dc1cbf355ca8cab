"""HTTP benchmark of `cop-bot serve` against a bare Bolt app served the same way.

    ./dev bench [--seconds 10] [--clients 20] [--rounds 2] [--database-url URL]

Starts the Slack stand-in, `cop-bot serve` and the bare app (gunicorn, same workers
and threads), then drives each with the same number of concurrent keep-alive clients
sending signed slash commands. Scenarios alternate in rounds so that machine noise
hits all of them alike; the report gives throughput and latency, and ratios against
the bare app measured in the same run.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import platform
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.split import split
from bot.sandbox.signed import signed_headers, slash_command_body

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
CPU_GROUPS = ("app", "stand-in", "clients")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not become healthy in {timeout:.0f}s")


@dataclass
class Result:
    name: str
    requests: int
    errors: int
    seconds: float
    latencies: list[float]
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds per process group

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds

    def pct(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * p))] * 1000

    @property
    def worst(self) -> float:
        return max(self.latencies) * 1000


def drive(
    port: int,
    secret: str,
    response_url: str,
    make_text: Callable[[int], tuple[str, str]],
    *,
    clients: int,
    seconds: float,
    name: str,
) -> Result:
    """`clients` threads, each on its own keep-alive connection, for `seconds`."""
    counter = itertools.count()
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    stop_at = time.monotonic() + seconds
    start = threading.Barrier(clients + 1)

    def client(index: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        start.wait()
        while time.monotonic() < stop_at:
            user, text = make_text(next(counter))
            body = slash_command_body(user_id=user, text=text, response_url=response_url)
            headers = signed_headers(secret, body)
            began = time.perf_counter()
            try:
                conn.request("POST", "/slack/events", body=body.encode(), headers=headers)
                response = conn.getresponse()
                payload = response.read()
                ok = response.status == 200 and b"apology" not in payload
            except (OSError, http.client.HTTPException):
                ok = False
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            latencies[index].append(time.perf_counter() - began)
            if not ok:
                errors[index] += 1
        conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    start.wait()
    began = time.monotonic()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - began
    flat = [x for per in latencies for x in per]
    return Result(name, len(flat), sum(errors), elapsed, flat)


def _descendants(pid: int) -> list[int]:
    found = [pid]
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for tid in tasks:
        try:
            children = Path(f"/proc/{pid}/task/{tid}/children").read_text().split()
        except OSError:
            continue
        for child in children:
            found.extend(_descendants(int(child)))
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and all its descendants (Linux /proc)."""
    total = 0
    for p in _descendants(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def welcome_report(database_url: str, timeout: float = 120.0) -> str:
    """Every join's welcome DM went out through the outbox: wait until none is left, then
    count them and how long each took from the join until it was marked sent."""
    from sqlalchemy import select

    from storage.db import Database
    from storage.models import OutboxItem

    db = Database(database_url, pool_size=1)
    try:
        deadline = time.monotonic() + timeout
        while True:
            with db.read() as session:
                rows = session.execute(
                    select(OutboxItem.state, OutboxItem.created_at, OutboxItem.done_at).where(
                        OutboxItem.kind == "welcome"
                    )
                ).all()
            open_items = [r for r in rows if r.state in (OutboxItem.PENDING, OutboxItem.SENDING)]
            if not open_items or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    finally:
        db.dispose()
    done = sorted(
        (r.done_at - r.created_at).total_seconds() for r in rows if r.state == OutboxItem.DONE
    )
    failed = sum(r.state == OutboxItem.FAILED for r in rows)
    if not done:
        return f"Welcome DMs: {len(rows)} queued, none sent."
    return (
        f"Welcome DMs: {len(rows)} queued with the joins, {len(done)} sent, {failed} failed, "
        f"{len(open_items)} still waiting; from the join to marked sent p50 "
        f"{1000 * done[len(done) // 2]:.0f} ms, p99 {1000 * done[int(len(done) * 0.99)]:.0f} ms, "
        f"max {1000 * done[-1]:.0f} ms."
    )


def merge(results: list[Result]) -> Result:
    return Result(
        results[0].name,
        sum(r.requests for r in results),
        sum(r.errors for r in results),
        sum(r.seconds for r in results),
        [x for r in results for x in r.latencies],
        {k: sum(r.cpu.get(k, 0.0) for r in results) for k in results[0].cpu},
    )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--seconds", type=float, default=10.0, help="per scenario per round")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--clients", type=int, default=20)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--threads", type=int, default=8)
    p.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    args = p.parse_args()

    secret = secrets.token_hex(16)
    tmp = Path(tempfile.mkdtemp(prefix="cop-bench-"))
    database_url = args.database_url or f"sqlite:///{tmp / 'bench.db'}"
    standin_port, cop_port, bare_port = free_port(), free_port(), free_port()
    api_url = f"http://127.0.0.1:{standin_port}/api/"
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": "xoxb-bench",
        "SLACK_SIGNING_SECRET": secret,
        "SLACK_API_URL": api_url,
        "DATABASE_URL": database_url,
        "COP_CATALOG": str(ROOT / "bot" / "data" / "catalog.toml"),
        "LOG_LEVEL": "WARNING",
    }
    py = sys.executable
    procs = [
        subprocess.Popen(
            [py, "-m", "bot.sandbox.standin", "--port", str(standin_port)],
            env=env,
            stdout=subprocess.DEVNULL,
        ),
        subprocess.Popen(
            [
                py,
                "-m",
                "bot.cli",
                "serve",
                "--port",
                str(cop_port),
                "--host",
                "127.0.0.1",
                "--workers",
                str(args.workers),
                "--threads",
                str(args.threads),
            ],
            env=env,
        ),
        subprocess.Popen(
            [
                py,
                "-m",
                "bench.bare_app",
                "--port",
                str(bare_port),
                "--workers",
                str(args.workers),
                "--threads",
                str(args.threads),
                "--secret",
                secret,
                "--api-url",
                api_url,
            ],
            env=env,
        ),
    ]
    try:
        wait_healthy(f"http://127.0.0.1:{standin_port}/healthz")
        wait_healthy(f"http://127.0.0.1:{cop_port}/healthz")
        wait_healthy(f"http://127.0.0.1:{bare_port}/healthz")
        response_url = f"http://127.0.0.1:{standin_port}/response/bench"
        run_id = secrets.token_hex(3).upper()
        joiners = itertools.count()

        scenarios: dict[str, tuple[int, Callable[[int], tuple[str, str]]]] = {
            "bare /cop": (bare_port, lambda i: (f"UB{run_id}{i}", "lijst")),
            "/cop lijst": (cop_port, lambda i: (f"UL{run_id}{i % 500}", "lijst")),
            # Every request is a new person joining: a real write, a welcome DM after it.
            # One counter for the whole run: `i` starts again at 0 in every drive.
            "/cop aanmelden": (
                cop_port,
                lambda i: (f"UJ{run_id}{next(joiners)}", "aanmelden ethiek"),
            ),
        }
        for name, (port, make) in scenarios.items():  # warm-up: imports, caches, pools
            drive(port, secret, response_url, make, clients=args.clients, seconds=2, name=name)
        collected: dict[str, list[Result]] = {name: [] for name in scenarios}
        app_pid = {bare_port: procs[2].pid, cop_port: procs[1].pid}
        for _ in range(args.rounds):
            for name, (port, make) in scenarios.items():
                groups = {"app": app_pid[port], "stand-in": procs[0].pid}
                before = {k: cpu_seconds(pid) for k, pid in groups.items()}
                before["clients"] = sum(os.times()[:2])
                result = drive(
                    port,
                    secret,
                    response_url,
                    make,
                    clients=args.clients,
                    seconds=args.seconds,
                    name=name,
                )
                after = {k: cpu_seconds(pid) for k, pid in groups.items()}
                after["clients"] = sum(os.times()[:2])
                result.cpu = {k: after[k] - before[k] for k in before}
                collected[name].append(result)
        welcomes = welcome_report(database_url)
        # In this process, one request at a time, against the same stand-in and database.
        in_process = split(api_url, database_url=database_url)
    finally:
        # The apps first: what they still send on the way out finds the stand-in there.
        for proc in procs[::-1]:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()

    results = {name: merge(rs) for name, rs in collected.items()}
    bare = results["bare /cop"]
    rows = []
    for name, r in results.items():
        ratio = r.throughput / bare.throughput
        rows.append(
            f"| {name} | {r.throughput:.0f} | {ratio:.2f}× | {r.pct(0.5):.1f} | {r.pct(0.99):.1f} "
            f"| {r.worst:.0f} | {r.requests} | {r.errors} |"
        )
    cpu_rows = [
        f"| {name} | "
        + " | ".join(f"{1000 * r.cpu[k] / max(r.requests, 1):.2f}" for k in CPU_GROUPS)
        + f" | {sum(r.cpu.values()) / r.seconds:.2f} |"
        for name, r in results.items()
    ]
    per_round = {
        name: [
            f"{x.throughput / b.throughput:.2f}"
            for x, b in zip(rs, collected["bare /cop"], strict=True)
        ]
        for name, rs in collected.items()
    }
    db_kind = database_url.split(":", 1)[0]
    report = "\n".join(
        [
            f"Run {time.strftime('%Y-%m-%d %H:%M')} on {platform.machine()}, {os.cpu_count()} "
            f"cores, Python {platform.python_version()}; {args.clients} clients, "
            f"{args.rounds} rounds × {args.seconds:.0f} s per scenario; gunicorn gthread "
            f"{args.workers} workers × {args.threads} threads; database {db_kind}.",
            "",
            "| scenario | req/s | vs bare | p50 ms | p99 ms | max ms | requests | errors |",
            "|---|---|---|---|---|---|---|---|",
            *rows,
            "",
            "Throughput ratio per round: "
            + "; ".join(f"{n}: {', '.join(v)}" for n, v in per_round.items()),
            "",
            welcomes,
            "",
            "CPU milliseconds per request, by process (the app under test, the Slack "
            "stand-in, the benchmark's clients), and cores busy in all:",
            "",
            "| scenario | " + " | ".join(CPU_GROUPS) + " | cores busy |",
            "|---|" + "---|" * (len(CPU_GROUPS) + 1),
            *cpu_rows,
            "",
            "The same requests in one thread of this process, without an HTTP server "
            "(bench/split.py): CPU milliseconds per request, and against the bare app.",
            "",
            "| scenario | CPU ms/req | vs bare |",
            "|---|---|---|",
            *(
                f"| {name} | {ms:.3f} | {ms / in_process['bare /cop']:.1f}× |"
                for name, ms in in_process.items()
            ),
        ]
    )
    print(report)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "serve.md").write_text(report + "\n")
    (RESULTS / "serve.json").write_text(
        json.dumps(
            {
                n: {
                    "rps": r.throughput,
                    "p50_ms": r.pct(0.5),
                    "p99_ms": r.pct(0.99),
                    "max_ms": r.worst,
                    "requests": r.requests,
                    "errors": r.errors,
                    "ratio": r.throughput / bare.throughput,
                    "cpu_ms_per_request": {
                        k: 1000 * v / max(r.requests, 1) for k, v in r.cpu.items()
                    },
                }
                for n, r in results.items()
            }
            | {"in_process_cpu_ms_per_request": in_process},
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
