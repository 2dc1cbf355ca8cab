"""What the edge fuzzer and the property-based tests share: the word tables, nasty input,
signed request builders for every listener the app registers, and the invariants that
every answer and every output to Slack must keep.

Used by `./dev fuzz` (bench/fuzz.py, random with a seed) and by tests/edge (hypothesis).
Nothing here is product code: it only reads the product's tables and builds requests
with bot/sandbox/signed.py, as Slack would send them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import random
import re
import re._parser as sre_parse  # type: ignore[import-not-found]
import time
import tomllib
import unicodedata
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

from bot.edge import MAX_BODY_BYTES
from bot.i18n import MESSAGES
from bot.sandbox.signed import (
    block_actions_body,
    message_shortcut_body,
    signed_headers,
    slash_command_body,
    view_submission_body,
)

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "bot" / "data" / "catalog.toml"

# The four kinds of user every run has (settings.admins / COP_ADMINS = {ADMIN}).
MEMBER, OTHER, FACILITATOR, ADMIN = "UMEMBER", "UOTHER", "UFACIL", "UADMIN"
USERS = (MEMBER, OTHER, FACILITATOR, ADMIN)
BOT_USER = "UBOT"  # the stand-in's bot user
# Mentions the bot itself may make: of these ids only (see Checker).
# Users the bot may mention: the test users and the bot, and whoever an admin appointed
# as a facilitator during a run (any id typed after `/cop kartrekker` becomes one, and the
# bot then names its facilitators), learnt from the bot's own confirmation.
KNOWN_USERS: set[str] = {*USERS, BOT_USER}
_APPOINTED = re.compile(r"<@([UW][A-Z0-9]+)> is (?:nu kartrekker van|now a facilitator of) \*")
TEAM_URL = "https://copbot-test.slack.com/"  # the stand-in's permalinks
PUBLIC_URL = "https://cop.example.org"
DEADLINE_SECONDS = 3.0  # Slack's own: an answer later than this is an error in Slack


# -- the product's tables ---------------------------------------------------------------


def command_words() -> list[str]:
    """Every word `/cop` knows (the command registry that bot/app.py builds)."""
    from bot.app import COMMAND_REGISTRY

    return sorted(COMMAND_REGISTRY.words)


def second_words() -> list[str]:
    """Words that follow a subcommand: meeting actions, calendar reset, languages."""
    from handlers.calendar_feed import RESET_WORDS
    from handlers.meetings import ADD_WORDS, CANCEL_WORDS, MOVE_WORDS

    return sorted(ADD_WORDS | MOVE_WORDS | CANCEL_WORDS | RESET_WORDS | {"nl", "en", "EN"})


def communities() -> list[tuple[str, str]]:
    """(slug, name) of every community in the shipped catalogue."""
    data = tomllib.loads(CATALOG.read_text(encoding="utf-8"))
    return [(c["slug"], c["name"]) for c in data.get("community", [])]


class _Recorder:
    """Stands in for the Bolt app in the feature modules' register(): records every
    listener's constraint (a string or a compiled pattern) by kind."""

    def __init__(self) -> None:
        self.found: dict[str, list[str | re.Pattern[str]]] = {
            "command": [],
            "action": [],
            "view": [],
            "shortcut": [],
            "event": [],
        }

    def __getattr__(self, kind: str) -> Callable[..., Any]:
        if kind not in self.found:
            raise AttributeError(kind)

        def register(constraint: Any) -> Callable[[Any], Any]:
            self.found[kind].append(constraint)
            return lambda listener: listener

        return register

    def error(self, handler: Any) -> Any:
        return handler


def listeners() -> dict[str, list[str | re.Pattern[str]]]:
    """Every command, action_id, view callback_id and shortcut the app registers, from the
    same register() calls that bot/app.py build_app makes."""
    from bot.app import COMMAND_REGISTRY, LISTENERS
    from handlers import commands

    recorder = _Recorder()
    commands.register(recorder, None, COMMAND_REGISTRY)  # type: ignore[arg-type]
    for module in LISTENERS:
        module.register(recorder, None)  # type: ignore[arg-type]
    return recorder.found


