"""response_url capture: what the app POSTs to a request's response_url is recorded as a
Call(method="response_url")."""

from __future__ import annotations

import itertools
import json
from typing import Any
from urllib.parse import parse_qsl, quote

from bot.sandbox.standin.protocol import Answer, text_answer
from bot.sandbox.standin.recording import Recording
from bot.sandbox.standin.workspace import Workspace


class ResponseUrls(Recording, Workspace):
    """response_url() gives a URL; what is POSTed there is recorded."""

    def _reset_response_urls(self) -> None:
        self._response_keys = itertools.count(1)

    def response_url(self, key: str | None = None) -> str:
        """A response_url whose POSTs are recorded as Call(method="response_url")."""
        if key is None:
            with self._lock:
                key = f"R{next(self._response_keys):06d}"
        return f"{self._base_url}/response/{quote(key, safe='')}"

    def _serve_response_url(self, key: str, body: bytes, at: float) -> Answer:
        text = body.decode("utf-8", "replace")
        args: dict[str, Any]
        try:
            parsed = json.loads(text)
            args = parsed if isinstance(parsed, dict) else {"_raw": text}
        except json.JSONDecodeError:
            form = dict(parse_qsl(text, keep_blank_values=True))
            try:
                parsed = json.loads(form.get("payload", ""))
                args = parsed if isinstance(parsed, dict) else {"_raw": text}
            except json.JSONDecodeError:
                args = {"_raw": text}
        args["_key"] = key
        return self._record("response_url", args, None, at, lambda: text_answer("ok"))
