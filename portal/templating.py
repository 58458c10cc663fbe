"""Jinja set-up: translations resolved once per request, and locale-aware formatting filters."""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from functools import lru_cache
from urllib.parse import quote

from babel import Locale
from babel.dates import format_date as babel_format_date
from babel.dates import format_datetime as babel_format_datetime
from babel.dates import get_timezone_name
from flask import Flask, g, request
from flask_babel import format_time, get_locale, get_timezone, get_translations
from markupsafe import Markup

from portal import i18n
from portal.money import format_money


def _translations():
    # Flask-Babel resolves the locale and catalog on every call (~30 µs each); a page with
    # dozens of strings pays that once here instead.
    translations = g.get("_translations")
    if translations is None:
        translations = g._translations = get_translations()
    return translations


# Templates call these directly. Jinja's own "newstyle" wrappers do the same work through two
# more context calls per string, a third of the time of a page with sixty strings. Like them,
# the translation is markup (every template is HTML, autoescaped) and always a format string,
# so each variable is escaped and "%%" means "%". A string without variables is the same markup
# every time: made once per language and worker.
def _gettext(message: str, **variables) -> Markup:
    translations = _translations()
    if variables:
        return _markup(translations, message) % variables
    return _constant(translations, message)


def _ngettext(singular: str, plural: str, num: int, **variables) -> Markup:
    variables.setdefault("num", num)
    return Markup(_translations().ungettext(singular, plural, num)) % variables  # noqa: S704 - our catalogs


@lru_cache(maxsize=4096)
def _markup(translations, message: str) -> Markup:
    return Markup(translations.ugettext(message))  # noqa: S704 - our own catalogs


@lru_cache(maxsize=4096)
def _constant(translations, message: str) -> Markup:
    return _markup(translations, message) % {}


def money(minor: int, currency: str) -> str:
    return format_money(minor, currency, get_locale())


def long_date(value: date) -> str:
    return _long_date(value, str(get_locale()))


# Formatting a date or time with Babel costs tens of µs; the same due dates and sync times
# come back on page after page, so each is formatted once per worker.
@lru_cache(maxsize=2048)
def _long_date(value: date, locale: str) -> str:
    return babel_format_date(value, "long", locale=locale)


@lru_cache(maxsize=8)
def _moment_pattern(locale: str) -> str:
    """The locale's long date with a 24-hour time: 2025年3月9日 14:05, March 9, 2025, 14:05."""
    parsed = Locale.parse(locale)
    combined = str(parsed.datetime_formats["medium"])
    return combined.replace("{1}", parsed.date_formats["long"].pattern).replace("{0}", "HH:mm")


def when(value: datetime) -> str:
    """A moment in the viewer's time zone."""
    # Shown to the minute, so the seconds are dropped before the cache sees the value.
    return _when(value.replace(second=0, microsecond=0), get_timezone(), str(get_locale()))


@lru_cache(maxsize=2048)
def _when(minute: datetime, timezone: tzinfo, locale: str) -> str:
    return babel_format_datetime(minute, _moment_pattern(locale), tzinfo=timezone, locale=locale)


def clock(value: datetime) -> str:
    """Just the time (14:05) when it is today for the viewer, else the full moment."""
    timezone = get_timezone()
    if value.astimezone(timezone).date() == datetime.now(timezone).date():
        return format_time(value, "HH:mm")
    return when(value)


def zone_name(timezone: str) -> str:
    """中国时间 / 香港時間 / China Time: how a reader names a time zone."""
    return get_timezone_name(timezone, locale=get_locale())


# RFC 3986 characters that may stand unescaped in a path, and in a query besides "?".
_PATH_SAFE = "/:@!$&'()*+,;=-._~"
_QUERY_SAFE = _PATH_SAFE + "?%"


def current_address() -> str:
    """Where the language switch brings the reader back to: this page, as an escaped URL.

    Werkzeug decodes the path, so echoing request.full_path could write control characters
    from a typed address into the page. After a POST, only the path (a form is not resent).
    """
    path = quote(request.path, safe=_PATH_SAFE)
    query = quote(request.query_string.decode("latin-1"), safe=_QUERY_SAFE)
    return f"{path}?{query}" if query and request.method == "GET" else path


def init_app(app: Flask) -> None:
    app.jinja_env.policies["ext.i18n.trimmed"] = True
    app.jinja_env.add_extension("jinja2.ext.do")
    # Flask-Babel has added Jinja's i18n extension; {% trans %} blocks also call these globals.
    app.jinja_env.newstyle_gettext = True
    app.jinja_env.globals.update(_=_gettext, gettext=_gettext, ngettext=_ngettext)
    app.jinja_env.filters.update(money=money, long_date=long_date, when=when, clock=clock, zone_name=zone_name)
    app.jinja_env.globals.update(
        current_locale=i18n.select_locale,
        current_address=current_address,
        locale_names=i18n.LOCALE_NAMES,
        html_lang=i18n.HTML_LANG,
    )
