"""Races on PostgreSQL: many taps, many tabs, never two charges, never more than is owed.

Only PostgreSQL has real row locks and concurrent writers; on SQLite these are skipped.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from portal.models import Account, Payment
from tests import payment_helpers as pay
from tests.factories import AccountFactory
from tests.helpers import sign_in_through_link

pytestmark = [pytest.mark.postgres, pytest.mark.committing]
THREADS = 8


@pytest.fixture(autouse=True)
def _postgres_only(db):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("concurrency needs PostgreSQL")


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
    assert all(r.status_code == 200 for r in responses), [r.status_code for r in responses]
    assert len(stripe_server.get("/v1/payment_intents")["data"]) == 1
    db.session.expire_all()
    final = db.session.get(Account, account.id)
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
    codes = sorted(r.status_code for r in responses)
    assert codes == [200, 200] + [409] * (THREADS - 2)
    db.session.expire_all()
    succeeded = db.session.execute(select(Payment).where(Payment.status == "succeeded")).scalars().all()
    assert len(succeeded) == 2
    final = db.session.get(Account, account.id)
    assert final.overdue_minor == 204070 - 160000 and final.reserved_minor == 0
    assert len(stripe_server.get("/v1/payment_intents")["data"]) == 2


def test_parallel_webhook_and_return_page_count_once(app, client, db, stripe_server):
    account = AccountFactory()
    sign_in_through_link(client, account)
    public_id = pay.start(client, account)
    answer = pay.pay_with(client, public_id, pay.card(stripe_server.base_url, pay.THREE_D_SECURE_CARD))
    pay.authenticate(stripe_server.base_url, answer.json["client_secret"], success=True)
    db.session.expire_all()
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
    failures = [(r.status_code, r.get_data(as_text=True)[:300]) for r in responses if r.status_code != 200]
    assert failures == []
    db.session.expire_all()
    final = db.session.get(Account, account.id)
    assert final.overdue_minor == 0 and final.reserved_minor == 0
