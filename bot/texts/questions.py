"""Texts of: Open questions."""

MESSAGES: dict[str, dict[str, str]] = {
    "nl": {},
    "en": {},
}
