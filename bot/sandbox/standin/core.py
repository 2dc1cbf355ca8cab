"""A local stand-in for the Slack Web API that speaks Slack's HTTP protocol, for tests and demos."""

from __future__ import annotations

import argparse
import base64
import binascii
import contextlib
import email.parser
import email.policy
import itertools
import json
import logging
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from email.message import Message
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot import slack_scopes
from bot.clock import system_clock

__all__ = ["Call", "Hold", "SlackStandIn", "main"]

_LOG = logging.getLogger(__name__)

TEAM_NAME = "CoP test"
TEAM_DOMAIN = "copbot-test"
TEAM_URL = f"https://{TEAM_DOMAIN}.slack.com/"
BOT_ID = "B0COPBOT"
BOT_NAME = "copbot"
APP_ID = "A0COPBOT"
DEFAULT_TZ = "Europe/Amsterdam"

_JSON_CONTENT_TYPE = "application/json; charset=utf-8"
_TEXT_CONTENT_TYPE = "text/plain; charset=utf-8"
_TOKEN_PREFIXES = ("xoxb-", "xapp-")
# slack_sdk and other clients send these as JSON strings inside form posts; Slack decodes them.
_JSON_FIELDS = frozenset(
    {"blocks", "attachments", "view", "files", "metadata", "user_auth_blocks", "unfurls"}
)
_MAX_MPIM_USERS = 8
_TIMEOUT_MESSAGE_CALLS = 20


@dataclass(frozen=True)
class Call:
    """One request the stand-in received, with the answer it gave."""

    method: str
    args: dict[str, Any]
    token: str | None
    at: float
    status: int
    response: dict[str, Any]


@dataclass
class _Answer:
    status: int
    body: bytes
    content_type: str
    # What Call.response records; for text answers {"ok": <status < 400>, "body": <text>}.
    response: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


def _json_answer(
    payload: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
) -> _Answer:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return _Answer(status, body, _JSON_CONTENT_TYPE, payload, dict(headers or {}))


def _text_answer(text: str, status: int = 200, headers: dict[str, str] | None = None) -> _Answer:
    response = {"ok": status < 400, "body": text}
    return _Answer(status, text.encode("utf-8"), _TEXT_CONTENT_TYPE, response, dict(headers or {}))


def _rate_limited(retry_after: int, error: str = "ratelimited") -> _Answer:
    return _json_answer({"ok": False, "error": error}, 429, {"Retry-After": str(retry_after)})


def _ok(**fields: Any) -> dict[str, Any]:
    return {"ok": True, **fields}


def _err(error: str, **fields: Any) -> dict[str, Any]:
    return {"ok": False, "error": error, **fields}


def _missing(name: str) -> dict[str, Any]:
    messages = [f"[ERROR] missing required field: {name}"]
    return _err("invalid_arguments", response_metadata={"messages": messages})


def _truthy(value: Any) -> bool:
    return value is True or str(value).strip().lower() in {"1", "true", "yes"}


def _is_user_id(value: Any) -> bool:
    return isinstance(value, str) and len(value) > 1 and value[0] in "UW"


def _split_ids(value: Any) -> list[str]:
    items = value if isinstance(value, list) else str(value or "").split(",")
    seen: dict[str, None] = {}
    for item in items:
        text = str(item).strip()
        if text:
            seen[text] = None
    return list(seen)


