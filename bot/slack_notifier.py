"""The Notifier over slack_sdk's WebClient, with retries for rate limits and server errors.

Inside a request (bot/deadline.py) every call and every retry ends before the request's
deadline; outside one, calls wait out Retry-After and back off as long as they need.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web import SlackResponse

from bot import deadline, metrics
from bot.deadline import MIN_CALL_SECONDS, SlackTooSlow
from bot.notifier import DeliveryError, Message


class WithinDeadline(RetryHandler):
    """What slack_sdk's retry handlers do, but inside a request only a retry whose wait
    ends before the request's deadline: a longer Retry-After (or back-off) is not waited
    out, and the call fails at once (DeadlineWebClient turns that into SlackTooSlow).
    Outside a request the handler waits what the one it is mixed into would wait.

    Every wait goes through `sleep`, so that a test may see (and skip) what is waited."""

    sleep: Callable[[float], None] = staticmethod(time.sleep)

    def can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if not super().can_retry(state=state, request=request, response=response, error=error):
            return False
        running = deadline.current()
        if running is None:
            return True
        wait = self.wait(state, response)
        if wait + MIN_CALL_SECONDS > running.remaining():
            running.cuts += 1
            return False
        state.custom_values = {**(state.custom_values or {}), _WAIT: wait}
        return True

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        # Inside a request: exactly the wait that can_retry found to fit; outside one,
        # what slack_sdk's own handler waits (Retry-After plus jitter, or its back-off).
        wait = (state.custom_values or {}).pop(_WAIT, None)
        if wait is None:
            wait = self.wait(state, response)
        state.next_attempt_requested = True
        self.sleep(wait)
        state.increment_current_attempt()

    def wait(self, state: RetryState, response: HttpResponse | None) -> float:
        """How long the next attempt waits."""
        return float(self.interval_calculator.calculate_sleep_duration(state.current_attempt))


_WAIT = "cop_deadline_wait"


class DeadlineConnectionErrorRetryHandler(WithinDeadline, ConnectionErrorRetryHandler):
    pass


class DeadlineServerErrorRetryHandler(WithinDeadline, ServerErrorRetryHandler):
    pass


class DeadlineRateLimitErrorRetryHandler(WithinDeadline, RateLimitErrorRetryHandler):
    def can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is not None and response.status_code == 429:
            metrics.count_rate_limited(request.url)
        return super().can_retry(state=state, request=request, response=response, error=error)

    def wait(self, state: RetryState, response: HttpResponse | None) -> float:
        value: Any = None
        for name, values in (response.headers if response is not None else {}).items():
            if name.lower() == "retry-after":
                value = values[0] if isinstance(values, list) and values else values
        # slack_sdk sleeps Retry-After plus up to a second of jitter; so does this.
        return _retry_after(value) + random.random()


def _timed_out(error: BaseException) -> bool:
    if isinstance(error, URLError):
        return isinstance(error.reason, TimeoutError)
    return isinstance(error, TimeoutError)


class DeadlineWebClient(WebClient):
    """slack_sdk's WebClient, whose calls end before the deadline of the request being
    answered (bot/deadline.py): each HTTP attempt's timeout is at most the time left,
    no call starts without time left, and a call that the deadline cut short (no answer
    in time, a retry that would outlast the request) raises SlackTooSlow. Retries are
    bounded by the WithinDeadline retry handlers (see make_web_client). Outside a
    request it is the stock client."""

    @property  # type: ignore[override]
    def timeout(self) -> float:
        running = deadline.current()
        if running is None:
            return self.configured_timeout
        return max(MIN_CALL_SECONDS, min(self.configured_timeout, running.remaining()))

    @timeout.setter
    def timeout(self, value: float) -> None:
        self.configured_timeout = value

    def api_call(self, api_method: str, *args: Any, **kwargs: Any) -> SlackResponse:
        running = deadline.current()
        if running is None:
            return super().api_call(api_method, *args, **kwargs)
        if running.remaining() < MIN_CALL_SECONDS:
            raise SlackTooSlow(api_method, "no time left in the request")
        cuts = running.cuts
        try:
            return super().api_call(api_method, *args, **kwargs)
        except Exception as exc:
            if _timed_out(exc):
                raise SlackTooSlow(api_method, "no answer before the deadline") from exc
            if running.cuts > cuts:
                raise SlackTooSlow(api_method, "a retry would outlast the request") from exc
            raise

    def for_request(self, *, team_id: str | None = None) -> DeadlineWebClient:
        """A client like this one for a single request (as Bolt makes per request)."""
        client = DeadlineWebClient(
            token=self.token,
            base_url=self.base_url,
            timeout=self.configured_timeout,  # type: ignore[arg-type]
            ssl=self.ssl,
            proxy=self.proxy,
            headers=dict(self.headers),
            team_id=team_id,
            logger=self.logger,
            retry_handlers=list(self.retry_handlers),
        )
        return client


CONNECTION_RETRIES = 2
RATE_LIMIT_RETRIES = 5
SERVER_ERROR_RETRIES = 3


def _retry_after(value: str | None) -> float:
    try:
        return max(0.0, float(value or 1))
    except ValueError:
        return 1.0


def make_web_client(token: str, base_url: str, *, timeout: int = 10) -> DeadlineWebClient:
    """slack_sdk's WebClient, whose retry handlers wait out 429s for Retry-After and retry
    5xx and broken connections; inside a request, only as far as the request's deadline
    allows. Its stock transport (a connection per call) is used as it is: see
    BENCHMARKS.md, "The Slack client's transport", for what a keep-alive one would save."""
    return DeadlineWebClient(
        token=token,
        base_url=base_url,
        timeout=timeout,
        retry_handlers=[
            DeadlineConnectionErrorRetryHandler(max_retry_count=CONNECTION_RETRIES),
            DeadlineRateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
            DeadlineServerErrorRetryHandler(max_retry_count=SERVER_ERROR_RETRIES),
        ],
    )


def _posts_once(client: WebClient) -> WebClient:
    """`client` retrying only 429s, for the delivery road's keyed posts: Slack did not
    take a message it answered 429 to, but after a 5xx or a broken connection it may
    have, and a blind retry would post it twice. Such a post fails instead; the road
    tries its item again later, unsure, and looks the message up by its key first."""
    copy = (
        client.for_request()
        if isinstance(client, DeadlineWebClient)
        else WebClient(
            token=client.token, base_url=client.base_url, timeout=client.timeout,
            ssl=client.ssl, proxy=client.proxy, headers=dict(client.headers),
        )
    )  # fmt: skip
    copy.default_params = dict(client.default_params)  # the team, if any
    copy.retry_handlers = [
        h for h in client.retry_handlers if isinstance(h, RateLimitErrorRetryHandler)
    ]
    return copy


class SlackNotifier:
    def __init__(self, client: WebClient) -> None:
        self.client = client
        self._keyed = _posts_once(client)

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
        # A message with the road's key (bot/outbox.py) is posted once per attempt.
        client = self._keyed if message.metadata else self.client
        try:
            response = client.chat_postMessage(**payload)
        except SlackApiError as exc:
            raise self._error(exc) from exc
        return str(response.get("ts", ""))

    def publish_home(self, user_id: str, view: dict[str, Any]) -> None:
        try:
            self.client.views_publish(user_id=user_id, view=view)
        except SlackApiError as exc:
            raise self._error(exc) from exc

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
