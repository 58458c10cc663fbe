"""Shared steps of the borrower's journey, so tests read like what a person does."""

from __future__ import annotations

import re

from sqlalchemy import select

from portal.access.service import create_link
from portal.extensions import db
from portal.models import SmsMessage


def make_link(account, **kwargs) -> str:
    _, code = create_link(account, **kwargs)
    db.session.commit()
    return code


def verify(client, account, *, dob: str = "19900512", last4: str | None = None):
    """Answer the verification questions on the page the link leads to."""
    return client.submit(
        "/verify",
        {
            "date_of_birth": dob,
            "id_last4": last4 or account.borrower.national_id_last4,
        },
    )


def sign_in_through_link(client, account, **kwargs):
    code = make_link(account)
    assert client.get(f"/r/{code}").status_code == 303
    response = verify(client, account, **kwargs)
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    return response


def last_sms_code(*, fresh: bool = False) -> str:
    """The one-time code in the newest text message (the tests' SMS backend keeps them in the
    sms_message table). ``fresh``: for a test whose server commits in another thread, end the
    test's own read first (on SQLite an open read keeps seeing the snapshot it started with)."""
    if fresh:
        db.session.rollback()
    text = db.session.execute(select(SmsMessage.text).order_by(SmsMessage.id.desc()).limit(1)).scalar_one()
    return re.search(r"(?<!\d)(\d{6})(?!\d)", text).group(1)


# One account as the accounts API takes it (the account number is in the address).
API_ACCOUNT = {
    "product": "随心借",
    "borrower_name": "王芳",
    "phone": "13800138001",
    "date_of_birth": "1990-05-12",
    "national_id": "110101199005124527",
    "currency": "CNY",
    "principal": "2000.00",
    "interest": "36.50",
    "penalty_interest": "4.20",
    "fees": "0",
    "overdue_amount": "2040.70",
    "due_date": "2026-11-25",
    "days_past_due": 3,
    "locale": "zh_Hans",
    "timezone": "Asia/Shanghai",
}
