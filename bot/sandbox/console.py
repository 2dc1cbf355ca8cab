"""`cop-bot console`: try the bot in a terminal, no Slack account needed.

Each line you type becomes a slash command built and signed exactly as Slack sends
it, dispatched to the real Bolt app. The bot's Web API calls go to a local stand-in
of Slack, and whatever it posts (replies, DMs, channel posts) is printed here.
"""

from __future__ import annotations

import dataclasses
import html
import json
import re
import secrets
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from dateutil import parser as dateutil_parser
from slack_bolt import App
from sqlalchemy import select

from bot.app import build_app, build_services, prepare_database, start_scheduler
from bot.clock import Clock, ShiftedClock, system_clock
from bot.config import Settings
from bot.edge import Edge
from bot.runtime import Services
from bot.sandbox.signed import (
    app_home_opened_event,
    block_actions_body,
    event_callback_body,
    global_shortcut_body,
    home_actions_body,
    message_shortcut_body,
    signed_headers,
    slack_format,
    slash_command_body,
    view_submission_body,
)
from bot.sandbox.standin import Call, SlackStandIn
from handlers import shortcut_ids
from storage.db import Database
from storage.models import Community

CONSOLE_CHANNEL = "C0CONSOLE"
# The global shortcuts (manifest.yaml) by the word `:snel` takes.
GLOBAL_SHORTCUTS = {
    "vraag": shortcut_ids.ASK_QUESTION,
    "onderwerp": shortcut_ids.PROPOSE_TOPIC,
    "plannen": shortcut_ids.PLAN_MEETING,
    "aanmelden": shortcut_ids.JOIN,
}
_LINK = re.compile(r"<([^>|]+)(?:\|([^>]*))?>")
# "2026-12-03 13:01": an ISO date, year first (what :tijd reads as such).
_YEAR_FIRST = re.compile(r"\s*[0-9]{4}-", re.ASCII)


def mrkdwn_to_text(text: str) -> str:
    """Slack's mrkdwn as a terminal shows it: mentions as @U1, dates by their fallback."""

    def link(match: re.Match[str]) -> str:
        target, label = match.group(1), match.group(2)
        if target.startswith("@"):
            return "@" + (label or target[1:])
        if target.startswith("#"):
            return "#" + (label or target[1:])
        if target.startswith("!date"):
            return label or target
        if target.startswith("!"):
            return "@" + target[1:]
        return label or target

    return html.unescape(_LINK.sub(link, text))


@dataclass
class Button:
    label: str
    action_id: str
    value: str
    block_id: str
    response_url: str
    channel_id: str | None
    message: dict[str, Any] | None
    # A button on the App Home tab (the view it is on), and whether it picks an option
    # of a menu (static_select: each option is shown as a button of its own).
    home: dict[str, Any] | None = None
    select: bool = False
    # A people menu (users_select): `:klik <n> U0BOB` picks U0BOB in it.
    people: bool = False


@dataclass
class Field:
    """One input of the open modal, as the console shows it: `:veld 2 <waarde>`."""

    label: str
    action_id: str
    kind: str
    options: list[tuple[str, str]]  # (value, label) of a select
    optional: bool


@dataclass
class OpenView:
    view: dict[str, Any]
    fields: list[Field]
    answers: dict[str, Any]


