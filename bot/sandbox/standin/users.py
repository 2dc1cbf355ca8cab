"""auth.test and users.info: who the bot is, and how Slack describes a user."""

from __future__ import annotations

from typing import Any

from bot.sandbox.standin.protocol import err, is_user_id, ok, truthy
from bot.sandbox.standin.workspace import BOT_ID, BOT_NAME, TEAM_NAME, TEAM_URL, Workspace


class Users(Workspace):
    """auth.test and users.info."""

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return ok(
            url=TEAM_URL,
            team=TEAM_NAME,
            user=BOT_NAME,
            team_id=self.team_id,
            user_id=self.bot_user_id,
            bot_id=BOT_ID,
            is_enterprise_install=False,
        )

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user_id = args.get("user")
        if not is_user_id(user_id):
            return err("user_not_found")
        user = self._user(str(user_id))
        if truthy(args.get("include_locale")):
            known = self._users.get(str(user_id)) or self._default_user(str(user_id))
            user["locale"] = known.locale
        return ok(user=user)
