"""Texts of: The meeting form (modal with date and time pickers), and time ranges."""

from bot.texts import Entry

MESSAGES: dict[str, dict[str, Entry]] = {
    "nl": {
        "meeting_form_help_facilitator": "De knop *Bijeenkomst plannen* in `/cop info ethiek` en "
        "`/cop bijeenkomsten ethiek` opent een formulier met datum- en tijdkiezers; *Verplaatsen* "
        "bij een bijeenkomst opent het ingevuld. Met een eindtijd: "
        "`/cop bijeenkomst toevoegen ethiek 30 maart 14:00-16:00 fysiek Stadhuis`.",
        "meeting_form_button_plan": "Bijeenkomst plannen",
        "meeting_form_button_plan_for": "Bijeenkomst plannen: {name}",
        "meeting_form_button_move": "Verplaatsen",
        "meeting_form_title_plan": "Bijeenkomst plannen",
        "meeting_form_title_move": "Bijeenkomst verplaatsen",
        "meeting_form_submit": "Opslaan",
        "meeting_form_close": "Annuleren",
        "meeting_form_intro_plan": "*{name}*: een nieuwe bijeenkomst. Tijden zijn in {tz}. "
        "De leden krijgen vooraf een herinnering.",
        "meeting_form_intro_move": "*{name}*: de bijeenkomst van {when} verplaatsen. Tijden zijn "
        "in {tz}. De leden krijgen bericht met de oude en de nieuwe tijd.",
        "meeting_form_date": "Datum",
        "meeting_form_start": "Begintijd",
        "meeting_form_end": "Eindtijd",
        "meeting_form_end_hint": "Leeg: de bijeenkomst duurt {count} uur.",
        "meeting_form_kind": "Soort bijeenkomst",
        "meeting_form_location": "Adres of videolink",
        "meeting_form_location_hint": "Waar het is, of de link naar de videovergadering "
        "(hoogstens {limit} tekens).",
        "meeting_form_title": "Titel",
        "meeting_form_missing": "Vul dit in.",
        "meeting_form_past_date": "Deze datum ligt in het verleden. Kies vandaag of later.",
        "meeting_form_past_time": "Dit tijdstip is vandaag al voorbij. Kies een later tijdstip.",
        "meeting_form_end_not_after": "De eindtijd moet na de begintijd ({start}) liggen, op "
        "dezelfde dag.",
        "meeting_form_time_skipped": "Dit tijdstip bestaat niet op {date}: die nacht gaat de klok "
        "een uur vooruit. Kies een ander tijdstip.",
        "meeting_form_bad_kind": "Kies online, fysiek of werkbezoek.",
        "meeting_form_too_long": "Hoogstens {limit} tekens; dit zijn er {count}.",
        "meeting_form_gone": "Deze bijeenkomst van {name} is voorbij, afgelast of niet meer te "
        "vinden. Typ `/cop bijeenkomsten {slug}` voor de actuele lijst.",
        "meeting_form_duplicate": "{name} heeft al een bijeenkomst op {when}. Kies een ander "
        "moment, of typ `/cop bijeenkomsten {slug}` om hem te zien.",
        "meeting_form_end_before_start": "\u201c{text}\u201d: de eindtijd {end} ligt niet na het "
        "begin ({reading}). Een bijeenkomst eindigt op dezelfde dag na het begin, bijvoorbeeld "
        "`30 maart 14:00-16:00`.",
    },
    "en": {
        "meeting_form_help_facilitator": "The *Plan a meeting* button in `/cop info ethiek` and "
        "`/cop meetings ethiek` opens a form with date and time pickers; *Move* next to a meeting "
        "opens it filled in. With an end time: "
        "`/cop meeting add ethiek 30 March 14:00-16:00 fysiek Town hall`.",
        "meeting_form_button_plan": "Plan a meeting",
        "meeting_form_button_plan_for": "Plan a meeting: {name}",
        "meeting_form_button_move": "Move",
        "meeting_form_title_plan": "Plan a meeting",
        "meeting_form_title_move": "Move a meeting",
        "meeting_form_submit": "Save",
        "meeting_form_close": "Cancel",
        "meeting_form_intro_plan": "*{name}*: a new meeting. Times are in {tz}. Members get a "
        "reminder before it.",
        "meeting_form_intro_move": "*{name}*: move the meeting of {when}. Times are in {tz}. "
        "Members are told the old and the new time.",
        "meeting_form_date": "Date",
        "meeting_form_start": "Start time",
        "meeting_form_end": "End time",
        "meeting_form_end_hint": {
            "one": "Empty: the meeting lasts {count} hour.",
            "other": "Empty: the meeting lasts {count} hours.",
        },
        "meeting_form_kind": "Kind of meeting",
        "meeting_form_location": "Address or video link",
        "meeting_form_location_hint": "Where it is, or the link to the video call (at most "
        "{limit} characters).",
        "meeting_form_title": "Title",
        "meeting_form_missing": "Please fill this in.",
        "meeting_form_past_date": "This date is in the past. Pick today or later.",
        "meeting_form_past_time": "This time has already passed today. Pick a later time.",
        "meeting_form_end_not_after": "The end time must be after the start time ({start}), on "
        "the same day.",
        "meeting_form_time_skipped": "This time does not exist on {date}: the clocks go forward "
        "an hour that night. Pick another time.",
        "meeting_form_bad_kind": "Pick online, fysiek (in person) or werkbezoek (site visit).",
        "meeting_form_too_long": "At most {limit} characters; this is {count}.",
        "meeting_form_gone": "This meeting of {name} is over, cancelled or no longer there. Type "
        "`/cop meetings {slug}` for the current list.",
        "meeting_form_duplicate": "{name} already has a meeting on {when}. Pick another "
        "moment, or type `/cop meetings {slug}` to see it.",
        "meeting_form_end_before_start": "\u201c{text}\u201d: the end time {end} is not after the "
        "start ({reading}). A meeting ends on the same day after it starts, e.g. "
        "`30 March 14:00-16:00`.",
    },
}