# -- nasty input --------------------------------------------------------------------------

MARKUP = [
    "<!channel>", "<!here>", "<!everyone>", "<!channel|channel>", "<!subteam^S0EVIL|team>",
    "<@U123>", "<@U123|bob>", "<@W0EVIL>", "<#C0EVIL>", "<#C0EVIL|evil>",
    "<https://evil.example/x|x>", "<https://evil.example>", "<http://evil.example|klik>",
    "<mailto:evil@evil.example|mail>", "<!date^1|x>", "<<!channel>>", "<!channel", "<@",
    "&lt;!channel&gt;", "&amp;", "&amp;lt;", "R&D", "a<b>c", "<>", "@channel", "@here",
]  # fmt: skip
FORMATTING = ["*vet*", "_schuin_", "~door~", "`code`", "```blok```", "> citaat", "•", "\\"]
CONTROL = [
    "\x00", "\x01", "\x07", "\x08", "\x0b", "\x0c", "\x1b[31m", "\x7f", "\x85", "\x9b",
    "\r", "\r\n", "\t", "\n", "\n\n\n", "\u2028", "\u2029",
]  # fmt: skip
INVISIBLE = [
    "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u180e", "\u202a", "\u202b",
    "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069", "\u061c", "\u200e",
    "\u200f", "\u00a0", "\u3000", "\u2003",
]  # fmt: skip
NUMBERS = [
    "0", "1", "2", "3", "-1", "+1", "01", "1.0", "1e9", "0x1", "NaN", "inf", "½", "Ⅻ",
    "²", "¹²³", "⁴²", "١٢٣", "٣", "१२", "１２３", "𝟗", "9" * 20, "9" * 40, "1" + "0" * 400,
    " 1", "1 ", "1\u200b", "1²", "２",
]  # fmt: skip
MISC = [
    "\U0001f600", "👍🏽", "e\u0301", "ǅ", "İ", "ß", "ﬁ", "𝒶", "Ωmega", "ᚠ", "中文", "عربى",
    "%00", "%s", "%(name)s", "{ref}", "{name}", "{", "}", "{{", "'; DROP TABLE communities; --",
    '"', "'", "|", ">", "<", "", " ", "-", "--", "…", "\ufffd", "\uffff", "\U0010ffff",
]  # fmt: skip
WHEN = [
    "30 maart 14:00", "30 maart 2027 14:00-16:00", "morgen 10:00", "2027-03-30 14:00",
    "31 februari 10:00", "30 maart 25:00", "30 maart 14:00-13:00", "28 maart 2027 02:30",
    "31 oktober 2027 02:30", "²⁰ maart 14:00", "٣٠ maart ١٤:٠٠", "30 maart 99999999999:00",
    "1 januari 1 14:00", "30 march 2 pm", "volgende week", "14:00", "gisteren 10:00",
    "30-03-2027 14:00 fysiek Stadhuis", "30 maart 14:00 online <https://evil.example|zoom>",
]  # fmt: skip
DATES = [
    "2027-03-30", "2027-02-30", "2027-13-01", "", "9999-12-31", "0001-01-01", "2026-11-22",
    "2027-3-30", "٢٠٢٧-٠٣-٣٠", "２０２７-03-30", "2027-03-30T14:00", "2028-02-29", "morgen",
]  # fmt: skip
TIMES = ["14:00", "09:30", "23:59", "00:00", "24:00", "25:61", "02:30", "14:00:00", "1400",
         "١٤:٠٠", "", "14.00", "2 pm"]  # fmt: skip
FRAGMENTS = MARKUP + FORMATTING + CONTROL + INVISIBLE + NUMBERS + MISC
MENTIONS = [f"<@{u}>" for u in USERS] + ["<@U123>", "@UFACIL", "UFACIL", "<@UFACIL|x>",
                                          "<@ufacil>", "<@U>", "<@U1|<!channel>>"]  # fmt: skip
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)


