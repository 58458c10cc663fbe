"""Paying by card through the real Stripe SDK and localstripe: amounts, outcomes, receipts."""

from __future__ import annotations

import random
import re
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from portal.models import Account, AuditEvent, Payment
from tests import payment_helpers as pay
from tests.factories import AccountFactory, BorrowerFactory, LenderFactory
from tests.helpers import sign_in_through_link
from tests.pages import text_of
from tests.quality import world


@pytest.fixture
def account(db):
    # Overdue 2,040.70 = principal 2,000.00 + interest 36.50 + penalty 4.20 + fees 0.
    return AccountFactory()


@pytest.fixture
def signed_in(client, account):
    sign_in_through_link(client, account)
    return client


def payments(db):
    return db.session.execute(select(Payment)).scalars().all()


def intents_at_stripe(server) -> list[dict]:
    return server.get("/v1/payment_intents")["data"]


def refresh(db, obj):
    db.session.expire_all()
    return db.session.get(type(obj), obj.id)


def test_the_amount_page_offers_the_whole_overdue_amount_and_explains_the_limits(signed_in, account):
    page = signed_in.get(f"/accounts/{account.id}/pay")
    text = text_of(page)
    assert "¥2,040.70" in text
    # Minimum: the lower of 1% of the overdue amount (20.41) and 50.00.
    assert "¥20.41" in text
    assert page.soup.find("input", id="amount")["inputmode"] == "decimal"


def test_choosing_the_full_amount_shows_what_it_covers_before_paying(signed_in, account, stripe_server):
    public_id = pay.start(signed_in, account)
    page = signed_in.get(f"/payments/{public_id}")
    covers = page.soup.find(id="covers").find_parent("section").get_text(" ")
    assert "¥2,000.00" in covers and "¥36.50" in covers and "¥4.20" in covers
    assert "¥0.00" in covers  # overdue after
    csp = page.headers["Content-Security-Policy"]
    assert stripe_server.base_url in csp and "connect-src 'self'" in csp
    scripts = [s["src"] for s in page.soup.find_all("script")]
    assert scripts == [f"{stripe_server.base_url}/js.stripe.com/v3/", "/static/js/pay.js"]
    assert intents_at_stripe(stripe_server) == []  # nothing sent yet


def test_a_partial_amount_pays_fees_and_interest_before_principal(signed_in, db):
    account = AccountFactory(borrower=sign_in_borrower(signed_in, db), fees_minor=1000)
    public_id = pay.start(signed_in, account, "100.00")
    covers = signed_in.get(f"/payments/{public_id}").soup.find(id="covers").find_parent("section")
    text = covers.get_text(" ")
    # fees 10.00, penalty 4.20, interest 36.50, then principal 49.30
    for amount in ("¥10.00", "¥4.20", "¥36.50", "¥49.30"):
        assert amount in text


def sign_in_borrower(client, db):
    """The borrower the client is signed in as."""
    from portal.models import BorrowerSession

    return db.session.execute(select(BorrowerSession)).scalars().first().borrower


@pytest.mark.parametrize(
    "typed,message",
    [
        ("10.00", "¥20.41"),  # below the minimum
        ("2040.71", "¥2,040.70"),  # more than is owed
        ("0", "zero"),
        ("-5", "zero"),
        ("abc", "numbers only"),
        ("12.345", "2 decimal places"),
        ("99999999999999999999", "¥2,040.70"),
        ("", "for example 500.00"),
    ],
)
def test_bad_amounts_get_a_message_and_nothing_reaches_stripe(signed_in, account, db, stripe_server, typed, message):
    signed_in.set_cookie("portal_lang", "en")
    response = pay.choose(signed_in, account, typed)
    assert response.status_code == 400
    error = response.soup.find(id="amount-error").get_text()
    assert message.replace("¥", "CN¥") in error
    assert response.soup.find(id="amount")["value"] == typed  # what they typed stays
    assert payments(db) == []
    assert intents_at_stripe(stripe_server) == []


def test_amount_messages_are_translated(signed_in, account):
    response = pay.choose(signed_in, account, "abc")
    assert "例如 500.00" in response.soup.find(id="amount-error").get_text()


