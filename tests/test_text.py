"""Text in once, out once: the cleaner, the Slack edge, the number parser and the escapers."""

from __future__ import annotations

import datetime as dt
import html
import re
import unicodedata
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from bot.sandbox.signed import slack_escape, slack_format
from bot.services.ical import CalendarEvent, calendar_bytes
from bot.text import MAX_NUMBER, clean, looks_like_number, markdown, parse_number
from handlers import text_in
from handlers.render import blocks

FORBIDDEN = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u200b-\u200d\u2060-\u2064\ufeff\u180e"
    "\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069]"
)
AMS = ZoneInfo("Europe/Amsterdam")


# -- clean ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "plain"),
    [
        ("R&D", "R&D"),
        ("een\r\ntwee\rdrie", "een\ntwee\ndrie"),
        ("a\tb", "a b"),
        ("bel\x07 en \x1b[31mrood\x7f\x85", "bel en [31mrood"),
        ("zero\u200bwidth\u200c\u200d\u2060\ufeff\u180e", "zerowidth"),
        ("\u202egnp.exe\u202c \u2066x\u2069 \u200e\u200f\u061c", "gnp.exe x "),
        ("e\u0301", "é"),  # NFC
        ("e\u200b\u0301", "é"),  # removed first, then composed
        ("NUL\x00weg", "NULweg"),
        ("regel\nblijft", "regel\nblijft"),
    ],
)
def test_clean_removes_what_no_reader_should_get(raw: str, plain: str) -> None:
    assert clean(raw) == plain


@given(st.text())
def test_clean_is_idempotent_and_leaves_nothing_forbidden(text: str) -> None:
    once = clean(text)
    assert clean(once) == once
    assert not FORBIDDEN.search(once)
    assert "\r" not in once
    assert unicodedata.is_normalized("NFC", once)


# -- the Slack edge ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "plain"),
    [
        ("R&amp;D &lt;b&gt;", "R&D <b>"),
        ("&amp;lt; getypt", "&lt; getypt"),
        ("kartrekker ethiek <@U0BOB|bob>", "kartrekker ethiek @U0BOB"),
        ("vraag <@W123>", "vraag @W123"),
        ("kanaal <#C0ETHIEK|ethiek> en <#C0LEEG>", "kanaal #ethiek en #C0LEEG"),
        ("<!channel> <!here> <!everyone> <!here|here>", "@channel @here @everyone @here"),
        ("team <!subteam^S1|@data-team>", "team @data-team"),
        ("om <!date^1392734382^{date} {time}|14 maart 14:00>", "om 14 maart 14:00"),
        ("zie <https://x.nl/a?b=1&amp;c=2|de lijst>", "zie de lijst (https://x.nl/a?b=1&c=2)"),
        ("<https://x.nl>", "https://x.nl"),
        ("<https://x.nl|https://x.nl>", "https://x.nl"),
        ("<http://example.com|example.com>", "example.com"),
        ("<mailto:a@b.nl|a@b.nl>", "a@b.nl"),
        ("<javascript:alert(1)|klik>", "klik (javascript:alert(1))"),
        ("a\u202eb\r\nc", "ab\nc"),
    ],
)
def test_slack_text_becomes_plain_and_inert(sent: str, plain: str) -> None:
    assert text_in.from_slack(sent) == plain


@given(st.text().filter(lambda s: "\x00" not in s))
def test_what_was_typed_comes_back_from_slacks_escaping_exactly(typed: str) -> None:
    assert text_in.from_slack(slack_escape(typed)) == clean(typed)


@given(st.text())
def test_slack_text_never_keeps_markup_or_forbidden_characters(sent: str) -> None:
    try:
        plain = text_in.from_slack(sent)
    except text_in.NulInText as refused:
        assert "\x00" in sent
        plain = refused.text
    assert not FORBIDDEN.search(plain)
    # Escaped for mrkdwn once, nothing can ping or link.
    shown = blocks.escape(plain)
    assert "<" not in shown and ">" not in shown


def test_a_nul_is_refused_with_the_rest_of_the_text() -> None:
    with pytest.raises(text_in.NulInText) as refused:
        text_in.from_slack("R&amp;D\x00 lab")
    assert refused.value.text == "R&D lab"
    with pytest.raises(text_in.NulInText):
        text_in.from_input("a\x00b")
    assert text_in.from_value("ethiek\x00") == "ethiek"


def test_modal_input_is_raw_so_nothing_is_unescaped() -> None:
    assert text_in.from_input("R&amp;D <@U1>") == "R&amp;D <@U1>"


def test_the_console_sends_a_typed_mention_as_slack_would() -> None:
    sent = slack_format("kartrekker ethiek @U0BOB & <b> @here")
    assert sent == "kartrekker ethiek <@U0BOB|u0bob> &amp; &lt;b&gt; <!here>"
    assert text_in.from_slack(sent) == "kartrekker ethiek @U0BOB & <b> @here"