class Gen:
    """Random input from a seed: the fuzzer's generator. The property tests draw the same
    tables through hypothesis strategies instead (tests/edge/strategies.py)."""

    def __init__(self, seed: int, *, ids: dict[str, list[int]] | None = None) -> None:
        self.r = random.Random(seed)
        self.words = command_words()
        self.seconds = second_words()
        self.names = [n for pair in communities() for n in pair]
        self.slugs = [slug for slug, _ in communities()]
        self.ids = ids or {}

    def chance(self, p: float) -> bool:
        return self.r.random() < p

    def pick(self, items: list[Any]) -> Any:
        return items[self.r.randrange(len(items))]

    def unicode(self, size: int | None = None) -> str:
        """Arbitrary code points (no surrogates): C0/C1 controls, Latin, any plane."""
        size = self.r.randint(1, 12) if size is None else size
        out = []
        for _ in range(size):
            band = self.r.random()
            if band < 0.15:
                cp = self.r.randint(0, 0x1F)
            elif band < 0.2:
                cp = self.r.randint(0x7F, 0x9F)
            elif band < 0.55:
                cp = self.r.randint(0x20, 0x7E)
            elif band < 0.85:
                cp = self.r.randint(0xA0, 0xFFFF)
            else:
                cp = self.r.randint(0x10000, 0x10FFFF)
            if 0xD800 <= cp <= 0xDFFF:
                cp = 0xFFFD
            out.append(chr(cp))
        return "".join(out)

    def community(self) -> str:
        name = self.pick(self.names)
        roll = self.r.random()
        if roll < 0.6:
            return str(name)
        if roll < 0.7:
            return str(name).upper()
        if roll < 0.8:
            return str(name)[: self.r.randint(1, max(1, len(name)))]
        if roll < 0.9:
            return self.pick(INVISIBLE) + str(name) + self.pick(CONTROL + INVISIBLE)
        return str(name).replace("e", "é")

    def piece(self) -> str:
        roll = self.r.random()
        if roll < 0.4:
            return str(self.pick(FRAGMENTS))
        if roll < 0.55:
            return self.unicode()
        if roll < 0.65:
            return self.community()
        if roll < 0.75:
            return str(self.pick(WHEN))
        if roll < 0.85:
            return str(self.pick(MENTIONS))
        if roll < 0.9:
            return str(self.pick(NUMBERS))
        if roll < 0.97:
            return self.r.choice(["Wat", "is", "een", "goede", "aanpak?", "ethiek", "data"])
        return self.pick([*FRAGMENTS, "x"]) * self.r.randint(200, 4000)

    def text(self, low: int = 0, high: int = 6) -> str:
        pieces = [self.piece() for _ in range(self.r.randint(low, high))]
        sep = " " if self.chance(0.8) else self.pick([" ", "", "\n", "\t", "\u00a0", "  "])
        return sep.join(pieces)

    def command_text(self) -> str:
        roll = self.r.random()
        if roll < 0.05:
            return self.text()
        word = self.pick(self.words) if roll < 0.9 else self.unicode(self.r.randint(1, 6))
        if self.chance(0.1):
            word = word.upper()
        parts = [word]
        if word.lower() in ("bijeenkomst", "meeting") and self.chance(0.8):
            parts.append(self.pick(self.seconds))
        if self.chance(0.85):
            parts.append(self.community())
        if word.lower() in ("bijeenkomst", "meeting") and self.chance(0.5):
            parts.append(self.number())
        if word.lower() in ("kartrekker", "facilitator") and self.chance(0.8):
            parts.append(self.pick(MENTIONS))
        if word.lower() in ("taal", "language", "kalender", "calendar") and self.chance(0.7):
            parts.append(self.pick(self.seconds))
        parts.append(self.text(0, 5))
        lead = self.pick(["", "", "", " ", "\u00a0", "\t", "\u200b"])
        return lead + " ".join(p for p in parts if p is not None)

    def number(self) -> str:
        known = [str(i) for values in self.ids.values() for i in values]
        if known and self.chance(0.5):
            return str(self.pick(known))
        return str(self.pick(NUMBERS))

    def user(self) -> str:
        return str(self.pick(list(USERS)))

    def action_id(self, constraint: str | re.Pattern[str]) -> str:
        if isinstance(constraint, str):
            return constraint
        return from_pattern(constraint.pattern, self.r)

    def button_value(self, action_id: str) -> str:
        roll = self.r.random()
        kind = "topic" if "topic" in action_id else "question" if "question" in action_id else ""
        kind = "meeting" if re.search("rsvp|meeting|minutes", action_id) else kind
        ids = self.ids.get(kind) or []
        if roll < 0.35 and ids:
            return str(self.pick(ids))
        if roll < 0.45:
            return str(self.pick(self.slugs))
        if roll < 0.65:
            left = self.pick(self.slugs) if self.chance(0.7) else self.piece()
            right = self.pick([self.number(), self.user(), self.piece(), ""])
            return f"{left}|{right}"
        if roll < 0.85:
            return self.number()
        return self.text(1, 3)

    def date(self) -> str:
        return str(self.pick(DATES)) if self.chance(0.9) else self.unicode()

    def time(self) -> str:
        return str(self.pick(TIMES)) if self.chance(0.9) else self.unicode()

    def metadata(self, original: str) -> str:
        if self.chance(0.8):
            return original
        return str(
            self.pick(
                [
                    "", "null", "[]", "{", "42", self.text(1, 2),
                    json.dumps({"slug": self.piece(), "meeting": self.number()}),
                    json.dumps({"slug": "ethiek", "meeting": 10**30}),
                    json.dumps({"slug": "ethiek", "meeting": -1}),
                    json.dumps({"channel": "<!channel>", "ts": "1.2"}),
                    json.dumps({"channel": "C0GENERAL", "ts": "1700000000.000100"}),
                ]
            )
        )  # fmt: skip


