"""The conversations.* methods: open DMs and group DMs, history, invite, info, members."""

from __future__ import annotations

import base64
import binascii
import time
from typing import Any

from bot.sandbox.standin.protocol import err, is_user_id, ok, split_ids, truthy
from bot.sandbox.standin.workspace import Workspace

_MAX_MPIM_USERS = 8


class Conversations(Workspace):
    """conversations.open, .history, .invite, .info and .members."""

    def _conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if args.get("channel"):
            channel, error = self._resolve_channel(args["channel"], allow_user=False)
            if channel is None:
                return err(error or "channel_not_found")
            return ok(no_op=True, already_open=True, channel={"id": channel})
        users = split_ids(args.get("users"))
        if not users:
            return err("users_list_not_supplied")
        if not all(is_user_id(user) for user in users):
            return err("user_not_found")
        others = [user for user in users if user != self.bot_user_id] or users
        if len(others) > _MAX_MPIM_USERS:
            return err("too_many_users")
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
            self._conversation(channel_id) if truthy(args.get("return_im")) else {"id": channel_id}
        )
        if already_open:
            return ok(no_op=True, already_open=True, channel=payload)
        return ok(channel=payload)

    def _conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, error = self._resolve_channel(args.get("channel"), allow_user=False)
        if channel is None:
            return err(error or "channel_not_found")
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
        return ok(
            messages=messages[:limit],
            has_more=len(messages) > limit,
            pin_count=0,
            response_metadata={"next_cursor": ""},
        )

    def _conversations_invite(self, args: dict[str, Any]) -> dict[str, Any]:
        channel_id, error = self._writable_channel(args.get("channel"), allow_user=False)
        if error:
            return err(error)
        if channel_id.startswith("D"):
            return err("method_not_supported_for_channel_type")
        users = split_ids(args.get("users"))
        if not users:
            return err("no_user")
        channel = self._channel(channel_id)
        errors: list[dict[str, Any]] = []
        for user in users:
            if not is_user_id(user):
                code = "user_not_found"
            elif user == self.bot_user_id:
                code = "cant_invite_self"
            elif user in channel.members:
                code = "already_in_channel"
            else:
                continue
            errors.append({"user": user, "ok": False, "error": code})
        force = truthy(args.get("force"))
        if errors and not force:
            # Without force Slack invites nobody when any of the users fails.
            return err(errors[0]["error"], errors=errors)
        failed = {entry["user"] for entry in errors}
        channel.members.update(user for user in users if user not in failed)
        payload = ok(channel=self._conversation(channel_id))
        if errors:
            payload["errors"] = errors
        return payload

    def _conversations_info(self, args: dict[str, Any]) -> dict[str, Any]:
        channel_id, error = self._resolve_channel(args.get("channel"), allow_user=False)
        if channel_id is None:
            return err(error or "channel_not_found")
        include = truthy(args.get("include_num_members"))
        return ok(channel=self._conversation(channel_id, num_members=include))

    def _conversations_members(self, args: dict[str, Any]) -> dict[str, Any]:
        channel_id, error = self._resolve_channel(args.get("channel"), allow_user=False)
        if channel_id is None:
            return err(error or "channel_not_found")
        if channel_id.startswith("D") and channel_id not in self._channels:
            members = [channel_id[1:], self.bot_user_id]
        else:
            members = sorted(self._channel(channel_id).members)
        try:
            limit = int(args.get("limit") or 100)
            cursor = str(args.get("cursor") or "")
            start = int(base64.b64decode(cursor).decode().split(":", 1)[1]) if cursor else 0
        except (ValueError, IndexError, binascii.Error):
            return err("invalid_cursor")
        end = start + max(limit, 1)
        next_cursor = (
            base64.b64encode(f"offset:{end}".encode()).decode() if end < len(members) else ""
        )
        return ok(members=members[start:end], response_metadata={"next_cursor": next_cursor})

    # -- helpers (called with the lock held) ------------------------------------------------

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
            if is_user_id(channel_id[1:]):
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
