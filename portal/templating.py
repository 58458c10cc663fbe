"""Jinja set-up: templates compiled once per language, translations resolved once per request, and
locale-aware formatting filters."""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from functools import lru_cache
from urllib.parse import quote

from babel import Locale
from babel.dates import format_date as babel_format_date
from babel.dates import format_datetime as babel_format_datetime
from babel.dates import get_timezone_name
from flask import Flask, g, has_app_context, has_request_context, request
from flask.templating import Environment as FlaskEnvironment
from flask_babel import force_locale, format_time, get_locale, get_timezone, get_translations
from jinja2 import BaseLoader
from jinja2.ext import Extension
from jinja2.lexer import TOKEN_DOT, TOKEN_LPAREN, TOKEN_NAME, TOKEN_PIPE, TOKEN_RPAREN, TOKEN_STRING, Token, TokenStream
from markupsafe import Markup

from portal import i18n
from portal.models import AccountStatus, ContactDirection, PaymentStatus, PlanKind, PlanStatus
from portal.money import format_money
from portal.viewer import signed_in


def _translations():
    # Flask-Babel resolves the catalog on every call (~30 µs each); a page with dozens of
    # strings pays that once here instead, for as long as the locale stays the same (code that
    # writes to a borrower in another language uses flask_babel.force_locale).
    locale = get_locale()
    cached = g.get("translations_in_use")
    if cached is None or cached[0] is not locale:
        cached = g.translations_in_use = (locale, get_translations())
    return cached[1]


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


def rendering_locale() -> str:
    """The language a page is written in: the request's, or one that code chose for a reader
    with flask_babel.force_locale (a message in the borrower's own language)."""
    chosen = str(get_locale())
    return chosen if chosen in i18n.LOCALES else i18n.select_locale()


def money(minor: int, currency: str) -> str:
    return format_money(minor, currency, str(get_locale()))


# English readers (Hong Kong, the UK, most of the world) write "9 March 2025"; Babel's "en" is
# American ("March 9, 2025"). Dates and times use British data; the English catalog stays "en".
_DATE_LOCALES = {"en": "en_GB"}


def _date_locale() -> str:
    locale = str(get_locale())
    return _DATE_LOCALES.get(locale, locale)


def long_date(value: date) -> str:
    return _long_date(value, _date_locale())


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
    return _when(value.replace(second=0, microsecond=0), get_timezone(), _date_locale())


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
    return _zone_name(timezone, str(get_locale()))


@lru_cache(maxsize=256)
def _zone_name(timezone: str, locale: str) -> str:
    # Babel works this out from the CLDR data each time (about 0.2 ms); it never changes.
    return get_timezone_name(timezone, locale=locale)


# RFC 3986 characters that may stand unescaped in a path, and in a query besides "?".
_PATH_SAFE = "/:@!$&'()*+,;=-._~"
_QUERY_SAFE = _PATH_SAFE + "?%"


def current_address() -> str:
    """Where the language switch brings the reader back to: this page, as an escaped URL.

    Werkzeug decodes the path, so echoing request.full_path could write control characters
    from a typed address into the page. After a POST, only the path (a form is not resent).
    """
    path = quote(request.path, safe=_PATH_SAFE)
    query = quote(request.query_string, safe=_QUERY_SAFE)
    return f"{path}?{query}" if query and request.method == "GET" else path


# --------------------------------------------------------------------------- templates per language
#
# A page has dozens of fixed strings: {{ _('Your rights') }}. Looking each one up on every view
# costs a call, a catalog lookup and a Markup copy, for a result that only depends on the
# language. So each template is compiled once per language, with those strings already
# translated into the compiled code; only strings with variables are still looked up (and
# formatted) at render time. Templates are named "@zh_Hant/accounts/dashboard.html" inside
# Jinja; the files, and Babel's extraction, know nothing of it.

LOCALE_PREFIX = "@"


def localized_name(name: str, locale: str) -> str:
    return f"{LOCALE_PREFIX}{locale}/{name}"


def _split_name(name: str) -> tuple[str | None, str]:
    if name.startswith(LOCALE_PREFIX):
        locale, _, rest = name[1:].partition("/")
        return locale, rest
    return None, name


class _FileNameLoader(BaseLoader):
    """Flask's loader, reached with the name of the file behind a per-language name."""

    def __init__(self, inner: BaseLoader):
        self.inner = inner

    def get_source(self, environment, template):
        return self.inner.get_source(environment, _split_name(template)[1])

    def list_templates(self):
        return self.inner.list_templates()