# -- numbers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "number"),
    [
        ("12", 12),
        ("007", 7),
        ("0", 0),
        (str(MAX_NUMBER), MAX_NUMBER),
        (str(MAX_NUMBER + 1), None),
        ("99999999999999999999", None),
        ("²", None),
        ("³", None),
        ("٣", None),
        ("１２", None),  # fullwidth digits
        ("abc", None),
        ("", None),
        (" 1", None),
        ("-1", None),
        ("+1", None),
        ("1.0", None),
        ("1\n", None),
        (5, 5),
        (True, None),
        (2**40, None),
        (-3, None),
        (None, None),
        (1.0, None),
    ],
)
def test_one_parser_reads_numbers_as_ascii_digits_within_an_id(
    value: object, number: int | None
) -> None:
    assert parse_number(value) == number


@given(st.integers(min_value=0, max_value=MAX_NUMBER))
def test_every_id_reads_back(number: int) -> None:
    assert parse_number(str(number)) == number


@given(st.text())
def test_anything_else_is_no_number(text: str) -> None:
    number = parse_number(text)
    if number is not None:
        assert re.fullmatch("[0-9]+", text) and 0 <= number <= MAX_NUMBER


def test_a_word_meant_as_a_number_is_seen_as_one_even_when_invalid() -> None:
    assert all(looks_like_number(w) for w in ("2", "²", "³", "½", "٣", "99999999999999999999"))
    assert not any(looks_like_number(w) for w in ("", "abc", "2a", "ethiek"))
    assert text_in.trailing_page("ethiek ²") == ("ethiek", MAX_NUMBER)
    assert text_in.trailing_page("lokaal meten 2") == ("lokaal meten", 2)
    assert text_in.trailing_page("ethiek") == ("ethiek", 1)
    assert text_in.id_value("abc") == 0 and text_in.id_value("99999999999999999999") == 0


# -- mrkdwn -----------------------------------------------------------------------------


def test_mrkdwn_escapes_user_text_once() -> None:
    assert blocks.escape("R&D <!channel> <@U1>") == "R&amp;D &lt;!channel&gt; &lt;@U1&gt;"


# -- iCalendar --------------------------------------------------------------------------


def test_ical_text_is_plain_without_control_characters() -> None:
    start = dt.datetime(2027, 3, 30, 12, 0, tzinfo=dt.UTC)
    event = CalendarEvent(
        uid="m-1@cop-bot", sequence=0, starts_at=start, ends_at=None,
        summary="CoP R&D\x07: <b>start</b>\u202e", description="Agenda\x00 \u200bpunt\x1b",
        location="Stadhuis\x0b, zaal 2",
    )  # fmt: skip
    content = calendar_bytes([event], tz=AMS, name="CoP R&D\x01", stamp=start).decode()
    unfolded = content.replace("\r\n ", "")
    assert "SUMMARY:CoP R&D: <b>start</b>\r\n" in unfolded
    assert "DESCRIPTION:Agenda punt\r\n" in unfolded
    assert "LOCATION:Stadhuis\\, zaal 2\r\n" in unfolded
    assert "X-WR-CALNAME:CoP R&D\r\n" in unfolded
    assert "&amp;" not in content
    assert not FORBIDDEN.search(content.replace("\r\n", "").replace("\n", ""))


# -- Markdown ---------------------------------------------------------------------------

_RENDER = MarkdownIt("commonmark").enable(["table", "strikethrough"])
_ALLOWED_TAGS = {"p", "/p", "br", "br /"}


def _rendered(text: str) -> tuple[set[str], str]:
    """The tags and the visible text of `text` rendered as Markdown (GFM's tables and
    strikethrough on)."""
    rendered = _RENDER.render(text)
    tags = set(re.findall(r"<(/?[a-z0-9]+(?: /)?)[^>]*>", rendered))
    return tags, html.unescape(re.sub(r"<[^>]+>", "", rendered))


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert(1)</script>",
        "[klik](javascript:alert(1))",
        "![plaatje](https://evil.example/x.png)",
        "## kop",
        "- item",
        "* item",
        "+ item",
        "1. item",
        "3) item",
        "> citaat",
        "tekst\n===",
        "tekst\n---",
        "---",
        "*vet* _schuin_ `code` ~~weg~~",
        "| a | b |\n|---|---|\n| 1 | 2 |",
        "R&D &amp; &copy;",
        "regel\\",
        "    ingesprongen &lt; code",
        "<https://evil.example>",
        "[ref]: https://evil.example",
    ],
)
def test_the_markdown_escaper_renders_as_the_text_itself(text: str) -> None:
    tags, shown = _rendered(markdown(text))
    assert tags <= _ALLOWED_TAGS, (markdown(text), tags)
    assert " ".join(shown.split()) == " ".join(text.split())


def test_the_markdown_escaper_escapes_html_and_line_starts() -> None:
    assert markdown("R&D <b>") == "R&amp;D &lt;b&gt;"
    assert markdown("## kop\n- item\n1. een") == "\\## kop\n\\- item\n1\\. een"
    assert markdown("[klik](javascript:alert(1))") == "\\[klik\\]\\(javascript:alert(1))"


@given(st.text())
def test_any_text_in_markdown_renders_as_itself(text: str) -> None:
    plain = clean(text)
    tags, shown = _rendered(markdown(plain))
    assert tags <= _ALLOWED_TAGS, (markdown(plain), tags)
    # markdown-it shows U+0000 as U+FFFD; clean() has removed it already.
    assert " ".join(shown.split()) == " ".join(plain.split())
