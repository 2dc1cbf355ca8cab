"""The message catalogue (Dutch first, English too) and date formatting per language."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

from babel.core import Locale
from babel.dates import format_date, format_datetime, format_time
from babel.lists import format_list

from bot.texts import (
    Entry,
    agenda,
    calendar_feed,
    home,
    meeting_form,
    minutes_lessons,
    privacy,
    questions,
    shortcuts,
    visibility,
)

DEFAULT_LANGUAGE = "nl"
# Lists follow the catalogue's British English ("programme"): "a, b and c", no serial comma.
_LIST_LOCALES = {"en": "en_GB"}

MESSAGES: dict[str, dict[str, Entry]] = {
    "nl": {
        # General
        "apology": ":warning: Sorry, er ging iets mis aan onze kant. Er is niets verloren gegaan; "
        "probeer het zo nog eens. Blijft het misgaan, noem dan referentie `{ref}` aan de beheerder.",
        "working": ":hourglass_flowing_sand: Even geduld, ik ben ermee bezig…",
        "slack_slow": ":hourglass: Slack reageert traag; probeer het zo nog eens.",
        "unknown_command": "Dat commando ken ik niet: `{word}`. Typ `/cop hulp` voor alle commando's.",
        "missing_community": "Welke community bedoel je? Bijvoorbeeld: `/cop {command} ethiek`. "
        "Typ `/cop lijst` voor alle communities.",
        "not_found": "Ik ken geen community \u201c{query}\u201d.",
        "not_found_suggest": "Ik ken geen community \u201c{query}\u201d. Bedoel je: {suggestions}?",
        "not_found_hint": "Typ `/cop lijst` voor alle communities.",
        "not_allowed": "Dat mag alleen een kartrekker van deze community of een beheerder.",
        "not_allowed_admin": "Dat mag alleen een beheerder.",
        "text_nul": "In je tekst staat een onzichtbaar teken (NUL) dat ik niet kan bewaren, dus ik heb niets opgeslagen. "
        "Hieronder staat je tekst zonder dat teken: kopieer hem en probeer het nog eens.",
        "text_nul_field": "Hier staat een onzichtbaar teken (NUL) in dat ik niet kan bewaren. Typ de tekst opnieuw "
        "of plak hem eerst in een gewone teksteditor.",
        "text_too_long": "Je tekst is {length} tekens lang; het maximum is {limit} tekens. Maak hem korter "
        "en probeer het nog eens. Dit was je tekst, zodat je niets kwijt bent:",
        "meeting_gone": "Die bijeenkomst bestaat niet (meer).",
        # Help
        "help_title": "CoP bot: Communities of Practice in Slack",
        "help_intro": "Ik help je mee te doen aan Communities of Practice: vakgenoten uit "
        "verschillende gemeenten die samen leren van praktijkvoorbeelden. Wat je kunt typen:",
        "help_list": "`/cop lijst` alle communities, met vrije plekken en de volgende bijeenkomst",
        "help_info": "`/cop info ethiek` starttekst, kartrekkers en bijeenkomsten",
        "help_join": "`/cop aanmelden ethiek` aanmelden (vol? dan kom je op de wachtlijst)",
        "help_leave": "`/cop afmelden ethiek` afmelden",
        "help_members": "`/cop leden ethiek` leden en wachtlijst",
        "help_mine": "`/cop mijn` jouw communities, wachtlijstplekken en aanvragen",
        "help_meetings": "`/cop bijeenkomsten` komende bijeenkomsten van jouw communities, met wie er komt",
        "help_calendar": "`/cop kalender ethiek` de bijeenkomsten als agendabestand in je DM",
        "help_language": "`/cop taal en` switch to English (`/cop taal nl` terug naar Nederlands)",
        "help_admin": "*Voor beheerders:* `/cop kartrekker ethiek @naam` maakt iemand kartrekker; "
        "`/cop audit [community]` toont wie wat wanneer veranderde.",
        "help_facilitator": "*Voor kartrekkers:* `/cop bijeenkomst toevoegen ethiek 30 maart 14:00 online` plant een bijeenkomst; `verplaatsen` en `annuleren` met het nummer uit `/cop bijeenkomsten ethiek`.",
        "help_footer": "Engelse woorden werken ook: `/cop join ethiek`, `/cop leave ethiek`, `/cop list`.",
        # List and info
        "list_title": "Communities of Practice",
        "list_empty": "Er zijn nog geen communities. Een beheerder laadt ze met "
        "`cop-bot catalog load`.",
        "list_more": {
            "one": "En nog {count} community. Typ `/cop info <naam>` voor de details.",
            "other": "En nog {count} communities. Typ `/cop info <naam>` voor de details.",
        },
        "programme_other": "Overige communities",
        "seats_limited": "{members}/{capacity} leden, {free} vrij",
        "seats_full": "{members}/{capacity} leden, vol ({waitlist} op de wachtlijst)",
        "seats_unlimited": {"one": "{count} lid", "other": "{count} leden"},
        "deadline_open": "aanmelden t/m {date}",
        "deadline_closed": "aanmelding gesloten: de laatste dag was {date}",
        "next_meeting": "volgende bijeenkomst: {when}",
        "no_meetings": "nog geen bijeenkomsten gepland",
        "approval_needed": "kartrekker keurt aanmeldingen goed",
        "button_join": "Aanmelden",
        "button_info": "Info",
        "info_facilitators": "*Kartrekkers:* {people}",
        "info_no_facilitators": "*Kartrekkers:* nog niet bekend",
        "info_meetings": "*Bijeenkomsten*",
        "info_channel": "*Kanaal:* <#{channel}>",
        "kind_online": "online",
        "kind_fysiek": "fysiek",
        "kind_werkbezoek": "werkbezoek",
        "meeting_line": "{when} · {kind}{where}",
        # Joining
        "joined": ":tada: Je bent lid van *{name}*. Je krijgt een welkomstbericht met de starttekst "
        "en de bijeenkomsten.",
        "joined_waitlist": {
            "one": ":hourglass: *{name}* is vol ({count} lid). Je staat op de wachtlijst op plek "
            "{position}. Komt er een plek vrij, dan hoor je het van mij.",
            "other": ":hourglass: *{name}* is vol ({count} leden). Je staat op de wachtlijst op "
            "plek {position}. Komt er een plek vrij, dan hoor je het van mij.",
        },
        "joined_pending": ":raised_hand: Je aanmelding voor *{name}* is doorgestuurd naar de "
        "kartrekkers. Je hoort het zodra zij hebben besloten.",
        "joined_pending_nobody": ":raised_hand: Je aanmelding voor *{name}* staat klaar, maar er is "
        "nog geen kartrekker die hem kan goedkeuren. Vraag een beheerder om een kartrekker aan te wijzen.",
        "already_member": "Je bent al lid van *{name}*.",
        "already_waitlist": "Je staat al op de wachtlijst van *{name}*, op plek {position}.",
        "already_pending": "Je aanmelding voor *{name}* wacht nog op een kartrekker.",
        "registration_closed": "Aanmelden voor *{name}* kon tot en met {date}. Wil je toch "
        "meedoen? Neem contact op met de kartrekker.",
        "registration_closed_admin": "Aanmelden voor *{name}* kon tot en met {date}. Wil je toch "
        "meedoen? Neem contact op met {admins} (beheer).",
        "registration_closed_nobody": "Aanmelden voor *{name}* kon tot en met {date}.",
        "welcome": ":wave: Welkom bij *{name}*!",
        "welcome_meetings": "*De bijeenkomsten*",
        "welcome_channel": "Je bent toegevoegd aan <#{channel}>, waar de community overlegt.",
        "welcome_footer": "Afmelden kan altijd met `/cop afmelden {slug}`.",
        "invite_failed": ":warning: Je bent lid van *{name}*, maar ik kon je niet aan het kanaal "
        "toevoegen ({error}). Vraag de kartrekker om je uit te nodigen.",
        # Leaving
        "left": "Je bent afgemeld bij *{name}*.",
        "left_waitlist": "Je staat niet meer op de wachtlijst van *{name}*.",
        "left_pending": "Je aanmelding voor *{name}* is ingetrokken.",
        "not_member": "Je bent geen lid van *{name}* en staat er ook niet op de wachtlijst.",
        "promoted": ":tada: Er is een plek vrijgekomen in *{name}*: je bent nu lid!",
        # Members
        "members_title": "Leden van {name} ({count})",
        "members_none": "Nog geen leden.",
        "waitlist_title": "*Wachtlijst ({count})*",
        "pending_title": "*Wachten op goedkeuring ({count})*",
        "list_cut": "De lijst is te lang voor één bericht: niet iedereen staat erin.",
        # Mine
        "mine_title": "Jouw communities",
        "mine_none": "Je bent nog geen lid van een community. Typ `/cop lijst` om er een te kiezen.",
        "mine_member": "*{name}*: lid · {next}",
        "mine_waitlist": "*{name}*: wachtlijst, plek {position}",
        "mine_pending": "*{name}*: aanmelding wacht op goedkeuring",
        "you_member": ":white_check_mark: Je bent lid.",
        "you_waitlist": ":hourglass: Je staat op de wachtlijst, plek {position}.",
        "you_pending": ":hourglass: Je aanmelding wacht op goedkeuring.",
        # Approval
        "approval_request": ":raised_hand: <@{user}> wil lid worden van *{name}*.",
        "approval_request_detail": "{seats}. Keur je de aanmelding goed?",
        "button_approve": "Goedkeuren",
        "button_decline": "Afwijzen",
        "approval_done_member": ":white_check_mark: <@{by}> heeft <@{user}> toegelaten tot *{name}*.",
        "approval_done_waitlist": ":white_check_mark: <@{by}> heeft <@{user}> goedgekeurd; "
        "*{name}* is vol, dus <@{user}> staat op de wachtlijst (plek {position}).",
        "approval_done_declined": ":x: <@{by}> heeft de aanmelding van <@{user}> voor *{name}* "
        "afgewezen.",
        "approval_already": "Over deze aanmelding voor *{name}* is al besloten.",
        "approval_withdrawn": "{user} heeft de aanmelding voor *{name}* ingetrokken; er valt niets meer te beslissen.",
        "outcome_member": ":tada: Je aanmelding voor *{name}* is goedgekeurd: je bent lid!",
        "outcome_waitlist": ":hourglass: Je aanmelding voor *{name}* is goedgekeurd, maar de "
        "community is vol. Je staat op de wachtlijst op plek {position}.",
        "outcome_declined": "Je aanmelding voor *{name}* is helaas niet goedgekeurd. Vragen? "
        "Neem contact op met de kartrekker.",
        # Facilitators
        "facilitator_usage": "Gebruik: `/cop kartrekker <community> @naam`.",
        "facilitator_added": "<@{user}> is nu kartrekker van *{name}*.",
        "facilitator_already": "<@{user}> is al kartrekker van *{name}*; er is niets veranderd.",
        "facilitator_appointed_dm": ":tada: <@{by}> heeft je kartrekker gemaakt van *{name}*. Je "
        "beslist nu over aanmeldingen, plant bijeenkomsten (`/cop bijeenkomst toevoegen {slug} "
        "30 maart 14:00`) en schrijft verslagen (`/cop verslag {slug}`). Typ `/cop hulp` voor "
        "alle commando's.",
        # Language
        "language_set": "Ik spreek vanaf nu Nederlands met je.",
        "language_usage": "Kies `/cop taal nl` (Nederlands) of `/cop taal en` (English).",
        # Meetings and reminders
        "reminder_title": "Herinnering: {name}",
        "reminder_when": "*{title}* {when}",
        "reminder_in_days": {"one": "over {count} dag", "other": "over {count} dagen"},
        "reminder_tomorrow": "morgen",
        "reminder_in_hours": {"one": "over {count} uur", "other": "over {count} uur"},
        "reminder_in_minutes": {"one": "over {count} minuut", "other": "over {count} minuten"},
        "reminder_agenda": "*Agenda*\n{agenda}",
        "reminder_question": "Kom je?",
        "button_yes": "Ik kom",
        "button_no": "Ik kom niet",
        "reminder_answered_yes": "Je hebt gezegd dat je komt. Kun je toch niet? Zeg het hieronder.",
        "reminder_answered_no": "Je hebt gezegd dat je niet komt. Kun je toch? Zeg het hieronder.",
        "button_yes_chosen": "✓ Ik kom",
        "button_no_chosen": "✓ Ik kom niet",
        "rsvp_state_yes": ":white_check_mark: Je komt ({counts}). Je kunt het nog wijzigen.",
        "rsvp_state_no": ":x: Je komt niet ({counts}). Je kunt het nog wijzigen.",
        "rsvp_yes": ":white_check_mark: Genoteerd: je komt naar de bijeenkomst van *{name}* op {when}. ({counts}.) Je kunt je antwoord altijd wijzigen.",
        "rsvp_no": "Genoteerd: je komt niet naar de bijeenkomst van *{name}* op {when}. ({counts}.) Je kunt je antwoord altijd wijzigen.",
        "meeting_over": "De bijeenkomst van *{name}* is al begonnen of afgelast.",
        "meeting_duplicate": "*{name}* heeft al een bijeenkomst op {when}; ik plan hem geen tweede keer. Typ `/cop bijeenkomsten {slug}` om hem te zien.",
        "meeting_too_far": "Zo ver vooruit plan ik niet: een bijeenkomst kan tot en met {date}. Klopt het jaartal?",
        "meeting_not_found": "*{name}* heeft geen komende bijeenkomst met nummer {number}. Typ `/cop bijeenkomsten {slug}` voor de nummers.",
        "meetings_title": "Komende bijeenkomsten",
        "meetings_none": "Er zijn geen komende bijeenkomsten.",
        "meetings_none_mine": "Je bent nog geen lid van een community met bijeenkomsten. Typ `/cop lijst`.",
        "meetings_line": "*{number}. {name}*: {when} · {kind}{where} · `#{ref}`\n{counts}{mine}",
        "meetings_counts": {
            "one": "{count} komt, {not_coming} niet",
            "other": "{count} komen, {not_coming} niet",
        },
        "meetings_mine_yes": " · jij komt",
        "meetings_mine_no": " · jij komt niet",
        "meeting_usage": "Gebruik:\n`/cop bijeenkomst toevoegen <community> <wanneer> [online|fysiek|werkbezoek] [plaats]`\n`/cop bijeenkomst verplaatsen <community> <nummer of #ref> <wanneer>`\n`/cop bijeenkomst annuleren <community> <nummer of #ref>`\nBijvoorbeeld: `/cop bijeenkomst toevoegen ethiek 30 maart 14:00 online https://meet.example/ethiek`. De nummers en refs staan in `/cop bijeenkomsten <community>`; een nummer is de plaats in de lijst van nu, een ref als `#12` blijft altijd dezelfde bijeenkomst.",
        "meeting_added": ":calendar: Bijeenkomst van *{name}* gepland: {when} · {kind}{where}. Leden krijgen een herinnering vooraf.",
        "meeting_moved": ":calendar: Bijeenkomst van *{name}* verplaatst van {old} naar {new}. De leden hebben bericht gekregen.",
        "meeting_cancelled": ":x: Bijeenkomst van *{name}* op {when} is afgelast. De leden hebben bericht gekregen.",
        "meeting_moved_dm": ":calendar: De bijeenkomst van *{name}* is verplaatst: niet {old}, maar *{new}*.",
        "meeting_cancelled_dm": ":x: De bijeenkomst van *{name}* op {when} gaat niet door.",
        "when_unreadable": "Ik kan \u201c{text}\u201d niet lezen als datum en tijd. Probeer bijvoorbeeld `30 maart 14:00` of `2027-03-30 14:00`.",
        "when_ambiguous": "\u201c{text}\u201d is niet eenduidig. Ik las: {reading}. Schrijf datum en tijd voluit, bijvoorbeeld `30 maart 2027 14:00`.",
        "when_no_time": "In \u201c{text}\u201d mis ik de tijd (ik las de datum {date}). Zet de begintijd erachter, bijvoorbeeld `30 maart 14:00`.",
        "when_past": "\u201c{text}\u201d ligt in het verleden (ik las: {reading}). Kies een moment in de toekomst.",
        "when_past_yearless": "\u201c{text}\u201d ligt in het verleden (ik las: {reading}). Bedoel je volgend jaar? Zet het jaartal erbij, bijvoorbeeld `{example}`.",
        "calendar_comment": "De bijeenkomsten van {name} voor je agenda (Outlook, Google, Apple).",
        "calendar_all": "je communities",
        "calendar_nothing": "Je bent nog geen lid van een community, dus er staat niets in je agenda. "
        "Typ `/cop lijst` voor de communities en meld je aan met `/cop aanmelden <community>`; "
        "`/cop kalender <community>` geeft de bijeenkomsten van een community ook zonder lidmaatschap.",
        # Shared
        "date_time": "{date} om {time}",
        "date_time_range": "{date} van {start} tot {end}",
    },
    "en": {
        "apology": ":warning: Sorry, something went wrong on our side. Nothing was lost; "
        "please try again in a moment. If it keeps failing, give reference `{ref}` to the admin.",
        "working": ":hourglass_flowing_sand: One moment, working on it…",
        "slack_slow": ":hourglass: Slack is responding slowly; please try again in a moment.",
        "unknown_command": "I don't know the command `{word}`. Type `/cop help` for all commands.",
        "missing_community": "Which community do you mean? For example: `/cop {command} ethiek`. "
        "Type `/cop list` for all communities.",
        "not_found": "I don't know a community \u201c{query}\u201d.",
        "not_found_suggest": "I don't know a community \u201c{query}\u201d. Did you mean: "
        "{suggestions}?",
        "not_found_hint": "Type `/cop list` for all communities.",
        "not_allowed": "Only a facilitator of this community or an admin may do that.",
        "not_allowed_admin": "Only an admin may do that.",
        "text_nul": "Your text holds an invisible character (NUL) that I cannot store, so I saved nothing. "
        "Here is your text without it: copy it and try again.",
        "text_nul_field": "This holds an invisible character (NUL) that I cannot store. Type the text again, "
        "or paste it into a plain text editor first.",
        "text_too_long": "Your text is {length} characters long; the limit is {limit} characters. "
        "Please shorten it and try again. Here is your text, so nothing is lost:",
        "meeting_gone": "That meeting does not exist (any more).",
        "help_title": "CoP bot: Communities of Practice in Slack",
        "help_intro": "I help you take part in Communities of Practice: professionals from "
        "different municipalities learning together from real cases. What you can type:",
        "help_list": "`/cop list` all communities, with free seats and the next meeting",
        "help_info": "`/cop info ethiek` start text, facilitators and meetings",
        "help_join": "`/cop join ethiek` join (full? then you go on the waitlist)",
        "help_leave": "`/cop leave ethiek` leave",
        "help_members": "`/cop members ethiek` members and waitlist",
        "help_mine": "`/cop mine` your communities, waitlist places and requests",
        "help_meetings": "`/cop meetings` upcoming meetings of your communities, with who comes",
        "help_calendar": "`/cop calendar ethiek` the meetings as a calendar file in your DM",
        "help_language": "`/cop language nl` schakel naar Nederlands (`/cop language en` back to English)",
        "help_admin": "*For admins:* `/cop facilitator ethiek @name` makes someone a facilitator; "
        "`/cop audit [community]` shows who changed what, when.",
        "help_facilitator": "*For facilitators:* `/cop meeting add ethiek 30 March 14:00 online` plans a meeting; `move` and `cancel` with the number from `/cop meetings ethiek`.",
        "help_footer": "Dutch words work too: `/cop aanmelden ethiek`, `/cop afmelden ethiek`, "
        "`/cop lijst`.",
        "list_title": "Communities of Practice",
        "list_empty": "There are no communities yet. An admin loads them with "
        "`cop-bot catalog load`.",
        "list_more": {
            "one": "And {count} more community. Type `/cop info <name>` for details.",
            "other": "And {count} more communities. Type `/cop info <name>` for details.",
        },
        "programme_other": "Other communities",
        "seats_limited": "{members}/{capacity} members, {free} free",
        "seats_full": "{members}/{capacity} members, full ({waitlist} on the waitlist)",
        "seats_unlimited": {"one": "{count} member", "other": "{count} members"},
        "deadline_open": "join until {date}",
        "deadline_closed": "registration closed: the last day was {date}",
        "next_meeting": "next meeting: {when}",
        "no_meetings": "no meetings planned yet",
        "approval_needed": "a facilitator approves each join",
        "button_join": "Join",
        "button_info": "Info",
        "info_facilitators": "*Facilitators:* {people}",
        "info_no_facilitators": "*Facilitators:* not known yet",
        "info_meetings": "*Meetings*",
        "info_channel": "*Channel:* <#{channel}>",
        "kind_online": "online",
        "kind_fysiek": "in person",
        "kind_werkbezoek": "site visit",
        "meeting_line": "{when} · {kind}{where}",
        "joined": ":tada: You are a member of *{name}*. A welcome message with the start text and "
        "the meetings is on its way.",
        "joined_waitlist": {
            "one": ":hourglass: *{name}* is full ({count} member). You are on the waitlist at "
            "place {position}. I'll tell you when a seat opens up.",
            "other": ":hourglass: *{name}* is full ({count} members). You are on the waitlist at "
            "place {position}. I'll tell you when a seat opens up.",
        },
        "joined_pending": ":raised_hand: Your request to join *{name}* went to the facilitators. "
        "You'll hear as soon as they decide.",
        "joined_pending_nobody": ":raised_hand: Your request to join *{name}* is waiting, but there "
        "is no facilitator to approve it yet. Ask an admin to appoint one.",
        "already_member": "You are already a member of *{name}*.",
        "already_waitlist": "You are already on the waitlist of *{name}*, at place {position}.",
        "already_pending": "Your request to join *{name}* is still waiting for a facilitator.",
        "registration_closed": "Registration for *{name}* was open until {date}. Still want to "
        "take part? Contact the facilitator.",
        "registration_closed_admin": "Registration for *{name}* was open until {date}. Still want "
        "to take part? Contact {admins} (admin).",
        "registration_closed_nobody": "Registration for *{name}* was open until {date}.",
        "welcome": ":wave: Welcome to *{name}*!",
        "welcome_meetings": "*The meetings*",
        "welcome_channel": "You were added to <#{channel}>, where the community talks.",
        "welcome_footer": "You can leave any time with `/cop leave {slug}`.",
        "invite_failed": ":warning: You are a member of *{name}*, but I could not add you to its "
        "channel ({error}). Ask the facilitator to invite you.",
        "left": "You left *{name}*.",
        "left_waitlist": "You are no longer on the waitlist of *{name}*.",
        "left_pending": "Your request to join *{name}* was withdrawn.",
        "not_member": "You are not a member of *{name}* nor on its waitlist.",
        "promoted": ":tada: A seat opened up in *{name}*: you are now a member!",
        "members_title": "Members of {name} ({count})",
        "members_none": "No members yet.",
        "waitlist_title": "*Waitlist ({count})*",
        "pending_title": "*Waiting for approval ({count})*",
        "list_cut": "The list is too long for one message: not everyone is in it.",
        "mine_title": "Your communities",
        "mine_none": "You are not in any community yet. Type `/cop list` to pick one.",
        "mine_member": "*{name}*: member · {next}",
        "mine_waitlist": "*{name}*: waitlist, place {position}",
        "mine_pending": "*{name}*: request waiting for approval",
        "you_member": ":white_check_mark: You are a member.",
        "you_waitlist": ":hourglass: You are on the waitlist, place {position}.",
        "you_pending": ":hourglass: Your request to join is waiting for approval.",
        "approval_request": ":raised_hand: <@{user}> wants to join *{name}*.",
        "approval_request_detail": "{seats}. Do you approve?",
        "button_approve": "Approve",
        "button_decline": "Decline",
        "approval_done_member": ":white_check_mark: <@{by}> let <@{user}> into *{name}*.",
        "approval_done_waitlist": ":white_check_mark: <@{by}> approved <@{user}>; *{name}* is "
        "full, so <@{user}> is on the waitlist (place {position}).",
        "approval_done_declined": ":x: <@{by}> declined <@{user}>'s request to join *{name}*.",
        "approval_already": "This request to join *{name}* was already decided.",
        "approval_withdrawn": "{user} withdrew the request to join *{name}*; there is nothing left to decide.",
        "outcome_member": ":tada: Your request to join *{name}* was approved: you are a member!",
        "outcome_waitlist": ":hourglass: Your request to join *{name}* was approved, but the "
        "community is full. You are on the waitlist at place {position}.",
        "outcome_declined": "Your request to join *{name}* was not approved. Questions? Contact "
        "the facilitator.",
        "facilitator_usage": "Usage: `/cop facilitator <community> @name`.",
        "facilitator_added": "<@{user}> is now a facilitator of *{name}*.",
        "facilitator_already": "<@{user}> is a facilitator of *{name}* already; nothing changed.",
        "facilitator_appointed_dm": ":tada: <@{by}> made you a facilitator of *{name}*. You now "
        "decide on join requests, plan meetings (`/cop meeting add {slug} 30 March 14:00`) and "
        "write the minutes (`/cop minutes {slug}`). Type `/cop help` for every command.",
        "language_set": "I'll speak English with you from now on.",
        "language_usage": "Choose `/cop language en` (English) or `/cop language nl` (Nederlands).",
        "reminder_title": "Reminder: {name}",
        "reminder_when": "*{title}* {when}",
        "reminder_in_days": {"one": "in {count} day", "other": "in {count} days"},
        "reminder_tomorrow": "tomorrow",
        "reminder_in_hours": {"one": "in {count} hour", "other": "in {count} hours"},
        "reminder_in_minutes": {"one": "in {count} minute", "other": "in {count} minutes"},
        "reminder_agenda": "*Agenda*\n{agenda}",
        "reminder_question": "Will you come?",
        "button_yes": "I'll come",
        "button_no": "I can't come",
        "reminder_answered_yes": "You said you are coming. Can't you after all? Say so below.",
        "reminder_answered_no": "You said you are not coming. Can you after all? Say so below.",
        "button_yes_chosen": "✓ I'll come",
        "button_no_chosen": "✓ I can't come",
        "rsvp_state_yes": ":white_check_mark: You are coming ({counts}). You can still change it.",
        "rsvp_state_no": ":x: You are not coming ({counts}). You can still change it.",
        "rsvp_yes": ":white_check_mark: Noted: you come to the *{name}* meeting on {when}. ({counts}.) You can change your answer any time.",
        "rsvp_no": "Noted: you won't come to the *{name}* meeting on {when}. ({counts}.) You can change your answer any time.",
        "meeting_over": "The *{name}* meeting has begun already or was cancelled.",
        "meeting_duplicate": "*{name}* already has a meeting on {when}; I won't plan it twice. Type `/cop meetings {slug}` to see it.",
        "meeting_too_far": "That is further ahead than I plan: a meeting can be on {date} at the latest. Is the year right?",
        "meeting_not_found": "*{name}* has no upcoming meeting number {number}. Type `/cop meetings {slug}` for the numbers.",
        "meetings_title": "Upcoming meetings",
        "meetings_none": "There are no upcoming meetings.",
        "meetings_none_mine": "You are not in a community with meetings yet. Type `/cop list`.",
        "meetings_line": "*{number}. {name}*: {when} · {kind}{where} · `#{ref}`\n{counts}{mine}",
        "meetings_counts": "{count} coming, {not_coming} not",
        "meetings_mine_yes": " · you come",
        "meetings_mine_no": " · you don't come",
        "meeting_usage": "Usage:\n`/cop meeting add <community> <when> [online|fysiek|werkbezoek] [place]`\n`/cop meeting move <community> <number or #ref> <when>`\n`/cop meeting cancel <community> <number or #ref>`\nFor example: `/cop meeting add ethiek 30 March 14:00 online https://meet.example/ethiek`. The numbers and refs are in `/cop meetings <community>`; a number is the place in today's list, a ref such as `#12` is always the same meeting.",
        "meeting_added": ":calendar: *{name}* meeting planned: {when} · {kind}{where}. Members get reminders before it.",
        "meeting_moved": ":calendar: *{name}* meeting moved from {old} to {new}. The members were told.",
        "meeting_cancelled": ":x: *{name}* meeting on {when} is cancelled. The members were told.",
        "meeting_moved_dm": ":calendar: The *{name}* meeting has moved: not {old}, but *{new}*.",
        "meeting_cancelled_dm": ":x: The *{name}* meeting on {when} is cancelled.",
        "when_unreadable": "I can't read \u201c{text}\u201d as a date and time. Try e.g. `30 March 14:00` or `2027-03-30 14:00`.",
        "when_ambiguous": "\u201c{text}\u201d is ambiguous. I read: {reading}. Write the date and time in full, e.g. `30 March 2027 14:00`.",
        "when_no_time": "\u201c{text}\u201d has no time (I read the date {date}). Add the start time, e.g. `30 March 14:00`.",
        "when_past": "\u201c{text}\u201d is in the past (I read: {reading}). Pick a moment in the future.",
        "when_past_yearless": "\u201c{text}\u201d is in the past (I read: {reading}). Do you mean next year? Add the year, e.g. `{example}`.",
        "calendar_comment": "The meetings of {name} for your calendar (Outlook, Google, Apple).",
        "calendar_all": "your communities",
        "calendar_nothing": "You are not a member of any community yet, so there is nothing for your "
        "calendar. Type `/cop list` for the communities and join with `/cop join <community>`; "
        "`/cop calendar <community>` gives a community's meetings without being a member too.",
        "date_time": "{date} at {time}",
        "date_time_range": "{date} from {start} to {end}",
    },
}


def _merge(*catalogues: Mapping[str, Mapping[str, Entry]]) -> None:
    """Add the features' catalogues to MESSAGES; a key defined twice is a bug."""
    for catalogue in catalogues:
        for language, entries in catalogue.items():
            twice = MESSAGES[language].keys() & entries.keys()
            if twice:
                raise ValueError(f"message keys defined twice: {sorted(twice)}")
            MESSAGES[language].update(entries)