class Console:
    """The REPL's state: who you are, the buttons on screen, the open modal, and the app."""

    def __init__(
        self,
        app: App,
        services: Services,
        standin: SlackStandIn,
        secret: str,
        user: str,
        out: TextIO = sys.stdout,
    ) -> None:
        self.app = app
        self.services = services
        self.standin = standin
        self.secret = secret
        self.user = user
        self.out = out
        self.buttons: list[Button] = []
        self.modal: OpenView | None = None
        self.latest_home: dict[str, Any] | None = None
        self.lock = threading.Lock()
        self.edge = Edge(app, services)
        standin.add_listener(self._on_call)

    # Output ---------------------------------------------------------------
    def print(self, text: str = "") -> None:
        with self.lock:
            self.out.write(text + "\n")
            self.out.flush()

    def render(
        self,
        title: str,
        payload: dict[str, Any],
        *,
        response_url: str,
        channel_id: str | None = None,
        message: dict[str, Any] | None = None,
    ) -> None:
        lines = [f"── {title} " + "─" * max(0, 60 - len(title))]
        blocks = payload.get("blocks") or []
        if not blocks and payload.get("text"):
            lines.append(mrkdwn_to_text(str(payload["text"])))
        for block in blocks:
            lines.extend(self._block(block, response_url, channel_id, message))
        self.print("\n".join(lines))

    def _button(
        self,
        element: dict[str, Any],
        block_id: str,
        response_url: str,
        channel_id: str | None,
        message: dict[str, Any] | None,
        home: dict[str, Any] | None = None,
    ) -> str:
        with self.lock:
            self.buttons.append(
                Button(
                    label=element["text"]["text"],
                    action_id=element["action_id"],
                    value=element.get("value", ""),
                    block_id=block_id,
                    response_url=response_url,
                    channel_id=channel_id,
                    message=message,
                    home=home,
                    select=bool(element.get("select")),
                    people=element.get("type") == "users_select",
                )
            )
            number = len(self.buttons)
        asks = " (vraagt bevestiging)" if element.get("confirm") else ""
        who = (
            f" (:klik {number} U0BOB kiest iemand)" if element.get("type") == "users_select" else ""
        )
        return f"[{number}] {element['text']['text']}{asks}{who}"

    def _people(self, element: dict[str, Any], block_id: str, home: dict[str, Any] | None) -> str:
        """A people menu, as one button that takes the person: `:klik <n> U0BOB`."""
        shown = {**element, "text": element.get("placeholder", {"text": "?"})}
        return self._button(shown, block_id, self.standin.response_url(), None, None, home)

    def _menu(self, element: dict[str, Any], block_id: str, home: dict[str, Any] | None) -> str:
        """A static_select: its placeholder, then each option as a button of its own."""
        placeholder = html.unescape(str(element.get("placeholder", {}).get("text", "")))
        options = [
            self._button(
                {"text": option["text"], "action_id": element["action_id"],
                 "value": option["value"], "select": True, "confirm": element.get("confirm")},
                block_id, self.standin.response_url(), None, None, home,
            )
            for option in element.get("options", [])
        ]  # fmt: skip
        return f"{placeholder} " + "  ".join(options)

    def _block(
        self,
        block: dict[str, Any],
        response_url: str,
        channel_id: str | None,
        message: dict[str, Any] | None,
        home: dict[str, Any] | None = None,
    ) -> list[str]:
        kind = block.get("type")
        block_id = block.get("block_id", "b")
        if kind == "header":
            # plain_text, yet Slack reads &amp; &lt; &gt; in it as in mrkdwn.
            return ["", html.unescape(str(block["text"]["text"])).upper()]
        if kind == "divider":
            return ["  " + "·" * 40]
        if kind == "context":
            return ["  " + " ".join(mrkdwn_to_text(e.get("text", "")) for e in block["elements"])]
        if kind == "section":
            text = mrkdwn_to_text(block.get("text", {}).get("text", ""))
            lines = text.split("\n")
            accessory = block.get("accessory")
            if accessory and accessory.get("type") == "button":
                lines[0] += "   " + self._button(
                    accessory, block_id, response_url, channel_id, message, home
                )
            return lines
        if kind == "actions":
            labels = [
                self._button(e, block_id, response_url, channel_id, message, home)
                if e.get("type") == "button"
                else self._people(e, block_id, home)
                if e.get("type") == "users_select"
                else self._menu(e, block_id, home)
                for e in block["elements"]
                if e.get("type") in ("button", "static_select", "users_select")
            ]
            return ["  " + "  ".join(labels)]
        return [f"  ({kind})"]

    def _on_call(self, call: Call) -> None:
        if call.method == "response_url":
            self.render(
                f"antwoord aan {self.user} (alleen voor jou)",
                call.args,
                response_url=self.standin.response_url(),
            )
        elif call.method == "chat.postMessage" and call.response.get("ok"):
            channel = str(call.args.get("channel", ""))
            where = f"DM aan {channel}" if channel.startswith(("U", "W", "D")) else f"#{channel}"
            message = dict(call.response.get("message") or {})
            message.setdefault("blocks", call.args.get("blocks") or [])
            self.render(
                where,
                call.args,
                response_url=self.standin.response_url(),
                channel_id=str(call.response.get("channel")),
                message=message,
            )
        elif call.method == "chat.update" and call.response.get("ok"):
            self.render(
                f"bericht bijgewerkt in {call.args.get('channel')}",
                call.args,
                response_url=self.standin.response_url(),
            )
        elif call.method in ("views.open", "views.push", "views.update") and call.response.get(
            "ok"
        ):
            self.show_view(dict(call.response["view"]))
        elif call.method == "views.publish" and call.response.get("ok"):
            if call.args.get("user_id") == self.user:
                self.show_home(dict(call.response["view"]))
        elif call.method == "files.completeUploadExternal" and call.response.get("ok"):
            names = ", ".join(str(f.get("title") or f.get("id")) for f in _files(call.args))
            self.print(f"   (bestand in {call.args.get('channel_id')}: {names})")
        elif call.method == "conversations.invite":
            outcome = "ok" if call.response.get("ok") else call.response.get("error")
            self.print(
                f"   (kanaal {call.args.get('channel')}: {call.args.get('users')} "
                f"uitgenodigd: {outcome})"
            )

    def show_view(self, view: dict[str, Any]) -> None:
        """Print a modal and remember its inputs, so `:veld` and `:verstuur` can fill it."""
        fields: list[Field] = []
        lines = [f"── venster: {view.get('title', {}).get('text', '')} " + "─" * 30]
        for block in view.get("blocks", []):
            if block.get("type") != "input":
                lines.extend(self._block(block, self.standin.response_url(), None, None))
                continue
            element = block["element"]
            options = [
                (o["value"], html.unescape(o["text"]["text"])) for o in element.get("options", [])
            ]
            field = Field(
                label=html.unescape(block["label"]["text"]),
                action_id=element["action_id"],
                kind=element["type"],
                options=options,
                optional=bool(block.get("optional")),
            )
            fields.append(field)
            initial = (
                element.get("initial_value")
                or element.get("initial_date")
                or element.get("initial_time")
                or (element.get("initial_option") or {}).get("text", {}).get("text")
                or ""
            )
            hint = {"datepicker": " (JJJJ-MM-DD)", "timepicker": " (UU:MM)"}.get(field.kind, "")
            extra = " (optioneel)" if field.optional else ""
            lines.append(f"  veld {len(fields)}: {field.label}{hint}{extra}")
            if initial:
                lines.extend(f"      | {line}" for line in str(initial).splitlines())
            for number, (_, label) in enumerate(options, 1):
                lines.append(f"      {number}) {label}")
        submit = (view.get("submit") or {}).get("text", "Versturen")
        lines.append(f"  :veld <nummer> <waarde> vult in (\\n voor een nieuwe regel); "
                     f":verstuur ({submit}); :annuleer")  # fmt: skip
        with self.lock:
            self.modal = OpenView(view=view, fields=fields, answers={})
        self.print("\n".join(lines))

    def show_home(self, view: dict[str, Any]) -> None:
        """Print the App Home tab as text; its buttons and menu options are clickable."""
        self.latest_home = view
        lines = [f"── App Home van {self.user} " + "─" * 40]
        for block in view.get("blocks", []):
            lines.extend(self._block(block, self.standin.response_url(), None, None, home=view))
        self.print("\n".join(lines))

    def open_home(self) -> None:
        """`:home`: open the App Home tab, as Slack sends `app_home_opened`."""
        body = event_callback_body(app_home_opened_event(self.user))
        headers: dict[str, str | Sequence[str]] = dict(
            signed_headers(self.secret, body, content_type="application/json")
        )
        response = self.edge.handle(body.encode(), headers)
        if response.status != 200:
            self.print(f"(HTTP {response.status}) {response.body}")

    def global_shortcut(self, name: str) -> None:
        """`:snel <naam>`: a global shortcut (the ⚡ menu) by its Dutch name or callback id."""
        wanted = name.strip().lower()
        callback = GLOBAL_SHORTCUTS.get(wanted, wanted)
        if callback not in GLOBAL_SHORTCUTS.values():
            self.print("Gebruik: :snel " + " | ".join(GLOBAL_SHORTCUTS))
            return
        status, answer = self.dispatch(
            global_shortcut_body(user_id=self.user, callback_id=callback)
        )
        if status != 200:
            self.print(f"(HTTP {status}) {answer}")

    def set_field(self, argument: str) -> None:
        number, _, value = argument.strip().partition(" ")
        modal = self.modal
        if modal is None:
            self.print("Er is geen venster open.")
            return
        if not number.isdigit() or not 1 <= int(number) <= len(modal.fields):
            self.print(f"Gebruik: :veld <1-{len(modal.fields)}> <waarde>")
            return
        field = modal.fields[int(number) - 1]
        answer: Any = value.replace("\\n", "\n")
        if field.options:
            chosen = [v for i, (v, label) in enumerate(field.options, 1)
                      if value.strip() in (str(i), v, label)]  # fmt: skip
            if not chosen:
                self.print(f"Kies een nummer uit de lijst bij veld {number}.")
                return
            answer = chosen[0]
        elif field.kind.startswith("multi_") and field.kind.endswith("select"):
            answer = value.split()
        modal.answers[field.action_id] = answer
        self.print(f"   veld {number} ({field.label}) ingevuld.")

    def submit(self) -> None:
        modal = self.modal
        if modal is None:
            self.print("Er is geen venster open.")
            return
        body = view_submission_body(
            user_id=self.user,
            view=modal.view,
            answers=modal.answers,
            view_id=str(modal.view.get("id", "V0CONSOLE")),
        )
        with self.lock:
            self.modal = None
        status, answer = self.dispatch(body)
        if status != 200:
            self.print(f"(HTTP {status}) {answer}")
            return
        reply = json.loads(answer) if answer.strip() else {}
        if reply.get("response_action") == "errors":
            with self.lock:
                self.modal = modal  # still open, as in Slack
            for block_id, problem in reply.get("errors", {}).items():
                self.print(f"   ! {block_id}: {mrkdwn_to_text(str(problem))}")
        elif reply.get("response_action") in ("update", "push"):
            self.show_view(reply["view"])
        else:
            self.print("   (venster gesloten)")

    def shortcut(self, callback_id: str, text: str) -> None:
        """A message shortcut on a message `text` that you just posted in #console."""
        # In Slack's message format, as a message typed in Slack's client would be.
        message = {"ts": f"{time.time():.6f}", "text": slack_format(text), "user": self.user}
        body = message_shortcut_body(
            user_id=self.user,
            callback_id=callback_id,
            message=message,
            channel_id=CONSOLE_CHANNEL,
            channel_name="console",
            response_url=self.standin.response_url(),
            raw=True,
        )
        status, answer = self.dispatch(body)
        if status != 200:
            self.print(f"(HTTP {status}) {answer}")

    def jump(self, text: str) -> None:
        """Move the bot's clock to `text` (local time), then let the scheduler catch up:
        reminders and nudges that fall due in between go out as they would have."""
        clock = self.services.clock
        if not isinstance(clock, ShiftedClock):
            self.print("Deze console heeft een vaste klok.")
            return
        tz = self.services.settings.timezone
        try:
            # Day first as the Dutch write it ("3-12-2026"), but an ISO date is year,
            # month, day: dateutil's dayfirst would read "2026-12-03" as 12 March.
            moment = dateutil_parser.parse(text, dayfirst=not _YEAR_FIRST.match(text))
        except (ValueError, OverflowError):
            self.print("Gebruik: :tijd 2027-03-31 10:00 (datum en tijd, plaatselijke tijd)")
            return
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=tz)
        clock.jump_to(moment)
        self.services.reads.invalidate()
        self.services.profiles.invalidate()
        self.print(f"   (het is nu {self.services.translator(self.user).datetime(clock())})")
        if self.services.scheduler is not None:
            self.services.scheduler.sweep_now()

    # Input ----------------------------------------------------------------
    def dispatch(self, body: str) -> tuple[int, str]:
        """Sign the request as Slack does and send it through the same edge as HTTP."""
        headers: dict[str, str | Sequence[str]] = dict(signed_headers(self.secret, body))
        response = self.edge.handle(body.encode(), headers)
        return response.status, response.body

    def command(self, text: str) -> None:
        # As Slack sends it: escaped, and a typed @U0BOB as the mention it picks.
        body = slash_command_body(
            user_id=self.user,
            text=slack_format(text),
            response_url=self.standin.response_url(),
            channel_id=CONSOLE_CHANNEL,
            channel_name="console",
            raw=True,
        )
        status, answer = self.dispatch(body)
        if status != 200:
            self.print(f"(HTTP {status}) {answer}")
        elif answer:
            self.render(
                f"antwoord aan {self.user} (alleen voor jou)",
                json.loads(answer),
                response_url=self.standin.response_url(),
            )

    def click(self, number: int, person: str = "") -> None:
        if not 1 <= number <= len(self.buttons):
            self.print(f"Er is geen knop [{number}]. Knoppen staan tussen [ ] bij de berichten.")
            return
        b = self.buttons[number - 1]
        if b.home is not None:
            if b.home is not self.latest_home:
                self.print("Die knop staat op een oudere App Home; typ :home.")
                return
            if b.people and not re.fullmatch(r"[UW][A-Z0-9]{1,20}", person):
                self.print(f"Gebruik: :klik {number} U0BOB (wie je kiest, een Slack-ID)")
                return
            body = home_actions_body(
                user_id=self.user, action_id=b.action_id,
                value=person if b.people else b.value, view=b.home, block_id=b.block_id,
                button_text=b.label, select=b.select, user_select=b.people,
            )  # fmt: skip
            status, answer = self.dispatch(body)
            if status != 200:
                self.print(f"(HTTP {status}) {answer}")
            return
        body = block_actions_body(
            user_id=self.user,
            action_id=b.action_id,
            value=b.value,
            response_url=b.response_url,
            block_id=b.block_id,
            channel_id=b.channel_id,
            message=b.message,
            button_text=b.label,
        )
        status, answer = self.dispatch(body)
        if status != 200:
            self.print(f"(HTTP {status}) {answer}")

    def settle(self, timeout: float = 3.0) -> None:
        """Wait until the bot has stopped posting, so replies print before the prompt."""
        deadline = time.monotonic() + timeout
        # Background work may queue more background work (a click starts a join that
        # sends DMs), so wait until idle twice in a row.
        while time.monotonic() < deadline:
            if not self.services.wait_idle(max(deadline - time.monotonic(), 0)):
                return
            time.sleep(0.05)
            if self.services.wait_idle(0):
                return

    def handle(self, line: str) -> bool:
        """Handle one input line; False means quit."""
        line = line.strip()
        if not line:
            return True
        if line in (":q", ":quit", ":exit", "exit", "quit"):
            return False
        if line in (":h", ":help", ":hulp"):
            self.print(HELP)
        elif line.startswith(":user") or line.startswith(":gebruiker"):
            _, _, who = line.partition(" ")
            who = who.strip().upper()
            if re.fullmatch(r"[UW][A-Z0-9]{1,20}", who):
                self.user = who
                self.print(f"Je bent nu {who}.")
            else:
                self.print("Gebruik: :user U2 (een Slack-gebruikers-ID, begint met U)")
        elif line.startswith((":klik", ":click")):
            number, _, person = line.partition(" ")[2].strip().partition(" ")
            if number.isascii() and number.isdigit():
                self.click(int(number), person.strip().upper())
            else:
                self.print("Gebruik: :klik 3 (het nummer tussen [ ])")
        elif line.startswith((":veld", ":field")):
            self.set_field(line.partition(" ")[2])
        elif line in (":verstuur", ":submit"):
            self.submit()
        elif line in (":annuleer", ":cancel"):
            self.modal = None
            self.print("   (venster gesloten)")
        elif line.startswith((":bewaar", ":save")):
            text = line.partition(" ")[2].strip()
            if text:
                self.shortcut("save_question", text)
            else:
                self.print("Gebruik: :bewaar <tekst van een bericht> (Bewaar als open vraag)")
        elif line in (":home", ":thuis"):
            self.open_home()
        elif line.startswith((":snel", ":shortcut")):
            self.global_shortcut(line.partition(" ")[2])
        elif line.startswith((":tijd", ":time")):
            self.jump(line.partition(" ")[2].strip())
        elif line.startswith("/cop"):
            self.command(line[len("/cop") :].strip())
        else:
            self.print("Typ een /cop-commando, bijvoorbeeld /cop lijst, of :help.")
        self.settle()
        return True