def from_pattern(pattern: str, r: random.Random) -> str:
    """A random string that fully matches `pattern` (the listeners' simple regexes)."""

    def walk(items: Any) -> str:
        out = []
        for op, arg in items:
            name = str(op)
            if name == "LITERAL":
                out.append(chr(arg))
            elif name == "SUBPATTERN":
                out.append(walk(arg[-1]))
            elif name == "BRANCH":
                out.append(walk(r.choice(arg[1])))
            elif name in ("MAX_REPEAT", "MIN_REPEAT"):
                low, high, sub = arg
                count = r.randint(low, min(high, low + 3))
                out.append("".join(walk(sub) for _ in range(count)))
            elif name == "IN":
                out.append(_one_of(arg, r))
            elif name == "ANY":
                out.append(r.choice(["x", "ethiek", "-", "é", "9", "<!here>"]))
            elif name == "AT":
                continue
            else:
                raise ValueError(f"unsupported pattern op {name} in {pattern!r}")
        return "".join(out)

    return walk(sre_parse.parse(pattern))


def _one_of(items: Any, r: random.Random) -> str:
    op, arg = r.choice(items)
    name = str(op)
    if name == "LITERAL":
        return chr(arg)
    if name == "RANGE":
        return chr(r.randint(*arg))
    if name == "CATEGORY":
        category = str(arg)
        if "DIGIT" in category:
            return r.choice("0123456789")
        if "WORD" in category:
            return r.choice("abcxyz_019")
        return " "
    return "x"


# -- requests -----------------------------------------------------------------------------


@dataclasses.dataclass
class Request:
    """One signed request and what it may answer: `label` groups findings in the report."""

    label: str
    user: str
    body: str
    headers: dict[str, str]
    expect: frozenset[int] = frozenset({200})
    response_key: str | None = None  # the response_url key, to tie later posts to it
    summary: str = ""


def _payload(body: str) -> dict[str, Any]:
    return dict(json.loads(parse_qs(body)["payload"][0]))


def _encode(payload: dict[str, Any]) -> str:
    return urlencode({"payload": json.dumps(payload)})


