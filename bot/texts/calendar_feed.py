"""Texts of: Subscribable calendar feeds."""

MESSAGES: dict[str, dict[str, str]] = {
    "nl": {},
    "en": {},
}