HELP = """Typ wat je in Slack zou typen, bijvoorbeeld:
  /cop lijst                 alle communities
  /cop aanmelden ethiek      aanmelden
  /cop mijn                  jouw communities
  /cop leden ethiek          leden en wachtlijst
  /cop afmelden ethiek       afmelden
En in deze console:
  :user U2                   wissel van gebruiker (iedereen is een Slack-ID)
  :klik 3                    druk op knop [3] (:klik 3 U0BOB kiest iemand in een personenmenu)
  :veld 2 tekst              vul veld 2 in van het open venster (\\n = nieuwe regel)
  :verstuur / :annuleer      verstuur of sluit het venster
  :bewaar tekst              "Bewaar als open vraag" op een bericht met die tekst
  :home                      open de App Home (knoppen en menu's zijn klikbaar)
  :snel vraag                een snelkoppeling (⚡): vraag, onderwerp, plannen, aanmelden
  :tijd 2027-03-31 10:00     zet de klok van de bot vooruit (herinneringen gaan dan uit)
  :help                      deze hulp
  :quit                      stoppen"""


def _demo_channels(settings: Settings) -> Settings:
    """In the console every community has a channel (its posts show as #C0SLUG), and
    lessons go to #C0LESSEN, unless the catalogue or COP_COMMUNITY_CHANNEL says otherwise."""
    db = Database(settings.database_url)
    try:
        with db.write() as session:
            for community in session.scalars(
                select(Community).where(Community.channel_id.is_(None))
            ):
                slug = re.sub(r"[^A-Z0-9]", "", community.slug.upper())
                community.channel_id = f"C0{slug}"[:21]
    finally:
        db.dispose()
    return dataclasses.replace(settings, community_channel=settings.community_channel or "C0LESSEN")


