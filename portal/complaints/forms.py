"""The complaint form's steps. Each step's values are kept in the draft, valid or not."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime, time

from flask_babel import lazy_gettext as _l
from wtforms import (
    FileField,
    HiddenField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
    ValidationError,
    widgets,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional

from portal.complaints import labels
from portal.complaints.service import DESCRIPTION_LENGTH
from portal.forms import BaseForm
from portal.models import AnswerBy, ComplaintCategory, ComplaintChannel, DesiredOutcome
from portal.otp.forms import CodeForm


def _choices(labels_by_value) -> list[SelectChoice]:
    return [SelectChoice(str(value), label) for value, label in labels_by_value.items()]


class CheckboxesField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class StepForm(BaseForm):
    continue_ = SubmitField(_l("Continue"), name="continue")
    back = SubmitField(_l("Back"))

    # Buttons and the CSRF token are not what the person typed.
    NOT_KEPT = ("continue", "continue_", "website", "back", "csrf_token", "upload", "evidence", "send_code")

    def kept_values(self) -> dict:
        return {name: f.data for name, f in self._fields.items() if name not in self.NOT_KEPT and f.data is not None}


class AboutForm(StepForm):
    """Someone other than the borrower (relative, colleague, contact) says who they are."""

    name = StringField(
        _l("Your name"),
        validators=[InputRequired(_l("Please tell us your name, so we know how to address you.")), Length(max=100)],
        render_kw={"autocomplete": "name"},
    )
    phone = StringField(
        _l("Your mobile number"),
        description=_l("We send a code to this number to confirm the complaint, and its reference number."),
        validators=[InputRequired(_l("Please enter your mobile number, for example 138 0013 8000."))],
        render_kw={"autocomplete": "tel", "inputmode": "tel"},
    )
    relation = SelectField(
        _l("How do you know the borrower?"),
        choices=[],
        validators=[InputRequired(_l("Please choose how you know the borrower."))],
    )
    lender = SelectField(
        _l("Which lender is it about?"),
        description=_l("The company the collector said they were calling for."),
        choices=[],
        validators=[Optional()],
    )
    borrower_name = StringField(
        _l("The borrower's name, if you know it"),
        validators=[Optional(), Length(max=100)],
        render_kw={"autocomplete": "off"},
    )
    account_number = StringField(
        _l("The loan account number, if you know it"),
        validators=[Optional(), Length(max=64)],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    # A field people never see: software that fills every field fills it too.
    website = StringField(
        _l("Leave this empty"), validators=[Optional()], render_kw={"autocomplete": "off", "tabindex": "-1"}
    )

    def __init__(self, *args, lenders=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.relation.choices = [SelectChoice("", _l("Choose one")), *_choices(labels.RELATIONS)]
        self.lender.choices = [SelectChoice(lender.code, lender.name) for lender in lenders]
        if len(self.lender.choices) > 1:
            self.lender.choices.insert(0, SelectChoice("", _l("Choose one")))

    def validate_lender(self, field):
        if len(field.choices) > 1 and not field.data:
            raise ValidationError(_l("Please choose the company the collector was calling for."))

    def validate_website(self, field):
        if field.data:
            raise ValidationError(_l("Please leave this field empty."))

    def validate_phone(self, field):
        if field.data and not labels.phone_parses(field.data):
            raise ValidationError(
                _l("This does not look like a mobile number. Please check it, for example 138 0013 8000.")
            )


class WhatForm(StepForm):
    categories = CheckboxesField(
        _l("What happened?"),
        description=_l("Choose everything that applies."),
        choices=_choices(labels.CATEGORY_LABELS),
        validators=[InputRequired(_l("Please choose at least one thing that happened."))],
    )
    category_other = StringField(
        _l("If you chose “something else”, what was it?"), validators=[Optional(), Length(max=200)]
    )

    def validate_category_other(self, field):
        if ComplaintCategory.OTHER in (self.categories.data or []) and not field.data:
            raise ValidationError(_l("Please say in a few words what else happened."))


class WhenForm(StepForm):
    incident_date = StringField(
        _l("Date it happened"),
        description=_l("For example 2026-11-28. If it happened several times, the most recent time."),
        validators=[InputRequired(_l("Please enter the date, for example 2026-11-28."))],
        render_kw={"type": "date"},
    )
    incident_time = StringField(_l("Time (if you know it)"), validators=[Optional()], render_kw={"type": "time"})
    timezone = SelectField(_l("Your time zone"), choices=[], validators=[InputRequired()])
    channel = RadioField(
        _l("How were you contacted?"),
        choices=_choices(labels.CHANNEL_LABELS),
        validators=[InputRequired(_l("Please choose how you were contacted."))],
    )
    collector_name = StringField(
        _l("Name or staff number of the person (if known)"), validators=[Optional(), Length(max=100)]
    )
    collector_agency = StringField(
        _l("Company or agency they named (if known)"), validators=[Optional(), Length(max=100)]
    )
    caller_number = StringField(
        _l("The number that called or texted (if known)"),
        validators=[Optional(), Length(max=40)],
        render_kw={"inputmode": "tel", "autocomplete": "off"},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.timezone.choices = _choices(labels.TIMEZONE_LABELS)

    def validate_incident_date(self, field):
        try:
            day = date.fromisoformat(field.data.strip())
        except ValueError as exc:
            raise ValidationError(_l("Please enter the date as year-month-day, for example 2026-11-28.")) from exc
        if day > date.today() or day.year < 2000:
            raise ValidationError(_l("Please enter a date that is not in the future."))

    def validate_incident_time(self, field):
        try:
            time.fromisoformat(field.data.strip())
        except ValueError as exc:
            raise ValidationError(_l("Please enter the time as hours and minutes, for example 21:30.")) from exc

    def validate_caller_number(self, field):
        if field.data and not labels.phone_parses(field.data, any_kind=True):
            raise ValidationError(
                _l("This does not look like a phone number. Please check it, or leave it empty if you are not sure.")
            )

    def incident_at(self) -> datetime | None:
        return labels.local_datetime(self.incident_date.data, self.incident_time.data, self.timezone.data)


def as_typed(value):
    """Free text kept as the person wrote it (full-width punctuation, line breaks): only
    line endings are unified and control characters other than line breaks and tabs dropped."""
    if not isinstance(value, str):
        return value
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(ch for ch in value if ch in "\n\t" or unicodedata.category(ch) != "Cc").strip()


class DetailsForm(StepForm):
    class Meta(StepForm.Meta):
        def bind_field(self, form, unbound_field, options):
            if options.get("name") == "description":  # what happened, word for word: not folded
                return unbound_field.bind(form=form, filters=[as_typed], **options)
            return super().bind_field(form, unbound_field, options)

    description = TextAreaField(
        _l("What happened, in your own words"),
        description=_l("What was said or done, and how it affected you. You can write as much as you need."),
        validators=[
            InputRequired(_l("Please describe what happened, even in a few words.")),
            Length(max=DESCRIPTION_LENGTH, message=_l("Please keep the description under %(max)d characters.")),
        ],
        render_kw={"rows": 8},
    )
    evidence = FileField(_l("Add a file (screenshot, recording or PDF)"))
    upload = SubmitField(_l("Add this file"))


class OutcomeForm(StepForm):
    outcomes = CheckboxesField(
        _l("What would you like to happen?"),
        description=_l("Choose everything that applies."),
        choices=_choices(labels.OUTCOME_LABELS),
        validators=[InputRequired(_l("Please choose at least one thing you would like to happen."))],
    )
    desired_other = StringField(_l("If you chose “something else”, what?"), validators=[Optional(), Length(max=200)])
    answer_by = RadioField(
        _l("How should we give you our answer?"),
        description=_l("The answer is always on the status page too."),
        choices=_choices(labels.ANSWER_LABELS),
        default=str(AnswerBy.SMS),
        validators=[InputRequired(_l("Please choose how we should answer you."))],
    )
    email = StringField(
        _l("Email address (if you chose email)"),
        validators=[Optional(), Length(max=200)],
        render_kw={"autocomplete": "email", "inputmode": "email"},
    )

    def validate_desired_other(self, field):
        if DesiredOutcome.OTHER in (self.outcomes.data or []) and not field.data:
            raise ValidationError(_l("Please say in a few words what you would like."))

    def validate_email(self, field):
        if self.answer_by.data == AnswerBy.EMAIL and (
            "@" not in (field.data or "") or "." not in field.data.split("@")[-1]
        ):
            raise ValidationError(_l("Please enter your email address, for example name@example.com."))


class ReviewForm(BaseForm):
    send_code = SubmitField(_l("Send me a code to confirm"))


class ConfirmForm(CodeForm):
    pass


class StatusForm(BaseForm):
    reference = StringField(
        _l("Reference number"),
        description=_l("It starts with C-, for example C-2026-000123. It is in the text message we sent you."),
        validators=[InputRequired(_l("Please enter the reference number, for example C-2026-000123.")), Length(max=30)],
        render_kw={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"},
    )
    send_code = SubmitField(_l("Send me a code"))


class OpenOwnForm(BaseForm):
    reference = HiddenField(validators=[InputRequired()])


class StatusCodeForm(CodeForm):
    pass


__all__ = [
    "AboutForm",
    "ComplaintChannel",
    "ConfirmForm",
    "DetailsForm",
    "OutcomeForm",
    "ReviewForm",
    "StatusCodeForm",
    "StatusForm",
    "WhatForm",
    "WhenForm",
]
