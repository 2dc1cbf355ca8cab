"""The views.* methods: modals opened, pushed and updated, and Home tabs published."""

from __future__ import annotations

import time
from typing import Any

from bot.sandbox.standin.protocol import err, is_user_id, missing, ok
from bot.sandbox.standin.workspace import APP_ID, BOT_ID, Workspace


class Views(Workspace):
    """views.open, views.push, views.update and views.publish."""

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("trigger_id"):
            return missing("trigger_id")
        view = self._view_arg(args)
        if view is None:
            return missing("view")
        return ok(view=self._view(view))

    # The stand-in keeps no stack of views: a pushed view is checked and stored as an
    # opened one is.
    _views_push = _views_open

    def _views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        view = self._view_arg(args)
        if view is None:
            return missing("view")
        view_id = args.get("view_id")
        external_id = args.get("external_id")
        if not view_id and not external_id:
            return missing("view_id")
        if not view_id:
            found = [v for v in self._views.values() if v["external_id"] == external_id]
            view_id = found[0]["id"] if found else None
        current = self._views.get(str(view_id)) if view_id else None
        if current is not None and args.get("hash") and args["hash"] != current["hash"]:
            return err("hash_conflict")
        # Unknown view ids are accepted, as tests often update views they never opened here.
        root = current["root_view_id"] if current is not None else None
        previous = current["previous_view_id"] if current is not None else None
        merged = dict(view)
        if external_id and "external_id" not in merged:
            merged["external_id"] = external_id
        return ok(
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
            return missing("user_id")
        if not is_user_id(user_id):
            return err("user_not_found")
        view = self._view_arg(args)
        if view is None or view.get("type") != "home":
            return missing("view")
        # Slack keeps one Home tab view per user, so its id stays stable across publishes.
        home_id = self._home_views.get(str(user_id))
        published = self._view(view, view_id=home_id)
        self._home_views[str(user_id)] = published["id"]
        return ok(view=published)

    # -- helpers (called with the lock held) ------------------------------------------------

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