def slack_formatted(text: str, raw: bool | None) -> bool:
    """Whether `text` goes out as Slack markup already (`raw`) or as typed, which the
    builder escapes as Slack does. Unset, half the texts go each way, decided by the text
    itself so that a seed always makes the same requests: Slack sends markup (a picked
    mention, a link) unescaped and everything typed escaped, and both must be safe."""
    return zlib.crc32(text.encode("utf-8", "surrogatepass")) % 2 == 0 if raw is None else raw


def command_request(
    secret: str, user: str, text: str, response_url: str, key: str, *, raw: bool | None = None
) -> Request:
    from bot.app import COMMAND_REGISTRY

    body = slash_command_body(
        user_id=user, text=text, response_url=response_url, raw=slack_formatted(text, raw)
    )
    name = COMMAND_REGISTRY.name_of(text)
    return Request(f"command {name}", user, body, signed_headers(secret, body),
                   response_key=key, summary=f"/cop {text!r}")  # fmt: skip


def click_request(
    secret: str, user: str, action_id: str, value: str, response_url: str, key: str,
    *, label: str, block_id: str = "b1",
) -> Request:  # fmt: skip
    body = block_actions_body(
        user_id=user, action_id=action_id, value=value, response_url=response_url,
        block_id=block_id, channel_id="C0GENERAL",
    )  # fmt: skip
    return Request(f"action {label}", user, body, signed_headers(secret, body),
                   response_key=key, summary=f"{action_id} value={value[:200]!r}")  # fmt: skip


def select_request(
    secret: str, user: str, action_id: str, view: dict[str, Any], option: dict[str, Any],
    response_url: str, key: str,
) -> Request:  # fmt: skip
    """A choice in a modal's select (dispatch_action), as Slack sends it: block_actions
    with the view, no message."""
    payload = _payload(
        block_actions_body(user_id=user, action_id=action_id, value="", response_url=response_url)
    )
    payload["container"] = {"type": "view", "view_id": view.get("id", "")}
    payload["view"] = view
    payload["channel"] = None
    payload["actions"] = [{
        "type": "static_select", "action_id": action_id, "block_id": action_id,
        "selected_option": option, "action_ts": f"{time.time():.6f}",
    }]  # fmt: skip
    body = _encode(payload)
    return Request(f"action {action_id}", user, body, signed_headers(secret, body),
                   response_key=key, summary=f"{action_id} option={option!r}"[:300])  # fmt: skip


def shortcut_request(
    secret: str, user: str, callback_id: str, text: str, channel: str, ts: str,
    response_url: str, key: str, *, raw: bool | None = None,
) -> Request:  # fmt: skip
    message = {"ts": ts, "text": text, "user": MEMBER}
    body = message_shortcut_body(user_id=user, callback_id=callback_id, message=message,
                                 channel_id=channel, response_url=response_url,
                                 raw=slack_formatted(text, raw))  # fmt: skip
    return Request(
        f"shortcut {callback_id}",
        user,
        body,
        signed_headers(secret, body),
        response_key=key,
        summary=f"{callback_id} text={text[:200]!r} ts={ts!r}",
    )


def view_state(view: dict[str, Any], gen: Gen) -> dict[str, Any]:
    """A generated view.state: every input of the real modal, with generated answers (a
    forged option now and then, a field missing now and then)."""
    values: dict[str, dict[str, Any]] = {}
    for block in view.get("blocks", []):
        element = block.get("element") if block.get("type") == "input" else None
        if not element or gen.chance(0.04):
            continue
        kind, action_id = element.get("type"), element.get("action_id", "")
        entry: dict[str, Any] = {"type": kind}
        if kind == "plain_text_input":
            entry["value"] = gen.text(0, 8) if gen.chance(0.9) else None
        elif kind == "datepicker":
            entry["selected_date"] = gen.date()
        elif kind == "timepicker":
            entry["selected_time"] = gen.time()
        elif kind == "static_select":
            options = element.get("options") or []
            if options and gen.chance(0.7):
                entry["selected_option"] = gen.pick(options)
            elif gen.chance(0.8):
                text = gen.text(1, 2)
                entry["selected_option"] = {"text": {"type": "plain_text", "text": text},
                                            "value": gen.button_value(action_id)}  # fmt: skip
            else:
                entry["selected_option"] = None
        block_id = block["block_id"] if gen.chance(0.97) else gen.text(1, 1)
        values[block_id] = {action_id: entry}
    return {"values": values}


