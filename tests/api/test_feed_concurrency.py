"""The pull feed under concurrent writers on PostgreSQL: a later id that commits first never
makes the reader step over the earlier one."""

from __future__ import annotations

import threading
import time

import pytest

from portal.extensions import db as _db
from portal.outbox.events import emit
from tests.factories import AccountFactory, BorrowerFactory

pytestmark = [pytest.mark.postgres, pytest.mark.committing]


@pytest.fixture(autouse=True)
def _postgres_only(db):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("transactions commit out of id order only on PostgreSQL")


def read_all(client, auth, cursor):
    """Everything the feed hands out after ``cursor``, following next_cursor like a client."""
    seen = []
    while True:
        query = f"?after={cursor}" if cursor else ""
        page = client.get(f"/api/v1/events{query}", headers=auth)
        assert page.status_code == 200, page.get_data(as_text=True)
        seen += [e["data"]["n"] for e in page.json["events"]]
        cursor = page.json["next_cursor"]
        if not page.json["events"]:
            return seen, cursor


def test_an_event_committed_after_a_later_one_is_still_seen(app, client, db, make_client, lender):
    account = AccountFactory(borrower=BorrowerFactory(lender=lender))
    _, auth = make_client(scopes=("events:read",))
    lender_id, account_id = lender.id, account.id
    first_written, second_committed, release_first, first_committed = (threading.Event() for _ in range(4))

    def writer(n, before_commit: threading.Event | None, done: threading.Event):
        with app.app_context():
            from portal.models import Account

            emit("payment.succeeded", lender_id=lender_id, account=_db.session.get(Account, account_id), data={"n": n})
            if n == 1:
                first_written.set()
            if before_commit is not None:
                assert before_commit.wait(30)
            _db.session.commit()
            _db.session.remove()
            done.set()

    slow = threading.Thread(target=writer, args=(1, release_first, first_committed))
    slow.start()
    assert first_written.wait(30)  # event 1 has its id; its transaction is still open
    fast = threading.Thread(target=writer, args=(2, None, second_committed))
    fast.start()
    assert second_committed.wait(30)  # event 2 (a later id) is committed first

    seen, cursor = read_all(client, auth, None)
    assert seen == []  # 2 waits until the older transaction that wrote 1 has ended
    release_first.set()
    slow.join(30)
    fast.join(30)
    # Both now; polled, because other transactions in the cluster may still be finishing.
    deadline = time.monotonic() + 60
    while len(seen) < 2 and time.monotonic() < deadline:
        more, cursor = read_all(client, auth, cursor)
        seen += more
        time.sleep(0.1)
    assert seen == [1, 2]


def test_cursors_are_opaque_and_belong_to_one_lender(client, db, make_client, lender):
    from tests.factories import LenderFactory

    other = LenderFactory(code="OTHER")
    mine = AccountFactory(borrower=BorrowerFactory(lender=lender))
    theirs = AccountFactory(borrower=BorrowerFactory(lender=other))
    for n in range(3):
        emit("payment.succeeded", lender_id=other.id, account=theirs, data={"n": n})
    emit("payment.succeeded", lender_id=lender.id, account=mine, data={"n": 9})
    db.session.commit()
    _, auth = make_client(scopes=("events:read",))
    _, their_auth = make_client(scopes=("events:read",), for_lender=other, name="theirs")
    deadline = time.monotonic() + 60
    page = client.get("/api/v1/events", headers=auth).json
    while not page["events"] and time.monotonic() < deadline:
        time.sleep(0.1)
        page = client.get("/api/v1/events", headers=auth).json
    (event,) = page["events"]
    # The cursor is the event's own public id: it counts nothing and orders nothing globally.
    assert event["cursor"] == event["id"] == page["next_cursor"]
    assert not event["cursor"].removeprefix("evt_").isdigit()
    # Another lender's cursor is no use here, and says nothing.
    their_cursor = client.get("/api/v1/events", headers=their_auth).json["events"][0]["cursor"]
    refused = client.get(f"/api/v1/events?after={their_cursor}", headers=auth)
    assert refused.status_code == 400 and refused.json["code"] == "invalid_cursor"
    unknown = client.get("/api/v1/events?after=evt_00000000000000000000000000000000", headers=auth)
    assert unknown.status_code == 400 and unknown.json == refused.json
