"""Webhooks and return pages in any order, late, or twice: every payment counted once."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from portal.models import Account, AuditEvent, Payment, ProcessedStripeEvent
from tests import payment_helpers as pay
from tests.factories import AccountFactory
from tests.helpers import sign_in_through_link


@pytest.fixture
def account(db):
    return AccountFactory()  # overdue 2,040.70


@pytest.fixture
def signed_in(client, account):
    sign_in_through_link(client, account)
    return client


def overdue(db, account) -> int:
    db.session.expire_all()
    return db.session.get(Account, account.id).overdue_minor


def the_payment(db) -> Payment:
    db.session.expire_all()
    return db.session.execute(select(Payment)).scalar_one()


def authenticated_payment(signed_in, account, server, db, amount=None):
    public_id = pay.start(signed_in, account, amount)
    answer = pay.pay_with(signed_in, public_id, pay.card(server.base_url, pay.THREE_D_SECURE_CARD))
    pay.authenticate(server.base_url, answer.json["client_secret"], success=True)
    payment = the_payment(db)
    assert payment.status == "pending"
    return public_id, pay.intent_object(server.base_url, payment.provider_reference)


def succeeded_event(intent, event_id=None):
    return pay.event("payment_intent.succeeded", intent, event_id)


def test_webhook_before_return_page(signed_in, account, db, stripe_server):
    public_id, intent = authenticated_payment(signed_in, account, stripe_server, db)
    response = pay.send(signed_in, pay.signed(succeeded_event(intent)))
    assert response.status_code == 200 and response.json["outcome"] == "succeeded"
    assert overdue(db, account) == 0
    receipt = signed_in.get(f"/payments/{public_id}")  # the return page arrives late
    assert receipt.soup.find("dl", class_="receipt")
    assert overdue(db, account) == 0
    assert the_payment(db).status == "succeeded"


def test_return_page_before_webhook(signed_in, account, db, stripe_server):
    public_id, intent = authenticated_payment(signed_in, account, stripe_server, db)
    signed_in.get(f"/payments/{public_id}")
    assert overdue(db, account) == 0
    response = pay.send(signed_in, pay.signed(succeeded_event(intent)))
    assert response.status_code == 200
    assert overdue(db, account) == 0
    successes = db.session.execute(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "payment.succeeded")
    ).scalar()
    assert successes == 1


def test_the_same_event_twice_is_acted_on_once(signed_in, account, db, stripe_server):
    _, intent = authenticated_payment(signed_in, account, stripe_server, db, "1000.00")
    event = succeeded_event(intent)
    assert pay.send(signed_in, pay.signed(event)).json["outcome"] == "succeeded"
    assert pay.send(signed_in, pay.signed(event)).json["outcome"] == "duplicate"
    assert overdue(db, account) == 104070
    assert db.session.execute(select(func.count()).select_from(ProcessedStripeEvent)).scalar() == 1


def test_two_different_events_for_one_intent_move_money_once(signed_in, account, db, stripe_server):
    _, intent = authenticated_payment(signed_in, account, stripe_server, db, "1000.00")
    pay.send(signed_in, pay.signed(succeeded_event(intent)))
    pay.send(signed_in, pay.signed(succeeded_event(intent)))  # Stripe re-sent under a new id
    assert overdue(db, account) == 104070


def test_a_late_failure_does_not_undo_a_success(signed_in, account, db, stripe_server):
    _, intent = authenticated_payment(signed_in, account, stripe_server, db)
    pay.send(signed_in, pay.signed(succeeded_event(intent)))
    failed = pay.event(
        "payment_intent.payment_failed",
        {**intent, "status": "requires_payment_method", "last_payment_error": {"code": "card_declined"}},
    )
    assert pay.send(signed_in, pay.signed(failed)).status_code == 200
    assert the_payment(db).status == "succeeded" and overdue(db, account) == 0


def test_failure_webhook_releases_the_reservation(signed_in, account, db, stripe_server):
    public_id = pay.start(signed_in, account)
    pay.pay_with(signed_in, public_id, pay.card(stripe_server.base_url, pay.THREE_D_SECURE_CARD))
    intent = pay.intent_object(stripe_server.base_url, the_payment(db).provider_reference)
    failed = pay.event(
        "payment_intent.payment_failed",
        {
            **intent,
            "status": "requires_payment_method",
            "last_payment_error": {"code": "payment_intent_authentication_failure"},
        },
    )
    assert pay.send(signed_in, pay.signed(failed)).json["outcome"] == "failed"
    db.session.expire_all()
    assert db.session.get(Account, account.id).reserved_minor == 0
    assert the_payment(db).failure_code == "payment_intent_authentication_failure"


def test_webhook_for_an_unknown_intent_is_acknowledged_and_changes_nothing(client, db, account):
    unknown = pay.event(
        "payment_intent.succeeded",
        {
            "id": "pi_unknown",
            "object": "payment_intent",
            "status": "succeeded",
            "amount": 500,
            "currency": "cny",
            "metadata": {"payment_id": "nope"},
        },
    )
    response = pay.send(client, pay.signed(unknown))
    assert response.status_code == 200 and response.json["outcome"] == "ignored"
    assert overdue(db, account) == 204070


def test_a_bad_signature_is_refused_and_changes_nothing(signed_in, account, db, stripe_server):
    _, intent = authenticated_payment(signed_in, account, stripe_server, db)
    forged = pay.signed(succeeded_event(intent), secret="whsec_someone_else")
    assert pay.send(signed_in, forged).status_code == 400
    body, headers = pay.signed(succeeded_event(intent))
    assert signed_in.post("/stripe/webhook", data=body + b" ", headers=headers).status_code == 400
    assert signed_in.post("/stripe/webhook", data=body).status_code == 400  # no header
    assert overdue(db, account) == 204070
    assert db.session.execute(select(func.count()).select_from(ProcessedStripeEvent)).scalar() == 0


def test_a_replayed_old_signature_is_refused(signed_in, account, db, stripe_server):
    _, intent = authenticated_payment(signed_in, account, stripe_server, db)
    old = pay.signed(succeeded_event(intent), timestamp=int(time.time()) - 600)
    assert pay.send(signed_in, old).status_code == 400
    assert overdue(db, account) == 204070


def test_the_webhook_is_the_only_csrf_exempt_form_endpoint(app):
    csrf = app.extensions["csrf"]
    assert csrf._exempt_views == {"portal.payments.views.stripe_webhook"}
    # The JSON API takes bearer tokens only (no cookie session), so CSRF cannot apply to it.
    assert {bp.name for bp in csrf._exempt_blueprints} == {"api"}


def refund_event(intent, refunded, event_id=None):
    return pay.event(
        "charge.refunded",
        {
            "id": "ch_test",
            "object": "charge",
            "payment_intent": intent["id"],
            "amount": intent["amount"],
            "amount_refunded": refunded,
            "refunded": refunded == intent["amount"],
        },
        event_id,
    )


def test_a_full_refund_puts_the_debt_back_and_shows_in_the_history(signed_in, account, db, stripe_server):
    public_id, intent = authenticated_payment(signed_in, account, stripe_server, db)
    signed_in.get(f"/payments/{public_id}")
    assert overdue(db, account) == 0
    assert pay.send(signed_in, pay.signed(refund_event(intent, 204070))).json["outcome"] == "refunded"
    db.session.expire_all()
    restored = db.session.get(Account, account.id)
    assert (
        restored.overdue_minor,
        restored.principal_minor,
        restored.interest_minor,
        restored.penalty_interest_minor,
        restored.status,
    ) == (204070, 200000, 3650, 420, "overdue")
    assert the_payment(db).status == "refunded"
    history = signed_in.get(f"/accounts/{account.id}").soup.select(".history li")
    assert len(history) == 1 and "history__status--refunded" in str(history[0])


def test_partial_refunds_are_cumulative_and_counted_once(signed_in, account, db, stripe_server):
    public_id, intent = authenticated_payment(signed_in, account, stripe_server, db)
    signed_in.get(f"/payments/{public_id}")
    first = refund_event(intent, 10000)
    pay.send(signed_in, pay.signed(first))
    pay.send(signed_in, pay.signed(first))  # duplicate delivery
    assert overdue(db, account) == 10000
    pay.send(signed_in, pay.signed(refund_event(intent, 30000)))  # 300.00 refunded in all
    assert overdue(db, account) == 30000
    payment = the_payment(db)
    assert payment.status == "succeeded" and payment.refunded_minor == 30000
    # Refunds give back principal first (the reverse of how payments are applied).
    assert db.session.get(Account, account.id).principal_minor == 30000


def test_a_refund_that_arrives_before_the_success_still_counts_both_once(signed_in, account, db, stripe_server):
    _, intent = authenticated_payment(signed_in, account, stripe_server, db, "1000.00")
    pay.send(signed_in, pay.signed(refund_event(intent, 100000)))
    pay.send(signed_in, pay.signed(succeeded_event(intent)))
    payment = the_payment(db)
    assert payment.status == "refunded" and overdue(db, account) == 204070
    assert db.session.get(Account, account.id).reserved_minor == 0


def test_each_step_is_in_the_audit_trail(signed_in, account, db, stripe_server):
    public_id, intent = authenticated_payment(signed_in, account, stripe_server, db)
    pay.send(signed_in, pay.signed(succeeded_event(intent)))
    pay.send(signed_in, pay.signed(refund_event(intent, 204070)))
    actions = (
        db.session.execute(
            select(AuditEvent.action).where(AuditEvent.subject_type == "payment").order_by(AuditEvent.id)
        )
        .scalars()
        .all()
    )
    assert actions == ["payment.created", "payment.submitted", "payment.succeeded", "payment.refunded"]
