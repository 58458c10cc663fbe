"""The one-time code field and its two buttons, for every page that confirms with a code.

A feature's confirm form subclasses ``CodeForm`` (adding its own hidden fields if it needs
them) and renders it with ``templates/_macros/otp.html``. "Send a new code" is a separate
submit button: pressing it skips the code's validation (``wants_new_code``).
"""

from __future__ import annotations

from flask_babel import format_datetime, format_time, gettext, ngettext, to_user_timezone
from flask_babel import lazy_gettext as _l
from wtforms import StringField, SubmitField, ValidationError

from portal.forms import BaseForm
from portal.models.types import utcnow
from portal.otp.service import (
    CODE_LENGTH,
    LIFETIME,
    Outcome,
    TooManyCodes,
    VerifyStatus,
    is_well_formed,
    normalise_code,
)

MINUTES = int(LIFETIME.total_seconds() // 60)


class SixDigits:
    message = _l("Enter the %(length)s-digit code from the text message, for example 123456.")

    def __call__(self, form, field):
        field.data = normalise_code(field.data or "")
        if not is_well_formed(field.data):
            raise ValidationError(self.message % {"length": CODE_LENGTH})


class CodeForm(BaseForm):
    code = StringField(
        _l("Code sent by text message"),
        validators=[SixDigits()],
        render_kw={
            "autocomplete": "one-time-code",
            "inputmode": "numeric",
            "maxlength": CODE_LENGTH * 3,  # room for spaces and full-width digits
            "spellcheck": "false",
            "autocapitalize": "off",
        },
    )
    confirm = SubmitField(_l("Confirm"))
    resend = SubmitField(_l("Send a new code"))

    @property
    def wants_new_code(self) -> bool:
        """The person pressed "Send a new code": do not validate the code field."""
        return bool(self.resend.data)

    def code_hint(self, phone_ending: str) -> str:
        return gettext(
            "We sent a %(length)s-digit code to your phone ending %(ending)s. It works for %(minutes)s minutes.",
            length=CODE_LENGTH,
            ending=phone_ending,
            minutes=MINUTES,
        )

    def show_outcome(self, outcome: Outcome) -> bool:
        """Put the message for a failed verification next to the code field; True if it failed."""
        if outcome.ok:
            return False
        self.code.errors = [*self.code.errors, outcome_message(outcome)]
        return True

    def show_too_many(self, error: TooManyCodes) -> None:
        """Put the "too many codes" message by the code field (the time in the reader's zone)."""
        self.code.errors = [*self.code.errors, too_many_message(error)]


def outcome_message(outcome: Outcome) -> str:
    """What the person is told when a code did not work, by outcome; defined once here."""
    match outcome.status:
        case VerifyStatus.WRONG:
            return ngettext(
                "That code is not right. You can try %(num)s more time.",
                "That code is not right. You can try %(num)s more times.",
                outcome.tries_left,
            )
        case VerifyStatus.USED_UP:
            return gettext("That code is not right and cannot be tried again. Send a new code.")
        case VerifyStatus.EXPIRED:
            return gettext(
                "This code no longer works: a code lasts %(minutes)s minutes and only the newest one works. "
                "Send a new code.",
                minutes=MINUTES,
            )
        case VerifyStatus.ALREADY_USED:
            return gettext("This code has already been used. Send a new code if you need one.")
        case _:
            return gettext("We could not find this code. Send a new code.")


def too_many_message(error: TooManyCodes) -> str:
    """When another code may be sent, in the reader's time zone; with the date if not today."""
    same_day = to_user_timezone(error.retry_at).date() == to_user_timezone(utcnow()).date()
    return gettext(
        "You have asked for several codes in a short time. You can ask for a new one after %(time)s.",
        time=format_time(error.retry_at, "short") if same_day else format_datetime(error.retry_at, "short"),
    )
