"""Pages that only read run without a database transaction; everything that writes keeps one.

Marked ``committing``: the usual per-test wrapper holds every request inside one outer
transaction, which is exactly what these tests must not have.
"""

from __future__ import annotations

from contextlib import contextmanager

import psycopg
import pytest
from sqlalchemy import event, select

from portal.models import BorrowerSession, Payment
from tests.helpers import sign_in_through_link
from tests.payment_helpers import choose
from tests.quality import world as w

pytestmark = pytest.mark.committing


def in_transaction(dbapi_connection) -> bool:
    """What the database driver itself says, after a statement: is a transaction open?"""
    if hasattr(dbapi_connection, "in_transaction"):  # sqlite3
        return dbapi_connection.in_transaction
    return dbapi_connection.info.transaction_status != psycopg.pq.TransactionStatus.IDLE


@contextmanager
def statements(engine):
    """(SQL, ran without a transaction) for every statement sent while inside the block."""
    seen: list[tuple[str, bool]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement.split()[0].upper(), not in_transaction(conn.connection.dbapi_connection)))

    event.listen(engine, "after_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "after_cursor_execute", record)


def test_reading_pages_sends_no_begin_and_paying_runs_in_a_transaction(app, db):
    world = w.make_borrower(accounts=2)
    client = app.test_client()
    sign_in_through_link(client, world.account)

    for url in ("/dashboard", f"/accounts/{world.account.id}", f"/accounts/{world.account.id}/pay"):
        with statements(db.engine) as seen:
            assert client.get(url).status_code == 200
        assert seen, url
        assert all(autocommit for _, autocommit in seen), (url, seen)
        assert "BEGIN" not in [sql for sql, _ in seen], url

    with statements(db.engine) as seen:
        response = choose(client, world.account)  # GET the form, then POST it
    assert response.status_code == 303
    writes = [autocommit for sql, autocommit in seen if sql in ("INSERT", "UPDATE")]
    assert writes and not any(writes), seen
    db.session.remove()
    assert db.session.execute(select(Payment)).scalar_one().account_id == world.account.id


def test_the_idle_timeout_on_a_reading_page_ends_the_session_for_good(app, db):
    world = w.make_borrower()
    client = app.test_client()
    sign_in_through_link(client, world.account)
    with client.session_transaction() as session:
        session["seen"] -= 15 * 60 + 1
    response = client.get("/dashboard")
    assert response.headers["Location"] == "/signed-out?reason=idle"
    db.session.remove()
    assert db.session.execute(select(BorrowerSession.ended_at)).scalar_one() is not None
