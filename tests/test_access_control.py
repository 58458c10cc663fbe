"""A borrower can only ever see their own data, by any URL."""

from sqlalchemy import select

from portal.models import AuditEvent
from tests.factories import AccountFactory, BorrowerFactory, LenderFactory
from tests.helpers import make_link, sign_in_through_link, verify


def test_dashboard_shows_only_the_signed_in_borrowers_accounts(client, db):
    lender = LenderFactory()
    mine = AccountFactory(borrower=BorrowerFactory(lender=lender, name="王芳"), account_number="MINE0001")
    other = AccountFactory(
        borrower=BorrowerFactory(lender=lender, name="李强"), account_number="THEIRS02", principal_minor=777700
    )
    sign_in_through_link(client, mine)
    text = client.get("/dashboard").soup.get_text(" ")
    assert "0001" in text and "王芳" in text
    assert "李强" not in text and "7,777" not in text and "S02" not in text
    assert other.borrower.name not in text


def test_the_same_person_at_another_lender_is_not_shown(client, db):
    """Borrowers are scoped to a lender: lender A's link never reveals a debt at lender B."""
    a = AccountFactory(borrower__national_id="110101199005124527")
    AccountFactory(borrower__national_id="110101199005124527", principal_minor=999900)
    sign_in_through_link(client, a)
    assert "9,999" not in client.get("/dashboard").soup.get_text()


def test_someone_elses_answers_do_not_open_my_link(client, db):
    lender = LenderFactory()
    mine = AccountFactory(borrower=BorrowerFactory(lender=lender, national_id="110101199005121111"))
    theirs = AccountFactory(borrower=BorrowerFactory(lender=lender, national_id="110101199005122222"))
    client.get(f"/r/{make_link(mine)}")
    # Same birth date (the factory default), the other person's ID digits.
    assert verify(client, mine, last4=theirs.borrower.national_id_last4).status_code == 400
    assert client.get("/dashboard").status_code == 302


def test_pages_with_personal_data_are_not_cached_or_reachable_signed_out(client, db):
    account = AccountFactory()
    assert client.get("/dashboard").status_code == 302
    assert client.get("/coming-soon/rights").status_code == 302
    assert client.get(f"/accounts/{account.id}/plan").status_code == 302
    assert client.get(f"/accounts/{account.id}").status_code == 302
    sign_in_through_link(client, account)
    assert client.get("/dashboard").headers["Cache-Control"] == "no-store"


def test_sign_in_is_audited_with_the_address(client, db):
    sign_in_through_link(client, AccountFactory())
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "borrower.signed_in")).scalar_one()
    assert event.ip == "127.0.0.1" and event.details["method"] == "link"
