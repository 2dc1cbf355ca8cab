"""SlackStandIn: the stand-in Slack put together from its parts, with its lifecycle (start,
stop), its routes (Web API, response_url, uploads) and the dispatch of Web API calls to the
methods of each group."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from email.message import Message
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from bot import slack_scopes
from bot.sandbox.standin.chat import Chat
from bot.sandbox.standin.conversations import Conversations
from bot.sandbox.standin.files import Files
from bot.sandbox.standin.protocol import (
    Answer,
    bearer_token,
    decode_json_fields,
    err,
    json_answer,
    parse_body,
    text_answer,
)
from bot.sandbox.standin.recording import Call
from bot.sandbox.standin.response_urls import ResponseUrls
from bot.sandbox.standin.server import Server
from bot.sandbox.standin.tokens import Tokens
from bot.sandbox.standin.users import Users
from bot.sandbox.standin.views import Views


class SlackStandIn(Chat, Conversations, Users, Views, Files, ResponseUrls, Tokens):
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
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.host = host
        # The time of the rate limits (throttle) and the wait of slow answers (set_delay):
        # a test may drive both (waiting for calls, wait_for, keeps the real clock).
        self._monotonic = monotonic
        self._sleep = sleep
        self._initial_scopes = frozenset(scopes)
        self.bot_user_id = bot_user_id
        self.team_id = team_id
        self._requested_port = port
        self._port: int | None = None
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        # A cap keeps long benchmark runs from growing without bound; wait_for counts separately.
        self._calls: deque[Call] = deque(maxlen=max_calls)
        self._counts: dict[str, int] = {}
        self._listeners: list[Callable[[Call], None]] = []
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

    def start(self) -> SlackStandIn:
        """Start serving in a daemon thread and return self."""
        if self._server is not None:
            raise RuntimeError("the Slack stand-in is already running")
        server = Server((self.host, self._requested_port), self._route)
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

    def reset(self) -> None:
        """Forget calls, injected failures, throttles, delay and the simulated workspace."""
        with self._lock:
            self._calls.clear()
            self._counts.clear()
            self._reset_state()

    def _reset_state(self) -> None:
        self._reset_tokens()
        self._reset_misbehaviour()
        self._reset_workspace()
        self._reset_response_urls()

    def _route(self, verb: str, path: str, headers: Message, body: bytes, at: float) -> Answer:
        parts = urlsplit(path)
        route = parts.path
        if route == "/healthz":
            return text_answer("ok")
        if route.startswith("/api/") and len(route) > len("/api/"):
            return self._serve_api(route[len("/api/") :], parts.query, headers, body, at)
        if verb == "POST" and route.startswith("/response/"):
            return self._serve_response_url(unquote(route[len("/response/") :]), body, at)
        if verb == "POST" and route.startswith("/upload/"):
            content_type = headers.get("Content-Type", "")
            return self._serve_upload(route[len("/upload/") :], content_type, body, at)
        return text_answer("not found", 404)

    def _serve_api(
        self, method: str, query: str, headers: Message, body: bytes, at: float
    ) -> Answer:
        args: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
        bad_body = False
        try:
            args.update(parse_body(headers.get("Content-Type", ""), body))
        except (ValueError, UnicodeDecodeError):
            bad_body = True
        decode_json_fields(args)
        form_token = args.pop("token", None)
        token = bearer_token(headers.get("Authorization")) or (
            str(form_token) if form_token else None
        )

        def compute() -> Answer:
            if bad_body:
                return json_answer(err("invalid_json"))
            headers: dict[str, str] = {}
            return json_answer(self._answer_api(method, args, token, headers), 200, headers)

        return self._record(method, args, token, at, compute)

    def _answer_api(
        self, method: str, args: dict[str, Any], token: str | None, headers: dict[str, str]
    ) -> dict[str, Any]:
        handler = self._methods.get(method)
        if handler is None:
            return err("unknown_method")
        refused = self._refusal(method, args, token, headers)
        if refused is not None:
            return refused
        return handler(args)
