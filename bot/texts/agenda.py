"""Texts of: Agenda topics and agendas."""

MESSAGES: dict[str, dict[str, str]] = {
    "nl": {},
    "en": {},
}
