"""The chat.* methods: post (in channels and DMs, or ephemeral), update, delete, permalink."""

from __future__ import annotations

from typing import Any

from bot.sandbox.standin.protocol import err, is_user_id, ok, text_of
from bot.sandbox.standin.workspace import APP_ID, BOT_ID, Workspace, permalink


class Chat(Workspace):
    """chat.postMessage, chat.postEphemeral, chat.update, chat.delete, chat.getPermalink."""

    def _chat_post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, error = self._writable_channel(args.get("channel"), allow_user=True)
        error = error or self._content_error(args)
        if error:
            return err(error)
        ts = self._next_ts()
        message = self._message(args, ts)
        assert channel is not None
        self._history.setdefault(channel, []).append(message)
        return ok(channel=channel, ts=ts, message=message)

    def _chat_post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        _, error = self._writable_channel(args.get("channel"), allow_user=True)
        if error:
            return err(error)
        if not is_user_id(args.get("user")):
            return err("user_not_found")
        error = self._content_error(args)
        if error:
            return err(error)
        return ok(message_ts=self._next_ts())

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, error = self._writable_channel(args.get("channel"), allow_user=False)
        if error:
            return err(error)
        ts = args.get("ts")
        if not ts:
            return err("message_not_found")
        error = self._content_error(args)
        if error:
            return err(error)
        ts = str(ts)
        text = text_of(args.get("text"))
        return ok(channel=channel, ts=ts, text=text, message=self._message(args, ts))

    def _chat_delete(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, error = self._writable_channel(args.get("channel"), allow_user=False)
        if error:
            return err(error)
        if not args.get("ts"):
            return err("message_not_found")
        return ok(channel=channel, ts=str(args["ts"]))

    def _chat_get_permalink(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, error = self._resolve_channel(args.get("channel"), allow_user=False)
        if channel is None:
            return err(error or "channel_not_found")
        ts = args.get("message_ts")
        if not ts:
            return err("message_not_found")
        return ok(channel=channel, permalink=permalink(channel, str(ts)))

    # -- helpers (called with the lock held) ------------------------------------------------

    def _message(self, args: dict[str, Any], ts: str) -> dict[str, Any]:
        message: dict[str, Any] = {
            "type": "message",
            "subtype": "bot_message",
            "text": text_of(args.get("text")),
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
        if not text_of(args.get("text")) and not args.get("blocks") and not args.get("attachments"):
            return "no_text"
        return None
