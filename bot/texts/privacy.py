"""Texts of: personal data (my data, forget me), the audit log."""

from bot.texts import Entry

MESSAGES: dict[str, dict[str, Entry]] = {
    "nl": {
        "former_member": "een oud-lid",
        "privacy_help": "`/cop mijn gegevens` alles wat ik over jou bewaar, als bestand in je DM\n"
        "`/cop vergeet mij` laat alles over jou wissen",
        "privacy_export_coming": ":package: Ik stuur je zo in een DM een bestand met alles wat "
        "ik over jou bewaar, met een overzicht.",
        "privacy_export_title": "Jouw gegevens bij de CoP bot",
        "privacy_export_comment": "Alles wat de CoP bot over jou bewaart, per tabel (JSON).",
        "privacy_export_memberships": "*Communities:* {items}",
        "privacy_export_no_memberships": "*Communities:* geen",
        "privacy_status_member": "{name} (lid)",
        "privacy_status_waitlist": "{name} (wachtlijst)",
        "privacy_status_pending": "{name} (aanvraag)",
        "privacy_export_facilitator": "*Kartrekker van:* {names}",
        "privacy_export_counts": "*Verder:* {items}.",
        "privacy_count_rsvps": {
            "one": "{count} aanmelding voor een bijeenkomst",
            "other": "{count} aanmeldingen voor bijeenkomsten",
        },
        "privacy_count_votes": {"one": "{count} stem", "other": "{count} stemmen"},
        "privacy_count_questions": {"one": "{count} vraag", "other": "{count} vragen"},
        "privacy_count_topics": {"one": "{count} onderwerp", "other": "{count} onderwerpen"},
        "privacy_count_lessons": {"one": "{count} les", "other": "{count} lessen"},
        "privacy_count_deliveries": {
            "one": "{count} herinnering",
            "other": "{count} herinneringen",
        },
        "privacy_count_outbox": {
            "one": "{count} welkomstbericht",
            "other": "{count} welkomstberichten",
        },
        "privacy_export_language": "*Taal:* {language}",
        "privacy_export_language_default": "*Taal:* niet gekozen (standaard)",
        "privacy_export_feed": "*Agenda-link:* ja (`/cop kalender nieuw` vervangt hem)",
        "privacy_export_no_feed": "*Agenda-link:* nee",
        "privacy_export_left": {
            "one": "*Laatst afgemeld:* {date}; wat je achterliet wordt {count} dag daarna "
            "gewist als je niet terugkomt.",
            "other": "*Laatst afgemeld:* {date}; wat je achterliet wordt {count} dagen daarna "
            "gewist als je niet terugkomt.",
        },
        "privacy_export_footer": "Alles laten wissen? Typ `/cop vergeet mij`. Lees meer in de "
        "README onder *Privacy*.",
        "privacy_forget_ask": ":warning: *Alles over jou wissen?* Je wordt afgemeld bij al je "
        "communities, wachtlijsten en aanvragen; je aanmeldingen voor bijeenkomsten, stemmen, "
        "taalkeuze en agenda-link worden gewist, en kartrekkersrollen stoppen. Vragen en "
        "onderwerpen die je schreef blijven voor de community staan, zonder je naam.",
        "privacy_forget_button": "Wis mijn gegevens",
        "privacy_forget_confirm_title": "Zeker weten?",
        "privacy_forget_confirm_text": "Dit kan niet ongedaan worden gemaakt.",
        "privacy_forget_confirm_yes": "Ja, wis alles",
        "privacy_forget_confirm_no": "Nee",
        "privacy_forgotten": {
            "one": ":white_check_mark: Klaar: ik heb alles over jou gewist ({count} community "
            "verlaten). Wat je schreef staat er nog, zonder je naam.",
            "other": ":white_check_mark: Klaar: ik heb alles over jou gewist ({count} communities "
            "verlaten). Wat je schreef staat er nog, zonder je naam.",
        },
        "privacy_forget_admin_dm": ":information_source: Een kartrekker heeft gevraagd alles "
        "over zich te wissen; die rol is gestopt in: {names}. Benoem zo nodig een nieuwe met "
        "`/cop kartrekker`.",
        "audit_title": "Auditlog",
        "audit_title_community": "Auditlog van {name}",
        "audit_empty": "Het auditlog is nog leeg.",
        "audit_line": "{when} · {action} · door {actor}{subject}{community}{detail}",
        "audit_subject": " · over {who}",
        "audit_community": " · {slug}",
        "audit_page": {
            "one": "Pagina {page} van {pages} ({count} regel)",
            "other": "Pagina {page} van {pages} ({count} regels)",
        },
        "audit_more": "Meer",
        "audit_forgotten_person": "`{hash}` (gewist)",
        "audit_action_facilitator_appointed": "kartrekker benoemd",
        "audit_action_facilitator_removed": "kartrekker gestopt",
        "audit_action_admin_added": "beheerder erbij",
        "audit_action_admin_removed": "beheerder eraf",
        "audit_action_request_approved": "aanvraag goedgekeurd",
        "audit_action_request_declined": "aanvraag afgewezen",
        "audit_action_community_created": "community aangemaakt",
        "audit_action_community_updated": "community bijgewerkt",
        "audit_action_forgotten": "gegevens gewist op verzoek",
        "audit_action_retention": "gegevens gewist na bewaartermijn",
        "audit_action_member_removed": "lid verwijderd",
    },
    "en": {
        "former_member": "a former member",
        "privacy_help": "`/cop my data` everything I keep about you, as a file in your DM\n"
        "`/cop forget me` have everything about you removed",
        "privacy_export_coming": ":package: I am sending you a DM with a file of everything I "
        "keep about you, with a summary.",
        "privacy_export_title": "Your data in the CoP bot",
        "privacy_export_comment": "Everything the CoP bot keeps about you, table by table (JSON).",
        "privacy_export_memberships": "*Communities:* {items}",
        "privacy_export_no_memberships": "*Communities:* none",
        "privacy_status_member": "{name} (member)",
        "privacy_status_waitlist": "{name} (waitlist)",
        "privacy_status_pending": "{name} (request)",
        "privacy_export_facilitator": "*Facilitator of:* {names}",
        "privacy_export_counts": "*Also:* {items}.",
        "privacy_count_rsvps": {
            "one": "{count} meeting answer",
            "other": "{count} meeting answers",
        },
        "privacy_count_votes": {"one": "{count} vote", "other": "{count} votes"},
        "privacy_count_questions": {"one": "{count} question", "other": "{count} questions"},
        "privacy_count_topics": {"one": "{count} topic", "other": "{count} topics"},
        "privacy_count_lessons": {"one": "{count} lesson", "other": "{count} lessons"},
        "privacy_count_deliveries": {"one": "{count} reminder", "other": "{count} reminders"},
        "privacy_count_outbox": {
            "one": "{count} welcome message",
            "other": "{count} welcome messages",
        },
        "privacy_export_language": "*Language:* {language}",
        "privacy_export_language_default": "*Language:* not chosen (default)",
        "privacy_export_feed": "*Calendar link:* yes (`/cop calendar new` replaces it)",
        "privacy_export_no_feed": "*Calendar link:* no",
        "privacy_export_left": {
            "one": "*Last left:* {date}; what you left behind is removed {count} day later "
            "unless you come back.",
            "other": "*Last left:* {date}; what you left behind is removed {count} days later "
            "unless you come back.",
        },
        "privacy_export_footer": "Want it all removed? Type `/cop forget me`. Read more in the "
        "README under *Privacy*.",
        "privacy_forget_ask": ":warning: *Remove everything about you?* You leave all your "
        "communities, waitlists and requests; your meeting answers, votes, language and "
        "calendar link are removed, and facilitator roles end. Questions and topics you wrote "
        "stay for the community, without your name.",
        "privacy_forget_button": "Remove my data",
        "privacy_forget_confirm_title": "Are you sure?",
        "privacy_forget_confirm_text": "This cannot be undone.",
        "privacy_forget_confirm_yes": "Yes, remove it all",
        "privacy_forget_confirm_no": "No",
        "privacy_forgotten": {
            "one": ":white_check_mark: Done: I removed everything about you ({count} community "
            "left). What you wrote is still there, without your name.",
            "other": ":white_check_mark: Done: I removed everything about you ({count} "
            "communities left). What you wrote is still there, without your name.",
        },
        "privacy_forget_admin_dm": ":information_source: A facilitator asked to have everything "
        "about them removed; that role ended in: {names}. Appoint a new one with "
        "`/cop facilitator` if needed.",
        "audit_title": "Audit log",
        "audit_title_community": "Audit log of {name}",
        "audit_empty": "The audit log is still empty.",
        "audit_line": "{when} · {action} · by {actor}{subject}{community}{detail}",
        "audit_subject": " · about {who}",
        "audit_community": " · {slug}",
        "audit_page": {
            "one": "Page {page} of {pages} ({count} entry)",
            "other": "Page {page} of {pages} ({count} entries)",
        },
        "audit_more": "More",
        "audit_forgotten_person": "`{hash}` (removed)",
        "audit_action_facilitator_appointed": "facilitator appointed",
        "audit_action_facilitator_removed": "facilitator ended",
        "audit_action_admin_added": "admin added",
        "audit_action_admin_removed": "admin removed",
        "audit_action_request_approved": "request approved",
        "audit_action_request_declined": "request declined",
        "audit_action_community_created": "community created",
        "audit_action_community_updated": "community updated",
        "audit_action_forgotten": "data removed on request",
        "audit_action_retention": "data removed after retention period",
        "audit_action_member_removed": "member removed",
    },
}
