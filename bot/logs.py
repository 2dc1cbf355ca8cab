"""Logging: plain text by default, JSON lines with LOG_FORMAT=json, and on every line of a
request the id of that request.

The request id is a context variable, set where a request comes in (bot/edge.py for
HTTP, DeadlineApp.dispatch for Socket Mode and the console) and carried into the work a
request hands to the bot's thread pools (bot/runtime.py). An error reference (bot/
runtime.py error_reference, written into a line as "(ref ABC12345)" or passed as
`extra={"error_ref": ...}`) becomes a field of its own in JSON.
"""

from __future__ import annotations

import contextvars
import logging
import os
import re
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from pythonjsonlogger.json import JsonFormatter

T = TypeVar("T")

PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
FORMATS = ("text", "json")

REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "cop_request_id", default=None
)
_REFERENCE = re.compile(r"\(ref ([0-9A-F]{8})\)")


def new_request_id() -> str:
    return uuid.uuid4().hex[:16]


def current_request_id() -> str | None:
    return REQUEST_ID.get()


@contextmanager
def request_scope(request_id: str | None = None) -> Iterator[str]:
    """Every log line within (and in the work handed on from it) carries this id; a scope
    inside another keeps the outer one's id."""
    outer = REQUEST_ID.get()
    if outer is not None and request_id is None:
        yield outer
        return
    token = REQUEST_ID.set(request_id or new_request_id())
    try:
        yield REQUEST_ID.get() or ""
    finally:
        REQUEST_ID.reset(token)


def carry(fn: Callable[..., T]) -> Callable[..., T]:
    """`fn` to run in another thread with the caller's request id (and nothing else of the
    caller's context: the request's deadline stays behind)."""
    request_id = REQUEST_ID.get()
    if request_id is None:
        return fn

    def with_request_id(*args: Any, **kwargs: Any) -> T:
        token = REQUEST_ID.set(request_id)
        try:
            return fn(*args, **kwargs)
        finally:
            REQUEST_ID.reset(token)

    return with_request_id


class ContextFilter(logging.Filter):
    """Puts `request_id` and `error_ref` on every record (None when there is none)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = REQUEST_ID.get()
        if getattr(record, "error_ref", None) is None:
            found = _REFERENCE.search(record.getMessage())
            record.error_ref = found.group(1) if found else None
        return True


class Json(JsonFormatter):
    """One JSON object per line: time, level, logger, message, and request_id, error_ref
    and the traceback (exc_info) when there are any."""

    def __init__(self) -> None:
        super().__init__(
            "%(levelname)s %(name)s %(message)s",
            rename_fields={"levelname": "level", "name": "logger"},
            timestamp="time",  # ISO 8601, in UTC
        )

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        super().add_fields(log_data, record, message_dict)
        for key in ("request_id", "error_ref", "color_message"):
            if log_data.get(key) is None:
                log_data.pop(key, None)


def chosen_format() -> str:
    """LOG_FORMAT: "json", or plain text (the default, and for anything else)."""
    value = os.environ.get("LOG_FORMAT", "").strip().lower()
    return value if value in FORMATS else "text"


def formatter(log_format: str) -> logging.Formatter:
    return Json() if log_format == "json" else logging.Formatter(PLAIN_FORMAT)


def configure(level: str = "INFO", log_format: str = "text") -> None:
    """The root logger's one handler, on stderr. An unknown format is plain text."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(log_format))
    handler.addFilter(ContextFilter())
    handler.cop_bot = True  # type: ignore[attr-defined]
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "cop_bot", False)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # APScheduler logs every run of the sweep at INFO: noise, every few seconds.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


def gunicorn_logger_class(log_format: str) -> Any:
    """gunicorn's own lines (booting a worker, shutting down) in the same format."""
    from gunicorn.glogging import Logger

    class CopLogger(Logger):
        def _set_handler(self, log: Any, output: Any, fmt: Any, stream: Any = None) -> None:
            super()._set_handler(log, output, fmt, stream)
            for handler in log.handlers:
                if getattr(handler, "_gunicorn", False):
                    handler.setFormatter(formatter(log_format))
                    handler.addFilter(ContextFilter())

    return CopLogger
