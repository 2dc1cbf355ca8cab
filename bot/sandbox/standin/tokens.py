"""Tokens and what they may do: scopes (by default the ones manifest.yaml grants), checked
per method and conversation type as Slack does (bot.slack_scopes), and revoked tokens."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bot import slack_scopes
from bot.sandbox.standin.protocol import err, split_ids
from bot.sandbox.standin.workspace import Workspace

_TOKEN_PREFIXES = ("xoxb-", "xapp-")


class Tokens(Workspace):
    """Which tokens may call what: grant, revoke, scopes_for, and the check of each call."""

    _initial_scopes: frozenset[str]

    def _reset_tokens(self) -> None:
        self._default_scopes = self._initial_scopes
        self._token_scopes: dict[str, frozenset[str]] = {}
        self._revoked: dict[str, str] = {}

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

    def _refusal(
        self, method: str, args: dict[str, Any], token: str | None, headers: dict[str, str]
    ) -> dict[str, Any] | None:
        """Slack's error when `token` may not call `method` (None when it may); the scope
        headers Slack gives every caller go into `headers`."""
        if token is None:
            return err("not_authed")
        if not token.startswith(_TOKEN_PREFIXES):
            return err("invalid_auth")
        if token in self._revoked:
            return err(self._revoked[token])
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
                return err("missing_scope", needed=needed, provided=provided)
        return None

    def _conversation_type(self, method: str, args: dict[str, Any]) -> str | None:
        """The type of conversation a call acts on, which decides the scope it needs; None
        when the arguments name none (the method then answers its own error)."""
        if method == "conversations.open" and not args.get("channel"):
            others = [u for u in split_ids(args.get("users")) if u != self.bot_user_id]
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
