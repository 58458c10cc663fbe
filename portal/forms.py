"""The base form: whitespace stripped, WTForms' own messages in the reader's script."""

from __future__ import annotations

import unicodedata
from datetime import date

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import ValidationError
from wtforms.i18n import get_translations as wtforms_translations

# WTForms ships Simplified Chinese as "zh" and Traditional as "zh_TW" only.
_WTFORMS_LOCALE = {"zh_Hans": "zh", "zh_Hant": "zh_TW", "en": "en"}


ASCII_DIGITS = frozenset("0123456789")


def normalise(value):
    """Trim, fold full-width characters that Chinese input methods type (１９８８ → 1988), and
    drop control characters, which no one means to type and no page may echo back."""
    if not isinstance(value, str):
        return value
    folded = unicodedata.normalize("NFKC", value)
    return "".join(ch for ch in folded if unicodedata.category(ch) != "Cc").strip()


class BaseForm(FlaskForm):
    class Meta:
        def bind_field(self, form, unbound_field, options):
            filters = unbound_field.kwargs.get("filters", ())
            return unbound_field.bind(form=form, filters=[normalise, *filters], **options)

        def get_translations(self, form):
            locale = str(get_locale() or "en")
            return wtforms_translations([_WTFORMS_LOCALE.get(locale, "en")])


def parse_birth_date(text: str) -> date:
    """Accept 19880314, 1988-03-14, 1988/03/14 or 1988.03.14."""
    digits = "".join(ch for ch in text if ch in ASCII_DIGITS)
    if len(digits) != 8 or len(digits) != len(text.replace("-", "").replace("/", "").replace(".", "")):
        raise ValueError("not 8 digits")
    parsed = date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    if parsed.year < 1900 or parsed > date.today():
        raise ValueError("out of range")
    return parsed


class BirthDate:
    """Validator that also leaves the parsed date on the field as ``field.date``."""

    message = _l("Enter your date of birth as 8 digits, for example 19880314.")

    def __call__(self, form, field):
        try:
            field.date = parse_birth_date(field.data or "")
        except ValueError as exc:
            raise ValidationError(self.message) from exc


class IdLastFour:
    message = _l("Enter the last 4 characters of your ID number, for example 1234 or 123X.")

    def __call__(self, form, field):
        value = (field.data or "").upper()
        # Letters too: Hong Kong check digits can be A, and other IDs end in letters.
        if len(value) != 4 or not value.isascii() or not value.isalnum():
            raise ValidationError(self.message)
        field.data = value