class TranslatedConstants(Extension):
    """Jinja extension: in a template compiled for one language, ``_('fixed text')`` becomes the
    translation, as markup, exactly what the call would return at run time.

    It rewrites the token stream (``filter_stream``, Jinja's public extension hook) into the
    literal ``'译文'|safe``, which Jinja's compiler folds into a constant of the compiled
    template. Only calls with one string literal and nothing else are touched; a call with
    variables is still made (and formatted) at render time.
    """

    def filter_stream(self, stream: TokenStream):
        locale = _split_name(stream.name or "")[0]
        if locale not in i18n.LOCALES or not has_app_context():
            yield from stream
            return
        with force_locale(locale):  # Flask-Babel's own catalog for that language, as at run time
            translations = get_translations()
        window: list[Token] = []
        previous: Token | None = None
        for token in stream:
            window.append(token)
            if len(window) < 4:
                continue
            if self._is_constant_call(previous, window):
                name, _, literal, closing = window
                translated = str(_markup(translations, literal.value) % {})
                yield Token(name.lineno, TOKEN_STRING, translated)
                yield Token(closing.lineno, TOKEN_PIPE, "|")
                yield Token(closing.lineno, TOKEN_NAME, "safe")
                previous, window = closing, []
                continue
            previous = window.pop(0)
            yield previous
        yield from window

    @staticmethod
    def _is_constant_call(previous: Token | None, window: list[Token]) -> bool:
        name, opening, literal, closing = window
        return (
            name.type == TOKEN_NAME
            and name.value in ("_", "gettext")
            and (previous is None or previous.type != TOKEN_DOT)  # not foo._('…')
            and opening.type == TOKEN_LPAREN
            and literal.type == TOKEN_STRING
            and closing.type == TOKEN_RPAREN
        )


class LocalizedEnvironment(FlaskEnvironment):
    """Flask's Jinja environment, compiling each template once per language (see above)."""

    def __init__(self, app, **options):
        super().__init__(app, **options)
        assert self.loader is not None  # Flask always gives the environment its dispatching loader
        self.loader = _FileNameLoader(self.loader)

    def get_or_select_template(self, template_name_or_list, parent=None, globals=None):
        # render_template() comes here: pick the current language's compilation.
        if isinstance(template_name_or_list, str) and has_request_context():
            template_name_or_list = localized_name(template_name_or_list, rendering_locale())
        return super().get_or_select_template(template_name_or_list, parent, globals)

    def join_path(self, template: str, parent: str) -> str:
        # {% extends %}, {% import %} and {% include %} stay in the parent's language.
        locale, _ = _split_name(parent)
        return localized_name(template, locale) if locale and not template.startswith(LOCALE_PREFIX) else template


def use_precompiled_translations(app: Flask) -> bool:
    """The speed layer (per-language templates, constants translated at compile time, direct
    gettext) unless PRECOMPILED_TRANSLATIONS is off: then pages are rendered by stock
    Flask-Babel and Jinja, and tests/test_templating.py compares both, byte for byte."""
    return app.config.get("PRECOMPILED_TRANSLATIONS", True)


def init_app(app: Flask) -> None:
    app.jinja_env.policies["ext.i18n.trimmed"] = True
    app.jinja_env.add_extension("jinja2.ext.do")
    if use_precompiled_translations(app):
        app.jinja_env.add_extension(TranslatedConstants)
        # Flask-Babel installed Jinja's i18n extension with new-style gettext; these do the same
        # work without two more context calls per string ({% trans %} blocks call them too).
        app.jinja_env.globals.update(_=_gettext, gettext=_gettext, ngettext=_ngettext)
    app.jinja_env.filters.update(money=money, long_date=long_date, when=when, clock=clock, zone_name=zone_name)
    app.jinja_env.globals.update(
        current_locale=rendering_locale,
        current_address=current_address,
        signed_in=signed_in,
        # The vocabularies, so that templates compare with members, never retyped strings.
        AccountStatus=AccountStatus,
        PaymentStatus=PaymentStatus,
        PlanStatus=PlanStatus,
        PlanKind=PlanKind,
        ContactDirection=ContactDirection,
        locale_names=i18n.LOCALE_NAMES,
        html_lang=i18n.HTML_LANG,
    )
