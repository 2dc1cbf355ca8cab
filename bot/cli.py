"""The `cop-bot` command: socket, serve, deliver, console, db upgrade, catalog load, export
lessons."""

from __future__ import annotations

import argparse
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from bot.clock import system_clock
from bot.config import ConfigError, Settings

if TYPE_CHECKING:
    from bot.runtime import Services

log = logging.getLogger("cop_bot")

# How long the delivery process may take, when stopped, to send what is due: serve is
# gone within 10 s of SIGTERM (the web workers have as long, gunicorn's graceful_timeout).
DELIVERY_STOP_SECONDS = 9.0


def _settings() -> Settings:
    try:
        from dotenv import load_dotenv

        load_dotenv(Path.cwd() / ".env", override=False)
    except ImportError:  # pragma: no cover - python-dotenv is a dependency
        pass
    return Settings.from_env()


def _check_slack(settings: Settings) -> None:
    """Before anything starts: Slack must accept the token (else one line, exit 2);
    missing scopes are warned about (bot/startup.py)."""
    from bot.startup import check_slack

    check_slack(settings)


def _start_up(settings: Settings, *required: str) -> None:
    """Before a process that answers Slack starts: the settings it needs, a token Slack
    accepts (`_check_slack`), and the database ready (`bot.app.prepare_database`)."""
    from bot.app import prepare_database

    settings.require(*required)
    _check_slack(settings)
    prepare_database(settings)  # promotions a reload made wait in the outbox


def _socket(settings: Settings, args: argparse.Namespace) -> None:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from bot.app import build_app, build_services, start_scheduler

    _start_up(settings, "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN")
    services = build_services(settings)
    app = build_app(settings, services)
    start_scheduler(services, sweep_seconds=settings.sweep_seconds)
    _health_server(services, settings.health_port)
    log.info("starting in Socket Mode")
    SocketModeHandler(app, settings.slack_app_token).start()


def _serve(settings: Settings, args: argparse.Namespace) -> None:
    from bot.app import build_app, build_services, start_scheduler
    from bot.server import make_wsgi, serve

    _start_up(settings, "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")
    port = args.port or settings.port
    delivery = settings.delivery or "process"
    inline = delivery == "inline"

    # What a web worker built; only in that worker (it is built after the fork).
    built: list[Services] = []

    def factory():  # type: ignore[no-untyped-def]
        services = build_services(settings, courier=inline)
        built.append(services)
        # Every worker runs a scheduler; the lock lets one of them send at a time.
        start_scheduler(services, sweep_seconds=settings.sweep_seconds)
        return make_wsgi(build_app(settings, services), services)

    # Welcome DMs go out from a process of their own, so that sending them takes nothing
    # from the web workers' answers (a Python process computes on one core at a time).
    # With "worker" that process is the platform's to run (the Procfile's `worker`).
    courier = DeliveryProcess() if delivery == "process" else None
    log.info("serving HTTP on port %s (POST /slack/events, GET /healthz)", port)
    try:
        serve(
            factory, port=port, host=args.host, workers=args.workers, threads=args.threads,
            # On SIGTERM the delivery process stops while the workers finish their requests.
            on_stop=courier.begin_stop if courier is not None else None,
        )  # fmt: skip
    finally:
        # A web worker gets here once gunicorn let it finish its requests: it stops its
        # scheduler (releasing the lock) and its pools before the process exits.
        for services in built:
            try:
                services.shutdown()
            except Exception:  # the process exits anyway; its lock goes with it
                log.exception("stopping this worker's services failed")
        if courier is not None:
            courier.stop()


class DeliveryProcess:
    """`cop-bot deliver` next to the web workers, started again if it ever exits on its
    own (the welcomes wait in the outbox meanwhile)."""

    RESTART_DELAY = 1.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stopping = False
        self._stop_by: float | None = None
        # gunicorn forks its workers inside `serve`, so a worker that exits runs the
        # `finally` of `_serve` too: only this process may stop the delivery process.
        self._owner = os.getpid()
        self.process = self._start()
        threading.Thread(target=self._watch, name="cop-delivery-watch", daemon=True).start()

    @staticmethod
    def _start() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "deliver", "--parent", str(os.getpid())]
        )

    def _watch(self) -> None:
        while True:
            code = self.process.wait()
            _process_gone(self.process.pid)
            time.sleep(self.RESTART_DELAY)
            with self._lock:
                if self._stopping:
                    return
                log.warning("the delivery process exited (status %s); starting it again", code)
                self.process = self._start()

    def begin_stop(self) -> None:
        """Ask it to stop (SIGTERM), without waiting; it sends what is due first."""
        if os.getpid() != self._owner:
            return  # a forked web worker on its way out: not its child, not its business
        with self._lock:
            if self._stop_by is None:
                self._stop_by = time.monotonic() + DELIVERY_STOP_SECONDS
            self._stopping = True
            process = self.process
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)

    def stop(self) -> None:
        """Stop it: it may take until DELIVERY_STOP_SECONDS after it was first asked."""
        if os.getpid() != self._owner:
            return
        self.begin_stop()
        with self._lock:
            process, stop_by = self.process, self._stop_by
        assert stop_by is not None
        try:
            process.wait(timeout=max(0.0, stop_by - time.monotonic()))
        except subprocess.TimeoutExpired:
            log.warning("the delivery process did not stop in time; killed")
            process.kill()
            process.wait()


