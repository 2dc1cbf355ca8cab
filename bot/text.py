"""Plain text in and out: cleaning user and catalogue text, numbers, and the Markdown escaper.

Stored text is plain: no Slack markup, no HTML entities, no control characters. Text is
cleaned once where it comes in (handlers/text_in.py for Slack, the catalogue loader) and
escaped once per output format (handlers/blocks.escape for mrkdwn, services/ical.py for
iCalendar, `markdown` here for the lessons export).
"""

from __future__ import annotations

import re
import unicodedata

# Invisible characters that only hide or reorder text: zero-width ones and bidi controls.
_ZERO_WIDTH = "\u200b\u200c\u200d\u2060\u2061\u2062\u2063\u2064\ufeff\u180e"
_BIDI = "\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
# C0 controls except newline (tab becomes a space first), DEL and the C1 controls.
_CONTROL = "".join(chr(c) for c in (*range(0x00, 0x20), *range(0x7F, 0xA0)) if c != 0x0A)
_REMOVE = re.compile(f"[{re.escape(_CONTROL + _ZERO_WIDTH + _BIDI)}]")

# Ids are PostgreSQL `integer` columns (storage/models.py): 32 bits, signed.
MAX_NUMBER = 2**31 - 1
_ASCII_DIGITS = re.compile(r"[0-9]+")


def has_nul(text: str) -> bool:
    """Whether `text` holds a NUL: refused at the edge, for no database stores it."""
    return "\x00" in text


def clean(text: str) -> str:
    """`text` without what no reader should get: line breaks as `\\n`, tabs as spaces,
    control characters (NUL too), zero-width and bidi control characters removed, then
    Unicode NFC. Idempotent: clean(clean(x)) == clean(x)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    # Removal before NFC: a removed character between a letter and its accent would
    # otherwise leave a decomposed pair behind.
    return unicodedata.normalize("NFC", _REMOVE.sub("", text))


def looks_like_number(word: str) -> bool:
    """A word meant as a number, valid or not: ASCII digits, but also ², ³, ½ or ٣."""
    return bool(word) and (word.isnumeric() or bool(_ASCII_DIGITS.fullmatch(word)))


def parse_number(value: object, *, high: int = MAX_NUMBER) -> int | None:
    """The number in `value` (a str of ASCII digits, or an int from JSON) when it lies in
    0..`high`; None for anything else: superscripts, other scripts' digits, signs,
    spaces, booleans, numbers beyond what an id column holds."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and _ASCII_DIGITS.fullmatch(value):
        if len(value.lstrip("0")) > len(str(high)):
            return None  # not worth converting
        number = int(value)
    else:
        return None
    return number if 0 <= number <= high else None


# -- the Markdown export ---------------------------------------------------------------

# Always escaped: they act anywhere in a line (emphasis, code, links, tables, strikethrough).
_MD_INLINE = re.compile(r"([\\`*_\[\]|~])")
# Acting only at the start of a line: headings, block quotes (already &gt;), list items,
# thematic breaks and setext underlines.
_MD_LINE_START = re.compile(r"^([#+\-=])")
_MD_ORDERED = re.compile(r"^([0-9]{1,9})([.)])")


def markdown(text: str) -> str:
    """Plain text as Markdown (CommonMark/GFM) that renders as the same text: no HTML, no
    emphasis, no links or images, no headings, lists or quotes. Line breaks stay."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    lines = []
    for line in text.split("\n"):
        # Indented four spaces, a line would be code, where escapes show as typed; a
        # rendered paragraph drops leading spaces anyway.
        line = _MD_INLINE.sub(r"\\\1", line.lstrip(" \t"))
        # An image is `![`; `[` is escaped already, `!` only needs it before one.
        line = line.replace("!\\[", "\\!\\[")
        # `(` and `)` only act as a link target after `]`, which is escaped; escape them
        # anyway next to it, so that no `](` ever reads as one.
        line = line.replace("\\](", "\\]\\(")
        line = _MD_LINE_START.sub(r"\\\1", line)
        line = _MD_ORDERED.sub(r"\1\\\2", line)
        lines.append(line)
    return "\n".join(lines)
