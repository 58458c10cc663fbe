"""The signed-in snapshot: what every borrower page reads in its one statement."""

from dataclasses import fields

import pytest
from sqlalchemy.exc import IntegrityError

from portal.access import sessions
from portal.signed_in import AccountSnapshot, LenderSnapshot
from tests.factories import AccountFactory, BorrowerFactory, LenderFactory


def _started(borrower):
    record = sessions.start(borrower, "sign_in")
    sessions.db.session.flush()
    return record


def test_the_snapshot_holds_the_same_figures_as_the_database(db):
    lender = LenderFactory(contact_email="care@example.cn", min_payment_minor=3000)
    borrower = BorrowerFactory(lender=lender, locale="zh_Hant", timezone="Asia/Hong_Kong")
    second = AccountFactory(borrower=borrower, days_past_due=12, reserved_minor=500)
    first = AccountFactory(borrower=borrower, days_past_due=95)
    AccountFactory()  # someone else's loan
    record = _started(borrower)

    signed_in = sessions.load(record.token)

    assert (signed_in.id, signed_in.get_id()) == (record.id, record.token)
    seen = signed_in.borrower
    assert (seen.id, seen.name, seen.locale, seen.timezone) == (borrower.id, borrower.name, "zh_Hant", "Asia/Hong_Kong")
    for field in fields(LenderSnapshot):
        assert getattr(seen.lender, field.name) == getattr(lender, field.name), field.name
    # In account id order, like the relationship, each with every figure of its row.
    expected = sorted([first, second], key=lambda account: account.id)
    assert [account.id for account in seen.accounts] == [account.id for account in expected]
    for shown, stored in zip(seen.accounts, expected, strict=True):
        for field in fields(AccountSnapshot):
            if field.name != "lender":
                assert getattr(shown, field.name) == getattr(stored, field.name), field.name
        assert shown.payable_minor == stored.payable_minor
        assert shown.masked_number == stored.masked_number
        assert shown.lender is seen.lender


def test_a_borrower_without_loans_gets_an_empty_list(db):
    record = _started(BorrowerFactory())
    assert sessions.load(record.token).borrower.accounts == ()


def test_an_ended_or_unknown_session_reads_as_nobody(app, db):
    record = _started(BorrowerFactory())
    with app.test_request_context():
        sessions.end(sessions.load(record.token))
    assert sessions.load(record.token) is None
    assert sessions.load("not-a-token") is None


def test_the_database_refuses_an_account_at_another_lender_than_its_borrowers(db):
    # Pages show the borrower's lender for each account; the schema keeps that true.
    borrower = BorrowerFactory()
    with pytest.raises(IntegrityError):
        AccountFactory(borrower=borrower, lender=LenderFactory())
        db.session.flush()
