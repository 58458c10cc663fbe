"""Imports next to other writers on PostgreSQL: serialised per lender, never losing a payment."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.models import Account, AuditEvent, Payment, PaymentPurpose, PaymentStatus
from portal.models.types import utcnow
from tests.test_import import AS_OF_COLUMNS, F1, GOOD, write_csv

pytestmark = [pytest.mark.postgres, pytest.mark.committing]


@pytest.fixture(autouse=True)
def _postgres_only(db):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("concurrency needs PostgreSQL")


def in_thread(function):
    outcome = {}

    def target():
        outcome["result"] = function()

    thread = threading.Thread(target=target)
    thread.start()
    return thread, outcome


def test_two_imports_for_one_lender_at_once_are_serialised(app, runner, db, tmp_path):
    files = [
        write_csv(
            tmp_path,
            [{**GOOD, "account_number": f"{prefix}{n:04d}"} for n in range(3000)],
            name=f"{prefix}.csv",
        )
        for prefix in ("A", "B")
    ]
    barrier = threading.Barrier(2)

    def importing(path):
        def go():
            barrier.wait()
            return app.test_cli_runner().invoke(args=["import", str(path)])

        return go

    started = [in_thread(importing(path)) for path in files]
    for thread, _ in started:
        thread.join(120)
    # (Two CliRunners in threads share sys.stdout: the outcome is read from the database.)
    for _, outcome in started:
        assert outcome["result"].exit_code == 0, outcome["result"].output
    db.session.remove()
    events = db.session.execute(
        select(AuditEvent.id, AuditEvent.details).where(AuditEvent.action == "account.created")
    ).all()
    ids = {prefix: [i for i, d in events if d["account_number"].startswith(prefix)] for prefix in "AB"}
    assert len(ids["A"]) == len(ids["B"]) == 3000
    # One import wrote all of its changes before the other wrote any.
    assert max(ids["A"]) < min(ids["B"]) or max(ids["B"]) < min(ids["A"])


def test_a_payment_committing_during_an_import_is_not_lost(app, runner, db, tmp_path):
    from portal.payments.service import record_success

    before_payment = utcnow() - timedelta(seconds=1)
    first = write_csv(tmp_path, [{**GOOD, "as_of": (before_payment - timedelta(hours=1)).isoformat()}], AS_OF_COLUMNS)
    assert runner.invoke(args=["import", str(first)]).exit_code == 0
    db.session.remove()
    account = db.session.execute(select(Account)).scalar_one()
    payment = Payment(
        public_id=uuid.uuid4().hex,
        account_id=account.id,
        amount_minor=50000,
        currency="CNY",
        purpose=PaymentPurpose.OTHER,
        status=PaymentStatus.PENDING,
        idempotency_key=uuid.uuid4().hex,
    )
    db.session.add(payment)
    account.reserved_minor = 50000
    db.session.commit()
    # The payment's transaction holds the account (as a webhook would) ...
    assert record_success(payment.id, source="test")
    # ... while the loan core's figures, taken before the payment, are imported.
    older = write_csv(tmp_path, [{**GOOD, **F1, "as_of": before_payment.isoformat()}], AS_OF_COLUMNS, name="f1.csv")
    thread, outcome = in_thread(lambda: app.test_cli_runner().invoke(args=["import", str(older)]))
    time.sleep(1.5)
    assert thread.is_alive()  # waiting for the account
    db.session.commit()
    thread.join(60)
    assert outcome["result"].exit_code == 0, outcome["result"].output
    db.session.remove()
    stored = db.session.execute(select(Account)).scalar_one()
    assert stored.overdue_minor == 194420 - 50000 and stored.reserved_minor == 0


def test_an_unchanged_re_import_neither_waits_for_a_payment_nor_loses_it(app, runner, db, tmp_path):
    from portal.payments.service import record_success

    before_payment = utcnow() - timedelta(seconds=1)
    same = write_csv(tmp_path, [{**GOOD, "as_of": (before_payment - timedelta(hours=1)).isoformat()}], AS_OF_COLUMNS)
    assert runner.invoke(args=["import", str(same)]).exit_code == 0
    db.session.remove()
    account = db.session.execute(select(Account)).scalar_one()
    imported = account.overdue_minor
    payment = Payment(
        public_id=uuid.uuid4().hex,
        account_id=account.id,
        amount_minor=50000,
        currency="CNY",
        purpose=PaymentPurpose.OTHER,
        status=PaymentStatus.PENDING,
        idempotency_key=uuid.uuid4().hex,
    )
    db.session.add(payment)
    account.reserved_minor = 50000
    db.session.commit()
    # The payment's transaction holds the account while the same figures are imported again.
    assert record_success(payment.id, source="test")
    thread, outcome = in_thread(lambda: app.test_cli_runner().invoke(args=["import", str(same)]))
    thread.join(30)
    assert not thread.is_alive()  # nothing to change: the account was not waited for
    assert outcome["result"].exit_code == 0, outcome["result"].output
    assert "0 created, 0 updated, 1 unchanged" in outcome["result"].output
    db.session.commit()
    db.session.remove()
    stored = db.session.execute(select(Account)).scalar_one()
    assert stored.overdue_minor == imported - 50000 and stored.reserved_minor == 0
