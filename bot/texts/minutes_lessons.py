"""Texts of: Minutes, the day-after nudge and lessons."""

MESSAGES: dict[str, dict[str, str]] = {
    "nl": {},
    "en": {},
}
