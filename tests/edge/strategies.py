"""Hypothesis strategies over the same tables as the fuzzer (bench/fuzzkit.py)."""

from __future__ import annotations

import re
from typing import Any

from hypothesis import strategies as st

from bench import fuzzkit as kit

COMMUNITY_WORDS = [word for pair in kit.communities() for word in pair]
SLUGS = [slug for slug, _ in kit.communities()]
LISTENERS = kit.listeners()

users = st.sampled_from(kit.USERS)
# Any code point but surrogates (they cannot travel as UTF-8): controls, NUL, bidi, astral.
unicode_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=16)
fragment = st.one_of(
    st.sampled_from(kit.FRAGMENTS),
    st.sampled_from(COMMUNITY_WORDS),
    st.sampled_from(kit.WHEN),
    st.sampled_from(kit.MENTIONS),
    unicode_text,
    st.integers(-(10**40), 10**40).map(str),
)
free_text = st.lists(fragment, max_size=6).map(" ".join)
command_text = st.tuples(
    st.sampled_from(["", "", " ", "\u00a0", "\t"]),
    st.one_of(st.sampled_from(kit.command_words()), unicode_text),
    st.sampled_from(["", *kit.second_words()]),
    st.sampled_from(["", *COMMUNITY_WORDS]),
    free_text,
).map(lambda parts: parts[0] + " ".join(p for p in parts[1:] if p))


def _action_id(constraint: str | re.Pattern[str]) -> st.SearchStrategy[str]:
    if isinstance(constraint, str):
        return st.just(constraint)
    return st.from_regex(constraint, fullmatch=True)


# (label, action_id) for every action the app registers.
actions = st.sampled_from(LISTENERS["action"]).flatmap(
    lambda c: st.tuples(st.just(getattr(c, "pattern", c).strip("^$")), _action_id(c))
)
ids = st.integers(0, 40).map(str)
button_value = st.one_of(
    ids,
    st.sampled_from(SLUGS),
    st.sampled_from(kit.NUMBERS),
    st.tuples(st.sampled_from(SLUGS) | fragment, ids | st.sampled_from(kit.USERS) | fragment).map(
        "|".join
    ),
    free_text,
)
dates = st.sampled_from(kit.DATES) | unicode_text
times = st.sampled_from(kit.TIMES) | unicode_text


@st.composite
def view_state(draw: Any, view: dict[str, Any]) -> dict[str, Any]:
    """view.state for the real modal `view`: every input with a generated answer, a forged
    option or a missing field now and then."""
    values: dict[str, dict[str, Any]] = {}
    for block in view.get("blocks", []):
        element = block.get("element") if block.get("type") == "input" else None
        if not element or draw(st.integers(0, 24)) == 0:
            continue
        kind, action_id = element.get("type"), element.get("action_id", "")
        entry: dict[str, Any] = {"type": kind}
        if kind == "plain_text_input":
            entry["value"] = draw(st.none() | free_text | st.text(max_size=4000))
        elif kind == "datepicker":
            entry["selected_date"] = draw(dates)
        elif kind == "timepicker":
            entry["selected_time"] = draw(times)
        elif kind == "static_select":
            forged = st.builds(
                lambda text, value: {"text": {"type": "plain_text", "text": text}, "value": value},
                free_text, button_value,
            )  # fmt: skip
            real = st.sampled_from(element.get("options") or [None])
            entry["selected_option"] = draw(st.none() | real | forged)
        values[block["block_id"]] = {action_id: entry}
    return {"values": values}


metadata = st.one_of(
    st.sampled_from(["", "null", "[]", "{", "42", '{"slug": "ethiek", "meeting": 1e400}']),
    st.fixed_dictionaries({"slug": fragment, "meeting": st.none() | st.integers() | fragment}).map(
        kit.json.dumps
    ),
    st.fixed_dictionaries({"channel": fragment, "ts": fragment}).map(kit.json.dumps),
    free_text,
)
