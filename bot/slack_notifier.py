"""The Notifier over slack_sdk's WebClient, with retries for rate limits and server errors."""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot.notifier import DeliveryError, Message


def make_web_client(token: str, base_url: str, *, timeout: int = 10) -> WebClient:
    """A WebClient that waits out 429s for Retry-After and retries 5xx and broken connections."""
    return WebClient(
        token=token,
        base_url=base_url,
        timeout=timeout,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=2),
            RateLimitErrorRetryHandler(max_retry_count=5),
            ServerErrorRetryHandler(max_retry_count=3),
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
        try:
            response = self.client.chat_postMessage(
                channel=channel_id,
                text=message.text,
                blocks=message.blocks or None,
                unfurl_links=False,
            )
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

    def invite(self, channel_id: str, user_id: str) -> bool:
        try:
            self.client.conversations_invite(channel=channel_id, users=user_id)
        except SlackApiError as exc:
            if exc.response.get("error") == "already_in_channel":
                return False
            raise self._error(exc) from exc
        return True
