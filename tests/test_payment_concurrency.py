"""Races: many taps, many tabs, never two charges, never more than is owed.

On PostgreSQL the row locks decide; on the embedded SQLite default, writing requests take the
database's write lock at their start (BEGIN IMMEDIATE) and wait for it, so the same races end
the same way there, with no 500 (a request that waited too long would get the 503 busy page).
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from portal.models import Account, Payment, PaymentStatus
from tests import payment_helpers as pay
from tests.factories import AccountFactory
from tests.helpers import sign_in_through_link

pytestmark = [pytest.mark.committing]
THREADS = 8
BUSY = 503


def outcomes(db, responses, allowed):
    """Status codes of the race. On SQLite a request that waited longer than the busy timeout
    for the write lock gets the busy page instead of its outcome, never a 500; PostgreSQL has
    no such wait, so there every request must get its own answer."""
    codes = [r.status_code for r in responses]
    may_be_busy = db.engine.dialect.name == "sqlite"
    assert all(code in allowed or (may_be_busy and code == BUSY) for code in codes), codes
    return codes


def browsers(app, signed_in, count):
    """Several tabs of the same signed-in browser."""
    cookie = signed_in.get_cookie("portal_session").value
    tabs = []
    for _ in range(count):
        tab = app.test_client()
        tab.set_cookie("portal_session", cookie)
        tabs.append(tab)
    return tabs


def at_once(functions):
    barrier = threading.Barrier(len(functions))
    results = [None] * len(functions)

    def run(index, function):
        barrier.wait()
        results[index] = function()

    threads = [threading.Thread(target=run, args=(i, f)) for i, f in enumerate(functions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_parallel_submissions_of_one_attempt_make_one_charge(app, client, db, stripe_server):
    account = AccountFactory()
    sign_in_through_link(client, account)
    public_id = pay.start(client, account)
    method = pay.card(stripe_server.base_url)
    tabs = browsers(app, client, THREADS)
    token = client.get("/dashboard").soup.find("input", attrs={"name": "csrf_token"})["value"]
    responses = at_once(
        [
            lambda tab=tab: tab.post(
                f"/payments/{public_id}/card", json={"payment_method": method}, headers={"X-CSRFToken": token}
            )
            for tab in tabs
        ]
    )
    codes = outcomes(db, responses, {200})
    assert len(stripe_server.get("/v1/payment_intents")["data"]) <= 1
    db.session.rollback()  # a fresh snapshot: on SQLite an open read keeps seeing the old one
    final = db.session.get(Account, account.id)
    payment = db.session.execute(select(Payment)).scalar_one()
    if BUSY in codes and payment.status == PaymentStatus.PENDING:
        # The request that charged got the busy page before it could record the outcome: the
        # amount stays held, never counted twice, until Stripe is asked (payments reconcile).
        assert (final.overdue_minor, final.reserved_minor) == (204070, 204070)
    else:
        assert payment.status == PaymentStatus.SUCCEEDED
        assert final.overdue_minor == 0 and final.reserved_minor == 0


def test_parallel_attempts_never_pay_more_than_is_owed(app, client, db, stripe_server):
    account = AccountFactory()  # overdue 2,040.70: two payments of 800.00 fit, three do not
    sign_in_through_link(client, account)
    attempts = [pay.start(client, account, "800.00") for _ in range(THREADS)]
    token = client.get("/dashboard").soup.find("input", attrs={"name": "csrf_token"})["value"]
    tabs = browsers(app, client, THREADS)
    methods = [pay.card(stripe_server.base_url) for _ in range(THREADS)]
    responses = at_once(
        [
            lambda tab=tab, pid=pid, m=m: tab.post(
                f"/payments/{pid}/card", json={"payment_method": m}, headers={"X-CSRFToken": token}
            )
            for tab, pid, m in zip(tabs, attempts, methods, strict=True)
        ]
    )
    codes = outcomes(db, responses, {200, 409})
    paid = codes.count(200)
    if BUSY not in codes:
        assert paid == 2
    assert paid <= 2
    db.session.rollback()  # a fresh snapshot: on SQLite an open read keeps seeing the old one
    payments = db.session.execute(select(Payment)).scalars().all()
    assert sum(p.status == PaymentStatus.SUCCEEDED for p in payments) == paid
    final = db.session.get(Account, account.id)
    assert final.overdue_minor == 204070 - 80000 * paid
    # A request that got the busy page after reserving leaves its payment pending, its amount
    # still held until Stripe is asked about it (portal payments reconcile); nothing more.
    pending = [p for p in payments if p.status == PaymentStatus.PENDING]
    assert final.reserved_minor == sum(p.amount_minor for p in pending)
    assert final.overdue_minor - final.reserved_minor >= 0
    if BUSY not in codes:
        assert not pending
    assert len(stripe_server.get("/v1/payment_intents")["data"]) <= paid + len(pending)


def test_parallel_webhook_and_return_page_count_once(app, client, db, stripe_server):
    account = AccountFactory()
    sign_in_through_link(client, account)
    public_id = pay.start(client, account)
    answer = pay.pay_with(client, public_id, pay.card(stripe_server.base_url, pay.THREE_D_SECURE_CARD))
    pay.authenticate(stripe_server.base_url, answer.json["client_secret"], success=True)
    db.session.rollback()  # a fresh snapshot: on SQLite an open read keeps seeing the old one
    intent = pay.intent_object(
        stripe_server.base_url, db.session.execute(select(Payment)).scalar_one().provider_reference
    )
    tabs = browsers(app, client, THREADS)
    event = pay.event("payment_intent.succeeded", intent)
    calls = []
    for index, tab in enumerate(tabs):
        if index % 2:
            calls.append(lambda tab=tab: tab.get(f"/payments/{public_id}"))
        else:
            calls.append(lambda tab=tab: pay.send(tab, pay.signed(event)))
    responses = at_once(calls)
    codes = outcomes(db, responses, {200})
    db.session.rollback()  # a fresh snapshot: on SQLite an open read keeps seeing the old one
    final = db.session.get(Account, account.id)
    payment = db.session.execute(select(Payment)).scalar_one()
    if BUSY in codes and payment.status == PaymentStatus.PENDING:
        assert (final.overdue_minor, final.reserved_minor) == (204070, 204070)  # Stripe resends
    else:
        assert final.overdue_minor == 0 and final.reserved_minor == 0
