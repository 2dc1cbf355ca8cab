"""Message catalogues of the features, one module each, merged into `bot.i18n.MESSAGES`.

Each module defines `MESSAGES = {"nl": {...}, "en": {...}}` with keys no other module uses;
`bot.i18n` refuses a key defined twice, so features cannot overwrite each other's texts.
"""

# A catalogue entry: a text, or its plural forms by CLDR category ({"one": ..., "other": ...}),
# chosen by the `count` field (see bot.i18n.Translator).
Entry = str | dict[str, str]
