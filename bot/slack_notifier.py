"""The Notifier over slack_sdk's WebClient, with retries for rate limits and server errors."""

from __future__ import annotations

import http.client
import io
import json
import threading
import time
from typing import Any
from urllib.error import HTTPError
from urllib.parse import urlsplit
from urllib.request import Request

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot.notifier import DeliveryError, Message


class KeepAliveWebClient(WebClient):
    """slack_sdk's WebClient, reusing one HTTP connection per thread.

    The stock client opens a new connection (and TLS handshake) for every call; a
    fan-out of DMs spends most of its time there. Everything above the transport --
    retries, Retry-After, error parsing -- is slack_sdk's own: failures are reported
    to it exactly as urllib reports them.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._local = threading.local()

    def _connection(self, scheme: str, netloc: str, fresh: bool) -> http.client.HTTPConnection:
        pool: dict[tuple[str, str], http.client.HTTPConnection] = self._local.__dict__.setdefault(
            "pool", {}
        )
        key = (scheme, netloc)
        conn = pool.get(key)
        if conn is None or fresh:
            if conn is not None:
                conn.close()
            if scheme == "https":
                conn = http.client.HTTPSConnection(netloc, timeout=self.timeout, context=self.ssl)
            else:
                conn = http.client.HTTPConnection(netloc, timeout=self.timeout)
            pool[key] = conn
        return conn

    def _perform_urllib_http_request_internal(self, url: str, req: Request) -> dict[str, Any]:
        parts = urlsplit(url)
        if self.proxy is not None or parts.scheme not in ("http", "https"):
            return super()._perform_urllib_http_request_internal(url, req)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        headers = dict(req.header_items())
        for attempt in (0, 1):
            conn = self._connection(parts.scheme, parts.netloc, fresh=attempt > 0)
            reused = conn.sock is not None
            try:
                conn.request(req.get_method(), path, body=req.data, headers=headers)
                response = conn.getresponse()
                body = response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                conn.close()
                # The server closed a connection that sat idle: the request never
                # reached it, so sending it again on a new connection is safe.
                if attempt or not reused:
                    raise
            except Exception:
                conn.close()
                raise
        if response.will_close:
            conn.close()
        if response.status >= 400:
            raise HTTPError(
                url, response.status, response.reason, response.headers, io.BytesIO(body)
            )
        charset = response.headers.get_content_charset() or "utf-8"
        return {
            "status": response.status,
            "headers": response.headers,
            "body": body.decode(charset),
        }

    def post_json(self, api_method: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Call a Web API method with a JSON body on this thread's keep-alive connection,
        waiting out 429s for Retry-After and retrying 5xx and broken connections.

        The hot path (every DM, every reminder): slack_sdk's request machinery costs more
        than twice the HTTP exchange itself. Slack's answer is returned as parsed; an
        answer with `ok: false` is the caller's to handle.
        """
        parts = urlsplit(self.base_url + api_method)
        if self.proxy is not None or parts.scheme not in ("http", "https"):
            return dict(self.api_call(api_method, json=payload).data)  # type: ignore[arg-type]
        body = json.dumps(payload, separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json;charset=utf-8",
            "Authorization": f"Bearer {self.token or ''}",
            "User-Agent": self.headers.get("User-Agent", "cop-bot"),
        }
        rate_limited = server_errors = broken = 0
        while True:
            conn = self._connection(parts.scheme, parts.netloc, fresh=broken > 0)
            try:
                conn.request("POST", parts.path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
            except (OSError, http.client.HTTPException):
                conn.close()
                broken += 1
                if broken > CONNECTION_RETRIES:
                    raise
                continue
            if response.will_close:
                conn.close()
            if response.status == 429 and rate_limited < RATE_LIMIT_RETRIES:
                rate_limited += 1
                time.sleep(_retry_after(response.headers.get("Retry-After")))
                continue
            if response.status >= 500 and server_errors < SERVER_ERROR_RETRIES:
                time.sleep(0.5 * 2**server_errors)
                server_errors += 1
                continue
            try:
                answer: dict[str, Any] = json.loads(data)
            except ValueError:
                answer = {"ok": False, "error": str(response.status)}
            if response.status == 429:
                answer = {"ok": False, "error": "ratelimited"}
            return answer


CONNECTION_RETRIES = 2
RATE_LIMIT_RETRIES = 5
SERVER_ERROR_RETRIES = 3


def _retry_after(value: str | None) -> float:
    try:
        return max(0.0, float(value or 1))
    except ValueError:
        return 1.0


def make_web_client(token: str, base_url: str, *, timeout: int = 10) -> WebClient:
    """A WebClient that waits out 429s for Retry-After and retries 5xx and broken connections."""
    return KeepAliveWebClient(
        token=token,
        base_url=base_url,
        timeout=timeout,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=CONNECTION_RETRIES),
            RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
            ServerErrorRetryHandler(max_retry_count=SERVER_ERROR_RETRIES),
        ],
    )


