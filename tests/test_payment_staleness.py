"""What the borrower sees when the account changed under an open page, and how often a pending
payment's page asks Stripe. Real localstripe throughout."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.models import Payment
from portal.payments.service import CHECK_INTERVAL
from tests import payment_helpers as pay
from tests.factories import AccountFactory
from tests.helpers import sign_in_through_link
from tests.pages import text_of


@pytest.fixture
def account(db):
    return AccountFactory()  # overdue 2,040.70


@pytest.fixture
def signed_in(client, account):
    sign_in_through_link(client, account)
    return client


def refresh(db, obj):
    db.session.expire_all()
    return db.session.get(type(obj), obj.id)


def lower_figures(db, account, by: int) -> None:
    """The loan core sends lower figures (a reduction, a payment made at a branch)."""
    account = refresh(db, account)
    account.principal_minor -= by
    account.overdue_minor -= by
    db.session.commit()


def intents_at_stripe(server) -> list[dict]:
    return server.get("/v1/payment_intents")["data"]


# ---------------------------------------------------------------------------------------
# A card page left open while the account changed


def test_a_card_page_opened_after_the_figures_fell_asks_to_choose_again(signed_in, account, db, stripe_server):
    signed_in.set_cookie("portal_lang", "en")
    public_id = pay.start(signed_in, account)  # everything: 2,040.70
    lower_figures(db, account, 54070)  # now 1,500.00
    page = signed_in.get(f"/payments/{public_id}")
    text = text_of(page)
    assert "has changed" in text and "CN¥2,040.70" in text and "CN¥1,500.00" in text
    assert "being confirmed" not in text
    # No card form for the old amount, no Stripe on the page: the amount form instead.
    assert page.soup.find(id="card-payment") is None
    assert not [s for s in page.soup.find_all("script") if "stripe" in s.get("src", "")]
    form = page.soup.find("form", action=f"/accounts/{account.id}/pay")
    assert form is not None and "CN¥1,500.00" in form.get_text(" ")
    # Choosing again from there works.
    again = signed_in.submit(f"/payments/{public_id}", {"choice": "full"})
    assert again.status_code == 303
    new_id = again.headers["Location"].rsplit("/", 1)[1]
    assert db.session.execute(select(Payment.amount_minor).where(Payment.public_id == new_id)).scalar_one() == 150000


def test_the_message_is_in_the_borrowers_language(signed_in, account, db, stripe_server):
    public_id = pay.start(signed_in, account)
    lower_figures(db, account, 54070)
    text = text_of(signed_in.get(f"/payments/{public_id}"))
    assert "逾期金额有了变化" in text and "¥1,500.00" in text
    signed_in.set_cookie("portal_lang", "zh_Hant")
    assert "逾期金額有了變動" in text_of(signed_in.get(f"/payments/{public_id}"))


def test_paying_from_a_stale_card_page_says_the_amount_changed_not_that_a_payment_is_pending(
    signed_in, account, db, stripe_server
):
    signed_in.set_cookie("portal_lang", "en")
    stale = pay.start(signed_in, account)  # everything: 2,040.70, page left open
    other_tab = pay.start(signed_in, account, "1000.00")
    assert pay.pay_with(signed_in, other_tab, pay.card(stripe_server.base_url)).status_code == 200

    answer = pay.pay_with(signed_in, stale, pay.card(stripe_server.base_url))
    assert answer.status_code == 409
    assert answer.json["error"] == "amount_changed"
    assert "CN¥1,040.70" in answer.json["message"] and "being confirmed" not in answer.json["message"]
    # pay.js goes where the server says: the payment's page, which explains and offers a new choice.
    page = signed_in.get(answer.json["next"])
    assert "has changed" in text_of(page) and "CN¥1,040.70" in text_of(page)
    assert page.soup.find("form", action=f"/accounts/{account.id}/pay")
    assert len(intents_at_stripe(stripe_server)) == 1  # the stale one never reached Stripe
    assert refresh(db, account).reserved_minor == 0


def test_while_another_payment_is_being_confirmed_the_refusal_says_so(signed_in, account, db, stripe_server):
    signed_in.set_cookie("portal_lang", "en")
    stale = pay.start(signed_in, account, "1500.00")
    pending = pay.start(signed_in, account, "1000.00")
    pay.pay_with(signed_in, pending, pay.card(stripe_server.base_url, pay.THREE_D_SECURE_CARD))
    answer = pay.pay_with(signed_in, stale, pay.card(stripe_server.base_url))
    assert answer.status_code == 409 and answer.json["error"] == "in_flight"
    assert "being confirmed" in text_of(signed_in.get(answer.json["next"]))


def test_when_nothing_is_owed_any_more_the_card_page_says_so(signed_in, account, db, stripe_server):
    signed_in.set_cookie("portal_lang", "en")
    stale = pay.start(signed_in, account)
    lower_figures(db, account, 204070)
    page = signed_in.get(f"/payments/{stale}")
    assert "nothing overdue" in text_of(page) and page.soup.find(id="card-payment") is None


def test_an_unchanged_account_still_gets_the_card_page(signed_in, account, db, stripe_server):
    public_id = pay.start(signed_in, account, "500.00")
    lower_figures(db, account, 100000)  # 1,040.70 still covers 500.00
    assert signed_in.get(f"/payments/{public_id}").soup.find(id="card-payment") is not None


# ---------------------------------------------------------------------------------------
# A pending payment's page asks Stripe at most once per CHECK_INTERVAL


def test_refreshing_a_pending_payment_asks_stripe_at_most_once_per_interval(signed_in, account, db, stripe_server):
    signed_in.set_cookie("portal_lang", "en")
    public_id = pay.start(signed_in, account)
    answer = pay.pay_with(signed_in, public_id, pay.card(stripe_server.base_url, pay.THREE_D_SECURE_CARD))
    first = signed_in.get(f"/payments/{public_id}")  # asks Stripe: still waiting for the bank
    assert "being confirmed" in text_of(first)
    checked = db.session.execute(select(Payment.last_checked_at)).scalar_one()
    assert checked is not None

    # The bank check is completed at Stripe, but the borrower refreshes at once: no new
    # question to Stripe, so the page still says "being confirmed" and offers to check again.
    pay.authenticate(stripe_server.base_url, answer.json["client_secret"], success=True)
    for _ in range(3):
        again = signed_in.get(f"/payments/{public_id}")
        assert "being confirmed" in text_of(again)
        assert again.soup.find("a", href=f"/payments/{public_id}", class_="button")  # "Check again"
    assert db.session.execute(select(Payment.last_checked_at)).scalar_one() == checked
    assert refresh(db, account).overdue_minor == 204070

    pay.later(db, public_id)  # CHECK_INTERVAL later, "Check again" asks Stripe
    receipt = signed_in.get(f"/payments/{public_id}")
    assert receipt.soup.find("dl", class_="receipt")
    assert refresh(db, account).overdue_minor == 0


def test_the_interval_is_a_few_seconds():
    assert 1 <= CHECK_INTERVAL.total_seconds() <= 10