def _deliver(settings: Settings, args: argparse.Namespace) -> None:
    """Send the outbox's welcomes until SIGTERM (what is due then is still sent)."""
    from bot.app import build_services, make_courier
    from storage import migrate

    settings.require("SLACK_BOT_TOKEN")
    if args.parent is None:  # on its own; `serve` has checked Slack and the schema
        _check_slack(settings)
        migrate.upgrade(settings.database_url)
    services = build_services(settings, courier=False)
    courier = make_courier(services)
    if args.parent is None:  # under `serve` its metrics go to serve's directory instead
        _health_server(services, settings.metrics_port or 0)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    log.info("delivering the outbox's welcomes")
    try:
        courier.run(stop, parent=args.parent)
    finally:
        courier.close()
        services.shutdown()
    log.info("the delivery process stopped")


def _health_server(services: Services, port: int) -> None:
    """/healthz, /readyz and /metrics on `port` in a thread, for a mode with no HTTP
    server of its own (0: none)."""
    if port:
        from bot.health import start_server

        start_server(services, port=port)


def _process_gone(pid: int) -> None:
    from bot import multiproc

    multiproc.process_gone(pid)


def _observability(args: argparse.Namespace) -> None:
    """Logging (LOG_LEVEL, LOG_FORMAT=json), and for `serve` the metrics directory that
    its workers and delivery process share: set before prometheus_client is imported."""
    from bot import logs

    logs.configure(os.environ.get("LOG_LEVEL", "INFO").upper(), logs.chosen_format())
    if args.command == "serve":
        from bot import multiproc

        multiproc.prepare()


def _console(settings: Settings, args: argparse.Namespace) -> None:
    from bot.sandbox.console import run_console

    run_console(settings, user=args.user)


def _db_upgrade(settings: Settings, args: argparse.Namespace) -> None:
    from storage import migrate

    migrate.upgrade(settings.database_url)
    print(f"database at revision {migrate.current(settings.database_url)}")


def _db_backup(settings: Settings, args: argparse.Namespace) -> None:
    """A copy of the SQLite database, safe while the bot runs (storage/backup.py)."""
    from storage import backup

    try:
        revision = backup.backup(settings.database_url, Path(args.file))
    except backup.BackupError as exc:
        raise ConfigError(str(exc)) from None
    print(f"database backed up to {args.file} (schema revision {revision})")


def _db_restore(settings: Settings, args: argparse.Namespace) -> None:
    """A backup into a fresh SQLite database, migrated to this version's schema."""
    from storage import backup

    try:
        restored = backup.restore(Path(args.file), settings.database_url)
    except backup.BackupError as exc:
        raise ConfigError(str(exc)) from None
    upgraded = (
        f", upgraded from {restored.from_revision}"
        if restored.from_revision != restored.revision
        else ""
    )
    print(
        f"{args.file} restored into {restored.path} (schema revision {restored.revision}{upgraded})"
    )


def _catalog_load(settings: Settings, args: argparse.Namespace) -> None:
    from bot.app import load_catalog
    from bot.services import meetings
    from storage import migrate
    from storage.db import Database

    migrate.upgrade(settings.database_url)
    db = Database(settings.database_url, pool_size=1)
    try:
        now = system_clock()  # a command run by hand: its "now" is the wall clock's
        with db.write() as session:
            report, community_ids = load_catalog(
                session, Path(args.file), settings.timezone, now=now
            )
            # The running bot's scheduler picks these up at its next sweep.
            meetings.sync_reminders(
                session,
                offsets=settings.reminder_offsets,
                now=now,
                tz=settings.timezone,
                community_ids=community_ids,
            )
    finally:
        db.dispose()
    for slug, user in report.promoted:
        # Queued with the reload: the running bot's delivery worker sends the welcome.
        print(f"{slug}: {user} moved up from the waitlist (welcome queued)")
    print(
        f"{args.file}: {report.created} created, {report.updated} updated, "
        f"{report.unchanged} unchanged; meetings: {report.meetings_created} created, "
        f"{report.meetings_updated} updated, {report.meetings_cancelled} cancelled"
    )


