"""The rights centre's forms: parse and check what a borrower typed, with localised messages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    SelectField,
    SelectMultipleField,
    SubmitField,
    TextAreaField,
    ValidationError,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, StopValidation
from wtforms.widgets import CheckboxInput, ListWidget

from portal.forms import BaseForm
from portal.i18n import LOCALE_NAMES
from portal.models import ContactChannel, DisputeReason, DisputeStatus, DocumentKind, DocumentRequestStatus
from portal.otp.forms import CodeForm
from portal.rights.service import EXPLANATION_MAX

REASON_LABELS = {
    DisputeReason.NOT_MINE: _l("This loan is not mine"),
    DisputeReason.AMOUNT_WRONG: _l("The amount is wrong"),
    DisputeReason.ALREADY_PAID: _l("I have already paid"),
    DisputeReason.IDENTITY_THEFT: _l("Someone borrowed in my name (identity theft)"),
    DisputeReason.OTHER: _l("Something else"),
}
DOCUMENT_LABELS = {
    DocumentKind.CONTRACT: _l("My loan contract"),
    DocumentKind.BALANCE_STATEMENT: _l("A statement of my balance, itemised"),
    DocumentKind.AGENCY_NAME: _l("The name of the collection agency handling my account"),
}
DISPUTE_STATUS_LABELS = {
    DisputeStatus.AWAITING_CODE: _l("Waiting for the code from your text message"),
    DisputeStatus.OPEN: _l("Being checked"),
    DisputeStatus.ANSWERED: _l("Answered"),
}
DOCUMENT_STATUS_LABELS = {
    DocumentRequestStatus.REQUESTED: _l("Requested"),
    DocumentRequestStatus.SENT: _l("Sent to you"),
}
CHANNEL_LABELS = {
    ContactChannel.CALL: _l("Phone calls"),
    ContactChannel.SMS: _l("Text messages"),
    ContactChannel.EMAIL: _l("Email"),
    ContactChannel.LETTER: _l("Letters"),
}


class Choices(SelectMultipleField):
    """Tick boxes; a value that is not offered (a tampered form) gets our own message."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def __init__(self, *args, invalid_message, **kwargs):
        super().__init__(*args, **kwargs)
        self.invalid_message = invalid_message

    def pre_validate(self, form):
        offered = {choice.value for choice in self.choices}
        if any(value not in offered for value in self.data or ()):
            raise StopValidation(self.invalid_message)  # the field's other checks need a valid value


class OneOf(SelectField):
    def __init__(self, *args, invalid_message, **kwargs):
        super().__init__(*args, **kwargs)
        self.invalid_message = invalid_message

    def pre_validate(self, form):
        if self.data not in {choice.value for choice in self.choices}:
            raise StopValidation(self.invalid_message)  # the field's other checks need a valid value


class DisputeForm(BaseForm):
    account = OneOf(_l("Which loan"), invalid_message=_l("Choose one of your loans from the list."))
    reason = OneOf(
        _l("What is wrong"),
        choices=[SelectChoice(str(k), v) for k, v in REASON_LABELS.items()],
        invalid_message=_l("Choose what is wrong from the list."),
    )
    explanation = TextAreaField(
        _l("Tell us what happened"),
        description=_l("In your own words. For example: when you paid, and how."),
        validators=[
            InputRequired(_l("Please tell us in a few words what is wrong.")),
            Length(max=EXPLANATION_MAX, message=_l("Please keep it under %(max)d characters.", max=EXPLANATION_MAX)),
        ],
    )
    submit = SubmitField(_l("Continue"))


class DocumentForm(BaseForm):
    account = OneOf(_l("Which loan"), invalid_message=_l("Choose one of your loans from the list."))
    documents = Choices(
        _l("What would you like"),
        choices=[SelectChoice(str(k), v) for k, v in DOCUMENT_LABELS.items()],
        invalid_message=_l("Choose documents from the list."),
        validators=[InputRequired(_l("Choose at least one document."))],
    )
    submit = SubmitField(_l("Continue"))


class PreferencesForm(BaseForm):
    channels = Choices(
        _l("Ways we may contact you"),
        choices=[SelectChoice(str(k), v) for k, v in CHANNEL_LABELS.items()],
        invalid_message=_l("Choose ways of contact from the list."),
        validators=[InputRequired(_l("Choose at least one way we may contact you."))],
    )
    hours_from = OneOf(_l("From"), invalid_message=_l("Choose a time from the list, for example 09:00."))
    hours_until = OneOf(_l("Until"), invalid_message=_l("Choose a time from the list, for example 20:00."))
    language = OneOf(
        _l("Language"),
        choices=[SelectChoice(k, v) for k, v in LOCALE_NAMES.items()],
        invalid_message=_l("Choose a language from the list."),
    )
    # A tick box always sends "y": whatever else arrives is not echoed back into the page.
    only_me = BooleanField(_l("Contact only me, never my family, colleagues or contacts"), render_kw={"value": "y"})
    stop_contact = BooleanField(_l("Stop contacting me about this debt"), render_kw={"value": "y"})
    submit = SubmitField(_l("Continue"))

    def __init__(self, *args, window: tuple[str, str], stop_granted: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.window = window
        self.stop_granted = stop_granted
        hours = [f"{h:02d}:00" for h in range(24)]
        self.hours_from.choices = [SelectChoice(h, h) for h in hours]
        self.hours_until.choices = [SelectChoice(h, h) for h in hours]

    def validate_hours_from(self, field):
        if not self.window[0] <= field.data < self.window[1]:
            raise ValidationError(
                _l(
                    "Choose a time between %(start)s and %(end)s: the law allows contact only then.",
                    start=self.window[0],
                    end=self.window[1],
                )
            )

    def validate_hours_until(self, field):
        if not self.window[0] < field.data <= self.window[1]:
            raise ValidationError(
                _l(
                    "Choose a time between %(start)s and %(end)s: the law allows contact only then.",
                    start=self.window[0],
                    end=self.window[1],
                )
            )
        if not self.hours_from.errors and field.data <= self.hours_from.data:
            raise ValidationError(_l("The end must be later than the start, for example from 09:00 until 20:00."))

    def validate_stop_contact(self, field):
        if field.data and not self.stop_granted:
            raise ValidationError(
                _l("Stopping all contact is not available for your loan. You can limit how and when.")
            )


class ConfirmForm(CodeForm):
    """The code step. A change carried in hidden fields is checked again with its own form, and
    the code was sent for a digest of exactly those values (portal/rights/service.py)."""