def test_paying_by_card_records_the_payment_and_shows_a_receipt(signed_in, account, db, stripe_server):
    public_id = pay.start(signed_in, account, "1000.00")
    answer = pay.pay_with(signed_in, public_id, pay.card(stripe_server.base_url))
    assert answer.status_code == 200
    assert answer.json == {"next": f"/payments/{public_id}", "client_secret": None}

    receipt = signed_in.get(f"/payments/{public_id}")
    text = text_of(receipt)
    payment = db.session.execute(select(Payment)).scalar_one()
    assert payment.status == "succeeded" and payment.receipt_number in text
    assert "¥1,000.00" in text and "¥1,040.70" in text  # paid, overdue after
    assert refresh(db, account).overdue_minor == 104070
    assert refresh(db, account).reserved_minor == 0
    dashboard = text_of(signed_in.get("/dashboard"))
    assert "¥1,040.70" in dashboard
    history = text_of(signed_in.get(f"/accounts/{account.id}"))
    assert "¥1,000.00" in history and "还款成功" in history
    actions = db.session.execute(select(AuditEvent.action).where(AuditEvent.subject_type == "payment")).scalars().all()
    assert actions == ["payment.created", "payment.submitted", "payment.succeeded"]
    [intent] = intents_at_stripe(stripe_server)
    assert intent["amount"] == 100000 and intent["metadata"]["payment_id"] == public_id


def test_paying_everything_settles_the_overdue_amount(signed_in, account, db, stripe_server):
    public_id = pay.start(signed_in, account)
    pay.pay_with(signed_in, public_id, pay.card(stripe_server.base_url))
    account = refresh(db, account)
    assert account.overdue_minor == 0 and account.status == "settled"
    assert (account.principal_minor, account.interest_minor, account.penalty_interest_minor) == (0, 0, 0)
    page = signed_in.get("/dashboard")
    assert not page.soup.find("a", href=f"/accounts/{account.id}/pay")


def test_three_d_secure_success(signed_in, account, db, stripe_server):
    public_id = pay.start(signed_in, account)
    answer = pay.pay_with(signed_in, public_id, pay.card(stripe_server.base_url, pay.THREE_D_SECURE_CARD))
    assert answer.json["client_secret"]
    pending = signed_in.get(f"/payments/{public_id}")
    assert pending.soup.find("a", href=f"/payments/{public_id}", class_="button")  # "Check again"
    assert refresh(db, account).reserved_minor == 204070
    pay.authenticate(stripe_server.base_url, answer.json["client_secret"], success=True)
    pay.later(db, public_id)  # the page asked Stripe a moment ago: it asks again a little later
    receipt = signed_in.get(f"/payments/{public_id}")  # the return page asks Stripe
    assert "R" in receipt.soup.find("dl", class_="receipt").get_text()
    assert refresh(db, account).overdue_minor == 0


def test_three_d_secure_failure_takes_no_money(signed_in, account, db, stripe_server):
    public_id = pay.start(signed_in, account)
    answer = pay.pay_with(signed_in, public_id, pay.card(stripe_server.base_url, pay.THREE_D_SECURE_CARD))
    pay.authenticate(stripe_server.base_url, answer.json["client_secret"], success=False)
    page = signed_in.get(f"/payments/{public_id}")
    text = text_of(page)
    assert "没有扣除您的任何款项" in text
    assert page.soup.find("a", href=f"/accounts/{account.id}/pay")
    account = refresh(db, account)
    assert account.overdue_minor == 204070 and account.reserved_minor == 0


def test_card_declined_at_charge_time(signed_in, account, db, stripe_server):
    signed_in.set_cookie("portal_lang", "en")
    public_id = pay.start(signed_in, account)
    answer = pay.pay_with(signed_in, public_id, pay.card(stripe_server.base_url, pay.DECLINED_CARD))
    assert answer.status_code == 200
    page = signed_in.get(answer.json["next"])
    assert "No money was taken" in text_of(page) and "declined" in text_of(page)
    payment = db.session.execute(select(Payment)).scalar_one()
    assert payment.status == "failed" and payment.failure_code == "card_declined"
    assert refresh(db, account).reserved_minor == 0
    # The borrower can simply try again with another card.
    again = pay.start(signed_in, account)
    assert pay.pay_with(signed_in, again, pay.card(stripe_server.base_url)).status_code == 200
    assert refresh(db, account).overdue_minor == 0


