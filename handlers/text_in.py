"""User text as it arrives from Slack, made plain once, where the payload is read.

Slack escapes `&`, `<` and `>` in slash-command text and in message text, and writes
mentions, channels and links as markup (`<@U123|name>`, `<#C123|name>`, `<!here>`,
`<https://x|label>`). Modal inputs and our own button values come raw. Every kind ends
as plain, cleaned text (bot.text.clean); the outputs escape it again, once each.
"""

from __future__ import annotations

import re

from bot.text import MAX_NUMBER, clean, has_nul, looks_like_number, parse_number

_MARKUP = re.compile(r"<([^<>]*)>")
_BROADCASTS = ("channel", "here", "everyone")


class NulInText(ValueError):
    """The text holds a NUL, which nothing can store: `text` is the rest of it, cleaned,
    to hand back so that nothing typed is lost."""

    def __init__(self, text: str) -> None:
        super().__init__("NUL in text")
        self.text = text


def _link(url: str, label: str) -> str:
    if not label or label == url:
        return url
    # Slack links what was typed ("example.com", "a@b.nl"): the label is what they typed.
    if url in (f"http://{label}", f"https://{label}", f"mailto:{label}"):
        return label
    return f"{label} ({url})"


def _inert(match: re.Match[str]) -> str:
    """One piece of Slack markup as the plain text a reader sees, still escaped."""
    target, _, label = match.group(1).partition("|")
    if target.startswith("@"):
        return target  # the id, not the name: `/cop kartrekker ethiek @U123` needs it
    if target.startswith("#"):
        return f"#{label}" if label else target
    if target.startswith("!"):
        word, _, detail = target[1:].partition("^")
        if word in _BROADCASTS:
            return f"@{word}"
        if word == "subteam":
            return label if label.startswith("@") else f"@{label or detail}"
        if label:  # <!date^…|fallback> and anything newer
            return label
        return word
    return _link(target, label)


def _unescape(text: str) -> str:
    # `&amp;` last, so that `&amp;lt;` (a typed "&lt;") stays "&lt;".
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _checked(text: str) -> str:
    if has_nul(text):
        raise NulInText(clean(text))
    return clean(text)


def from_slack(text: str) -> str:
    """Slash-command or message text (escaped by Slack, with markup) as plain text.
    Raises NulInText."""
    return _checked(_unescape(_MARKUP.sub(_inert, text)))


def from_input(text: str) -> str:
    """A modal's text input (raw, as typed) as plain text. Raises NulInText."""
    return _checked(text)


def from_value(value: object) -> str:
    """A button, option or metadata value (ours, raw) as plain text; a NUL, which only a
    forged value can hold, is dropped."""
    return clean(str(value or ""))


def page_number(word: str) -> int:
    """A page number from a command or a button: none is page 1; one that is no valid
    number (², 99999999999, abc) is past the last page, which shows the last page just
    as any page past the end does."""
    if not word:
        return 1
    number = parse_number(word)
    return MAX_NUMBER if number is None else number


def trailing_page(rest: str) -> tuple[str, int]:
    """`ethiek 2` -> ("ethiek", 2); `ethiek` -> ("ethiek", 1); `ethiek ²` -> a page past
    the last (see page_number): a last word meant as a number is never the name's."""
    query, _, last = rest.strip().rpartition(" ")
    if query.strip() and looks_like_number(last):
        return query.strip(), page_number(last)
    return rest.strip(), 1


def id_value(value: object) -> int:
    """An id carried by a button, option or metadata; 0, which no row has, for anything
    that is not one, so that it gets the answer of an id that no longer exists."""
    number = parse_number(value if isinstance(value, int) else from_value(value))
    return 0 if number is None else number
