from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, StringField, SubmitField
from wtforms.validators import InputRequired, Length

from portal.forms import BaseForm, BirthDate, IdLastFour
from portal.i18n import LOCALES


# Factories rather than a shared base class: WTForms orders fields by creation, and the
# sign-in form must ask for the account number first.
def birth_date_field():
    return StringField(
        _l("Date of birth"),
        description=_l("8 digits: year, month, day. For example 19880314"),
        validators=[BirthDate()],
        render_kw={"autocomplete": "bday", "inputmode": "numeric", "maxlength": 10},
    )


def id_last4_field():
    return StringField(
        _l("Last 4 characters of your ID number"),
        description=_l("For example 1234, or 123X. For a Hong Kong identity card A123456(7), enter 4567."),
        validators=[IdLastFour()],
        render_kw={"autocomplete": "off", "maxlength": 4, "autocapitalize": "characters", "spellcheck": "false"},
    )


class VerifyForm(BaseForm):
    date_of_birth = birth_date_field()
    id_last4 = id_last4_field()
    submit = SubmitField(_l("Continue"))


class SignInForm(BaseForm):
    account_number = StringField(
        _l("Loan account number"),
        description=_l("You can find it in your loan contract or in any message from your lender"),
        validators=[
            InputRequired(_l("Enter your loan account number.")),
            Length(max=64, message=_l("Please check your loan account number. It can be at most 64 characters long.")),
        ],
        render_kw={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"},
    )
    date_of_birth = birth_date_field()
    id_last4 = id_last4_field()
    submit = SubmitField(_l("Sign in"))


class LanguageForm(BaseForm):
    # Posted by one of the switch's buttons (name="lang" value="en"): no JavaScript needed.
    lang = StringField()
    next = HiddenField()

    def chosen(self) -> str | None:
        return self.lang.data if self.lang.data in LOCALES else None


class SignOutForm(BaseForm):
    pass
