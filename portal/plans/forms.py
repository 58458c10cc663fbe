from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, StringField, SubmitField, TextAreaField
from wtforms.validators import Length, Optional

from portal.forms import BaseForm
from portal.otp.forms import CodeForm

MONEY_FIELD = {"inputmode": "decimal", "autocomplete": "off", "spellcheck": "false"}
NOTE_LENGTH = 500


class AffordabilityForm(BaseForm):
    income = StringField(_l("Money coming in each month"), render_kw=MONEY_FIELD)
    expenses = StringField(_l("Essential expenses each month"), render_kw=MONEY_FIELD)
    debts = StringField(_l("Other loan repayments each month"), render_kw=MONEY_FIELD)


class ProposalForm(BaseForm):
    # Which offer was picked on the options page ("0", "1", "2"); empty once adjusted.
    option = HiddenField()
    kind = HiddenField()
    income = HiddenField()
    expenses = HiddenField()
    debts = HiddenField()
    instalments = StringField(_l("Number of instalments"), render_kw={"inputmode": "numeric", "autocomplete": "off"})
    frequency = StringField(_l("How often"))
    first_date = StringField(_l("First payment date"), render_kw={"type": "date"})
    amount = StringField(_l("Amount of each instalment (optional)"), render_kw=MONEY_FIELD)
    hardship_reason = StringField(_l("What has made paying difficult?"))
    hardship_note = TextAreaField(
        _l("Anything you would like your lender to know (optional)"),
        validators=[Optional(), Length(max=NOTE_LENGTH)],
    )
    update = SubmitField(_l("Update the schedule"))
    send = SubmitField(_l("Send me a code to confirm"))


class ConfirmForm(CodeForm):
    pass


class WithdrawForm(BaseForm):
    pass
