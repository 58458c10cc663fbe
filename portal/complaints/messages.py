"""The text message that confirms a complaint was received (in the complainant's language)."""

from __future__ import annotations

from flask import current_app
from flask_babel import force_locale, gettext

from portal.models import Complaint, Lender


def receipt_sms(complaint: Complaint, lender: Lender) -> str:
    status_url = f"{current_app.config['PORTAL_BASE_URL']}/complaint/status"
    with force_locale(complaint.locale):
        return gettext(
            "%(sender)s: we have received your complaint, reference %(reference)s. "
            "You can follow it at %(url)s with this reference.",
            sender=lender.name,
            reference=complaint.reference,
            url=status_url,
        )


def answered_sms(complaint: Complaint, lender: Lender) -> str:
    status_url = f"{current_app.config['PORTAL_BASE_URL']}/complaint/status"
    with force_locale(complaint.locale):
        return gettext(
            "%(sender)s: we have answered your complaint %(reference)s. You can read the answer at %(url)s.",
            sender=lender.name,
            reference=complaint.reference,
            url=status_url,
        )