def export_lessons(settings: Settings, *, output: Path | None) -> str:
    """All lessons as one Markdown document, in COP_LANGUAGE; written to `output` when
    given. Returns the document."""
    from bot.i18n import Translator
    from bot.services import lessons
    from storage import migrate
    from storage.db import Database

    migrate.upgrade(settings.database_url)
    db = Database(settings.database_url, pool_size=1)
    try:
        with db.read() as session:
            everything = lessons.everything(session)
    finally:
        db.dispose()
    document = lessons.markdown(everything, Translator(settings.language, settings.timezone))
    if output is not None:
        output.write_text(document, encoding="utf-8")
    return document


def _export_lessons(settings: Settings, args: argparse.Namespace) -> None:
    output = Path(args.output) if args.output else None
    document = export_lessons(settings, output=output)
    if output is None:
        sys.stdout.write(document)
    else:
        print(f"lessons written to {output}", file=sys.stderr)


_USER = re.compile(r"^[UW][A-Z0-9]{1,20}$")


def _user_arg(value: str) -> str:
    """A Slack user id, as `cop-bot privacy` takes it (also from a mention <@U123>)."""
    user = value.strip().removeprefix("<@").removesuffix(">").split("|")[0].lstrip("@")
    if not _USER.match(user):
        raise argparse.ArgumentTypeError(f"'{value}' is not a Slack user id such as U0123ABCD")
    return user


def _privacy_export(settings: Settings, args: argparse.Namespace) -> None:
    """Everything stored about a person, as JSON on stdout."""
    import json

    from bot.services import privacy
    from storage import migrate
    from storage.db import Database

    migrate.upgrade(settings.database_url)
    db = Database(settings.database_url, pool_size=1)
    try:
        with db.read() as session:
            exported = privacy.export(session, user_id=args.user, now=system_clock())
    finally:
        db.dispose()
    sys.stdout.write(json.dumps(exported.data, ensure_ascii=False, indent=2) + "\n")


def _privacy_forget(settings: Settings, args: argparse.Namespace) -> None:
    """Forget a person, as `/cop vergeet mij` does; asks first unless --yes."""
    from bot.services import audit, privacy
    from storage import migrate
    from storage.db import Database

    if not args.yes:
        print(f"Remove everything stored about {args.user}? This cannot be undone. [y/N] ",
              end="", flush=True)  # fmt: skip
        if sys.stdin.readline().strip().lower() not in ("y", "yes", "j", "ja"):
            print("nothing removed")
            raise SystemExit(1)
    migrate.upgrade(settings.database_url)
    if settings.slack_bot_token:
        # With Slack at hand, whoever moves up is welcomed and the admins are told.
        from bot.app import build_services
        from handlers.privacy import forget_user

        services = build_services(settings, courier=False)
        try:
            forgotten = forget_user(services, args.user, actor=audit.BY_CLI)
            services.wait_idle(60)
        finally:
            services.shutdown()
    else:
        db = Database(settings.database_url, pool_size=1)
        try:
            with db.write() as session:
                forgotten = privacy.forget(
                    session, user_id=args.user, now=system_clock(), tz=settings.timezone,
                    salt=audit.salt(session, settings.audit_salt), actor=audit.BY_CLI,
                    admins=settings.admins,
                )  # fmt: skip
        finally:
            db.dispose()
        for promotion in forgotten.promotions:
            print(f"{promotion.community.summary.slug}: {promotion.user_id} moved up from the "
                  "waitlist (not told: SLACK_BOT_TOKEN is not set)")  # fmt: skip
    roles = ", ".join(forgotten.facilitator_of) or "none"
    print(f"{args.user} forgotten: {forgotten.memberships} memberships left, facilitator "
          f"roles ended: {roles}; in the audit log as {forgotten.hashed}")  # fmt: skip