def submit_request(secret: str, user: str, view: dict[str, Any], gen: Gen) -> Request:
    payload = _payload(view_submission_body(user_id=user, view=view, answers={},
                                            view_id=str(view.get("id") or "V0MODAL")))  # fmt: skip
    payload["view"]["state"] = view_state(view, gen)
    payload["view"]["private_metadata"] = gen.metadata(str(view.get("private_metadata") or ""))
    body = _encode(payload)
    callback = str(view.get("callback_id", ""))
    state = json.dumps(payload["view"]["state"], ensure_ascii=False)[:300]
    return Request(f"view {callback}", user, body, signed_headers(secret, body),
                   summary=f"{callback} state={state}")  # fmt: skip


def edge_request(secret: str, gen: Gen, response_url: str) -> Request:
    """What the edge must refuse (bad or stale signatures) or shrug off (signed garbage)."""
    user = gen.user()
    text = gen.command_text()
    body = slash_command_body(user_id=user, text=text, response_url=response_url)
    roll = gen.r.random()
    if roll < 0.25:
        return Request(
            "edge bad signature",
            user,
            body,
            signed_headers("wrong-secret", body),
            expect=frozenset({401}),
            summary="signed with another secret",
        )
    if roll < 0.45:
        stale = int(time.time()) - gen.pick([301, 600, 3600, 10**6])
        return Request("edge stale timestamp", user, body,
                       signed_headers(secret, body, timestamp=stale), expect=frozenset({401}),
                       summary=f"timestamp {stale}")  # fmt: skip
    if roll < 0.55:
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        return Request(
            "edge unsigned",
            user,
            body,
            headers,
            expect=frozenset({401}),
            summary="no signature headers",
        )
    garbage = gen.pick([
        "payload=" + gen.text(1, 3), "payload=%7B%7D", "payload=null", "payload=[]",
        _encode({"type": gen.pick(["block_actions", "view_submission", "message_action",
                                   "shortcut", gen.text(1, 1)])}),
        _encode({"type": "block_actions", "user": {"id": user}, "actions": []}),
        _encode({"type": "view_submission", "user": {"id": user}, "view": {}}),
        urlencode({"command": "/cop", "text": text}), gen.text(1, 4), "",
        "command=%2Fcop&text=" + gen.text(1, 3),
    ])  # fmt: skip
    # Signed: Bolt may answer 4xx (nothing to handle), never 5xx.
    return Request(
        "edge signed garbage",
        user,
        garbage,
        signed_headers(secret, garbage),
        expect=frozenset(range(200, 500)),
        summary=f"body {garbage[:200]!r}",
    )


# -- invariants ---------------------------------------------------------------------------

APOLOGY_MARKERS = tuple(
    MESSAGES[language]["apology"].split("{ref}")[0][:40] for language in MESSAGES
)
# Machine data the bot sends along, never shown as text.
_IGNORED_KEYS = frozenset({
    "action_id", "block_id", "callback_id", "type", "style", "ts", "thread_ts", "channel",
    "channel_id", "channels", "user", "users", "token", "trigger_id", "view_id", "hash", "_key",
    "response_type", "external_id", "file_id", "id", "bot_id", "team_id", "app_id",
    "root_view_id", "previous_view_id", "url", "image_url", "metadata", "response_url",
    "replace_original", "delete_original", "unfurl_links", "unfurl_media", "length",
    "response_action", "format", "submit_disabled", "return_to_home",
})  # fmt: skip
# Not shown as mrkdwn: markup there is not active (but control characters still count).
_DATA_KEYS = frozenset({"value", "private_metadata", "initial_value", "initial_date",
                        "initial_time", "initial_conversation", "initial_user"})  # fmt: skip
