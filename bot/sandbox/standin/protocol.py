"""Slack's HTTP protocol as the stand-in speaks it: the answers it gives (JSON in Slack's
ok/error shape, or plain text) and the request bodies it reads, parsed as Slack parses them."""

from __future__ import annotations

import contextlib
import email.parser
import email.policy
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

JSON_CONTENT_TYPE = "application/json; charset=utf-8"
TEXT_CONTENT_TYPE = "text/plain; charset=utf-8"
# slack_sdk and other clients send these as JSON strings inside form posts; Slack decodes them.
JSON_FIELDS = frozenset(
    {"blocks", "attachments", "view", "files", "metadata", "user_auth_blocks", "unfurls"}
)


@dataclass
class Answer:
    status: int
    body: bytes
    content_type: str
    # What Call.response records; for text answers {"ok": <status < 400>, "body": <text>}.
    response: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


def json_answer(
    payload: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
) -> Answer:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Answer(status, body, JSON_CONTENT_TYPE, payload, dict(headers or {}))


def text_answer(text: str, status: int = 200, headers: dict[str, str] | None = None) -> Answer:
    response = {"ok": status < 400, "body": text}
    return Answer(status, text.encode("utf-8"), TEXT_CONTENT_TYPE, response, dict(headers or {}))


def rate_limited(retry_after: int, error: str = "ratelimited") -> Answer:
    return json_answer({"ok": False, "error": error}, 429, {"Retry-After": str(retry_after)})


def ok(**fields: Any) -> dict[str, Any]:
    return {"ok": True, **fields}


def err(error: str, **fields: Any) -> dict[str, Any]:
    return {"ok": False, "error": error, **fields}


def missing(name: str) -> dict[str, Any]:
    messages = [f"[ERROR] missing required field: {name}"]
    return err("invalid_arguments", response_metadata={"messages": messages})


def parse_multipart(content_type: str, body: bytes) -> dict[str, Any]:
    head = f"Content-Type: {content_type}\r\n\r\n".encode("latin-1")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    fields: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        raw = part.get_payload(decode=True)
        payload = raw if isinstance(raw, bytes) else b""
        filename = part.get_filename()
        if filename is None:
            fields[name] = payload.decode("utf-8", "replace")
        else:
            fields[name] = {
                "filename": filename,
                "size": len(payload),
                "content": payload.decode("utf-8", "replace"),
            }
    return fields


def parse_body(content_type: str, body: bytes) -> dict[str, Any]:
    """Parse a request body into args; raise ValueError when it is not valid for its type."""
    if not body:
        return {}
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind == "application/json":
        parsed = json.loads(body.decode("utf-8"))
        if not isinstance(parsed, dict):
            raise ValueError("JSON body must be an object")
        return parsed
    if kind == "multipart/form-data":
        return parse_multipart(content_type, body)
    # Slack treats a body without a usable content type as a form post, and so do we.
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


def decode_json_fields(args: dict[str, Any]) -> None:
    for name in JSON_FIELDS:
        value = args.get(name)
        if isinstance(value, str) and value.strip()[:1] in ("[", "{"):
            # Undecodable values stay strings so the method handler refuses them as Slack does.
            with contextlib.suppress(json.JSONDecodeError):
                args[name] = json.loads(value)


def bearer_token(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def truthy(value: Any) -> bool:
    return value is True or str(value).strip().lower() in {"1", "true", "yes"}


def is_user_id(value: Any) -> bool:
    return isinstance(value, str) and len(value) > 1 and value[0] in "UW"


def split_ids(value: Any) -> list[str]:
    items = value if isinstance(value, list) else str(value or "").split(",")
    seen: dict[str, None] = {}
    for item in items:
        text = str(item).strip()
        if text:
            seen[text] = None
    return list(seen)


def text_of(value: Any) -> str:
    return value if isinstance(value, str) else ""
