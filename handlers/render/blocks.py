"""Small, safe Block Kit builders: escaping, and Slack's length and count limits."""

from __future__ import annotations

import re
from typing import Any

from bot.i18n import Translator
from bot.services.privacy import FORMER_MEMBER

Block = dict[str, Any]

MAX_BLOCKS_MESSAGE = 50
MAX_SECTION_TEXT = 3000
MAX_HEADER_TEXT = 150
MAX_BUTTON_TEXT = 75
MAX_CONTEXT_ELEMENTS = 10
MAX_ACTION_VALUE = 2000
MAX_FALLBACK_TEXT = 4000

# Any U/W + capitals and digits is safe in <@…>; the console and tests use short ids like U2.
_USER_ID = re.compile(r"^[UW][A-Z0-9]+$")


def escape(text: str) -> str:
    """Escape user text for mrkdwn so it cannot form mentions, @channel or links."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mention(user_id: str) -> str:
    """A user mention, only for well-formed Slack user IDs; anything else is shown escaped."""
    return f"<@{user_id}>" if _USER_ID.match(user_id) else escape(user_id)


def author(t: Translator, user_id: str) -> str:
    """Who wrote something: a mention, or "een oud-lid" once they were forgotten."""
    return t("former_member") if user_id == FORMER_MEMBER else mention(user_id)


def clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    # Never leave half an entity (&am…) or half a mention (<@U12…) behind.
    amp, lt = cut.rfind("&"), cut.rfind("<")
    if amp > cut.rfind(";"):
        cut = cut[:amp]
    if lt > cut.rfind(">"):
        cut = cut[:lt]
    return cut + "…"


def plain(text: str) -> Block:
    """A plain_text object (a modal's title and labels, a button's text, an option), emoji
    shown."""
    return {"type": "plain_text", "text": text, "emoji": True}


def header(text: str) -> Block:
    """A header from raw text: plain_text, but Slack still reads &, < and > as entities."""
    return {
        "type": "header",
        "text": plain(clip(escape(text), MAX_HEADER_TEXT)),
    }


def section(text: str, accessory: Block | None = None) -> Block:
    block: Block = {
        "type": "section",
        "text": {"type": "mrkdwn", "text": clip(text, MAX_SECTION_TEXT)},
    }
    if accessory is not None:
        block["accessory"] = accessory
    return block


def _split(text: str, limit: int) -> list[str]:
    """Cut `text` into pieces of at most `limit` characters: at a line break, else at a
    space, else anywhere but inside an entity (&amp;) or a mention (<@U…>)."""
    pieces: list[str] = []
    while len(text) > limit:
        window = text[: limit + 1]
        cut = window.rfind("\n")
        cut = cut if cut > 0 else window.rfind(" ")
        if cut > 0:
            pieces.append(text[:cut])
            text = text[cut + 1 :]
            continue
        cut = limit
        amp, lt = window.rfind("&", 0, limit), window.rfind("<", 0, limit)
        if amp > window.rfind(";", 0, limit):
            cut = amp
        if lt > window.rfind(">", 0, limit):
            cut = min(cut, lt)
        cut = cut if cut > 0 else limit
        pieces.append(text[:cut])
        text = text[cut:]
    pieces.append(text)
    return pieces


def sections(text: str) -> list[Block]:
    """Long text as several sections, split on paragraphs (then lines), each within Slack's
    3000 limit and never cutting a mention or an escaped character in two."""
    blocks: list[Block] = []
    current = ""
    for paragraph in text.split("\n\n"):
        candidate = f"{current}\n\n{paragraph}" if current else paragraph
        if len(candidate) <= MAX_SECTION_TEXT:
            current = candidate
            continue
        if current:
            blocks.append(section(current))
        *full, current = _split(paragraph, MAX_SECTION_TEXT)
        blocks.extend(section(piece) for piece in full if piece.strip())
    if current.strip():
        blocks.append(section(current))
    return blocks


def context(*texts: str) -> Block:
    return {
        "type": "context",
        "elements": [
            {"type": "mrkdwn", "text": clip(t, MAX_SECTION_TEXT)}
            for t in texts[:MAX_CONTEXT_ELEMENTS]
        ],
    }


def divider() -> Block:
    return {"type": "divider"}


def button(text: str, action_id: str, value: str, style: str | None = None) -> Block:
    element: Block = {
        "type": "button",
        "text": plain(clip(text, MAX_BUTTON_TEXT)),
        "action_id": action_id,
        "value": value[:MAX_ACTION_VALUE],
    }
    if style:
        element["style"] = style
    return element


def actions(*elements: Block, block_id: str | None = None) -> Block:
    block: Block = {"type": "actions", "elements": list(elements)}
    if block_id:
        block["block_id"] = block_id
    return block


def fit(blocks: list[Block], overflow: Block | None = None) -> list[Block]:
    """Keep a message within Slack's 50 blocks, ending with `overflow` when cut."""
    if len(blocks) <= MAX_BLOCKS_MESSAGE:
        return blocks
    keep = MAX_BLOCKS_MESSAGE - (1 if overflow else 0)
    return blocks[:keep] + ([overflow] if overflow else [])


def confirm(title: str, text: str, yes: str, no: str) -> Block:
    """Block Kit's confirmation dialog, for a destructive button or menu: Slack asks
    before it sends the click."""
    return {
        "title": plain(clip(title, 100)),
        "text": {"type": "mrkdwn", "text": clip(text, 300)},
        "confirm": plain(clip(yes, 30)),
        "deny": plain(clip(no, 30)),
        "style": "danger",
    }
