"""Texts of: Agenda topics and agendas."""
# ruff: noqa: E501  (message texts read better unwrapped, as in bot/i18n.py)

from bot.texts import Entry

MESSAGES: dict[str, dict[str, Entry]] = {
    "nl": {
        # Help
        "agenda_help": "`/cop onderwerp ethiek <onderwerp>` stel een onderwerp voor de volgende "
        "bijeenkomst voor\n"
        "`/cop onderwerpen ethiek` de voorgestelde onderwerpen, met stemknoppen\n"
        "`/cop agenda ethiek` de agenda van de volgende bijeenkomst",
        "agenda_help_facilitator": "`/cop agenda ethiek` en dan *Agenda opstellen*: zet de agenda "
        "en de sprekers van een bijeenkomst; ik plaats hem in het kanaal van de community.",
        # Topics
        "agenda_topic_usage": "Zo stel je een onderwerp voor: `/cop onderwerp ethiek <je onderwerp>`.",
        "agenda_topics_usage": "Welke community bedoel je? Bijvoorbeeld: `/cop onderwerpen ethiek`.",
        "agenda_usage": "Welke community bedoel je? Bijvoorbeeld: `/cop agenda ethiek`.",
        "agenda_not_participant": "Alleen leden van *{name}* doen mee met onderwerpen en de agenda. "
        "Meld je aan met `/cop aanmelden {slug}`.",
        "agenda_topic_too_long": "Je onderwerp is {length} tekens lang; het mag er hoogstens {limit} "
        "zijn. Maak het korter en stuur het opnieuw. Dit had je geschreven:",
        "agenda_topic_added": ":memo: Je onderwerp voor *{name}* staat op de lijst:\n>{text}\n"
        "Anderen stemmen erop via `/cop onderwerpen {slug}`.",
        "agenda_topic_gone": "Dat onderwerp staat niet meer open voor stemmen: het staat al op een "
        "agenda of bestaat niet meer. Typ `/cop onderwerpen <community>` voor de open onderwerpen.",
        "agenda_topics_title": "Onderwerpen voor {name}",
        "agenda_topics_none": "Er zijn nog geen open onderwerpen voor *{name}*. Stel er een voor met "
        "`/cop onderwerp {slug} <onderwerp>`.",
        "agenda_topic_line": "*{votes}* :+1:  {text}\n_voorgesteld door {who}_{mine}",
        "agenda_topic_mine": " · _jij stemde hierop_",
        "agenda_topics_footer": {
            "one": "Pagina {page} van {pages} · {count} open onderwerp · nog eens op *Stem* "
            "klikken neemt je stem terug",
            "other": "Pagina {page} van {pages} · {count} open onderwerpen · nog eens op *Stem* "
            "klikken neemt je stem terug",
        },
        "agenda_button_vote": "👍 Stem",
        "agenda_button_more": "Meer",
        "agenda_button_back": "Terug",
        "agenda_vote_cast": {
            "one": ":+1: Je stem is geteld. Dit onderwerp heeft nu {count} stem.",
            "other": ":+1: Je stem is geteld. Dit onderwerp heeft nu {count} stemmen.",
        },
        "agenda_vote_taken_back": {
            "one": "Je stem is teruggenomen. Dit onderwerp heeft nu {count} stem.",
            "other": "Je stem is teruggenomen. Dit onderwerp heeft nu {count} stemmen.",
        },
        # The agenda
        "agenda_title": "Agenda {name}",
        "agenda_meeting": "*Volgende bijeenkomst:* {when} · {kind}{where}",
        "agenda_heading": "*Agenda*",
        "agenda_heading_edited": "*Agenda (bewerkt)*",
        "agenda_speakers": "*Sprekers:* {speakers}",
        "agenda_by": "Opgesteld door {who}",
        "agenda_none": "Er is nog geen agenda voor deze bijeenkomst.",
        "agenda_top_topics": "*Meest gestemde onderwerpen tot nu toe:*",
        "agenda_no_topics": "Er zijn nog geen onderwerpen voorgesteld. Stel er een voor met "
        "`/cop onderwerp {slug} <onderwerp>`.",
        "agenda_no_meeting": "*{name}* heeft nog geen komende bijeenkomst gepland.",
        "agenda_button_compose": "Agenda opstellen",
        "agenda_reminder_speakers": "*Sprekers:* {speakers}",
        # The agenda form
        "agenda_modal_title": "Agenda opstellen",
        "agenda_modal_submit": "Opslaan",
        "agenda_modal_cancel": "Annuleren",
        "agenda_modal_intro": "De agenda van *{name}*. Ik plaats hem in het kanaal van de "
        "community; sla je later een nieuwe versie op, dan werk ik dat bericht bij.",
        "agenda_modal_meeting": "Bijeenkomst",
        "agenda_modal_text": "Agenda",
        "agenda_modal_text_hint": "Eén punt per regel, hoogstens {limit} tekens. Onderwerpen die "
        "je overneemt verdwijnen uit de lijst met open onderwerpen.",
        "agenda_modal_speakers": "Sprekers",
        "agenda_modal_speakers_hint": "Bijvoorbeeld: Anna de Vries (Utrecht), Bas Jansen (Zwolle)",
        "agenda_error_empty": "Vul de agenda in.",
        "agenda_error_too_long": "Dit is {length} tekens; hoogstens {limit} mag.",
        "agenda_error_not_allowed": "Alleen een kartrekker van deze community of een beheerder mag "
        "de agenda opstellen. Er is niets veranderd.",
        "agenda_error_over": "Deze bijeenkomst is al begonnen of gaat niet door; kies een andere.",
        "agenda_error_gone": "Deze bijeenkomst bestaat niet meer; kies een andere.",
        "agenda_no_meeting_to_plan": "*{name}* heeft geen komende bijeenkomst. Plan er eerst een "
        "met `/cop bijeenkomst toevoegen {slug} <wanneer>`.",
        "agenda_saved_posted": ":white_check_mark: De agenda van *{name}* voor {when} is opgeslagen "
        "en geplaatst in <#{channel}>.",
        "agenda_saved_updated": ":white_check_mark: De agenda van *{name}* voor {when} is bijgewerkt, "
        "ook in <#{channel}>.",
        "agenda_saved_no_channel": ":white_check_mark: De agenda van *{name}* voor {when} is "
        "opgeslagen. De community heeft geen kanaal; leden zien de agenda met `/cop agenda` en in "
        "de herinnering.",
        "agenda_post_failed": ":warning: De agenda van *{name}* is opgeslagen, maar plaatsen in "
        "<#{channel}> lukte niet (`{error}`). Zet mij in het kanaal (`/invite @CoP bot`) en sla de "
        "agenda nog eens op.",
        "agenda_post_title": "Agenda {name}",
        "agenda_post_title_edited": "Agenda (bewerkt) {name}",
        "agenda_post_meeting": "{when} · {kind}{where}",
    },
    "en": {
        # Help
        "agenda_help": "`/cop topic ethiek <topic>` propose a topic for the next meeting\n"
        "`/cop topics ethiek` the proposed topics, with vote buttons\n"
        "`/cop agenda ethiek` the agenda of the next meeting",
        "agenda_help_facilitator": "`/cop agenda ethiek`, then *Write agenda*: set a meeting's "
        "agenda and speakers; I post it in the community's channel.",
        # Topics
        "agenda_topic_usage": "To propose a topic: `/cop topic ethiek <your topic>`.",
        "agenda_topics_usage": "Which community do you mean? For example: `/cop topics ethiek`.",
        "agenda_usage": "Which community do you mean? For example: `/cop agenda ethiek`.",
        "agenda_not_participant": "Only members of *{name}* take part in its topics and agenda. "
        "Join with `/cop join {slug}`.",
        "agenda_topic_too_long": "Your topic is {length} characters long; the limit is {limit}. "
        "Please shorten it and send it again. This is what you wrote:",
        "agenda_topic_added": ":memo: Your topic for *{name}* is on the list:\n>{text}\n"
        "Others vote on it with `/cop topics {slug}`.",
        "agenda_topic_gone": "That topic is no longer open for votes: it is on an agenda already "
        "or no longer exists. Type `/cop topics <community>` for the open topics.",
        "agenda_topics_title": "Topics for {name}",
        "agenda_topics_none": "There are no open topics for *{name}* yet. Propose one with "
        "`/cop topic {slug} <topic>`.",
        "agenda_topic_line": "*{votes}* :+1:  {text}\n_proposed by {who}_{mine}",
        "agenda_topic_mine": " · _you voted for this_",
        "agenda_topics_footer": {
            "one": "Page {page} of {pages} · {count} open topic · click *Vote* again to take your "
            "vote back",
            "other": "Page {page} of {pages} · {count} open topics · click *Vote* again to take "
            "your vote back",
        },
        "agenda_button_vote": "👍 Vote",
        "agenda_button_more": "More",
        "agenda_button_back": "Back",
        "agenda_vote_cast": {
            "one": ":+1: Your vote counts. This topic now has {count} vote.",
            "other": ":+1: Your vote counts. This topic now has {count} votes.",
        },
        "agenda_vote_taken_back": {
            "one": "Your vote is taken back. This topic now has {count} vote.",
            "other": "Your vote is taken back. This topic now has {count} votes.",
        },
        # The agenda
        "agenda_title": "Agenda {name}",
        "agenda_meeting": "*Next meeting:* {when} · {kind}{where}",
        "agenda_heading": "*Agenda*",
        "agenda_heading_edited": "*Agenda (edited)*",
        "agenda_speakers": "*Speakers:* {speakers}",
        "agenda_by": "Written by {who}",
        "agenda_none": "There is no agenda for this meeting yet.",
        "agenda_top_topics": "*Most voted topics so far:*",
        "agenda_no_topics": "No topics have been proposed yet. Propose one with "
        "`/cop topic {slug} <topic>`.",
        "agenda_no_meeting": "*{name}* has no upcoming meeting planned yet.",
        "agenda_button_compose": "Write agenda",
        "agenda_reminder_speakers": "*Speakers:* {speakers}",
        # The agenda form
        "agenda_modal_title": "Write the agenda",
        "agenda_modal_submit": "Save",
        "agenda_modal_cancel": "Cancel",
        "agenda_modal_intro": "The agenda of *{name}*. I post it in the community's channel; "
        "when you save a new version later, I update that post.",
        "agenda_modal_meeting": "Meeting",
        "agenda_modal_text": "Agenda",
        "agenda_modal_text_hint": "One item per line, at most {limit} characters. Topics you take "
        "over leave the list of open topics.",
        "agenda_modal_speakers": "Speakers",
        "agenda_modal_speakers_hint": "For example: Anna de Vries (Utrecht), Bas Jansen (Zwolle)",
        "agenda_error_empty": "Please fill in the agenda.",
        "agenda_error_too_long": "This is {length} characters; at most {limit} are allowed.",
        "agenda_error_not_allowed": "Only a facilitator of this community or an admin may write "
        "the agenda. Nothing was changed.",
        "agenda_error_over": "This meeting has begun or was cancelled; choose another.",
        "agenda_error_gone": "This meeting no longer exists; choose another.",
        "agenda_no_meeting_to_plan": "*{name}* has no upcoming meeting. Plan one first with "
        "`/cop meeting add {slug} <when>`.",
        "agenda_saved_posted": ":white_check_mark: The agenda of *{name}* for {when} is saved and "
        "posted in <#{channel}>.",
        "agenda_saved_updated": ":white_check_mark: The agenda of *{name}* for {when} is updated, "
        "in <#{channel}> too.",
        "agenda_saved_no_channel": ":white_check_mark: The agenda of *{name}* for {when} is saved. "
        "The community has no channel; members see the agenda with `/cop agenda` and in the "
        "reminder.",
        "agenda_post_failed": ":warning: The agenda of *{name}* is saved, but posting it in "
        "<#{channel}> failed (`{error}`). Add me to the channel (`/invite @CoP bot`) and save the "
        "agenda again.",
        "agenda_post_title": "Agenda {name}",
        "agenda_post_title_edited": "Agenda (edited) {name}",
        "agenda_post_meeting": "{when} · {kind}{where}",
    },
}
