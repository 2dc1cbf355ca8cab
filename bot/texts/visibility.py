"""Texts of: the visibility rule (what only members, facilitators and admins see)."""

MESSAGES: dict[str, dict[str, str]] = {
    "nl": {
        "members_only": ":lock: Dit deel van *{name}* is alleen voor leden en kartrekkers. "
        "Word lid met `/cop aanmelden {slug}`; wat iedereen mag zien staat in `/cop info {slug}`.",
        "members_only_members": ":lock: De ledenlijst van *{name}* is alleen voor leden en "
        "kartrekkers: namen van leden zijn persoonsgegevens. Word lid met "
        "`/cop aanmelden {slug}`; hoeveel plaatsen er vrij zijn staat in `/cop info {slug}`.",
        "members_only_minutes": ":lock: De verslagen van *{name}* zijn alleen voor leden en "
        "kartrekkers. Word lid met `/cop aanmelden {slug}`.",
        "members_only_rsvps": ":lock: Alleen leden van *{name}* geven aan of ze komen. "
        "Word lid met `/cop aanmelden {slug}`.",
        "members_only_meetings": ":lock: Wie er komt en de agenda van *{name}* zien alleen leden "
        "en kartrekkers. Word lid met `/cop aanmelden {slug}`.",
    },
    "en": {
        "members_only": ":lock: This part of *{name}* is for members and facilitators only. "
        "Join with `/cop join {slug}`; what everyone may see is in `/cop info {slug}`.",
        "members_only_members": ":lock: The member list of *{name}* is for members and "
        "facilitators only: members' names are personal data. Join with `/cop join {slug}`; "
        "how many seats are free is in `/cop info {slug}`.",
        "members_only_minutes": ":lock: The minutes of *{name}* are for members and "
        "facilitators only. Join with `/cop join {slug}`.",
        "members_only_rsvps": ":lock: Only members of *{name}* say whether they come. "
        "Join with `/cop join {slug}`.",
        "members_only_meetings": ":lock: Who comes and the agenda of *{name}* are for members "
        "and facilitators only. Join with `/cop join {slug}`.",
    },
}
