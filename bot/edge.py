"""The HTTP edge of the Slack app: every request is verified here, before Bolt sees it.

In this order, and nothing of a request is parsed, logged, answered or dispatched before
it passed: the body's size (413, checked before reading it), the signature headers'
form (401), the timestamp within five minutes (401), the signature (401), the body as
UTF-8 (400), a replay of a request already served or of an event already handled
(Slack's retries keep the event_id; 200, empty, no effect). Only then does Bolt parse
the body and run a listener, with the request marked as verified in its context
(handlers/errors.py answers at a response_url only for such a request).

`cop-bot serve` (bot/server.py) and the console (bot/sandbox/console.py) both come through
here, so Bolt's own signature check is off (bot/app.py). Socket Mode does not: Slack
authenticates that connection itself, and Bolt marks its requests as such.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import math
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.adapter.wsgi.http_request import WsgiHttpRequest
from slack_bolt.adapter.wsgi.http_response import WsgiHttpResponse
from slack_sdk.signature import Clock, SignatureVerifier

from bot import deadline, logs, metrics
from bot.runtime import Services, error_reference
from handlers.errors import VERIFIED, apology, ephemeral_answer
from storage.errors import WriteBusy
from storage.replays import SeenRequests

log = logging.getLogger("cop_bot")

# Slack's largest payloads are a view submission or a click in a full modal: 100 blocks
# of at most 3,000 characters, a few hundred KiB even form-encoded. 1 MiB leaves room
# for that and bounds what a stranger can make a worker hold (32 threads: 32 MiB).
MAX_BODY_BYTES = 1024 * 1024
# Slack's own rule: a request signed more than five minutes before or after now is refused.
WINDOW_SECONDS = 5 * 60
# A request stamped up to five minutes ahead is accepted until five minutes after that,
# so what was seen is kept for twice the window.
KEEP_SEEN_SECONDS = 2 * WINDOW_SECONDS
# Expired rows are deleted by the first request after a minute, in its own transaction:
# one short DELETE a minute per process, and no process needs to own a chore for it.
FORGET_EVERY_SECONDS = 60.0
# The replay check waits at most this for the write lock of its store. The slash command
# counts its 2-second answer budget from the request's arrival (handlers/commands.py), so
# a wait here shortens that budget instead of pushing the answer past Slack's 3 seconds.
REPLAY_WAIT_SECONDS = 1.0

# ASCII digits only: \d and int() also take other scripts' digits, and int() takes "+1",
# " 1" and "1_0". At most 12 digits, so int() never sees a huge number.
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")


class _Clock(Clock):
    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now

    def now(self) -> float:
        return self._now()


class _BytesVerifier(SignatureVerifier):
    """slack_sdk's verifier (its window and constant-time comparison) over the body's
    bytes as they came: its own signature decodes the body first, which raises on a body
    that is not UTF-8, and would make a signed one look unsigned."""

    def generate_signature(self, *, timestamp: str, body: str | bytes) -> str | None:
        raw = body.encode() if isinstance(body, str) else body
        base = b"v0:" + timestamp.encode("ascii") + b":" + raw
        digest = hmac.new(self.signing_secret.encode(), base, hashlib.sha256).hexdigest()
        return f"v0={digest}"


def _plain(status: int, text: str) -> BoltResponse:
    return BoltResponse(
        status=status, body=text, headers={"content-type": "text/plain;charset=utf-8"}
    )


def _header(headers: Mapping[str, str | Sequence[str]], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name:
            return value if isinstance(value, str) else (value[0] if value else "")
    return ""


class Edge:
    """The one way into the Bolt app over HTTP; see the module's docstring."""

    def __init__(
        self,
        app: App,
        services: Services,
        *,
        now: Callable[[], float] = time.time,
        max_body: int = MAX_BODY_BYTES,
    ) -> None:
        secret = services.settings.slack_signing_secret
        if not secret:
            raise ValueError("SLACK_SIGNING_SECRET is needed to verify requests over HTTP")
        self.app = app
        self.services = services
        self.now = now
        self.max_body = max_body
        self.verifier = _BytesVerifier(secret, clock=_Clock(now))
        self.seen = SeenRequests(services.db)
        self._lock = threading.Lock()
        self._last_forget = -math.inf

    # The rule ---------------------------------------------------------------
    def handle(
        self, body: bytes, headers: Mapping[str, str | Sequence[str]], *, query: str = ""
    ) -> BoltResponse:
        """Verify a request as it came over HTTP, then hand it to Bolt; see the module.
        Every log line of the request, from here on, carries one request id."""
        with logs.request_scope():
            return self._handle(body, headers, query=query)

    def _handle(
        self, body: bytes, headers: Mapping[str, str | Sequence[str]], *, query: str
    ) -> BoltResponse:
        received_at = time.monotonic()
        size = len(body)
        if size > self.max_body:
            return self._reject(413, "body over the size limit", size)
        timestamp = _header(headers, "x-slack-request-timestamp")
        signature = _header(headers, "x-slack-signature")
        if not _TIMESTAMP.fullmatch(timestamp):
            return self._reject(401, "missing or malformed timestamp", size)
        if not _SIGNATURE.fullmatch(signature):
            return self._reject(401, "missing or malformed signature", size)
        if abs(self.now() - int(timestamp)) > WINDOW_SECONDS:
            return self._reject(401, "timestamp outside the five-minute window", size)
        if not self.verifier.is_valid(body, timestamp, signature):
            return self._reject(401, "wrong signature", size)
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return self._reject(400, "body is not UTF-8", size)
        try:
            request = BoltRequest(
                body=text,
                query=query,
                headers=dict(headers),
                context={VERIFIED: True, deadline.RECEIVED_AT: received_at},
            )
        except Exception:  # Bolt's parser on a body Slack would never send
            return self._reject(400, "body is not a Slack payload", size)
        if not _well_formed(request):
            return self._reject(400, "payload without the fields Slack always sends", size)
        event_id = _event_id(request)
        try:
            fresh = self._first_time(_replay_key(signature, event_id))
        except Exception as error:
            answer = self._unavailable(request, error)
            metrics.count_request(metrics.request_kind(request.body), "unavailable", answer.status)
            return answer
        if not fresh:
            what = "an event already handled" if event_id else "a replayed request"
            log.info("edge: %s ignored (%d bytes)", what, size)
            metrics.count_request(metrics.request_kind(request.body), "replay", 200)
            return BoltResponse(status=200, body="")
        return self.app.dispatch(request)

    def _first_time(self, key: bytes) -> bool:
        """Remember this request's key; False when it was served before (by any process)."""
        now = self.now()
        forget_before = None
        with self._lock:
            if now - self._last_forget >= FORGET_EVERY_SECONDS:
                self._last_forget = now
                forget_before = dt.datetime.fromtimestamp(now - KEEP_SEEN_SECONDS, dt.UTC)
        return self.seen.remember(
            key,
            now=dt.datetime.fromtimestamp(now, dt.UTC),
            forget_before=forget_before,
            wait=REPLAY_WAIT_SECONDS,
        )

    def _reject(self, status: int, reason: str, size: int) -> BoltResponse:
        # One line: never the body nor a header's value, which a stranger chose.
        log.info("edge: refused with %d: %s (%d bytes)", status, reason, size)
        metrics.count_request("unknown", "refused", status)
        return _plain(status, {400: "Bad Request", 401: "Unauthorized"}.get(status, "Too Large"))

    def _unavailable(self, request: BoltRequest, error: Exception) -> BoltResponse:
        """The replay check could not be made: nothing runs (it might be a replay). A slash
        command gets the apology with a reference; anything else a bare 503."""
        reference = error_reference()
        busy = isinstance(error, WriteBusy)
        log.error("edge: replay check failed (ref %s)", reference, exc_info=None if busy else error)
        if request.body.get("command"):
            return ephemeral_answer(apology(self.services.translator(None), reference))
        return _plain(503, "Service Unavailable")

    # WSGI ---------------------------------------------------------------------
    def wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        """POST /slack/events: read at most the limit, then `handle`."""
        declared = environ.get("CONTENT_LENGTH") or ""
        stream = environ.get("wsgi.input")
        if declared.isascii() and declared.isdigit():
            length = int(declared)
            if length > self.max_body:
                # Refused before reading: the server discards the rest.
                return self._write(
                    start_response, self._reject(413, "declared over the limit", length)
                )
            body = stream.read(length) if stream is not None and length else b""
        else:
            # No usable length (e.g. chunked): read one byte past the limit to tell.
            body = stream.read(self.max_body + 1) if stream is not None else b""
        request = WsgiHttpRequest(environ)
        return self._write(
            start_response, self.handle(body, request.get_headers(), query=request.query_string)
        )

    @staticmethod
    def _write(start_response: Callable[..., Any], response: BoltResponse) -> Iterable[bytes]:
        out = WsgiHttpResponse(status=response.status, headers=response.headers, body=response.body)
        start_response(out.status, out.get_headers())
        return out.get_body()


