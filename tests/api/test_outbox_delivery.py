"""Outbound events reach a real HTTP receiver: signed, in order per account, none lost."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.models import OutboxDelivery
from portal.models.types import utcnow
from portal.outbox import delivery
from portal.outbox.events import emit
from tests.api.receiver import Receiver
from tests.factories import AccountFactory, BorrowerFactory


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.stop()


@pytest.fixture
def subscribed(make_client, receiver):
    client, _ = make_client(webhook_url=receiver.url)
    receiver.secret = client.webhook_secret
    return client


def emit_events(db, lender, accounts, per_account):
    for sequence in range(per_account):
        for account in accounts:
            emit("payment.succeeded", lender_id=lender.id, account=account, data={"sequence": sequence})
    db.session.commit()


def run_rounds(start, minutes, step=5):
    now = start
    while now <= start + timedelta(minutes=minutes):
        delivery.deliver_due(now=now)
        now += timedelta(minutes=step)
    return now


def test_every_event_arrives_once_in_order_after_the_receiver_was_down_for_an_hour(db, lender, subscribed, receiver):
    accounts = [AccountFactory(borrower=BorrowerFactory(lender=lender)) for _ in range(3)]
    emit_events(db, lender, accounts, per_account=4)
    start = utcnow()
    receiver.mode = "error"
    run_rounds(start, minutes=60)  # an hour of 500s (simulated time)
    assert receiver.unique() == {}
    receiver.mode = "ok"
    run_rounds(start + timedelta(minutes=61), minutes=6 * 60)  # backoff is at most 6 hours
    unique = receiver.unique()
    assert len(unique) == 12 and receiver.bad_signatures == 0
    for account in accounts:
        arrived = [e["data"]["sequence"] for e in receiver.received if e["account_number"] == account.account_number]
        assert arrived == sorted(arrived) == [0, 1, 2, 3]
    states = db.session.execute(select(OutboxDelivery.status)).scalars().all()
    assert set(states) == {"delivered"}


def test_timeouts_and_redirects_count_as_failures_and_are_retried(app, db, lender, subscribed, receiver, monkeypatch):
    monkeypatch.setitem(app.config, "OUTBOX_TIMEOUT_SECONDS", 0.3)
    account = AccountFactory(borrower=BorrowerFactory(lender=lender))
    emit_events(db, lender, [account], per_account=1)
    receiver.mode = "slow"
    result = delivery.deliver_due()
    assert result.failed == 1
    item = db.session.execute(select(OutboxDelivery)).scalar_one()
    assert "Timeout" in item.last_error and item.next_attempt_at > utcnow()
    receiver.mode = "redirect"
    delivery.deliver_due(now=item.next_attempt_at)
    db.session.refresh(item)
    assert item.last_error == "HTTP 302" and item.status == "pending"
    receiver.mode = "ok"
    delivery.deliver_due(now=item.next_attempt_at)
    db.session.refresh(item)
    assert item.status == "delivered" and item.attempts == 3


def test_after_three_days_a_delivery_is_dead_and_an_admin_can_retry_it(db, lender, subscribed, receiver, runner):
    account = AccountFactory(borrower=BorrowerFactory(lender=lender))
    emit_events(db, lender, [account], per_account=1)
    receiver.mode = "error"
    now = utcnow()
    while now < utcnow() + timedelta(days=3, hours=7):
        delivery.deliver_due(now=now)
        now += timedelta(hours=1)
    listed = runner.invoke(args=["outbox", "dead"])
    assert "payment.succeeded" in listed.output and "1 dead delivery" in listed.output
    receiver.mode = "ok"
    assert "1 queued again" in runner.invoke(args=["outbox", "retry"]).output
    assert "1 delivered" in runner.invoke(args=["outbox", "run", "--once"]).output
    assert len(receiver.unique()) == 1


def test_disabled_clients_get_no_new_deliveries(db, lender, make_client, receiver, runner):
    client, _ = make_client(webhook_url=receiver.url)
    runner.invoke(args=["api-client", "disable", client.name])
    emit_events(db, lender, [AccountFactory(borrower=BorrowerFactory(lender=lender))], per_account=1)
    assert db.session.execute(select(OutboxDelivery)).scalars().all() == []


def test_the_signature_verifies_and_a_tampered_body_does_not():
    body = b'{"id":"evt_1"}'
    header = delivery.sign("whsec_x", 1_700_000_000, body)
    assert delivery.verify("whsec_x", header, body, now=1_700_000_010)
    assert not delivery.verify("whsec_x", header, body + b" ", now=1_700_000_010)
    assert not delivery.verify("whsec_y", header, body, now=1_700_000_010)
    assert not delivery.verify("whsec_x", header, body, now=1_700_001_000)  # replayed late


@pytest.mark.parametrize(
    "url,reason",
    [
        ("http://hooks.example.com/x", "https"),
        ("https://127.0.0.1/x", "non-public"),
        ("https://localhost/x", "non-public"),
        ("https://10.1.2.3/x", "non-public"),
        ("https://169.254.169.254/latest/meta-data", "non-public"),
    ],
)
def test_production_refuses_unsafe_webhook_destinations(url, reason):
    with pytest.raises(delivery.UnsafeDestination, match=reason):
        delivery.check_destination(url, allow_private=False)


def test_production_does_not_send_to_a_private_address(app, db, lender, subscribed, receiver, monkeypatch):
    monkeypatch.setitem(app.config, "OUTBOX_ALLOW_PRIVATE_URLS", False)
    emit_events(db, lender, [AccountFactory(borrower=BorrowerFactory(lender=lender))], per_account=1)
    assert delivery.deliver_due().failed == 1
    assert receiver.received == []
    assert "https" in db.session.execute(select(OutboxDelivery.last_error)).scalar_one()


def test_backoff_grows_with_jitter_and_is_capped():
    waits = [delivery.backoff(n) for n in range(1, 15)]
    assert timedelta(seconds=15) <= waits[0] <= timedelta(seconds=45)
    assert all(w <= timedelta(hours=9) for w in waits)
    assert waits[-1] >= timedelta(hours=3)


def test_a_payment_writes_its_event_in_the_same_transaction(db, lender, subscribed):
    """A change never commits without its event: roll back the change, the event goes too."""
    account = AccountFactory(borrower=BorrowerFactory(lender=lender))
    emit("payment.succeeded", lender_id=lender.id, account=account)
    db.session.rollback()
    assert db.session.execute(select(OutboxDelivery)).scalars().all() == []


@pytest.mark.postgres
@pytest.mark.committing
def test_two_workers_never_send_the_same_event_at_the_same_time(app, db, lender, make_client, receiver):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("concurrent workers need PostgreSQL row locks")
    client, _ = make_client(webhook_url=receiver.url)
    receiver.secret = client.webhook_secret
    receiver.hold_seconds = 0.02  # keep each request open long enough to overlap
    accounts = [AccountFactory(borrower=BorrowerFactory(lender=lender)) for _ in range(10)]
    emit_events(db, lender, accounts, per_account=3)
    errors = []

    def worker():
        try:
            with app.app_context():
                for _ in range(20):
                    delivery.deliver_due(limit=5)
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert len(receiver.unique()) == 30
    assert len(receiver.received) == 30  # nothing sent twice
    assert max(receiver.max_in_flight.values()) == 1
