from flask_babel import lazy_gettext as _l
from wtforms import StringField, SubmitField

from portal.forms import BaseForm


class AmountForm(BaseForm):
    # "full" or "other": two radio buttons rendered in the template (anything else is "full").
    choice = StringField(default="full")
    amount = StringField(
        _l("Amount"),
        render_kw={"inputmode": "decimal", "autocomplete": "off", "spellcheck": "false"},
    )
    submit = SubmitField(_l("Continue"))


class MethodForm(BaseForm):
    """Alipay or WeChat Pay: a plain POST, no JavaScript."""

    method = StringField()