def _event_id(request: BoltRequest) -> str | None:
    """The `event_id` of an Events API delivery (`event_callback`); None for anything else."""
    body = request.body
    if body.get("type") != "event_callback":
        return None
    event_id = body.get("event_id")
    return event_id if isinstance(event_id, str) and event_id else None


def _replay_key(signature: str, event_id: str | None) -> bytes:
    """What a request is remembered by. Slack retries an event it had no answer to within
    3 seconds with the same `event_id` but a new timestamp, so a new signature: an event
    is remembered by its id (which also catches a replay of the same signed copy), every
    other request by its signature."""
    if event_id is not None:
        return hashlib.sha256(b"event:" + event_id.encode("utf-8")).digest()
    return hashlib.sha256(signature.encode("ascii")).digest()


# What someone does: a slash command, or a click, form or shortcut (sent as `payload`).
_BY_A_PERSON = frozenset(
    {"block_actions", "block_suggestion", "view_submission", "view_closed", "shortcut",
     "message_action", "interactive_message", "dialog_submission"}
)  # fmt: skip


def _well_formed(request: BoltRequest) -> bool:
    """Whether a verified body has the shape Slack gives it: a form or JSON object, and,
    for what a person does, who did it. Only Slack can sign a body, so anything else is a
    bug of Slack's or ours: refused at the edge rather than half-handled by a listener."""
    body = request.body
    if not isinstance(body, dict):
        return False
    kind = body.get("type")
    if "command" not in body and kind not in _BY_A_PERSON:
        return True
    if not isinstance(request.context.user_id, str) or not request.context.user_id:
        return False
    # Bolt reads these before any listener runs: the first action of a click, the view
    # of a form.
    if kind == "block_actions":
        actions = body.get("actions")
        return isinstance(actions, list) and bool(actions) and isinstance(actions[0], dict)
    if kind in ("view_submission", "view_closed"):
        return isinstance(body.get("view"), dict)
    return True
