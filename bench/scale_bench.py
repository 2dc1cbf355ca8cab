"""Start-up at scale: time to ready and resident memory of `cop-bot serve` with 100,000
upcoming meetings in the database, against the same start with an empty database.

    ./dev scale [--meetings 100000] [--communities 500] [--runs 3]
    ./dev scale --database-url postgresql+psycopg://postgres@127.0.0.1:5432/copbench

For each database (a fresh SQLite file, and PostgreSQL when a URL is given: its schema is
dropped and made anew) it measures three kinds of start, `--runs` times each, taking turns:

- baseline: an empty, migrated database;
- first start: the meetings were just bulk-inserted, no reminder is planned yet, so the
  start plans two reminders per meeting (7d, 1d);
- restart: every reminder is already planned; the start checks them all.

Ready is the moment `GET /healthz` answers 200 (the start plans every reminder before
gunicorn listens). Memory is the peak resident set (VmHWM in /proc) of gunicorn's master
and of its worker, read a few seconds after ready so that the worker's first scheduler
sweep is included; "sum" adds them, counting pages they share twice.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import insert, text

from bot.sandbox.standin import SlackStandIn
from storage import migrate
from storage.db import Database, null_pool_engine
from storage.models import Community, Meeting

RESULTS = Path(__file__).resolve().parent / "results"
COP_BOT = Path(sys.executable).with_name("cop-bot")
SETTLE_SECONDS = 2.0
PLANNED = "reminders planned for every upcoming meeting"


def fresh(url: str) -> None:
    """An empty, migrated database at `url`."""
    if not url.startswith("sqlite"):
        engine = null_pool_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    migrate.upgrade(url)


def community_row(i: int, now: dt.datetime) -> dict[str, object]:
    return {
        "slug": f"cop-{i:04d}", "name": f"CoP {i}", "programme": "Bench", "description": "",
        "approval": False, "join_counter": 0, "member_count": 0, "waitlist_count": 0,
        "created_at": now, "updated_at": now,
    }  # fmt: skip


def meeting_row(
    i: int, community_id: int, starts: dt.datetime, now: dt.datetime
) -> dict[str, object]:
    return {
        "community_id": community_id, "key": f"m{i}", "title": None, "starts_at": starts,
        "ends_at": starts + dt.timedelta(hours=2), "kind": "online", "location": None,
        "status": "scheduled", "source": "catalog", "agenda_version": 0, "sequence": 0,
        "created_at": now, "updated_at": now,
    }  # fmt: skip


def fill(url: str, *, meetings: int, communities: int, seed: int = 7) -> None:
    """Bulk-insert `communities` communities and `meetings` upcoming meetings spread over
    them, from one hour to two years ahead."""
    rng = random.Random(seed)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    db = Database(url)
    try:
        with db.write() as session:
            rows = [community_row(i, now) for i in range(communities)]
            session.execute(insert(Community.__table__), rows)
            ids = [row[0] for row in session.execute(text("SELECT id FROM communities"))]
        step = 10_000
        for start in range(0, meetings, step):
            rows = []
            for i in range(start, min(start + step, meetings)):
                starts = now + dt.timedelta(hours=1, minutes=rng.randrange(2 * 365 * 24 * 60))
                rows.append(meeting_row(i, ids[i % len(ids)], starts, now))
            with db.write() as session:
                session.execute(insert(Meeting.__table__), rows)
    finally:
        db.dispose()


def count(url: str, table: str) -> int:
    db = Database(url)
    try:
        with db.read() as session:
            return int(session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
    finally:
        db.dispose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid:
            found.add(int(entry))
    return found


def _peak_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _cpu_s(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


@dataclass(frozen=True)
class Start:
    ready_s: float
    planned_s: float
    cpu_s: float
    master_mb: float
    worker_mb: float

    @property
    def max_mb(self) -> float:
        return max(self.master_mb, self.worker_mb)

    @property
    def sum_mb(self) -> float:
        return self.master_mb + self.worker_mb


def start_once(url: str, standin: SlackStandIn, workdir: Path) -> Start:
    """Start `cop-bot serve`, wait for /healthz 200, let it settle, read peak memory."""
    port = _free_port()
    env = {
        "PATH": os.environ.get("PATH", ""), "HOME": str(workdir),
        "SLACK_BOT_TOKEN": "xoxb-bench", "SLACK_SIGNING_SECRET": "bench",
        "SLACK_API_URL": standin.api_url, "DATABASE_URL": url, "LOG_LEVEL": "INFO",
    }  # fmt: skip
    log_path = workdir / "serve.log"
    log_path.write_bytes(b"")
    log = log_path.open("ab")
    began = time.perf_counter()
    process = subprocess.Popen(
        [str(COP_BOT), "serve", "--port", str(port), "--host", "127.0.0.1", "--workers", "1"],
        env=env, cwd=workdir, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise SystemExit(f"cop-bot serve exited with {process.returncode}; see {log.name}")
            if time.monotonic() > deadline:
                raise SystemExit("cop-bot serve was not ready within 120 s")
            try:
                url_ = f"http://127.0.0.1:{port}/healthz"
                with urllib.request.urlopen(url_, timeout=1) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.02)
        ready = time.perf_counter() - began
        # The scheduler's owner plans every upcoming meeting's reminders after ready.
        while PLANNED not in log_path.read_text():
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the reminders were not planned; see {log_path}")
            time.sleep(0.05)
        planned = time.perf_counter() - began
        time.sleep(SETTLE_SECONDS)
        workers = _children(process.pid)
        master = _peak_kb(process.pid)
        worker = max((_peak_kb(w) for w in workers), default=0)
        cpu = _cpu_s(process.pid) + sum(_cpu_s(w) for w in workers)
        return Start(ready, planned, cpu, master / 1024, worker / 1024)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def measure(url: str, name: str, args: argparse.Namespace, workdir: Path) -> list[str]:
    starts: dict[str, list[Start]] = {"baseline": [], "first start": [], "restart": []}
    sqlite = url.startswith("sqlite")
    with SlackStandIn() as standin:
        for run in range(args.runs):
            if sqlite:
                url = f"sqlite:///{workdir / f'run{run}-empty.db'}"
            fresh(url)
            starts["baseline"].append(start_once(url, standin, workdir))
            if sqlite:
                url = f"sqlite:///{workdir / f'run{run}-full.db'}"
            fresh(url)
            began = time.perf_counter()
            fill(url, meetings=args.meetings, communities=args.communities)
            filled = time.perf_counter() - began
            starts["first start"].append(start_once(url, standin, workdir))
            planned = count(url, "reminders")
            starts["restart"].append(start_once(url, standin, workdir))
            print(f"{name} run {run + 1}: {args.meetings} meetings inserted in {filled:.1f} s; "
                  + ", ".join(f"{k} {v[-1].ready_s:.2f} s / {v[-1].max_mb:.0f} MB"
                              for k, v in starts.items())
                  + f"; {planned} reminders planned", flush=True)  # fmt: skip
    base = starts["baseline"]
    base_ready = statistics.median(s.ready_s for s in base)
    base_mb = statistics.median(s.max_mb for s in base)
    lines = []
    for kind, runs in starts.items():
        ready = statistics.median(s.ready_s for s in runs)
        planned = statistics.median(s.planned_s for s in runs)
        cpu = statistics.median(s.cpu_s for s in runs)
        peak = statistics.median(s.max_mb for s in runs)
        total = statistics.median(s.sum_mb for s in runs)
        lines.append(
            f"| {name} | {kind} | {ready:.2f} | {ready / base_ready:.2f}× "
            f"| {max(s.ready_s for s in runs):.2f} | {planned:.2f} | {cpu:.1f} "
            f"| {peak:.0f} | {peak / base_mb:.2f}× | {max(s.max_mb for s in runs):.0f} "
            f"| {total:.0f} |"
        )
    return lines


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--meetings", type=int, default=100_000)
    p.add_argument("--communities", type=int, default=500)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--database-url", default=None, help="also measure on this PostgreSQL")
    args = p.parse_args()

    header = (
        "| database | start | ready s (median) | vs baseline | ready s (max) | planned s "
        "| CPU s | peak MB (median) | vs baseline | peak MB (max) | master+worker MB |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|"
    )
    lines: list[str] = []
    with tempfile.TemporaryDirectory(prefix="cop-scale-") as tmp:
        workdir = Path(tmp)
        lines += measure("sqlite:///", "SQLite", args, workdir)
        if args.database_url:
            lines += measure(args.database_url, "PostgreSQL", args, workdir)
    print(header)
    print("\n".join(lines))
    RESULTS.mkdir(parents=True, exist_ok=True)
    with (RESULTS / "scale.md").open("a") as out:
        out.write(f"<!-- {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} {json.dumps(vars(args))} -->\n")
        out.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
