"""Jinja set-up: translations resolved once per request, and locale-aware formatting filters."""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache

from babel import Locale
from babel.dates import format_datetime as babel_format_datetime
from babel.dates import get_timezone_name
from flask import Flask, g
from flask_babel import format_date, format_time, get_locale, get_timezone, get_translations

from portal import i18n
from portal.money import format_money


def _translations():
    # Flask-Babel resolves the locale and catalog on every call (~30 µs each); a page with
    # dozens of strings pays that once here instead.
    translations = g.get("_translations")
    if translations is None:
        translations = g._translations = get_translations()
    return translations


def _gettext(message: str) -> str:
    return _translations().ugettext(message)


def _ngettext(singular: str, plural: str, n: int) -> str:
    return _translations().ungettext(singular, plural, n)


def _pgettext(context: str, message: str) -> str:
    return _translations().upgettext(context, message)


def _npgettext(context: str, singular: str, plural: str, n: int) -> str:
    return _translations().unpgettext(context, singular, plural, n)


def money(minor: int, currency: str) -> str:
    return format_money(minor, currency, get_locale())


def long_date(value: date) -> str:
    return format_date(value, "long")


@lru_cache(maxsize=8)
def _moment_pattern(locale: str) -> str:
    """The locale's long date with a 24-hour time: 2025年3月9日 14:05, March 9, 2025, 14:05."""
    parsed = Locale.parse(locale)
    combined = str(parsed.datetime_formats["medium"])
    return combined.replace("{1}", parsed.date_formats["long"].pattern).replace("{0}", "HH:mm")


def when(value: datetime) -> str:
    """A moment in the viewer's time zone."""
    locale = get_locale()
    return babel_format_datetime(value, _moment_pattern(str(locale)), tzinfo=get_timezone(),
                                 locale=locale)


def clock(value: datetime) -> str:
    """Just the time (14:05) when it is today for the viewer, else the full moment."""
    timezone = get_timezone()
    if value.astimezone(timezone).date() == datetime.now(timezone).date():
        return format_time(value, "HH:mm")
    return when(value)


def zone_name(timezone: str) -> str:
    """中国时间 / 香港時間 / China Time: how a reader names a time zone."""
    return get_timezone_name(timezone, locale=get_locale())


def init_app(app: Flask) -> None:
    app.jinja_env.policies["ext.i18n.trimmed"] = True
    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.install_gettext_callables(
        _gettext, _ngettext, newstyle=True, pgettext=_pgettext, npgettext=_npgettext
    )
    app.jinja_env.filters.update(money=money, long_date=long_date, when=when, clock=clock, zone_name=zone_name)
    app.jinja_env.globals.update(
        current_locale=i18n.select_locale,
        locale_names=i18n.LOCALE_NAMES,
        html_lang=i18n.HTML_LANG,
    )
