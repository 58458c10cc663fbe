"""Which language and time zone a request is served in.

Order of precedence for the language: the choice made with the language switch on this
device (cookie), the language of the reminder link this visit came from (so the page does
not change language at sign-in), the signed-in borrower's profile, the browser's
Accept-Language, then Simplified Chinese.
"""

from __future__ import annotations

from babel import Locale, UnknownLocaleError
from flask import g, request, session

from portal.viewer import signed_in

LOCALES = ("zh_Hans", "zh_Hant", "en")
DEFAULT_LOCALE = "zh_Hans"
DEFAULT_TIMEZONE = "Asia/Shanghai"
LOCALE_COOKIE = "portal_lang"
# What each locale is called in its own language, for the switch.
LOCALE_NAMES = {"zh_Hans": "简体中文", "zh_Hant": "繁體中文", "en": "English"}
# The lang attribute of <html> for each locale.
HTML_LANG = {"zh_Hans": "zh-Hans", "zh_Hant": "zh-Hant", "en": "en"}


def locale_from_tag(tag: str) -> str | None:
    """Map one BCP 47 tag to a supported locale, or None.

    Werkzeug's best_match only compares prefixes and gets Chinese wrong (zh-TW would become
    Simplified), so parse each tag: a Hant script, or a region that writes Traditional
    (TW, HK, MO), means zh_Hant; any other Chinese means zh_Hans.
    """
    tag = tag.strip().replace("_", "-")
    if not tag or tag == "*":
        return None
    try:
        parsed = Locale.parse(tag, sep="-")
    except (UnknownLocaleError, ValueError):
        return None
    if parsed.language == "en":
        return "en"
    if parsed.language == "zh":
        # Locale.parse fills in the likely script: zh-TW -> Hant, zh-CN -> Hans.
        return "zh_Hant" if parsed.script == "Hant" else "zh_Hans"
    return None


def negotiate(accept_language: str | None) -> str | None:
    """The first supported locale in the header, in quality order."""
    if not accept_language:
        return None
    weighted = []
    for position, part in enumerate(accept_language.split(",")):
        tag, _, params = part.partition(";")
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            weighted.append((-quality, position, tag))
    for _, _, tag in sorted(weighted):
        chosen = locale_from_tag(tag)
        if chosen:
            return chosen
    return None


def supported(value: str | None) -> str | None:
    return value if value in LOCALES else None


def select_locale() -> str:
    chosen = g.get("locale")  # decided once per request; pages ask for it dozens of times
    if chosen:
        return chosen
    user = signed_in()
    borrower = user.borrower if user else None
    g.locale = (
        supported(request.cookies.get(LOCALE_COOKIE))
        or supported(session.get("link_locale"))
        or (borrower and supported(borrower.locale))
        or negotiate(request.headers.get("Accept-Language"))
        or DEFAULT_LOCALE
    )
    return g.locale


# Flask-Babel parses what the selector returns into a Locale on every request unless it already
# is one; parsing costs more than the rest of choosing. One object per language, made once.
_BABEL_LOCALES = {code: Locale.parse(code) for code in LOCALES}


def select_babel_locale() -> Locale:
    """Flask-Babel's locale selector: select_locale() as a ready Locale."""
    return _BABEL_LOCALES[select_locale()]


def select_timezone() -> str:
    user = signed_in()
    if user:
        return user.borrower.timezone
    # Before verification, the time zone of the link's borrower (for "locked until 14:30").
    return session.get("link_tz") or DEFAULT_TIMEZONE
