"""Texts of: The meeting form (modal with date and time pickers)."""

MESSAGES: dict[str, dict[str, str]] = {
    "nl": {},
    "en": {},
}
