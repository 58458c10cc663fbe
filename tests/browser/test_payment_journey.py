"""Paying from a phone in real Chromium, through localstripe's Stripe.js stand-in."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from portal.models import Account, Payment
from tests.browser.test_borrower_journey import shot
from tests.conftest import WEBHOOK_SECRET
from tests.factories import AccountFactory
from tests.helpers import make_link

pytestmark = [pytest.mark.browser, pytest.mark.committing]


@pytest.fixture
def webhooks(stripe_server, live_server):
    """localstripe posts real signed webhooks to the live server during this test only.

    Afterwards they go nowhere: a late webhook must not reach the live server while a later
    test runs inside a rolled-back transaction.
    """
    stripe_server.register_webhook(f"{live_server}/stripe/webhook", WEBHOOK_SECRET)
    yield stripe_server
    # localstripe sends each webhook about a second after the event: let this test's land here
    # rather than in the middle of the next test.
    time.sleep(1.5)
    stripe_server.register_webhook("http://127.0.0.1:9/nowhere", WEBHOOK_SECRET)


def signed_in_on_pay_page(phone, live_server, account, locale):
    phone.goto(f"{live_server}/r/{make_link(account, locale=locale)}")
    phone.fill("#date_of_birth", "19900512")
    phone.fill("#id_last4", account.borrower.national_id_last4)
    phone.click("main button[type=submit]")
    phone.wait_for_url(f"{live_server}/dashboard")
    phone.click(f"a[href='/accounts/{account.id}/pay']")


def enter_card(phone, number):
    for placeholder, value in (
        ("number", number),
        ("exp_month", "12"),
        ("exp_year", "34"),
        ("cvc", "123"),
        ("postal_code", "200000"),
    ):
        phone.fill(f"#card-element input[placeholder={placeholder}]", value)
    phone.click("#pay-button")


@pytest.mark.parametrize(
    "locale,texts",
    [
        ("zh_Hans", {"receipt": "还款凭证", "after": "¥1,040.70", "paid": "¥1,000.00"}),
        ("en", {"receipt": "Receipt", "after": "CN¥1,040.70", "paid": "CN¥1,000.00"}),
    ],
)
def test_card_payment_ends_on_a_receipt_with_the_new_balance(phone, live_server, webhooks, db, locale, texts):
    account = AccountFactory()  # overdue 2,040.70
    signed_in_on_pay_page(phone, live_server, account, locale)
    phone.check("#choice-other")
    phone.fill("#amount", "1000")
    shot(phone, f"{locale}-pay-amount")
    phone.click("main button[type=submit]")
    phone.wait_for_selector("#card-element input")
    shot(phone, f"{locale}-pay-card")
    enter_card(phone, "4242424242424242")
    phone.wait_for_selector("dl.receipt")
    receipt = phone.locator("main").inner_text()
    assert texts["receipt"] in receipt and texts["paid"] in receipt and texts["after"] in receipt
    shot(phone, f"{locale}-receipt")
    phone.goto(f"{live_server}/dashboard")
    assert texts["after"] in phone.locator("main").inner_text()
    db.session.rollback()  # a fresh snapshot: the server committed in another thread
    assert db.session.get(Account, account.id).overdue_minor == 104070


def test_three_d_secure_challenge_completed(phone, live_server, webhooks, db):
    account = AccountFactory()
    signed_in_on_pay_page(phone, live_server, account, "zh_Hans")
    phone.click("main button[type=submit]")
    enter_card(phone, "4000002760003184")
    phone.click("text=Complete authentication")
    phone.wait_for_selector("dl.receipt")
    db.session.rollback()  # a fresh snapshot: the server committed in another thread
    assert db.session.get(Account, account.id).overdue_minor == 0


def test_three_d_secure_challenge_failed_takes_no_money(phone, live_server, webhooks, db):
    account = AccountFactory()
    signed_in_on_pay_page(phone, live_server, account, "en")
    phone.click("main button[type=submit]")
    enter_card(phone, "4000002760003184")
    phone.click("text=Fail authentication")
    phone.wait_for_selector("text=No money was taken")
    shot(phone, "en-pay-failed")
    db.session.rollback()  # a fresh snapshot: the server committed in another thread
    assert db.session.get(Account, account.id).overdue_minor == 204070
    assert db.session.execute(select(Payment.status)).scalar_one() == "failed"


def test_declined_card_says_so_and_offers_another_try(phone, live_server, webhooks, db):
    account = AccountFactory()
    signed_in_on_pay_page(phone, live_server, account, "zh_Hans")
    phone.click("main button[type=submit]")
    enter_card(phone, "4000000000000341")
    phone.wait_for_selector(f"main a.button[href='/accounts/{account.id}/pay']")
    assert "拒绝" in phone.locator("main").inner_text()
    db.session.rollback()  # a fresh snapshot: the server committed in another thread
    assert db.session.get(Account, account.id).reserved_minor == 0


def test_a_card_page_left_open_while_the_figures_fell_asks_to_choose_again(phone, live_server, webhooks, db):
    account = AccountFactory()  # overdue 2,040.70
    signed_in_on_pay_page(phone, live_server, account, "zh_Hans")
    phone.click("main button[type=submit]")  # everything overdue
    phone.wait_for_selector("#card-element input")
    # Meanwhile the loan core sends lower figures (a payment made at a branch).
    db.session.rollback()  # a fresh snapshot: the server committed in another thread
    changed = db.session.get(Account, account.id)
    changed.principal_minor -= 54070
    changed.overdue_minor -= 54070
    db.session.commit()
    enter_card(phone, "4242424242424242")
    phone.wait_for_selector("main form[action$='/pay']")
    text = phone.locator("main").inner_text()
    assert "逾期金额有了变化" in text and "¥1,500.00" in text and "确认中" not in text
    shot(phone, "zh_Hans-pay-amount-changed")
    db.session.rollback()  # a fresh snapshot: the server committed in another thread
    assert db.session.get(Account, account.id).reserved_minor == 0
    assert db.session.execute(select(Payment.status)).scalar_one() == "created"  # never sent
