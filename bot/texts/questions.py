"""Texts of: Open questions."""

from bot.texts import Entry

MESSAGES: dict[str, dict[str, Entry]] = {
    "nl": {
        "questions_help": "`/cop vraag ethiek <je vraag>` stel de community een open vraag "
        "(of kies *Bewaar als open vraag* in het menu van een bericht)\n"
        "`/cop vragen ethiek` de vragen van een community, met een stemknop",
        "questions_help_facilitator": "In `/cop vragen ethiek` zet je een vraag op "
        "*In onderzoek* of *Werkgroep*, en met *Beantwoorden* krijgen de vrager en de "
        "stemmers het antwoord.",
        "questions_ask_usage": "Zo stel je een vraag: `/cop vraag ethiek Hoe leggen jullie "
        "algoritmes uit aan inwoners?` Je kunt ook een bericht bewaren: kies *Bewaar als open "
        "vraag* in het menu van het bericht.",
        "questions_list_usage": "Van welke community? Bijvoorbeeld: `/cop vragen ethiek` "
        "(of `/cop vragen ethiek 2` voor de tweede pagina).",
        "questions_asked": ":question: Je vraag staat genoteerd als *#{id}* in *{name}*. "
        "Alle vragen: `/cop vragen {slug}`.",
        "questions_saved_dm": ":bookmark: Het bericht staat nu als open vraag *#{id}* in "
        "*{name}*. Alle vragen: `/cop vragen {slug}`.",
        "questions_not_in_community": "Alleen leden en kartrekkers van *{name}* kunnen daar "
        "vragen stellen, lezen en erop stemmen. Word lid met `/cop aanmelden {slug}`.",
        "questions_too_long": "Je vraag is {length} tekens lang; het maximum is {limit} tekens. "
        "Maak hem korter en probeer het nog eens. Dit was je tekst, zodat je niets kwijt bent:",
        "questions_form_too_long": "Dit is {length} tekens lang; het maximum is {limit} tekens.",
        "questions_empty": "Je vraag is leeg. Schrijf op wat je wilt weten.",
        "questions_answer_empty": "Schrijf het antwoord op.",
        "questions_not_found": "Die vraag bestaat niet (meer).",
        "questions_already_answered": "Vraag #{id} is al beantwoord.",
        "questions_form_choose": "Kies een community.",
        "questions_form_not_member": "Je bent geen lid van {name}. Kies een van je eigen "
        "communities.",
        "questions_no_community": "Je bent nog geen lid van een community, dus ik kan de vraag "
        "nergens bewaren. Typ `/cop lijst` en meld je aan met `/cop aanmelden <community>`.",
        # The list
        "questions_title": "Vragen van {name}",
        "questions_none": "Nog geen vragen in *{name}*. Stel de eerste met "
        "`/cop vraag {slug} <je vraag>`.",
        "questions_line": "*#{id}* · _{status}_ · {votes} · gevraagd door {asker}{source}",
        "questions_source": " · <{url}|naar het bericht>",
        "questions_votes": ":+1: {count}",
        "questions_status_open": "open",
        "questions_status_research": "in onderzoek",
        "questions_status_working_group": "werkgroep",
        "questions_status_answered": "beantwoord",
        "questions_answer_line": "*Antwoord* van {who}:\n{answer}",
        "questions_page": {
            "one": "Pagina {page} van {pages} · {count} vraag",
            "other": "Pagina {page} van {pages} · {count} vragen",
        },
        "questions_more": "Meer vragen",
        "questions_button_vote": "Ik wil dit ook weten",
        "questions_button_unvote": "Stem intrekken",
        "questions_button_research": "In onderzoek",
        "questions_button_working_group": "Werkgroep",
        "questions_button_answer": "Beantwoorden",
        "questions_button_lesson": "Deel als les",
        # Clicks
        "questions_voted": {
            "one": ":+1: Je stem op vraag #{id} telt. De vraag heeft nu {count} stem.",
            "other": ":+1: Je stem op vraag #{id} telt. De vraag heeft nu {count} stemmen.",
        },
        "questions_unvoted": {
            "one": "Je stem op vraag #{id} is ingetrokken. De vraag heeft nu {count} stem.",
            "other": "Je stem op vraag #{id} is ingetrokken. De vraag heeft nu {count} stemmen.",
        },
        "questions_moved": "Vraag #{id} staat nu op *{status}*.",
        # The save-as-question modal
        "questions_modal_title": "Bewaar als open vraag",
        "questions_modal_submit": "Bewaren",
        "questions_modal_cancel": "Annuleren",
        "questions_modal_community": "Community",
        "questions_modal_community_placeholder": "Kies een community",
        "questions_modal_text": "Vraag",
        "questions_modal_hint": "Maximaal {limit} tekens. Een link naar het bericht wordt bewaard.",
        # The answer modal
        "questions_answer_title": "Vraag beantwoorden",
        "questions_answer_submit": "Versturen",
        "questions_answer_question": "*Vraag #{id}* van {asker}:\n{text}",
        "questions_answer_label": "Antwoord",
        "questions_answer_hint": "Maximaal {limit} tekens. De vrager en iedereen die op de "
        "vraag stemde krijgt het antwoord in een DM.",
        "questions_answered_confirm": {
            "one": ":white_check_mark: Vraag #{id} in *{name}* is beantwoord. Het antwoord gaat "
            "naar {count} lid dat de vraag stelde of erop stemde.",
            "other": ":white_check_mark: Vraag #{id} in *{name}* is beantwoord. Het antwoord gaat "
            "naar {count} leden die de vraag stelden of erop stemden.",
        },
        "questions_answered_dm_asker": ":bulb: Je vraag *#{id}* in *{name}* is beantwoord "
        "door {who}.",
        "questions_answered_dm_voter": ":bulb: Vraag *#{id}* in *{name}*, waarop je stemde, "
        "is beantwoord door {who}.",
        "questions_dm_question": "*Vraag:*\n{text}",
        "questions_dm_answer": "*Antwoord:*\n{text}",
    },
    "en": {
        "questions_help": "`/cop ask ethiek <your question>` ask the community an open "
        "question (or choose *Bewaar als open vraag* in a message's menu)\n"
        "`/cop questions ethiek` a community's questions, with a vote button",
        "questions_help_facilitator": "In `/cop questions ethiek` you move a question to "
        "*Researching* or *Working group*, and with *Answer* the asker and the voters get the "
        "answer.",
        "questions_ask_usage": "To ask a question: `/cop ask ethiek How do you explain "
        "algorithms to residents?` You can also save a message: choose *Bewaar als open "
        "vraag* in the message's menu.",
        "questions_list_usage": "Of which community? For example: `/cop questions ethiek` "
        "(or `/cop questions ethiek 2` for the second page).",
        "questions_asked": ":question: Your question is noted as *#{id}* in *{name}*. "
        "All questions: `/cop questions {slug}`.",
        "questions_saved_dm": ":bookmark: The message is now open question *#{id}* in "
        "*{name}*. All questions: `/cop questions {slug}`.",
        "questions_not_in_community": "Only members and facilitators of *{name}* can ask, "
        "read and vote on its questions. Join with `/cop join {slug}`.",
        "questions_too_long": "Your question is {length} characters long; the limit is {limit} "
        "characters. Please shorten it and try again. Here is your text, so nothing is lost:",
        "questions_form_too_long": "This is {length} characters long; the limit is {limit} "
        "characters.",
        "questions_empty": "Your question is empty. Write down what you would like to know.",
        "questions_answer_empty": "Please write the answer.",
        "questions_not_found": "That question does not exist (any more).",
        "questions_already_answered": "Question #{id} has already been answered.",
        "questions_form_choose": "Choose a community.",
        "questions_form_not_member": "You are not a member of {name}. Choose one of your own "
        "communities.",
        "questions_no_community": "You are not a member of any community yet, so I cannot "
        "save the question anywhere. Type `/cop list` and join with `/cop join <community>`.",
        "questions_title": "Questions of {name}",
        "questions_none": "No questions in *{name}* yet. Ask the first with "
        "`/cop ask {slug} <your question>`.",
        "questions_line": "*#{id}* · _{status}_ · {votes} · asked by {asker}{source}",
        "questions_source": " · <{url}|to the message>",
        "questions_votes": ":+1: {count}",
        "questions_status_open": "open",
        "questions_status_research": "researching",
        "questions_status_working_group": "working group",
        "questions_status_answered": "answered",
        "questions_answer_line": "*Answer* by {who}:\n{answer}",
        "questions_page": {
            "one": "Page {page} of {pages} · {count} question",
            "other": "Page {page} of {pages} · {count} questions",
        },
        "questions_more": "More questions",
        "questions_button_vote": "I want to know too",
        "questions_button_unvote": "Take back my vote",
        "questions_button_research": "Researching",
        "questions_button_working_group": "Working group",
        "questions_button_answer": "Answer",
        "questions_button_lesson": "Share as lesson",
        "questions_voted": {
            "one": ":+1: Your vote for question #{id} counts. It now has {count} vote.",
            "other": ":+1: Your vote for question #{id} counts. It now has {count} votes.",
        },
        "questions_unvoted": {
            "one": "Your vote for question #{id} is taken back. It now has {count} vote.",
            "other": "Your vote for question #{id} is taken back. It now has {count} votes.",
        },
        "questions_moved": "Question #{id} is now *{status}*.",
        "questions_modal_title": "Save as open question",
        "questions_modal_submit": "Save",
        "questions_modal_cancel": "Cancel",
        "questions_modal_community": "Community",
        "questions_modal_community_placeholder": "Choose a community",
        "questions_modal_text": "Question",
        "questions_modal_hint": "At most {limit} characters. A link to the message is kept.",
        "questions_answer_title": "Answer a question",
        "questions_answer_submit": "Send",
        "questions_answer_question": "*Question #{id}* by {asker}:\n{text}",
        "questions_answer_label": "Answer",
        "questions_answer_hint": "At most {limit} characters. The asker and everyone who "
        "voted for the question get the answer in a DM.",
        "questions_answered_confirm": {
            "one": ":white_check_mark: Question #{id} in *{name}* is answered. The answer goes "
            "to {count} member who asked or voted for it.",
            "other": ":white_check_mark: Question #{id} in *{name}* is answered. The answer goes "
            "to {count} members who asked or voted for it.",
        },
        "questions_answered_dm_asker": ":bulb: Your question *#{id}* in *{name}* was answered "
        "by {who}.",
        "questions_answered_dm_voter": ":bulb: Question *#{id}* in *{name}*, which you voted "
        "for, was answered by {who}.",
        "questions_dm_question": "*Question:*\n{text}",
        "questions_dm_answer": "*Answer:*\n{text}",
    },
}
