"""`portal payments reconcile`: a bank check left open does not hold the amount forever.

Real localstripe: its 3-D Secure card leaves the intent in requires_action until someone
presses a button in the challenge, which is exactly what an abandoned payment looks like.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.models import Account, AuditEvent, OutboxEvent, Payment
from tests import payment_helpers as pay
from tests.factories import AccountFactory
from tests.helpers import sign_in_through_link
from tests.pages import text_of

WINDOW = timedelta(minutes=30)  # PAYMENT_CONFIRMATION_MINUTES in the tests' configuration
LONG_AGO = WINDOW + timedelta(minutes=1)


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


def payment_row(db, public_id: str) -> Payment:
    db.session.expire_all()
    return db.session.execute(select(Payment).where(Payment.public_id == public_id)).scalar_one()


def started_bank_check(client, account, stripe_server, amount: str | None = None) -> tuple[str, str]:
    """A card payment waiting for 3-D Secure; returns its public id and client secret."""
    public_id = pay.start(client, account, amount)
    answer = pay.pay_with(client, public_id, pay.card(stripe_server.base_url, pay.THREE_D_SECURE_CARD))
    assert answer.json["client_secret"]
    return public_id, answer.json["client_secret"]


def count(db, model, **where) -> int:
    query = select(func.count()).select_from(model)
    for column, value in where.items():
        query = query.where(getattr(model, column) == value)
    return db.session.execute(query).scalar()


def test_the_window_is_the_configured_one(app):
    assert app.config["PAYMENT_CONFIRMATION_MINUTES"] * 60 == WINDOW.total_seconds()


def test_an_abandoned_bank_check_is_cancelled_and_its_amount_released(signed_in, account, db, runner, stripe_server):
    public_id, _ = started_bank_check(signed_in, account, stripe_server)
    assert refresh(db, account).reserved_minor == 204070
    pay.later(db, public_id, by=LONG_AGO)

    result = runner.invoke(args=["payments", "reconcile"])
    assert result.exit_code == 0, result.output
    assert "0 still unconfirmed" in result.output

    payment = payment_row(db, public_id)
    assert payment.status == "failed" and payment.failure_code == "confirmation_abandoned"
    intent = pay.intent_object(stripe_server.base_url, payment.provider_reference)
    assert intent["status"] == "canceled"  # Stripe can no longer take money for it
    account = refresh(db, account)
    assert account.reserved_minor == 0 and account.overdue_minor == 204070
    assert count(db, OutboxEvent, type="payment.failed") == 1
    assert count(db, AuditEvent, action="payment.failed") == 1

    # The borrower sees that nothing was taken and why, and can pay again.
    signed_in.set_cookie("portal_lang", "en")
    page = signed_in.get(f"/payments/{public_id}")
    text = text_of(page)
    assert "No money was taken" in text and "did not finish confirming the payment with your bank" in text
    assert page.soup.find("a", href=f"/accounts/{account.id}/pay")
    signed_in.set_cookie("portal_lang", "zh_Hans")
    assert "没有在银行或支付应用中完成确认" in text_of(signed_in.get(f"/payments/{public_id}"))
    again = pay.start(signed_in, account)
    assert pay.pay_with(signed_in, again, pay.card(stripe_server.base_url)).status_code == 200
    assert refresh(db, account).overdue_minor == 0


def test_a_failed_bank_check_left_unseen_is_cancelled_with_its_own_reason(
    signed_in, account, db, runner, stripe_server
):
    public_id, secret = started_bank_check(signed_in, account, stripe_server)
    pay.authenticate(stripe_server.base_url, secret, success=False)  # requires_payment_method
    pay.later(db, public_id, by=LONG_AGO)
    assert runner.invoke(args=["payments", "reconcile"]).exit_code == 0
    payment = payment_row(db, public_id)
    assert payment.status == "failed" and payment.failure_code == "payment_intent_authentication_failure"
    assert pay.intent_object(stripe_server.base_url, payment.provider_reference)["status"] == "canceled"
    assert refresh(db, account).reserved_minor == 0


def test_within_the_window_nothing_is_cancelled(signed_in, account, db, runner, stripe_server):
    public_id, secret = started_bank_check(signed_in, account, stripe_server)
    pay.later(db, public_id, by=WINDOW - timedelta(minutes=5))
    result = runner.invoke(args=["payments", "reconcile"])
    assert result.exit_code == 0 and "0 still unconfirmed" in result.output  # not stale yet
    payment = payment_row(db, public_id)
    assert payment.status == "pending"
    assert pay.intent_object(stripe_server.base_url, payment.provider_reference)["status"] == "requires_action"
    # The borrower can still finish the bank check and pay.
    pay.authenticate(stripe_server.base_url, secret, success=True)
    pay.later(db, public_id)
    assert signed_in.get(f"/payments/{public_id}").soup.find("dl", class_="receipt")


def test_a_check_finished_before_reconciliation_is_recorded_as_paid(signed_in, account, db, runner, stripe_server):
    public_id, secret = started_bank_check(signed_in, account, stripe_server)
    pay.authenticate(stripe_server.base_url, secret, success=True)  # no webhook reached us
    pay.later(db, public_id, by=LONG_AGO)
    assert runner.invoke(args=["payments", "reconcile"]).exit_code == 0
    payment = payment_row(db, public_id)
    assert payment.status == "succeeded"
    assert pay.intent_object(stripe_server.base_url, payment.provider_reference)["status"] == "succeeded"
    assert refresh(db, account).overdue_minor == 0


def test_a_late_success_after_the_release_is_recorded_exactly_once(signed_in, account, db, runner, stripe_server):
    public_id, _ = started_bank_check(signed_in, account, stripe_server)
    pay.later(db, public_id, by=LONG_AGO)
    runner.invoke(args=["payments", "reconcile"])
    payment = payment_row(db, public_id)
    assert payment.status == "failed"

    # Stripe reports a success after all (a delayed event), twice, and reconciliation runs again.
    intent = pay.intent_object(stripe_server.base_url, payment.provider_reference)
    succeeded = pay.event("payment_intent.succeeded", {**intent, "status": "succeeded"})
    for _ in range(2):
        assert pay.send(signed_in, pay.signed(succeeded)).status_code == 200
    assert runner.invoke(args=["payments", "reconcile"]).exit_code == 0

    payment = payment_row(db, public_id)
    assert payment.status == "succeeded" and payment.receipt_number
    account = refresh(db, account)
    assert account.overdue_minor == 0 and account.reserved_minor == 0
    assert count(db, OutboxEvent, type="payment.succeeded") == 1
    assert count(db, AuditEvent, action="payment.succeeded") == 1


def test_stripe_unreachable_leaves_the_payment_reserved_for_the_next_run(
    signed_in, account, db, make_app, stripe_server
):
    public_id, _ = started_bank_check(signed_in, account, stripe_server)
    pay.later(db, public_id, by=LONG_AGO)
    unreachable = make_app(STRIPE_API_BASE="http://127.0.0.1:9")
    with unreachable.app_context():  # the command runs in the app whose context is current
        result = unreachable.test_cli_runner().invoke(args=["payments", "reconcile"])
    assert result.exit_code == 0 and "1 still unconfirmed" in result.output
    assert payment_row(db, public_id).status == "pending"
    assert refresh(db, account).reserved_minor == 204070


@pytest.mark.postgres
@pytest.mark.committing
def test_reconcilers_on_several_machines_release_each_payment_once(app, client, db, stripe_server):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("concurrency needs PostgreSQL")
    account = AccountFactory()
    sign_in_through_link(client, account)
    abandoned = [started_bank_check(client, account, stripe_server, "500.00")[0] for _ in range(3)]
    for public_id in abandoned:
        pay.later(db, public_id, by=LONG_AGO)

    machines = 6
    barrier = threading.Barrier(machines)
    results = [None] * machines

    def run(index):
        runner = app.test_cli_runner()
        barrier.wait()
        results[index] = runner.invoke(args=["payments", "reconcile"])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(machines)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert [r.exit_code for r in results] == [0] * machines, [r.output for r in results]

    db.session.expire_all()
    statuses = db.session.execute(select(Payment.status, Payment.failure_code)).all()
    assert sorted(statuses) == [("failed", "confirmation_abandoned")] * 3
    assert db.session.get(Account, account.id).reserved_minor == 0
    assert count(db, OutboxEvent, type="payment.failed") == 3
    assert count(db, AuditEvent, action="payment.failed") == 3