def _audit_export(settings: Settings, args: argparse.Namespace) -> None:
    """The whole audit log, oldest first, as JSON or CSV on stdout."""
    import csv
    import dataclasses
    import json

    from bot.services import audit
    from storage import migrate
    from storage.db import Database

    migrate.upgrade(settings.database_url)
    db = Database(settings.database_url, pool_size=1)
    try:
        with db.read() as session:
            rows = [
                dataclasses.asdict(e) | {"at": e.at.isoformat()} for e in audit.everything(session)
            ]
    finally:
        db.dispose()
    if args.format == "csv":
        fields = ["id", "at", "action", "actor", "subject", "community", "detail"]
        writer = csv.DictWriter(sys.stdout, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    else:
        sys.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")


def _outbox(settings: Settings, args: argparse.Namespace) -> None:
    """What the delivery road holds: counts per kind and state, or what failed for good."""
    from bot.services import outbox
    from storage import migrate
    from storage.db import Database

    migrate.upgrade(settings.database_url)
    db = Database(settings.database_url, pool_size=1)
    try:
        with db.read() as session:
            if args.outbox == "failed":
                found = outbox.failures(session, limit=args.limit)
                for f in found:
                    at = f.at.isoformat(timespec="seconds") if f.at else "-"
                    print(f"{at}  #{f.id}  {f.kind}  to {f.recipient}  ({f.subject}): {f.error}")
                if not found:
                    print("nothing failed")
                return
            for (kind, state), n in sorted(outbox.counts(session).items()):
                print(f"{kind:18} {state:8} {n}")
    finally:
        db.dispose()


def _add_privacy_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    priv = sub.add_parser("privacy", help="personal data (AVG/GDPR)").add_subparsers(
        dest="privacy", required=True
    )
    exp = priv.add_parser("export", help="everything stored about a user, as JSON")
    exp.add_argument("user", type=_user_arg, help="Slack user id, e.g. U0123ABCD")
    exp.set_defaults(run=_privacy_export)
    fgt = priv.add_parser("forget", help="remove everything stored about a user")
    fgt.add_argument("user", type=_user_arg, help="Slack user id, e.g. U0123ABCD")
    fgt.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    fgt.set_defaults(run=_privacy_forget)
    aud = sub.add_parser("audit", help="the audit log").add_subparsers(dest="audit", required=True)
    aexp = aud.add_parser("export", help="the whole audit log, oldest first")
    aexp.add_argument("--format", choices=["json", "csv"], default="json")
    aexp.set_defaults(run=_audit_export)
    box = sub.add_parser("outbox", help="the delivery road").add_subparsers(
        dest="outbox", required=True
    )
    box.add_parser("status", help="items per kind and state").set_defaults(run=_outbox)
    failed = box.add_parser("failed", help="what Slack refused for good, newest first")
    failed.add_argument("--limit", type=int, default=100)
    failed.set_defaults(run=_outbox)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="cop-bot", description="CoP bot: Communities of Practice in Slack"
    )
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("socket", help="run in Socket Mode").set_defaults(run=_socket)
    s = sub.add_parser("serve", help="serve HTTP (POST /slack/events, GET /healthz)")
    s.add_argument("--port", type=int, default=None, help="port (default: $PORT or 3000)")
    s.add_argument("--host", default="0.0.0.0")
    s.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "1")))
    s.add_argument("--threads", type=int, default=8)
    s.set_defaults(run=_serve)
    d = sub.add_parser(
        "deliver",
        help="send the outbox's welcome DMs (serve starts one unless COP_DELIVERY=worker)",
    )
    d.add_argument("--parent", type=int, default=None, help=argparse.SUPPRESS)
    d.set_defaults(run=_deliver)
    c = sub.add_parser("console", help="try the bot in this terminal, no Slack needed")
    c.add_argument("--user", default="U0ALICE", help="the Slack user you start as")
    c.set_defaults(run=_console)
    db = sub.add_parser("db", help="database commands").add_subparsers(dest="db", required=True)
    db.add_parser("upgrade", help="apply migrations").set_defaults(run=_db_upgrade)
    db_backup = db.add_parser("backup", help="copy the SQLite database, also while it runs")
    db_backup.add_argument("file", help="the backup file to write (must not exist yet)")
    db_backup.set_defaults(run=_db_backup)
    db_restore = db.add_parser("restore", help="a backup into a new, empty SQLite database")
    db_restore.add_argument("file", help="the backup file to read")
    db_restore.set_defaults(run=_db_restore)
    cat = sub.add_parser("catalog", help="catalogue commands").add_subparsers(
        dest="cat", required=True
    )
    load = cat.add_parser("load", help="create or update communities from a TOML file")
    load.add_argument("file")
    load.set_defaults(run=_catalog_load)
    export = sub.add_parser("export", help="export data").add_subparsers(
        dest="export", required=True
    )
    lessons = export.add_parser("lessons", help="all lessons as one document")
    lessons.add_argument("--format", choices=["md"], default="md", help="md: Markdown")
    lessons.add_argument("--output", default=None, help="file to write (default: stdout)")
    lessons.set_defaults(run=_export_lessons)
    _add_privacy_commands(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    _observability(args)
    from bot.services.catalog import CatalogError

    try:
        settings = _settings()
        args.run(settings, args)
    except (ConfigError, CatalogError) as exc:
        print(f"cop-bot: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