_merge(
    agenda.MESSAGES,
    questions.MESSAGES,
    minutes_lessons.MESSAGES,
    meeting_form.MESSAGES,
    calendar_feed.MESSAGES,
    visibility.MESSAGES,
    privacy.MESSAGES,
    home.MESSAGES,
    shortcuts.MESSAGES,
)


class Translator:
    """Messages and dates in one language, in one time zone."""

    def __init__(self, language: str, tz: ZoneInfo) -> None:
        self.language = language if language in MESSAGES else DEFAULT_LANGUAGE
        self.tz = tz
        self._plural_form = Locale(self.language).plural_form
        self._list_locale = _LIST_LOCALES.get(self.language, self.language)

    def __call__(self, key: str, **fields: Any) -> str:
        """The text of `key` with `fields` filled in. An entry with plural forms
        ({"one": ..., "other": ...}) picks the form for `count` by the language's CLDR
        plural rules: Dutch and English say "1 lid", "0 leden", "2 leden"."""
        entry = MESSAGES[self.language].get(key) or MESSAGES[DEFAULT_LANGUAGE][key]
        if isinstance(entry, str):
            return entry.format(**fields)
        form = self._plural_form(fields["count"])
        return entry.get(form, entry["other"]).format(**fields)

    def date(self, value: dt.date) -> str:
        """'maandag 30 maart 2027' / 'Monday 30 March 2027'."""
        return format_date(value, "EEEE d MMMM y", locale=self.language)

    def datetime(self, value: dt.datetime) -> str:
        """'maandag 30 maart 2027 om 14:00' in the configured time zone."""
        local = value.astimezone(self.tz)
        return self(
            "date_time",
            date=self.date(local.date()),
            time=format_time(local, "HH:mm", locale=self.language),
        )

    def short_datetime(self, value: dt.datetime) -> str:
        """'di 30 mrt 2027 14:00': for lists where space is tight."""
        return format_datetime(value.astimezone(self.tz), "EEE d MMM y HH:mm", locale=self.language)

    def and_list(self, items: Iterable[str]) -> str:
        """'a, b en c' / 'a, b and c': all of them."""
        return format_list(list(items), style="standard", locale=self._list_locale)

    def or_list(self, items: Iterable[str]) -> str:
        """'a, b of c' / 'a, b or c': one of them (alternatives, suggestions)."""
        return format_list(list(items), style="or", locale=self._list_locale)