def _text_of(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _permalink(channel: str, ts: str) -> str:
    return f"{TEAM_URL}archives/{channel}/p{ts.replace('.', '')}"


def _tz_details(tz_name: str) -> tuple[int, str]:
    try:
        zone = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        return 3600, "Central European Time"
    # Slack gives the offset of its own (real) moment, whatever the bot's clock says.
    now = system_clock().astimezone(zone)
    offset = now.utcoffset()
    seconds = int(offset.total_seconds()) if offset is not None else 0
    # Slack labels Amsterdam as "Central European (Summer) Time", not the "CET" abbreviation.
    label = now.tzname() or tz_name
    if tz_name == DEFAULT_TZ:
        label = "Central European Summer Time" if now.dst() else "Central European Time"
    return seconds, label


def _parse_multipart(content_type: str, body: bytes) -> dict[str, Any]:
    head = f"Content-Type: {content_type}\r\n\r\n".encode("latin-1")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    fields: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        raw = part.get_payload(decode=True)
        payload = raw if isinstance(raw, bytes) else b""
        filename = part.get_filename()
        if filename is None:
            fields[name] = payload.decode("utf-8", "replace")
        else:
            fields[name] = {
                "filename": filename,
                "size": len(payload),
                "content": payload.decode("utf-8", "replace"),
            }
    return fields


def _parse_body(content_type: str, body: bytes) -> dict[str, Any]:
    """Parse a request body into args; raise ValueError when it is not valid for its type."""
    if not body:
        return {}
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind == "application/json":
        parsed = json.loads(body.decode("utf-8"))
        if not isinstance(parsed, dict):
            raise ValueError("JSON body must be an object")
        return parsed
    if kind == "multipart/form-data":
        return _parse_multipart(content_type, body)
    # Slack treats a body without a usable content type as a form post, and so do we.
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


def _decode_json_fields(args: dict[str, Any]) -> None:
    for name in _JSON_FIELDS:
        value = args.get(name)
        if isinstance(value, str) and value.strip()[:1] in ("[", "{"):
            # Undecodable values stay strings so the method handler refuses them as Slack does.
            with contextlib.suppress(json.JSONDecodeError):
                args[name] = json.loads(value)


def _bearer_token(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


@dataclass
class _Failure:
    status: int
    error: str | None
    retry_after: int | None
    remaining: int

    def answer(self) -> _Answer:
        if self.status == 429:
            return _rate_limited(self.retry_after or 1, self.error or "ratelimited")
        if self.status == 200:
            return _json_answer(_err(self.error or "internal_error"))
        headers = {"Retry-After": str(self.retry_after)} if self.retry_after is not None else {}
        try:
            phrase = HTTPStatus(self.status).phrase
        except ValueError:
            phrase = "Error"
        return _text_answer(self.error or phrase, self.status, headers)


class Hold:
    """The next call of one method, kept waiting unanswered until `release()`: a Slack
    call caught in flight. `arrived` is set once it is waiting."""

    def __init__(self, method: str, timeout: float) -> None:
        self.method = method
        self.timeout = timeout
        self.arrived = threading.Event()
        self._released = threading.Event()

    def wait(self) -> None:
        self.arrived.set()
        self._released.wait(self.timeout)

    def release(self) -> None:
        self._released.set()


@dataclass
class _Bucket:
    rate: float
    capacity: float
    tokens: float
    updated: float
    retry_after: int

    def take(self, now: float) -> bool:
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


@dataclass
class _Channel:
    id: str
    name: str
    created: int
    archived: bool = False
    private: bool = False
    mpim: bool = False
    members: set[str] = field(default_factory=set)


@dataclass
class _User:
    id: str
    name: str
    real_name: str
    display_name: str
    tz: str = DEFAULT_TZ
    locale: str = "en-US"
    is_bot: bool = False
    deleted: bool = False


@dataclass
class _File:
    id: str
    filename: str
    length: int
    content: bytes | None = None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Keep-alive clients would otherwise make stop() wait until they hang up.
    block_on_close = False
    # Bursts of concurrent clients overflow the default backlog of 5 and stall on SYN retries.
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        route: Callable[[str, str, Message, bytes, float], _Answer],
    ) -> None:
        self.route = route
        self.open_connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def close_connections(self) -> None:
        with self.connections_lock:
            connections = list(self.open_connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "SlackStandIn/1.0"
    sys_version = ""
    # Idle keep-alive connections are dropped after this many seconds.
    timeout = 60
    # Headers and body go out in separate writes; with Nagle on, keep-alive clients stall ~40 ms.
    disable_nagle_algorithm = True

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.open_connections.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            with self.server.connections_lock:
                self.server.open_connections.discard(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        # Per-request logging would dominate benchmark time and drown test output.
        return

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, verb: str) -> None:
        at = time.time()
        try:
            body = self._read_body()
        except ValueError:
            self.close_connection = True
            self._send(_text_answer("bad request body", 400))
            return
        try:
            answer = self.server.route(verb, self.path, self.headers, body, at)
        except Exception:
            _LOG.exception("Slack stand-in failed on %s %s", verb, self.path)
            answer = _json_answer(_err("internal_error"), 500)
        try:
            self._send(answer)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0:
            raise ValueError("negative Content-Length")
        return self.rfile.read(length) if length else b""

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        while True:
            size = int(self.rfile.readline(65537).split(b";", 1)[0].strip(), 16)
            if size == 0:
                break
            chunks.append(self.rfile.read(size))
            self.rfile.readline()
        # Trailers end with an empty line; they carry nothing we need.
        while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
            pass
        return b"".join(chunks)

    def _send(self, answer: _Answer) -> None:
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(answer.body)


class SlackStandIn:
    """An in-process HTTP server answering Slack Web API calls the way Slack does.

    Point ``slack_sdk.WebClient(base_url=standin.api_url)`` at it. Every request is recorded
    as a :class:`Call`; ``fail``, ``throttle`` and ``set_delay`` make Slack misbehave on
    purpose. Ids of the usual shapes (``C…``/``G…`` channels, ``U…``/``W…`` users) are treated
    as existing, so tests only declare what they want to differ.

    Tokens have scopes, as on Slack: by default the ones manifest.yaml grants
    (``bot.slack_scopes.BOT_SCOPES``), and a call its token lacks the scope for is answered
    ``missing_scope`` (``grant`` gives a token, or every token, other scopes).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        bot_user_id: str = "UBOT",
        team_id: str = "T0COPBOT",
        max_calls: int | None = None,
        scopes: Iterable[str] = slack_scopes.BOT_SCOPES,
    ) -> None:
        self.host = host
        self._initial_scopes = frozenset(scopes)
        self.bot_user_id = bot_user_id
        self.team_id = team_id
        self._requested_port = port
        self._port: int | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        # A cap keeps long benchmark runs from growing without bound; wait_for counts separately.
        self._calls: deque[Call] = deque(maxlen=max_calls)
        self._counts: dict[str, int] = {}
        self._listeners: list[Callable[[Call], None]] = []
        self._delay = 0.0
        self._method_delays: dict[str, float] = {}
        self._methods: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.update": self._chat_update,
            "chat.delete": self._chat_delete,
            "chat.getPermalink": self._chat_get_permalink,
            "conversations.open": self._conversations_open,
            "conversations.history": self._conversations_history,
            "conversations.invite": self._conversations_invite,
            "conversations.info": self._conversations_info,
            "conversations.members": self._conversations_members,
            "users.info": self._users_info,
            "views.open": self._views_open,
            "views.update": self._views_update,
            "views.push": self._views_push,
            "views.publish": self._views_publish,
            "files.getUploadURLExternal": self._files_get_upload_url_external,
            "files.completeUploadExternal": self._files_complete_upload_external,
        }
        self._reset_state()

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> SlackStandIn:
        """Start serving in a daemon thread and return self."""
        if self._server is not None:
            raise RuntimeError("the Slack stand-in is already running")
        server = _Server((self.host, self._requested_port), self._route)
        self._port = int(server.socket.getsockname()[1])
        # A short poll interval keeps stop() (and so every test fixture) quick.
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"slack-standin-{self._port}",
            daemon=True,
        )
        self._server, self._thread = server, thread
        thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and drop open connections; calling it twice is harmless."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self._server = self._thread = None
        server.shutdown()
        server.close_connections()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> SlackStandIn:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the Slack stand-in has no port before start()")
        return self._port

    @property
    def _base_url(self) -> str:
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        return f"http://{host}:{self.port}"

    @property
    def api_url(self) -> str:
        """The base URL for WebClient, with the trailing slash it expects."""
        return f"{self._base_url}/api/"

    def response_url(self, key: str | None = None) -> str:
        """A response_url whose POSTs are recorded as Call(method="response_url")."""
        if key is None:
            with self._lock:
                key = f"R{next(self._response_keys):06d}"
        return f"{self._base_url}/response/{quote(key, safe='')}"

    # -- recorded calls --------------------------------------------------------------------

    def calls(self, method: str | None = None) -> list[Call]:
        """A snapshot of the recorded calls in arrival order, optionally of one method."""
        with self._lock:
            return [c for c in self._calls if method is None or c.method == method]

    def clear(self) -> None:
        """Forget the recorded calls (the simulated workspace stays as it is)."""
        with self._lock:
            self._calls.clear()
            self._counts.clear()

    def reset(self) -> None:
        """Forget calls, injected failures, throttles, delay and the simulated workspace."""
        with self._lock:
            self._calls.clear()
            self._counts.clear()
            self._delay = 0.0
            self._method_delays.clear()
            self._reset_state()

    def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """Block until at least `count` calls of `method` arrived; return all of them."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._counts.get(method, 0) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(self._timeout_message(method, count, timeout))
                self._changed.wait(remaining)
            return [c for c in self._calls if c.method == method]

    def add_listener(self, fn: Callable[[Call], None]) -> None:
        """Call `fn` in the server thread after each recorded call."""
        with self._lock:
            self._listeners.append(fn)

    # -- misbehaviour ----------------------------------------------------------------------

    def fail(
        self,
        method: str,
        *,
        status: int = 200,
        error: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next `times` calls of `method` with an error instead.

        429 answers carry Retry-After (default 1) and ``{"ok": false, "error": "ratelimited"}``;
        other non-200 statuses answer with a text body; 200 answers ``{"ok": false, "error"}``.
        """
        if times < 1:
            raise ValueError("times must be at least 1")
        if status == 200 and not error:
            raise ValueError("an HTTP 200 failure needs an error code such as 'channel_not_found'")
        with self._lock:
            queue = self._failures.setdefault(method, deque())
            queue.append(_Failure(status, error, retry_after, times))

    def throttle(self, method: str, *, per_second: float, retry_after: int = 1) -> None:
        """Answer 429 + Retry-After to calls of `method` beyond `per_second` (a token bucket)."""
        if per_second <= 0:
            raise ValueError("per_second must be positive")
        capacity = max(1.0, per_second)
        with self._lock:
            self._buckets[method] = _Bucket(
                per_second, capacity, capacity, time.monotonic(), retry_after
            )

    def set_delay(self, seconds: float, *, method: str | None = None) -> None:
        """Make every answer (or only those to `method`) wait `seconds` first, like a slow
        Slack. A call is recorded once its answer is ready, after the wait."""
        if seconds < 0:
            raise ValueError("the delay cannot be negative")
        with self._lock:
            if method is None:
                self._delay = seconds
            else:
                self._method_delays[method] = seconds

    def hold(self, method: str, *, timeout: float = 30.0) -> Hold:
        """Keep the next call of `method` waiting until the returned hold is released (at
        most `timeout` seconds); its `arrived` event tells when the call came in."""
        hold = Hold(method, timeout)
        with self._lock:
            self._holds[method] = hold
        return hold

    def backdate(self, seconds: float) -> None:
        """Make every message posted so far `seconds` older, as if days went by since:
        conversations.history then dates them (and filters on `oldest`) accordingly."""
        with self._lock:
            for messages in self._history.values():
                for message in messages:
                    micros = round(float(message["ts"]) * 1_000_000) - int(seconds * 1e6)
                    message["ts"] = f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    # -- simulated workspace ---------------------------------------------------------------

    def add_channel(
        self,
        channel_id: str,
        *,
        name: str | None = None,
        archived: bool = False,
        members: Iterable[str] = (),
        private: bool | None = None,
    ) -> None:
        """Declare a channel (any id shape), e.g. an archived one or one with a name.
        Undeclared, a G… id is private and a C… id public; `private` says otherwise (new
        private channels on Slack have C… ids too)."""
        with self._lock:
            channel = self._channel(channel_id)
            channel.name = name or channel.name
            channel.archived = archived
            channel.members.update(members)
            if private is not None:
                channel.private = private

    # -- scopes ----------------------------------------------------------------------------

    def grant(self, scopes: Iterable[str], *, token: str | None = None) -> None:
        """Give `token` exactly these scopes; without a token, every token that was not
        granted scopes of its own (until ``reset``)."""
        granted = frozenset(scopes)
        with self._lock:
            if token is None:
                self._default_scopes = granted
            else:
                self._token_scopes[token] = granted

    def revoke(self, token: str, *, error: str = "token_revoked") -> None:
        """From now on (until ``reset``) every call with `token` is refused with `error`,
        as Slack answers a revoked token (or with e.g. "account_inactive", "invalid_auth")."""
        with self._lock:
            self._revoked[token] = error

    def scopes_for(self, token: str) -> frozenset[str]:
        """The scopes a token has here."""
        with self._lock:
            return self._token_scopes.get(token, self._default_scopes)

    def channel_members(self, channel_id: str) -> set[str]:
        """The users invited to (or declared in) a channel so far."""
        with self._lock:
            channel = self._channels.get(channel_id)
            return set(channel.members) if channel is not None else set()

    def add_user(
        self,
        user_id: str,
        *,
        name: str | None = None,
        real_name: str | None = None,
        tz: str = DEFAULT_TZ,
        locale: str = "en-US",
        is_bot: bool = False,
        deleted: bool = False,
    ) -> None:
        """Declare how users.info describes a user; undeclared U…/W… ids get defaults."""
        user = self._default_user(user_id)
        with self._lock:
            self._users[user_id] = _User(
                id=user_id,
                name=name or user.name,
                real_name=real_name or user.real_name,
                display_name=name or user.display_name,
                tz=tz,
                locale=locale,
                is_bot=is_bot,
                deleted=deleted,
            )

    # -- request plumbing ------------------------------------------------------------------

    def _reset_state(self) -> None:
        self._default_scopes = self._initial_scopes
        self._token_scopes: dict[str, frozenset[str]] = {}
        self._revoked: dict[str, str] = {}
        for hold in getattr(self, "_holds", {}).values():
            hold.release()
        self._holds: dict[str, Hold] = {}
        self._failures: dict[str, deque[_Failure]] = {}
        self._buckets: dict[str, _Bucket] = {}
        self._channels: dict[str, _Channel] = {}
        self._users: dict[str, _User] = {}
        self._open_dms: set[str] = set()
        self._views: dict[str, dict[str, Any]] = {}
        self._home_views: dict[str, str] = {}
        self._files: dict[str, _File] = {}
        self._view_ids = itertools.count(1)
        self._view_hashes = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._response_keys = itertools.count(1)
        self._last_ts = 0
        # Posted messages per channel, oldest first, for conversations.history.
        self._history: dict[str, list[dict[str, Any]]] = {}

    def _route(self, verb: str, path: str, headers: Message, body: bytes, at: float) -> _Answer:
        parts = urlsplit(path)
        route = parts.path
        if route == "/healthz":
            return _text_answer("ok")
        if route.startswith("/api/") and len(route) > len("/api/"):
            return self._serve_api(route[len("/api/") :], parts.query, headers, body, at)
        if verb == "POST" and route.startswith("/response/"):
            return self._serve_response_url(unquote(route[len("/response/") :]), body, at)
        if verb == "POST" and route.startswith("/upload/"):
            content_type = headers.get("Content-Type", "")
            return self._serve_upload(route[len("/upload/") :], content_type, body, at)
        return _text_answer("not found", 404)

    def _serve_api(
        self, method: str, query: str, headers: Message, body: bytes, at: float
    ) -> _Answer:
        args: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
        bad_body = False
        try:
            args.update(_parse_body(headers.get("Content-Type", ""), body))
        except (ValueError, UnicodeDecodeError):
            bad_body = True
        _decode_json_fields(args)
        form_token = args.pop("token", None)
        token = _bearer_token(headers.get("Authorization")) or (
            str(form_token) if form_token else None
        )

        def compute() -> _Answer:
            if bad_body:
                return _json_answer(_err("invalid_json"))
            headers: dict[str, str] = {}
            return _json_answer(self._answer_api(method, args, token, headers), 200, headers)

        return self._record(method, args, token, at, compute)

    def _answer_api(
        self, method: str, args: dict[str, Any], token: str | None, headers: dict[str, str]
    ) -> dict[str, Any]:
        handler = self._methods.get(method)
        if handler is None:
            return _err("unknown_method")
        if token is None:
            return _err("not_authed")
        if not token.startswith(_TOKEN_PREFIXES):
            return _err("invalid_auth")
        if token in self._revoked:
            return _err(self._revoked[token])
        granted = self._token_scopes.get(token, self._default_scopes)
        provided = ",".join(sorted(granted))
        # Slack tells every caller what its token has, and what the method takes.
        headers["x-oauth-scopes"] = provided
        rule = slack_scopes.SLACK_RULES.get(method)
        if rule is not None:
            kind = self._conversation_type(method, args) if rule.by_type else None
            headers["x-accepted-oauth-scopes"] = ",".join(dict.fromkeys(rule.accepted(kind)))
            needed = slack_scopes.missing_scope(method, kind, granted)
            if needed is not None:
                return _err("missing_scope", needed=needed, provided=provided)
        return handler(args)

    def _conversation_type(self, method: str, args: dict[str, Any]) -> str | None:
        """The type of conversation a call acts on, which decides the scope it needs; None
        when the arguments name none (the method then answers its own error)."""
        if method == "conversations.open" and not args.get("channel"):
            others = [u for u in _split_ids(args.get("users")) if u != self.bot_user_id]
            if not others:
                return None
            return slack_scopes.IM if len(others) == 1 else slack_scopes.MPIM
        channel_id, _ = self._resolve_channel(args.get("channel"), allow_user=False)
        if channel_id is None:
            return None
        if channel_id.startswith("D"):
            return slack_scopes.IM
        known = self._channels.get(channel_id)
        if known is not None and known.mpim:
            return slack_scopes.MPIM
        private = known.private if known is not None else channel_id.startswith("G")
        return slack_scopes.PRIVATE if private else slack_scopes.PUBLIC

    def _serve_response_url(self, key: str, body: bytes, at: float) -> _Answer:
        text = body.decode("utf-8", "replace")
        args: dict[str, Any]
        try:
            parsed = json.loads(text)
            args = parsed if isinstance(parsed, dict) else {"_raw": text}
        except json.JSONDecodeError:
            form = dict(parse_qsl(text, keep_blank_values=True))
            try:
                parsed = json.loads(form.get("payload", ""))
                args = parsed if isinstance(parsed, dict) else {"_raw": text}
            except json.JSONDecodeError:
                args = {"_raw": text}
        args["_key"] = key
        return self._record("response_url", args, None, at, lambda: _text_answer("ok"))

    def _serve_upload(self, file_id: str, content_type: str, body: bytes, at: float) -> _Answer:
        content = body
        if content_type.lower().startswith("multipart/form-data"):
            # Slack also takes the bytes as a multipart "file" field; keep the first file part.
            for value in _parse_multipart(content_type, body).values():
                if isinstance(value, dict):
                    content = str(value["content"]).encode("utf-8")
                    break
        args = {
            "file_id": file_id,
            "size": len(content),
            "content": content.decode("utf-8", "replace"),
        }

        def compute() -> _Answer:
            upload = self._files.get(file_id)
            if upload is None:
                return _text_answer("file not found", 404)
            upload.content = content
            return _text_answer(f"OK - {len(content)}")

        return self._record("upload", args, None, at, compute)

    def _record(
        self,
        method: str,
        args: dict[str, Any],
        token: str | None,
        at: float,
        compute: Callable[[], _Answer],
    ) -> _Answer:
        with self._lock:
            hold = self._holds.pop(method, None)
        if hold is not None:
            hold.wait()
        delay = self._method_delays.get(method, self._delay)
        if delay > 0:
            time.sleep(delay)
        with self._lock:
            answer = self._injected_answer(method) or compute()
            call = Call(method, args, token, at, answer.status, answer.response)
            self._calls.append(call)
            self._counts[method] = self._counts.get(method, 0) + 1
            self._changed.notify_all()
            listeners = tuple(self._listeners)
        # Listeners run outside the lock so they may call back into the stand-in.
        for listener in listeners:
            try:
                listener(call)
            except Exception:
                _LOG.exception("Slack stand-in listener %r failed", listener)
        return answer

    def _injected_answer(self, method: str) -> _Answer | None:
        queue = self._failures.get(method)
        if queue:
            failure = queue[0]
            failure.remaining -= 1
            if failure.remaining <= 0:
                queue.popleft()
            return failure.answer()
        bucket = self._buckets.get(method)
        if bucket is not None and not bucket.take(time.monotonic()):
            return _rate_limited(bucket.retry_after)
        return None

    def _timeout_message(self, method: str, count: int, timeout: float) -> str:
        got = self._counts.get(method, 0)
        head = f"expected {count} call(s) of {method!r} within {timeout:g}s but got {got}"
        if not self._calls:
            return f"{head}; the stand-in received no calls at all"
        recent = list(self._calls)[-_TIMEOUT_MESSAGE_CALLS:]
        described = []
        for call in recent:
            outcome = "ok" if call.response.get("ok") else call.response.get("error", "failed")
            described.append(f"{call.method} ({call.status} {outcome})")
        skipped = len(self._calls) - len(recent)
        more = f" (and {skipped} earlier)" if skipped else ""
        return f"{head}; received {len(self._calls)} call(s){more}: " + ", ".join(described)

    # -- simulated workspace internals (called with the lock held) -------------------------

    def _next_ts(self) -> str:
        # Real Slack ts values are epoch times; bot code may date messages by them.
        micros = max(int(time.time() * 1_000_000), self._last_ts + 1)
        self._last_ts = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _channel(self, channel_id: str) -> _Channel:
        channel = self._channels.get(channel_id)
        if channel is None:
            channel = _Channel(
                id=channel_id,
                name=channel_id.lower(),
                created=int(time.time()),
                private=channel_id.startswith("G"),
            )
            self._channels[channel_id] = channel
        return channel

    def _resolve_channel(self, raw: Any, *, allow_user: bool) -> tuple[str | None, str | None]:
        """Map a `channel` argument to a channel id, or to Slack's error code."""
        if not isinstance(raw, str) or not raw.strip():
            return None, "channel_not_found"
        raw = raw.strip()
        if raw in self._channels:
            return raw, None
        by_name = raw.lstrip("#")
        for channel in self._channels.values():
            if channel.name == by_name:
                return channel.id, None
        if allow_user and _is_user_id(raw):
            return f"D{raw}", None
        if raw[0] in "CGD":
            return raw, None
        return None, "channel_not_found"

    def _writable_channel(self, raw: Any, *, allow_user: bool) -> tuple[str, str | None]:
        channel_id, error = self._resolve_channel(raw, allow_user=allow_user)
        if channel_id is None:
            return "", error or "channel_not_found"
        known = self._channels.get(channel_id)
        if known is not None and known.archived:
            return channel_id, "is_archived"
        return channel_id, None

    def _conversation(self, channel_id: str, *, num_members: bool = False) -> dict[str, Any]:
        if channel_id.startswith("D") and channel_id not in self._channels:
            dm: dict[str, Any] = {
                "id": channel_id,
                "created": int(time.time()),
                "is_im": True,
                "is_org_shared": False,
                "is_user_deleted": False,
                "priority": 0,
            }
            if _is_user_id(channel_id[1:]):
                dm["user"] = channel_id[1:]
            return dm
        channel = self._channel(channel_id)
        empty_note = {"value": "", "creator": "", "last_set": 0}
        info: dict[str, Any] = {
            "id": channel.id,
            "name": channel.name,
            "name_normalized": channel.name,
            "created": channel.created,
            "creator": self.bot_user_id,
            "is_channel": not channel.private and not channel.mpim,
            "is_group": channel.private and not channel.mpim,
            "is_im": False,
            "is_mpim": channel.mpim,
            "is_private": channel.private,
            "is_archived": channel.archived,
            "is_general": False,
            "is_shared": False,
            "is_org_shared": False,
            "is_ext_shared": False,
            "is_member": True,
            "topic": dict(empty_note),
            "purpose": dict(empty_note),
            "context_team_id": self.team_id,
        }
        if num_members:
            info["num_members"] = len(channel.members)
        return info

    def _default_user(self, user_id: str) -> _User:
        if user_id == self.bot_user_id:
            return _User(user_id, BOT_NAME, "CoP bot", "CoP bot", is_bot=True)
        name = user_id.lower()
        return _User(user_id, name, f"Test User {user_id}", name)

    def _user(self, user_id: str) -> dict[str, Any]:
        user = self._users.get(user_id) or self._default_user(user_id)
        tz_offset, tz_label = _tz_details(user.tz)
        first, _, last = user.real_name.partition(" ")
        return {
            "id": user.id,
            "team_id": self.team_id,
            "name": user.name,
            "deleted": user.deleted,
            "color": "9f69e7",
            "real_name": user.real_name,
            "tz": user.tz,
            "tz_label": tz_label,
            "tz_offset": tz_offset,
            "profile": {
                "real_name": user.real_name,
                "real_name_normalized": user.real_name,
                "display_name": user.display_name,
                "display_name_normalized": user.display_name,
                "first_name": first,
                "last_name": last,
                "email": f"{user.name}@example.org",
                "team": self.team_id,
            },
            "is_admin": False,
            "is_owner": False,
            "is_primary_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": user.is_bot,
            "is_app_user": False,
            "updated": int(time.time()),
        }

    def _message(self, args: dict[str, Any], ts: str) -> dict[str, Any]:
        message: dict[str, Any] = {
            "type": "message",
            "subtype": "bot_message",
            "text": _text_of(args.get("text")),
            "user": self.bot_user_id,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "team": self.team_id,
            "ts": ts,
        }
        for name in ("blocks", "attachments", "metadata"):
            if name in args:
                message[name] = args[name]
        if args.get("thread_ts"):
            message["thread_ts"] = str(args["thread_ts"])
        return message

    def _content_error(self, args: dict[str, Any]) -> str | None:
        for name in ("blocks", "attachments"):
            if name in args and not isinstance(args[name], list):
                return f"invalid_{name}_format" if name == "blocks" else "invalid_attachments"
        if (
            not _text_of(args.get("text"))
            and not args.get("blocks")
            and not args.get("attachments")
        ):
            return "no_text"
        return None

    def _view(
        self,
        view: dict[str, Any],
        *,
        view_id: str | None = None,
        root_view_id: str | None = None,
        previous_view_id: str | None = None,
    ) -> dict[str, Any]:
        view_id = view_id or f"V{next(self._view_ids):010d}"
        stored: dict[str, Any] = {
            "id": view_id,
            "team_id": self.team_id,
            "type": view.get("type", "modal"),
            "blocks": view.get("blocks", []),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "external_id": view.get("external_id", ""),
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{next(self._view_hashes):08x}",
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "previous_view_id": previous_view_id,
            "root_view_id": root_view_id or view_id,
            "app_id": APP_ID,
            "app_installed_team_id": self.team_id,
            "bot_id": BOT_ID,
        }
        for name in ("title", "submit", "close"):
            if name in view:
                stored[name] = view[name]
        self._views[view_id] = stored
        return stored

    @staticmethod
    def _view_arg(args: dict[str, Any]) -> dict[str, Any] | None:
        view = args.get("view")
        if not isinstance(view, dict) or view.get("type") not in ("modal", "home"):
            return None
        return view

    # -- Web API methods (called with the lock held) ---------------------------------------

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return _ok(
            url=TEAM_URL,
            team=TEAM_NAME,
            user=BOT_NAME,
            team_id=self.team_id,
            user_id=self.bot_user_id,
            bot_id=BOT_ID,
            is_enterprise_install=False,
        )

    def _chat_post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, error = self._writable_channel(args.get("channel"), allow_user=True)
        error = error or self._content_error(args)
        if error:
            return _err(error)
        ts = self._next_ts()
        message = self._message(args, ts)
        assert channel is not None
        self._history.setdefault(channel, []).append(message)
        return _ok(channel=channel, ts=ts, message=message)

    def _conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, error = self._resolve_channel(args.get("channel"), allow_user=False)
        if channel is None:
            return _err(error or "channel_not_found")
        oldest = float(args.get("oldest") or 0)
        latest = float(args.get("latest") or "inf")
        limit = min(int(args.get("limit") or 100), 999)
        with_metadata = str(args.get("include_all_metadata", "")).lower() in ("1", "true")
        messages = []
        for message in reversed(self._history.get(channel, [])):
            if oldest < float(message["ts"]) < latest:
                shown = dict(message)
                if not with_metadata:
                    shown.pop("metadata", None)
                messages.append(shown)
        return _ok(
            messages=messages[:limit],
            has_more=len(messages) > limit,
            pin_count=0,
            response_metadata={"next_cursor": ""},
        )

    def history(self, channel_id: str) -> list[dict[str, Any]]:
        """Messages posted in a channel (a user ID means the DM with them), oldest first."""
        key = f"D{channel_id}" if _is_user_id(channel_id) else channel_id
        with self._lock:
            return [dict(m) for m in self._history.get(key, [])]

    def _chat_post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        _, error = self._writable_channel(args.get("channel"), allow_user=True)
        if error:
            return _err(error)
        if not _is_user_id(args.get("user")):
            return _err("user_not_found")
        error = self._content_error(args)
        if error:
            return _err(error)
        return _ok(message_ts=self._next_ts())

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, error = self._writable_channel(args.get("channel"), allow_user=False)
        if error:
            return _err(error)
        ts = args.get("ts")
        if not ts:
            return _err("message_not_found")
        error = self._content_error(args)
        if error:
            return _err(error)
        ts = str(ts)
        text = _text_of(args.get("text"))
        return _ok(channel=channel, ts=ts, text=text, message=self._message(args, ts))

    def _chat_delete(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, error = self._writable_channel(args.get("channel"), allow_user=False)
        if error:
            return _err(error)
        if not args.get("ts"):
            return _err("message_not_found")
        return _ok(channel=channel, ts=str(args["ts"]))

    def _chat_get_permalink(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, error = self._resolve_channel(args.get("channel"), allow_user=False)
        if channel is None:
            return _err(error or "channel_not_found")
        ts = args.get("message_ts")
        if not ts:
            return _err("message_not_found")
        return _ok(channel=channel, permalink=_permalink(channel, str(ts)))

    def _conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if args.get("channel"):
            channel, error = self._resolve_channel(args["channel"], allow_user=False)
            if channel is None:
                return _err(error or "channel_not_found")
            return _ok(no_op=True, already_open=True, channel={"id": channel})
        users = _split_ids(args.get("users"))
        if not users:
            return _err("users_list_not_supplied")
        if not all(_is_user_id(user) for user in users):
            return _err("user_not_found")
        others = [user for user in users if user != self.bot_user_id] or users
        if len(others) > _MAX_MPIM_USERS:
            return _err("too_many_users")
        if len(others) == 1:
            channel_id = f"D{others[0]}"
        else:
            channel_id = "G" + "".join(sorted(others))
            mpim = self._channel(channel_id)
            mpim.mpim = mpim.private = True
            mpim.name = "mpdm-" + "--".join(sorted(u.lower() for u in others)) + "-1"
            mpim.members.update([*others, self.bot_user_id])
        already_open = channel_id in self._open_dms
        self._open_dms.add(channel_id)
        payload = (
            self._conversation(channel_id) if _truthy(args.get("return_im")) else {"id": channel_id}
        )
        if already_open:
            return _ok(no_op=True, already_open=True, channel=payload)
        return _ok(channel=payload)

    def _conversations_invite(self, args: dict[str, Any]) -> dict[str, Any]:
        channel_id, error = self._writable_channel(args.get("channel"), allow_user=False)
        if error:
            return _err(error)
        if channel_id.startswith("D"):
            return _err("method_not_supported_for_channel_type")
        users = _split_ids(args.get("users"))
        if not users:
            return _err("no_user")
        channel = self._channel(channel_id)
        errors: list[dict[str, Any]] = []
        for user in users:
            if not _is_user_id(user):
                code = "user_not_found"
            elif user == self.bot_user_id:
                code = "cant_invite_self"
            elif user in channel.members:
                code = "already_in_channel"
            else:
                continue
            errors.append({"user": user, "ok": False, "error": code})
        force = _truthy(args.get("force"))
        if errors and not force:
            # Without force Slack invites nobody when any of the users fails.
            return _err(errors[0]["error"], errors=errors)
        failed = {entry["user"] for entry in errors}
        channel.members.update(user for user in users if user not in failed)
        payload = _ok(channel=self._conversation(channel_id))
        if errors:
            payload["errors"] = errors
        return payload

    def _conversations_info(self, args: dict[str, Any]) -> dict[str, Any]:
        channel_id, error = self._resolve_channel(args.get("channel"), allow_user=False)
        if channel_id is None:
            return _err(error or "channel_not_found")
        include = _truthy(args.get("include_num_members"))
        return _ok(channel=self._conversation(channel_id, num_members=include))

    def _conversations_members(self, args: dict[str, Any]) -> dict[str, Any]:
        channel_id, error = self._resolve_channel(args.get("channel"), allow_user=False)
        if channel_id is None:
            return _err(error or "channel_not_found")
        if channel_id.startswith("D") and channel_id not in self._channels:
            members = [channel_id[1:], self.bot_user_id]
        else:
            members = sorted(self._channel(channel_id).members)
        try:
            limit = int(args.get("limit") or 100)
            cursor = str(args.get("cursor") or "")
            start = int(base64.b64decode(cursor).decode().split(":", 1)[1]) if cursor else 0
        except (ValueError, IndexError, binascii.Error):
            return _err("invalid_cursor")
        end = start + max(limit, 1)
        next_cursor = (
            base64.b64encode(f"offset:{end}".encode()).decode() if end < len(members) else ""
        )
        return _ok(members=members[start:end], response_metadata={"next_cursor": next_cursor})

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user_id = args.get("user")
        if not _is_user_id(user_id):
            return _err("user_not_found")
        user = self._user(str(user_id))
        if _truthy(args.get("include_locale")):
            known = self._users.get(str(user_id))
            user["locale"] = known.locale if known is not None else "en-US"
        return _ok(user=user)

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("trigger_id"):
            return _missing("trigger_id")
        view = self._view_arg(args)
        if view is None:
            return _missing("view")
        return _ok(view=self._view(view))

    def _views_push(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("trigger_id"):
            return _missing("trigger_id")
        view = self._view_arg(args)
        if view is None:
            return _missing("view")
        return _ok(view=self._view(view))

    def _views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        view = self._view_arg(args)
        if view is None:
            return _missing("view")
        view_id = args.get("view_id")
        external_id = args.get("external_id")
        if not view_id and not external_id:
            return _missing("view_id")
        if not view_id:
            found = [v for v in self._views.values() if v["external_id"] == external_id]
            view_id = found[0]["id"] if found else None
        current = self._views.get(str(view_id)) if view_id else None
        if current is not None and args.get("hash") and args["hash"] != current["hash"]:
            return _err("hash_conflict")
        # Unknown view ids are accepted, as tests often update views they never opened here.
        root = current["root_view_id"] if current is not None else None
        previous = current["previous_view_id"] if current is not None else None
        merged = dict(view)
        if external_id and "external_id" not in merged:
            merged["external_id"] = external_id
        return _ok(
            view=self._view(
                merged,
                view_id=str(view_id) if view_id else None,
                root_view_id=root,
                previous_view_id=previous,
            )
        )

    def _views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        user_id = args.get("user_id")
        if not user_id:
            return _missing("user_id")
        if not _is_user_id(user_id):
            return _err("user_not_found")
        view = self._view_arg(args)
        if view is None or view.get("type") != "home":
            return _missing("view")
        # Slack keeps one Home tab view per user, so its id stays stable across publishes.
        home_id = self._home_views.get(str(user_id))
        published = self._view(view, view_id=home_id)
        self._home_views[str(user_id)] = published["id"]
        return _ok(view=published)

    def _files_get_upload_url_external(self, args: dict[str, Any]) -> dict[str, Any]:
        filename = args.get("filename")
        if not filename:
            return _missing("filename")
        try:
            length = int(args.get("length", ""))
        except (TypeError, ValueError):
            return _missing("length")
        file_id = f"F{next(self._file_ids):010d}"
        self._files[file_id] = _File(file_id, str(filename), length)
        return _ok(upload_url=f"{self._base_url}/upload/{file_id}", file_id=file_id)

    def _files_complete_upload_external(self, args: dict[str, Any]) -> dict[str, Any]:
        files = args.get("files")
        if not isinstance(files, list) or not files:
            return _missing("files")
        if args.get("channel_id"):
            _, error = self._writable_channel(args["channel_id"], allow_user=False)
            if error:
                return _err(error)
        for channel in _split_ids(args.get("channels")):
            _, error = self._writable_channel(channel, allow_user=False)
            if error:
                return _err(error)
        completed = []
        for entry in files:
            file_id = entry.get("id") if isinstance(entry, dict) else None
            upload = self._files.get(str(file_id))
            if upload is None or upload.content is None:
                return _err("file_not_found")
            title = entry.get("title") or upload.filename
            completed.append({"id": upload.id, "title": title})
        return _ok(files=completed)


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
    scopes = _split_ids(options.scopes) if options.scopes is not None else slack_scopes.BOT_SCOPES
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


if __name__ == "__main__":
    raise SystemExit(main())