def test_a_double_tap_sends_one_charge(signed_in, account, db, stripe_server):
    public_id = pay.start(signed_in, account)
    method = pay.card(stripe_server.base_url)
    first = pay.pay_with(signed_in, public_id, method)
    second = pay.pay_with(signed_in, public_id, method)
    assert first.status_code == second.status_code == 200
    assert len(intents_at_stripe(stripe_server)) == 1
    assert refresh(db, account).overdue_minor == 0


def test_a_second_tab_cannot_pay_what_the_first_already_paid(signed_in, account, db, stripe_server):
    first = pay.start(signed_in, account)
    second = pay.start(signed_in, account)
    pay.pay_with(signed_in, first, pay.card(stripe_server.base_url))
    answer = pay.pay_with(signed_in, second, pay.card(stripe_server.base_url))
    assert answer.status_code == 409
    assert len(intents_at_stripe(stripe_server)) == 1
    assert refresh(db, account).overdue_minor == 0


def test_nothing_is_recorded_as_paid_when_stripe_is_unreachable(db, make_app):
    from tests.helpers import sign_in_through_link as sign_in

    unreachable = make_app(STRIPE_API_BASE="http://127.0.0.1:9")
    account = AccountFactory()
    browser = unreachable.test_client()
    sign_in(browser, account)
    public_id = pay.start(browser, account)
    answer = pay.pay_with(browser, public_id, "pm_card_visa")
    page = browser.get(answer.json["next"])
    assert "正在确认" in text_of(page)
    account = refresh(db, account)
    assert account.overdue_minor == 204070  # not paid
    assert account.reserved_minor == 204070  # but not payable twice until confirmed
    payment = db.session.execute(select(Payment)).scalar_one()
    assert payment.status == "pending" and payment.provider_status == "unreachable"


def test_another_borrowers_payment_and_pay_page_do_not_exist(client, db, stripe_server):
    lender = LenderFactory()
    theirs = AccountFactory(borrower=BorrowerFactory(lender=lender))
    mine = AccountFactory(borrower=BorrowerFactory(lender=lender))
    sign_in_through_link(client, theirs)
    their_payment = pay.start(client, theirs)
    client.post(
        "/sign-out",
        data={"csrf_token": client.get("/dashboard").soup.find("input", attrs={"name": "csrf_token"})["value"]},
    )
    sign_in_through_link(client, mine)
    assert client.get(f"/payments/{their_payment}").status_code == 404
    assert client.get(f"/accounts/{theirs.id}/pay").status_code == 404
    assert client.get(f"/accounts/{theirs.id}").status_code == 404
    token = client.get("/dashboard").soup.find("input", attrs={"name": "csrf_token"})["value"]
    response = client.post(
        f"/payments/{their_payment}/card", json={"payment_method": "pm_x"}, headers={"X-CSRFToken": token}
    )
    assert response.status_code == 404


def test_card_endpoint_refuses_missing_csrf_and_bad_input(signed_in, account, db, stripe_server):
    public_id = pay.start(signed_in, account)
    assert signed_in.post(f"/payments/{public_id}/card", json={"payment_method": "pm_x"}).status_code == 400
    assert pay.pay_with(signed_in, public_id, "not-a-method").status_code == 400
    assert intents_at_stripe(stripe_server) == []


def test_stale_unconfirmed_payments_are_listed_for_staff(signed_in, account, db, runner, stripe_server):
    public_id = pay.start(signed_in, account)
    answer = pay.pay_with(signed_in, public_id, pay.card(stripe_server.base_url, pay.THREE_D_SECURE_CARD))
    assert answer.json["client_secret"]
    from datetime import timedelta

    payment = db.session.execute(select(Payment)).scalar_one()
    payment.submitted_at -= timedelta(hours=1)
    db.session.commit()
    listed = runner.invoke(args=["payments", "stale"])
    assert public_id in listed.output and "2040.70 CNY" in listed.output
    # After the borrower completes the challenge, reconciliation resolves it.
    pay.authenticate(stripe_server.base_url, answer.json["client_secret"], success=True)
    reconciled = runner.invoke(args=["payments", "reconcile"])
    assert reconciled.exit_code == 0 and "0 still unconfirmed" in reconciled.output
    assert (
        db.session.execute(select(func.count()).select_from(Payment).where(Payment.status == "succeeded")).scalar() == 1
    )
    assert refresh(db, account).overdue_minor == 0


