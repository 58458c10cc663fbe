"""Idempotency-Key replay records: no secret in clear, an end after IDEMPOTENCY_KEEP, and a
replayed reminder link that has been revoked since says so."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update

from portal.api.idempotency import IDEMPOTENCY_KEEP
from portal.models import IdempotentRequest
from portal.models.types import utcnow
from tests.factories import AccountFactory, BorrowerFactory


def mint(client, headers, key="link-1"):
    return client.post(
        "/api/v1/reminder-links", headers={**headers, "Idempotency-Key": key}, json={"account_number": "SR009"}
    )


def stored_records(db):
    return db.session.execute(select(IdempotentRequest)).scalars().all()


def test_a_replay_record_holds_neither_the_link_code_nor_the_key(client, db, auth, lender):
    AccountFactory(borrower=BorrowerFactory(lender=lender), account_number="SR009")
    first = mint(client, auth, key="link-key-7f3a")
    assert first.status_code == 201
    code = first.json["code"]
    (record,) = stored_records(db)
    assert code not in record.body and first.json["url"] not in record.body
    assert "link-key-7f3a" not in record.key and "link-key-7f3a" not in record.body
    # What a repeat of the request answers is still the first response.
    again = mint(client, auth, key="link-key-7f3a")
    assert again.status_code == 201 and again.json == first.json
    assert again.headers["Idempotent-Replayed"] == "true"


def test_a_replay_of_a_link_revoked_since_says_it_is_revoked(client, db, auth, lender):
    AccountFactory(borrower=BorrowerFactory(lender=lender), account_number="SR009")
    first = mint(client, auth)
    assert client.delete(f"/api/v1/reminder-links/{first.json['code']}", headers=auth).status_code == 204
    again = mint(client, auth)
    assert again.status_code == 410
    assert again.mimetype == "application/problem+json"
    assert again.json["code"] == "link_revoked"
    assert first.json["code"] not in again.get_data(as_text=True)
    assert again.headers["Idempotent-Replayed"] == "true"


def test_records_end_after_the_documented_time(client, db, auth, lender, runner):
    AccountFactory(borrower=BorrowerFactory(lender=lender), account_number="SR009")
    first = mint(client, auth)
    # Just inside the time: replayed.
    db.session.execute(update(IdempotentRequest).values(created_at=utcnow() - IDEMPOTENCY_KEEP + timedelta(minutes=1)))
    assert mint(client, auth).json == first.json
    # Past it: the key starts a new request, which mints a new link.
    db.session.execute(update(IdempotentRequest).values(created_at=utcnow() - IDEMPOTENCY_KEEP - timedelta(minutes=1)))
    later = mint(client, auth)
    assert later.status_code == 201 and later.json["code"] != first.json["code"]
    assert "Idempotent-Replayed" not in later.headers
    # The maintenance command deletes what is past the time and keeps the rest.
    mint(client, auth, key="link-2")
    db.session.execute(update(IdempotentRequest).values(created_at=utcnow() - IDEMPOTENCY_KEEP - timedelta(hours=1)))
    mint(client, auth, key="link-3")
    result = runner.invoke(args=["api", "prune-idempotency"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("2 replay record(s) older than 1 day")
    assert db.session.execute(select(func.count()).select_from(IdempotentRequest)).scalar() == 1


def test_revoking_a_link_leaves_its_code_nowhere_in_clear(client, db, auth, lender):
    from portal.models import AuditEvent

    AccountFactory(borrower=BorrowerFactory(lender=lender), account_number="SR009")
    code = mint(client, auth).json["code"]
    assert client.delete(f"/api/v1/reminder-links/{code}", headers=auth).status_code == 204
    assert client.delete(f"/api/v1/reminder-links/{code}x", headers=auth).status_code == 404
    paths = [a.details["path"] for a in db.session.execute(select(AuditEvent)).scalars() if "path" in a.details]
    assert len(paths) == 3 and not any(code in path for path in paths)