class SlackNotifier:
    def __init__(self, client: WebClient) -> None:
        self.client = client

    def _error(self, exc: SlackApiError) -> DeliveryError:
        return DeliveryError(str(exc.response.get("error") or exc.response.status_code))

    def send_dm(self, user_id: str, message: Message) -> str:
        return self.post(user_id, message)

    def post(self, channel_id: str, message: Message) -> str:
        payload: dict[str, Any] = {"channel": channel_id, "text": message.text}
        if message.blocks:
            payload["blocks"] = message.blocks
        if message.metadata:
            payload["metadata"] = message.metadata
        payload["unfurl_links"] = False
        if isinstance(self.client, KeepAliveWebClient):
            answer = self.client.post_json("chat.postMessage", payload)
            if not answer.get("ok"):
                raise DeliveryError(str(answer.get("error") or "unknown_error"))
            return str(answer.get("ts", ""))
        try:
            response = self.client.chat_postMessage(**payload)
        except SlackApiError as exc:
            raise self._error(exc) from exc
        return str(response.get("ts", ""))

    def update(self, channel_id: str, ts: str, message: Message) -> None:
        try:
            self.client.chat_update(
                channel=channel_id, ts=ts, text=message.text, blocks=message.blocks or []
            )
        except SlackApiError as exc:
            raise self._error(exc) from exc

    def permalink(self, channel_id: str, ts: str) -> str | None:
        try:
            response = self.client.chat_getPermalink(channel=channel_id, message_ts=ts)
        except SlackApiError:
            return None  # a link is a nicety: the message itself is posted
        return str(response.get("permalink") or "") or None

    def invite(self, channel_id: str, user_id: str) -> bool:
        try:
            self.client.conversations_invite(channel=channel_id, users=user_id)
        except SlackApiError as exc:
            if exc.response.get("error") == "already_in_channel":
                return False
            raise self._error(exc) from exc
        return True

    def upload(self, user_id: str, filename: str, content: bytes, comment: str) -> None:
        try:
            opened = self.client.conversations_open(users=user_id)
            self.client.files_upload_v2(
                channel=opened["channel"]["id"],
                content=content,
                filename=filename,
                title=filename,
                initial_comment=comment,
            )
        except SlackApiError as exc:
            raise self._error(exc) from exc

    def find_posted(self, recipient: str, event_type: str, key: str, since: float) -> str | None:
        try:
            channel = recipient
            if recipient[:1] in ("U", "W"):
                opened = self.client.conversations_open(users=recipient)
                channel = opened["channel"]["id"]
            cursor: str | None = None
            while True:
                page = self.client.conversations_history(
                    channel=channel,
                    oldest=f"{since:.6f}",
                    include_all_metadata=True,
                    limit=200,
                    cursor=cursor,
                )
                messages: list[dict[str, Any]] = page.get("messages") or []
                for message in messages:
                    metadata = message.get("metadata") or {}
                    payload = metadata.get("event_payload") or {}
                    if metadata.get("event_type") == event_type and payload.get("key") == key:
                        return str(message.get("ts"))
                cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
                if not page.get("has_more") or not cursor:
                    return None
        except SlackApiError as exc:
            raise self._error(exc) from exc
