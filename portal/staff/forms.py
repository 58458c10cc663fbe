from flask_babel import lazy_gettext as _l
from wtforms import PasswordField, RadioField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional

from portal.forms import BaseForm
from portal.models import RejectionReason
from portal.plans.messages import REJECTION_LABELS
from portal.staff.service import IDENTIFIED_BY_LABELS, SEARCH_KIND_LABELS


class StaffSignInForm(BaseForm):
    username = StringField(
        _l("Username"),
        validators=[InputRequired(_l("Enter your username.")), Length(max=64)],
        render_kw={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"},
    )
    password = PasswordField(
        _l("Password"),
        validators=[InputRequired(_l("Enter your password.")), Length(max=256)],
        render_kw={"autocomplete": "current-password"},
    )


class CodeForm(BaseForm):
    code = StringField(
        _l("Code"),
        description=_l("The 6 digits your authenticator app shows, or one of your recovery codes"),
        validators=[InputRequired(_l("Enter the code.")), Length(max=32)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric", "spellcheck": "false"},
    )


class SearchForm(BaseForm):
    class Meta:
        csrf = False  # a GET search changes nothing but the audit log

    kind = SelectField(
        _l("Search by"),
        choices=[SelectChoice(str(k), label) for k, label in SEARCH_KIND_LABELS.items()],
        default="account",
    )
    q = StringField(
        _l("Search for"),
        validators=[InputRequired(_l("Enter what to search for.")), Length(max=100)],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )


class AssistForm(BaseForm):
    identified_by = RadioField(
        _l("How was the caller identified?"),
        choices=[SelectChoice(str(k), label) for k, label in IDENTIFIED_BY_LABELS.items()],
        validators=[InputRequired(_l("Record how you identified the caller."))],
    )


class DecisionForm(BaseForm):
    decision = SelectField(
        _l("Decision"),
        choices=[
            SelectChoice("approve", _l("Approve")),
            SelectChoice("reject", _l("Reject")),
            SelectChoice("counter", _l("Counter-offer")),
        ],
    )
    reasons = SelectMultipleField(
        _l("Reasons (when rejecting)"),
        choices=[SelectChoice(str(r), REJECTION_LABELS[r]) for r in RejectionReason],
        validators=[Optional()],
    )
    note = TextAreaField(
        _l("Note or suggestion for the borrower"), validators=[Optional(), Length(max=1000)], render_kw={"rows": 3}
    )
    instalments = StringField(
        _l("Counter-offer: number of payments"),
        validators=[Optional(), Length(max=3)],
        render_kw={"inputmode": "numeric"},
    )
    first_date = StringField(
        _l("Counter-offer: first payment date"),
        description=_l("For example 2026-12-15"),
        validators=[Optional(), Length(max=10)],
    )


class AuditFilterForm(BaseForm):
    class Meta:
        csrf = False  # a GET filter changes nothing but the audit log

    staff = StringField(_l("Staff member (username)"), validators=[Optional(), Length(max=64)])
    borrower = StringField(
        _l("Borrower number"),
        description=_l("The number in the borrower view's address"),
        validators=[Optional(), Length(max=12)],
        render_kw={"inputmode": "numeric"},
    )
    action = StringField(
        _l("Action"), description=_l("For example staff.viewed_borrower"), validators=[Optional(), Length(max=64)]
    )
    date_from = StringField(
        _l("From (date)"), description=_l("For example 2026-12-15"), validators=[Optional(), Length(max=10)]
    )
    date_to = StringField(
        _l("To (date)"), description=_l("For example 2026-12-15"), validators=[Optional(), Length(max=10)]
    )

    def chosen(self):
        """The filter, or None with the fields' errors set."""
        from datetime import date

        from portal.staff.service import AuditFilter

        values: dict = {"staff": self.staff.data or None, "action": self.action.data or None}
        ok = True
        if self.borrower.data:
            if self.borrower.data.isdigit():
                values["borrower_id"] = int(self.borrower.data)
            else:
                self.borrower.errors = [_l("Enter the borrower number in digits.")]
                ok = False
        for field in (self.date_from, self.date_to):
            if field.data:
                try:
                    values[field.name] = date.fromisoformat(field.data)
                except ValueError:
                    field.errors = [_l("Enter a date like 2026-12-15.")]
                    ok = False
        return AuditFilter(**values) if ok else None
