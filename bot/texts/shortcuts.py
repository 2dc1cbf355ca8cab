"""Texts of: the global shortcuts (the ⚡ menu), each a modal with a community picker."""

from bot.texts import Entry

MESSAGES: dict[str, dict[str, Entry]] = {
    "nl": {
        "shortcut_close": "Sluiten",
        "shortcut_error_title": "Er ging iets mis",
        "shortcut_cancel": "Annuleren",
        "shortcut_community": "Community",
        "shortcut_community_placeholder": "Kies een community",
        "shortcut_truncated": "Hier staan de eerste {shown} van {total} communities, op naam. "
        "Staat de jouwe er niet bij? Typ dan {command}.",
        "shortcut_community_gone": "Deze community bestaat niet meer. Kies een andere.",
        "shortcut_not_participant": "Je bent geen lid van {name}. Kies een van je eigen "
        "communities.",
        "shortcut_too_long": "Dit is {length} tekens lang; het maximum is {limit} tekens.",
        "shortcut_how_to_join": "Meld je aan via ⚡ *Aanmelden voor een community*, of typ "
        "`/cop lijst` en `/cop aanmelden <community>`.",
        # Vraag stellen
        "shortcut_ask_title": "Vraag stellen",
        "shortcut_ask_submit": "Vraag stellen",
        "shortcut_ask_intro": "Stel een open vraag aan een van je communities. De leden zien "
        "hem in `/cop vragen` en kunnen erop stemmen; een kartrekker beantwoordt hem.",
        "shortcut_ask_text": "Je vraag",
        "shortcut_ask_hint": "Hoogstens {limit} tekens.",
        "shortcut_ask_nowhere": "Je bent nog geen lid van een community, dus je kunt nog nergens "
        "een vraag stellen.",
        "shortcut_ask_command": "`/cop vraag <community> <vraag>`",
        "shortcut_ask_saved_title": "Vraag gesteld",
        # Onderwerp voorstellen
        "shortcut_topic_title": "Onderwerp voorstellen",
        "shortcut_topic_submit": "Voorstellen",
        "shortcut_topic_intro": "Stel een onderwerp voor een volgende bijeenkomst voor. De leden "
        "stemmen erop; de kartrekkers nemen de populairste mee in de agenda.",
        "shortcut_topic_text": "Onderwerp",
        "shortcut_topic_hint": "Hoogstens {limit} tekens.",
        "shortcut_topic_empty": "Je onderwerp is leeg. Schrijf op waarover je het wilt hebben.",
        "shortcut_topic_nowhere": "Je bent nog geen lid van een community, dus je kunt nog "
        "nergens een onderwerp voorstellen.",
        "shortcut_topic_command": "`/cop onderwerp <community> <onderwerp>`",
        "shortcut_topic_saved_title": "Onderwerp voorgesteld",
        # Bijeenkomst plannen
        "shortcut_plan_intro": "Een nieuwe bijeenkomst. Tijden zijn in {tz}. De leden krijgen "
        "vooraf een herinnering.",
        "shortcut_plan_not_facilitator": "Alleen kartrekkers plannen bijeenkomsten, en je bent "
        "van geen enkele community kartrekker. Wil je er een worden? Vraag het een beheerder.",
        "shortcut_plan_command": "`/cop bijeenkomst toevoegen <community> <datum> <tijd>`",
        "shortcut_plan_saved_title": "Bijeenkomst gepland",
        # Aanmelden voor een community
        "shortcut_join_title": "Aanmelden",
        "shortcut_join_submit": "Aanmelden",
        "shortcut_join_intro": "Kies de community waarvoor je je aanmeldt. Is hij vol, dan kom je "
        "op de wachtlijst; bij sommige keurt een kartrekker je aanmelding goed.",
        "shortcut_join_none": "Er is geen community waarvoor je je nu kunt aanmelden: je doet "
        "overal al mee, of de aanmelding is gesloten. Typ `/cop lijst` voor het overzicht en "
        "`/cop mijn` voor je eigen communities.",
        "shortcut_join_command": "`/cop aanmelden <community>`",
        "shortcut_join_closed": "Aanmelden voor {name} kon tot en met {date}. Kies een andere "
        "community.",
        "shortcut_join_already": "Je doet al mee met {name}: als lid, op de wachtlijst of in "
        "afwachting van een kartrekker.",
        "shortcut_join_done_title": "Aanmelding",
    },
    "en": {
        "shortcut_close": "Close",
        "shortcut_error_title": "Something went wrong",
        "shortcut_cancel": "Cancel",
        "shortcut_community": "Community",
        "shortcut_community_placeholder": "Choose a community",
        "shortcut_truncated": "These are the first {shown} of {total} communities, by name. "
        "Yours is not among them? Type {command}.",
        "shortcut_community_gone": "This community no longer exists. Choose another one.",
        "shortcut_not_participant": "You are not a member of {name}. Choose one of your own "
        "communities.",
        "shortcut_too_long": "This is {length} characters long; the limit is {limit} characters.",
        "shortcut_how_to_join": "Join one with ⚡ *Aanmelden voor een community* (join a "
        "community), or type "
        "`/cop list` and `/cop join <community>`.",
        "shortcut_ask_title": "Ask a question",
        "shortcut_ask_submit": "Ask",
        "shortcut_ask_intro": "Ask one of your communities an open question. Its members see it "
        "in `/cop questions` and can vote on it; a facilitator answers it.",
        "shortcut_ask_text": "Your question",
        "shortcut_ask_hint": "At most {limit} characters.",
        "shortcut_ask_nowhere": "You are not a member of any community yet, so there is nowhere "
        "to ask a question.",
        "shortcut_ask_command": "`/cop ask <community> <question>`",
        "shortcut_ask_saved_title": "Question asked",
        "shortcut_topic_title": "Propose a topic",
        "shortcut_topic_submit": "Propose",
        "shortcut_topic_intro": "Propose a topic for a coming meeting. Members vote on it; the "
        "facilitators take the most popular into the agenda.",
        "shortcut_topic_text": "Topic",
        "shortcut_topic_hint": "At most {limit} characters.",
        "shortcut_topic_empty": "Your topic is empty. Write down what you would like to discuss.",
        "shortcut_topic_nowhere": "You are not a member of any community yet, so there is "
        "nowhere to propose a topic.",
        "shortcut_topic_command": "`/cop topic <community> <topic>`",
        "shortcut_topic_saved_title": "Topic proposed",
        "shortcut_plan_intro": "A new meeting. Times are in {tz}. Members get a reminder "
        "beforehand.",
        "shortcut_plan_not_facilitator": "Only facilitators plan meetings, and you facilitate no "
        "community. Would you like to become one? Ask an admin.",
        "shortcut_plan_command": "`/cop meeting add <community> <date> <time>`",
        "shortcut_plan_saved_title": "Meeting planned",
        "shortcut_join_title": "Join a community",
        "shortcut_join_submit": "Join",
        "shortcut_join_intro": "Choose the community to join. When it is full you go on its "
        "waitlist; for some, a facilitator approves each join.",
        "shortcut_join_none": "There is no community you can join right now: you take part in "
        "all of them already, or registration is closed. Type `/cop list` for the overview and "
        "`/cop mine` for your own communities.",
        "shortcut_join_command": "`/cop join <community>`",
        "shortcut_join_closed": "Registration for {name} was open until {date}. Choose another "
        "community.",
        "shortcut_join_already": "You take part in {name} already: as a member, on the waitlist "
        "or waiting for a facilitator.",
        "shortcut_join_done_title": "Joining",
    },
}