def test_accounts_table_never_goes_negative(signed_in, account, db, stripe_server):
    pay.pay_with(signed_in, pay.start(signed_in, account), pay.card(stripe_server.base_url))
    assert db.session.execute(select(func.min(Account.overdue_minor))).scalar() == 0


# ---------------------------------------------------------------------------------------
# Receipt numbers

RECEIPT = re.compile(r"^R(\d{8})-([0-9A-HJKMNP-TV-Z]{4})-([0-9A-HJKMNP-TV-Z]{4})$")


@pytest.mark.parametrize("timezone", ["Pacific/Kiritimati", "Pacific/Pago_Pago"])
def test_a_receipt_carries_the_borrowers_date_and_nothing_about_other_payments(db, timezone):
    # UTC+14 and UTC-11: whatever the time of day, the borrower's date differs from the UTC
    # date in at least one of the two.
    account = AccountFactory(borrower=BorrowerFactory(timezone=timezone))
    numbers = []
    for _ in range(6):
        payment = world.payment(account, 5000, "succeeded")
        found = RECEIPT.match(payment.receipt_number)
        assert found, payment.receipt_number
        assert found[1] == f"{payment.completed_at.astimezone(ZoneInfo(timezone)):%Y%m%d}"
        numbers.append(payment.receipt_number)
    assert len(set(numbers)) == len(numbers)
    # Random, not counted: consecutive payments do not share the start of the random part.
    assert len({number.split("-", 1)[1][:2] for number in numbers}) > 1


def test_a_colliding_receipt_number_is_drawn_again(db, monkeypatch):
    from portal.payments import service

    account = AccountFactory()
    monkeypatch.setattr(service, "_receipt_random", random.Random(7))
    first = world.payment(account, 5000, "succeeded").receipt_number
    # The same draws again: the first number is taken, so the second one is used.
    monkeypatch.setattr(service, "_receipt_random", random.Random(7))
    second = world.payment(account, 5000, "succeeded").receipt_number
    assert second != first and RECEIPT.match(second)
    assert db.session.execute(select(func.count()).where(Payment.receipt_number.is_not(None))).scalar() == 2


# ---------------------------------------------------------------------------------------
# Decimal places follow the currency


@pytest.mark.parametrize(
    "currency,typed,locale,expected",
    [
        ("JPY", "500.5", "en", "Enter a whole amount, without decimals, for example 500."),
        ("JPY", "500.5", "zh_Hans", "请输入整数金额，不带小数，例如 500。"),
        ("JPY", "500.5", "zh_Hant", "請輸入整數金額，不含小數，例如 500。"),
        ("JPY", "abc", "en", "Enter the amount in numbers only, for example 500."),
        ("KWD", "12.3456", "en", "Enter the amount with at most 3 decimal places, for example 500.500."),
        ("KWD", "12.3456", "zh_Hans", "金额最多保留3位小数，例如 500.500。"),
        ("KWD", "12.3456", "zh_Hant", "金額最多只能有3位小數，例如 500.500。"),
        ("CNY", "12.345", "en", "Enter the amount with at most 2 decimal places, for example 500.50."),
        ("CNY", "12.345", "zh_Hans", "金额最多保留2位小数，例如 500.50。"),
        ("CNY", "", "en", "Enter the amount you want to pay, for example 500.00."),
    ],
)
def test_the_decimal_places_message_follows_the_currency(client, db, currency, typed, locale, expected):
    account = AccountFactory(currency=currency)
    sign_in_through_link(client, account)
    client.set_cookie("portal_lang", locale)
    response = pay.choose(client, account, typed)
    assert response.status_code == 400
    assert response.soup.find(id="amount-error").get_text() == expected
