"""Texts of: Subscribable calendar feeds."""

MESSAGES: dict[str, dict[str, str]] = {
    "nl": {
        "calendar_feed_name": "CoP-bijeenkomsten",
        "calendar_feed_subscribe": ":link: *Abonneren op je persoonlijke agenda-feed*: je agenda "
        "haalt dan zelf de bijeenkomsten van al je communities op, en volgt verplaatste en "
        "afgelaste bijeenkomsten.\n"
        "Outlook of Apple: `{webcal}`\n"
        "Google Agenda (*Andere agenda's → Via URL*) of een andere app: `{url}`",
        "calendar_feed_private": ":lock: Deze link is persoonlijk: wie hem heeft, ziet je "
        "bijeenkomsten. Deel hem niet. Uitgelekt? `/cop kalender nieuw` maakt een nieuwe en "
        "zet de oude uit.",
        "calendar_feed_reset": ":arrows_counterclockwise: Je hebt een nieuwe agenda-link. "
        "De oude werkt niet meer: abonneer je agenda opnieuw met deze.",
        "calendar_feed_reset_offline": ":arrows_counterclockwise: Je agenda-link is vervangen; "
        "de oude werkt niet meer. Deze bot deelt nu geen links uit (er is geen "
        "`COP_PUBLIC_URL` ingesteld), maar `/cop kalender` stuurt je wel het agendabestand.",
        "calendar_feed_welcome_comment": "De bijeenkomsten van {name} voor je agenda: open het "
        "bestand om ze toe te voegen (Outlook, Google, Apple).",
    },
    "en": {
        "calendar_feed_name": "CoP meetings",
        "calendar_feed_subscribe": ":link: *Subscribe to your personal calendar feed*: your "
        "calendar then fetches the meetings of all your communities by itself, and follows "
        "moved and cancelled meetings.\n"
        "Outlook or Apple: `{webcal}`\n"
        "Google Calendar (*Other calendars → From URL*) or another app: `{url}`",
        "calendar_feed_private": ":lock: This link is personal: whoever has it sees your "
        "meetings. Do not share it. Leaked? `/cop calendar new` makes a new one and turns the "
        "old one off.",
        "calendar_feed_reset": ":arrows_counterclockwise: You have a new calendar link. "
        "The old one no longer works: subscribe your calendar again with this one.",
        "calendar_feed_reset_offline": ":arrows_counterclockwise: Your calendar link was "
        "replaced; the old one no longer works. This bot hands out no links at the moment "
        "(no `COP_PUBLIC_URL` is set), but `/cop calendar` still sends you the calendar file.",
        "calendar_feed_welcome_comment": "The meetings of {name} for your calendar: open the "
        "file to add them (Outlook, Google, Apple).",
    },
}