_SPECIAL = re.compile(r"<!(?:channel|here|everyone)(?:\|[^>]*)?>|<!subteam\^[^>]*>")
_MENTION = re.compile(r"<@([^>|]*)(?:\|[^>]*)?>")
_LINK = re.compile(r"<((?:https?|mailto|ftp|file|javascript):[^>|]*)(?:\|[^>]*)?>", re.I)
_JSON_FIELDS = ("blocks", "attachments", "view")


@dataclasses.dataclass(frozen=True)
class Finding:
    category: str  # 5xx, status, slow, apology, markup, control, traceback
    label: str  # the request kind (or output method) it belongs to
    detail: str  # what was wrong, with the offending snippet
    request: str = ""  # the request that caused it, when known


def _strings(node: Any, key: str = "") -> Iterable[tuple[str, str]]:
    """(key, string) of every string in a payload, decoding JSON-encoded fields."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k in _JSON_FIELDS and isinstance(v, str):
                with contextlib.suppress(ValueError):
                    v = json.loads(v)
            if k in _IGNORED_KEYS and not isinstance(v, dict | list):
                continue
            yield from _strings(v, str(k))
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item, key)
    elif isinstance(node, str):
        yield key, node


def _snippet(text: str, start: int, end: int) -> str:
    return repr(text[max(0, start - 30) : end + 30])


def control_chars(text: str) -> list[str]:
    return [
        f"U+{ord(ch):04X}"
        for ch in text
        if (unicodedata.category(ch) == "Cc" and ch != "\n") or ch in BIDI_CONTROLS
    ]


def output_problems(payload: Any, *, allowed_links: tuple[str, ...]) -> list[tuple[str, str]]:
    """(category, detail) of everything wrong in one output: active markup that the bot
    did not make (@channel, @here, @everyone, a mention of an unknown user, a link to an
    unknown site), control characters (other than \\n, and bidi controls) anywhere, and
    an apology or traceback."""
    found: list[tuple[str, str]] = []
    for key, text in _strings(payload):
        KNOWN_USERS.update(_APPOINTED.findall(text))
        bad = control_chars(text.replace("\r\n", "\n") if key == "content" else text)
        if bad:
            found.append(("control", f"{key}: {', '.join(sorted(set(bad)))} in {text[:120]!r}"))
        if key in _DATA_KEYS or (key == "content" and text.startswith("BEGIN:VCALENDAR")):
            continue  # iCalendar is plain text: nothing reads Slack markup there
        for match in _SPECIAL.finditer(text):
            found.append(("markup", f"{key}: {match.group(0)} in {_snippet(text, *match.span())}"))
        for match in _MENTION.finditer(text):
            if match.group(1) not in KNOWN_USERS:
                found.append(
                    ("markup", f"{key}: {match.group(0)} in {_snippet(text, *match.span())}")
                )
        for match in _LINK.finditer(text):
            if not match.group(1).startswith(allowed_links):
                found.append(
                    ("markup", f"{key}: {match.group(0)} in {_snippet(text, *match.span())}")
                )
        if any(marker in text for marker in APOLOGY_MARKERS):
            found.append(("apology", f"{key}: {text[:200]!r}"))
        if "Traceback (most recent call last)" in text:
            found.append(("traceback", f"{key}: {text[:300]!r}"))
    return found


def check_answer(
    request: Request, status: int, body: str, seconds: float, *, allowed_links: tuple[str, ...]
) -> list[Finding]:
    """The invariants of one HTTP answer."""
    found: list[Finding] = []

    def add(category: str, detail: str) -> None:
        found.append(Finding(category, request.label, detail, request.summary))

    # A body Slack could never send (over the edge's limit) must be refused as too large.
    expect = request.expect
    if len(request.body.encode("utf-8", "surrogatepass")) > MAX_BODY_BYTES:
        expect = frozenset({413})
    if status >= 500:
        add("5xx", f"HTTP {status}: {body[:200]!r}")
    elif status not in expect:
        add("status", f"HTTP {status}, expected {sorted(expect)[:3]}: {body[:200]!r}")
    if seconds > DEADLINE_SECONDS:
        add("slow", f"answered after {seconds:.2f} s")
    payload: Any = body
    if body.startswith("{"):
        with contextlib.suppress(ValueError):
            payload = json.loads(body)
    for category, detail in output_problems({"text": payload} if isinstance(payload, str)
                                            else payload, allowed_links=allowed_links):  # fmt: skip
        add(category, f"HTTP answer {detail}")
    return found


# Stand-in methods that only read: their arguments are ids, never output.
READ_METHODS = frozenset({"auth.test", "conversations.open", "conversations.info",
                          "conversations.members", "conversations.history", "users.info",
                          "chat.getPermalink"})  # fmt: skip


def check_call(method: str, args: dict[str, Any], *, allowed_links: tuple[str, ...],
               label: str, request: str = "") -> list[Finding]:  # fmt: skip
    """The invariants of one call the app made to Slack (a post, an update, a modal, a
    response_url post, an uploaded file's content)."""
    if method in READ_METHODS:
        return []
    return [
        Finding(category, label, f"{method} {detail}", request)
        for category, detail in output_problems(args, allowed_links=allowed_links)
    ]


_CHAINED = ("The above exception was the direct cause", "During handling of the above exception")


def log_problems(lines: Iterable[str]) -> list[Finding]:
    """Tracebacks in a server's log output, one finding per traceback (a chain of causes
    counts once), labelled by its root cause's exception and the innermost frame of the
    project's own code; the detail keeps the log line before it, which names the reference."""
    found: list[Finding] = []
    lines = list(lines)
    i = 0
    while i < len(lines):
        if not lines[i].startswith("Traceback (most recent call last)"):
            i += 1
            continue
        before = lines[i - 1].strip() if i else ""
        frames: list[str] = []
        exceptions: list[str] = []
        j = i
        while j < len(lines) and lines[j].startswith("Traceback (most recent call last)"):
            j += 1
            while j < len(lines) and (lines[j].startswith((" ", "\t")) or not lines[j].strip()):
                if lines[j].strip().startswith("File "):
                    frames.append(lines[j].strip())
                j += 1
            exceptions.append(lines[j].strip() if j < len(lines) else "?")
            j += 1
            # A chained exception follows: a blank line, the sentence, a blank line.
            k = j
            while k < len(lines) and not lines[k].strip():
                k += 1
            if k < len(lines) and lines[k].startswith(_CHAINED):
                k += 1
                while k < len(lines) and not lines[k].strip():
                    k += 1
                j = k
        root = exceptions[0]
        ours = [
            f
            for f in frames
            if "site-packages" not in f and "/lib/python" not in f and not f.startswith('File "<')
        ]
        where = (ours or frames or [""])[-1]
        # Grouped by the exception's type and where it was raised; the message varies.
        label = f"{root.split(':', 1)[0]} at {where.removeprefix('File ')}"
        found.append(Finding("traceback", label[:200], f"{root[:200]} | {before[:200]}"))
        i = j
    return found


def group(findings: Iterable[Finding]) -> dict[tuple[str, str], list[Finding]]:
    """Findings by (category, label), in order of first appearance."""
    groups: dict[tuple[str, str], list[Finding]] = {}
    for finding in findings:
        groups.setdefault((finding.category, finding.label), []).append(finding)
    return groups


def summarize(findings: list[Finding], *, limit: int = 60) -> str:
    """One line per group with its count and one example: what a failing test prints."""
    lines = []
    for (category, label), items in sorted(group(findings).items()):
        example = items[0]
        lines.append(
            f"[{category}] {label}: {len(items)}× e.g. {example.detail[:300]}"
            + (f"\n      request: {example.request[:300]}" if example.request else "")
        )
    if len(lines) > limit:
        lines = [*lines[:limit], f"... and {len(lines) - limit} more groups"]
    return "\n".join(lines)
