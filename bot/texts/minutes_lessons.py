"""Texts of: Minutes, the day-after nudge and lessons."""

from bot.texts import Entry

MESSAGES: dict[str, dict[str, Entry]] = {
    "nl": {
        # Minutes
        "minutes_help": "`/cop verslag ethiek` schrijf of bewerk het gespreksverslag van een "
        "bijeenkomst; het komt in het kanaal van de community",
        "minutes_usage": "Van welke community schrijf je het verslag? Bijvoorbeeld: "
        "`/cop verslag ethiek`.",
        "minutes_not_allowed": "Een verslag schrijven kan alleen een kartrekker van *{name}* of "
        "een beheerder. Heb je aantekeningen? Stuur ze naar de kartrekker.",
        "minutes_latest": "*Laatste verslag: bijeenkomst van {when}*",
        "minutes_no_past": "*{name}* heeft nog geen bijeenkomst gehad om een verslag van te "
        "schrijven. De bijeenkomsten staan in `/cop bijeenkomsten {slug}`.",
        "minutes_meeting_gone": "Die bijeenkomst bestaat niet meer. Typ `/cop verslag <community>` "
        "om het formulier opnieuw te openen.",
        "minutes_form_late": "Het formulier kon niet op tijd openen. Typ `/cop verslag {slug}` "
        "nog eens.",
        "minutes_modal_title": "Gespreksverslag",
        "minutes_modal_submit": "Opslaan",
        "minutes_modal_close": "Annuleren",
        "minutes_modal_intro": "Verslag van een bijeenkomst van *{name}*. Na opslaan komt het in "
        "het kanaal van de community en in `/cop info {slug}`.",
        "minutes_modal_meeting": "Bijeenkomst",
        "minutes_modal_text": "Verslag",
        "minutes_modal_hint": "Hoogstens {limit} tekens. Bewerk je een bestaand verslag, dan wordt "
        "het bericht in het kanaal bijgewerkt.",
        "minutes_option_done": "{when} (heeft verslag)",
        "minutes_too_long": "Het verslag is {length} tekens; het mag hoogstens {limit} tekens "
        "zijn. Maak het korter.",
        "minutes_empty": "Schrijf hier het verslag.",
        "minutes_post_title": "Verslag: {name}",
        "minutes_post_meeting": "*Bijeenkomst van {when}*",
        "minutes_post_by": "Verslag door {user}",
        "minutes_post_edited": "Verslag door {user}, bijgewerkt op {when}",
        "minutes_saved_no_channel": ":white_check_mark: Het verslag van *{name}* ({when}) is "
        "opgeslagen. De community heeft geen kanaal, dus het is niet gepost; het staat in "
        "`/cop info {slug}`.",
        "minutes_post_failed": ":warning: Het verslag van *{name}* is opgeslagen, maar ik kon het "
        "niet in <#{channel}> zetten ({error}). Nodig de bot uit in het kanaal en sla het "
        "verslag nog eens op.",
        "info_minutes_link": "*Verslag:* <{url}|verslag van {date}>",
        "info_minutes_command": "*Verslag:* verslag van {date}: `/cop verslag {slug}`",
        # The day-after nudge
        "minutes_nudge": ":memo: Gisteren was de bijeenkomst van *{name}* ({when}). Wil je het "
        "verslag delen? Het komt in het kanaal van de community, zodat wie er niet bij was het "
        "kan nalezen.",
        "minutes_nudge_button": "Verslag schrijven",
        # Lessons
        "lessons_help": "`/cop lessen` wat de communities leerden, voor het hele programma "
        "(`/cop lessen ethiek` van één community)",
        "lessons_help_facilitator": "`/cop les ethiek <tekst>` deelt een les met het hele "
        "programma; een beantwoorde vraag deel je met de knop *Deel als les*.",
        "lesson_usage": "Schrijf de les achter de community, bijvoorbeeld: "
        "`/cop les ethiek Begin klein: één algoritme, één register.`",
        "lesson_too_long": "Een les mag hoogstens {limit} tekens zijn; deze is {length} tekens. "
        "Maak hem korter en probeer het opnieuw. Je tekst, om te kopiëren:",
        "lesson_not_allowed": "Een les delen kan alleen een kartrekker van de community of een "
        "beheerder.",
        "lesson_posted": ":white_check_mark: De les van *{name}* is gedeeld in <#{channel}>.",
        "lesson_not_posted": ":information_source: De les van *{name}* is opgeslagen, maar niet "
        "gepost: er is geen kanaal voor het programma. Een beheerder stelt dat in met "
        "`[[programme]]` in de catalogus of met `COP_COMMUNITY_CHANNEL`. De les staat in "
        "`/cop lessen`.",
        "lesson_post_failed": ":warning: De les van *{name}* is opgeslagen, maar ik kon hem niet "
        "in <#{channel}> zetten ({error}). De les staat in `/cop lessen`.",
        "lesson_question_missing": "Die vraag bestaat niet meer.",
        "lesson_not_answered": "Alleen een beantwoorde vraag kan een les worden. Geef de vraag "
        "eerst een antwoord.",
        "lesson_already": "Deze vraag van *{name}* is al als les gedeeld.",
        "lesson_post_title": "Les uit {name}",
        "lesson_post_question": "*Vraag:* {question}",
        "lesson_post_answer": "*Antwoord*",
        "lesson_post_by": "Gedeeld door {user} · {programme}",
        "lessons_title": "Lessen",
        "lessons_title_community": "Lessen van {name}",
        "lessons_none": "Er zijn nog geen lessen gedeeld.",
        "lessons_none_community": "*{name}* heeft nog geen lessen gedeeld.",
        "lessons_meta": "*{name}* · {date} · {user}",
        "lessons_page": {
            "one": "Pagina {page} van {pages} ({count} les)",
            "other": "Pagina {page} van {pages} ({count} lessen)",
        },
        "lessons_next": "Volgende",
        "lessons_previous": "Vorige",
        "lessons_md_title": "Lessen uit de Communities of Practice",
        "lessons_md_question": "Vraag",
        "lessons_md_answer": "Antwoord",
        "lessons_md_lesson": "Les",
        "lessons_md_date": "Gedeeld op {date}",
        "lessons_md_empty": "Er zijn nog geen lessen gedeeld.",
    },
    "en": {
        # Minutes
        "minutes_help": "`/cop minutes ethiek` write or edit the minutes of a meeting; they are "
        "posted in the community's channel",
        "minutes_usage": "Which community are the minutes for? For example: `/cop minutes ethiek`.",
        "minutes_not_allowed": "Only a facilitator of *{name}* or an admin can write the minutes. "
        "Have notes? Send them to the facilitator.",
        "minutes_latest": "*Latest minutes: meeting of {when}*",
        "minutes_no_past": "*{name}* has not had a meeting to write minutes of yet. The meetings "
        "are in `/cop meetings {slug}`.",
        "minutes_meeting_gone": "That meeting no longer exists. Type `/cop minutes <community>` to "
        "open the form again.",
        "minutes_form_late": "The form could not open in time. Type `/cop minutes {slug}` again.",
        "minutes_modal_title": "Meeting minutes",
        "minutes_modal_submit": "Save",
        "minutes_modal_close": "Cancel",
        "minutes_modal_intro": "Minutes of a meeting of *{name}*. Once saved they are posted in "
        "the community's channel and shown in `/cop info {slug}`.",
        "minutes_modal_meeting": "Meeting",
        "minutes_modal_text": "Minutes",
        "minutes_modal_hint": "At most {limit} characters. Editing existing minutes updates the "
        "message in the channel.",
        "minutes_option_done": "{when} (has minutes)",
        "minutes_too_long": "The minutes are {length} characters; at most {limit} are allowed. "
        "Please shorten them.",
        "minutes_empty": "Write the minutes here.",
        "minutes_post_title": "Minutes: {name}",
        "minutes_post_meeting": "*Meeting of {when}*",
        "minutes_post_by": "Minutes by {user}",
        "minutes_post_edited": "Minutes by {user}, updated on {when}",
        "minutes_saved_no_channel": ":white_check_mark: The minutes of *{name}* ({when}) are "
        "saved. The community has no channel, so they were not posted; they are in "
        "`/cop info {slug}`.",
        "minutes_post_failed": ":warning: The minutes of *{name}* are saved, but I could not post "
        "them in <#{channel}> ({error}). Invite the bot to the channel and save them again.",
        "info_minutes_link": "*Minutes:* <{url}|minutes of {date}>",
        "info_minutes_command": "*Minutes:* minutes of {date}: `/cop minutes {slug}`",
        # The day-after nudge
        "minutes_nudge": ":memo: Yesterday was the meeting of *{name}* ({when}). Would you share "
        "the minutes? They go to the community's channel, so that those who missed it can "
        "catch up.",
        "minutes_nudge_button": "Write the minutes",
        # Lessons
        "lessons_help": "`/cop lessons` what the communities learned, for the whole programme "
        "(`/cop lessons ethiek` for one community)",
        "lessons_help_facilitator": "`/cop lesson ethiek <text>` shares a lesson with the whole "
        "programme; share an answered question with its *Share as lesson* button.",
        "lesson_usage": "Write the lesson after the community, for example: "
        "`/cop lesson ethiek Start small: one algorithm, one register.`",
        "lesson_too_long": "A lesson may be at most {limit} characters; this one is {length}. "
        "Please shorten it and try again. Your text, to copy:",
        "lesson_not_allowed": "Only a facilitator of the community or an admin can share a lesson.",
        "lesson_posted": ":white_check_mark: The lesson of *{name}* is shared in <#{channel}>.",
        "lesson_not_posted": ":information_source: The lesson of *{name}* is saved but not "
        "posted: the programme has no channel. An admin sets one with `[[programme]]` in the "
        "catalogue or with `COP_COMMUNITY_CHANNEL`. The lesson is in `/cop lessons`.",
        "lesson_post_failed": ":warning: The lesson of *{name}* is saved, but I could not post it "
        "in <#{channel}> ({error}). The lesson is in `/cop lessons`.",
        "lesson_question_missing": "That question no longer exists.",
        "lesson_not_answered": "Only an answered question can become a lesson. Answer the "
        "question first.",
        "lesson_already": "This question of *{name}* has already been shared as a lesson.",
        "lesson_post_title": "Lesson from {name}",
        "lesson_post_question": "*Question:* {question}",
        "lesson_post_answer": "*Answer*",
        "lesson_post_by": "Shared by {user} · {programme}",
        "lessons_title": "Lessons",
        "lessons_title_community": "Lessons of {name}",
        "lessons_none": "No lessons have been shared yet.",
        "lessons_none_community": "*{name}* has not shared any lessons yet.",
        "lessons_meta": "*{name}* · {date} · {user}",
        "lessons_page": {
            "one": "Page {page} of {pages} ({count} lesson)",
            "other": "Page {page} of {pages} ({count} lessons)",
        },
        "lessons_next": "Next",
        "lessons_previous": "Previous",
        "lessons_md_title": "Lessons from the Communities of Practice",
        "lessons_md_question": "Question",
        "lessons_md_answer": "Answer",
        "lessons_md_lesson": "Lesson",
        "lessons_md_date": "Shared on {date}",
        "lessons_md_empty": "No lessons have been shared yet.",
    },
}