def _files(args: dict[str, Any]) -> list[dict[str, Any]]:
    files = args.get("files") or []
    if isinstance(files, str):
        files = json.loads(files)
    return [f for f in files if isinstance(f, dict)]


def run_console(
    settings: Settings,
    *,
    user: str = "U0ALICE",
    stdin: TextIO = sys.stdin,
    out: TextIO = sys.stdout,
    ready: Callable[[Console], None] | None = None,
    clock: Clock = system_clock,
) -> None:
    """Run the console until end of input or :quit; `clock` lets a demo or test fix "now"."""
    standin = SlackStandIn().start()
    secret = secrets.token_hex(16)
    settings = dataclasses.replace(
        settings,
        slack_bot_token="xoxb-console",
        slack_signing_secret=secret,
        slack_api_url=standin.api_url,
        # In the console you are the admin unless COP_ADMINS says otherwise.
        admins=settings.admins or frozenset({user}),
    )
    shifted = ShiftedClock(clock)  # what :tijd moves
    promoted = prepare_database(settings, load_default_catalog=True, clock=shifted)
    settings = _demo_channels(settings)
    services = build_services(settings, clock=shifted)
    app = build_app(settings, services)
    start_scheduler(services, sweep_seconds=settings.sweep_seconds)
    console = Console(app, services, standin, secret, user, out)
    console.print(
        f"CoP bot console. Database: {settings.database_url}. Je bent {user} "
        f"(beheerder: {', '.join(sorted(settings.admins))}).\n{HELP}"
    )
    if promoted:  # a reload moved people up: their welcomes wait in the outbox
        services.deliver_soon()
    console.settle()
    if ready is not None:
        ready(console)
    try:
        while True:
            if stdin.isatty():
                out.write(f"{console.user}> ")
                out.flush()
            line = stdin.readline()
            if not line:
                break
            if not stdin.isatty():
                console.print(f"{console.user}> {line.rstrip()}")
            if not console.handle(line):
                break
    finally:
        services.shutdown()
        standin.stop()
