"""POST /contacts, POST /contacts:batch and GET /contacts/{id}: contacts in, evaluations out."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.models import AuditEvent, CollectionContact, OutboxEvent
from portal.models.types import utcnow
from tests.factories import AccountFactory, BorrowerFactory

SCOPES = ("contacts:write", "events:read")


@pytest.fixture
def contacts_auth(make_client):
    return make_client(SCOPES)[1]


@pytest.fixture
def account(lender):
    return AccountFactory(borrower=BorrowerFactory(lender=lender), account_number="SR001")


def contact(n=1, **overrides) -> dict:
    return {
        "contact_id": f"CALL-{n}",
        "account_number": "SR001",
        "occurred_at": "2026-11-25T10:00:00+08:00",
        "channel": "call",
        "direction": "outbound",
        "outcome": "answered",
        "party": "borrower",
        "phone_number": "13800138001",
        "agent_id": "A-17",
        "agency_code": "SUNNY-COLLECT",
        "duration_seconds": 95,
        **overrides,
    }


def count(db, model) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar()


def test_a_compliant_contact_is_recorded_and_replayed_with_its_evaluation(client, db, contacts_auth, account):
    first = client.post("/api/v1/contacts", json=contact(), headers=contacts_auth)
    assert first.status_code == 201
    assert first.json == {
        "contact_id": "CALL-1",
        "account_number": "SR001",
        "occurred_at": "2026-11-25T02:00:00Z",
        "compliant": True,
        "breaches": [],
    }
    # Same id, same details (the same moment written in another offset): a replay, not a second contact.
    again = client.post(
        "/api/v1/contacts",
        json=contact(occurred_at="2026-11-25T02:00:00Z", phone_number="+8613800138001"),
        headers=contacts_auth,
    )
    assert again.status_code == 200 and again.json == first.json
    assert count(db, CollectionContact) == 1
    stored = db.session.execute(select(CollectionContact)).scalar_one()
    assert stored.phone_number == "+8613800138001"


def test_the_same_contact_id_with_other_details_is_a_409_and_changes_nothing(client, db, contacts_auth, account):
    client.post("/api/v1/contacts", json=contact(), headers=contacts_auth)
    response = client.post("/api/v1/contacts", json=contact(agent_id="A-99"), headers=contacts_auth)
    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"
    assert response.json["code"] == "contact_id_reused"
    assert response.json["errors"] == [
        {"pointer": "/contact_id", "detail": "was reported before with different details"}
    ]
    assert db.session.execute(select(CollectionContact.agent_id)).scalar_one() == "A-17"


def test_a_breach_is_in_the_answer_the_audit_log_and_the_lenders_events(client, db, contacts_auth, account):
    night = client.post(
        "/api/v1/contacts", json=contact(occurred_at="2026-11-25T22:30:00+08:00"), headers=contacts_auth
    )
    assert night.status_code == 201
    assert night.json["compliant"] is False
    assert night.json["breaches"] == [
        {
            "rule": "cn.quiet_hours",
            "detail": "Contact between 22:00 and 08:00 in the borrower's time zone without the borrower's agreement.",
        }
    ]
    audit = db.session.execute(select(AuditEvent).where(AuditEvent.action == "contact.breach_detected")).scalar_one()
    assert audit.details["rule"] == "cn.quiet_hours" and audit.details["contact_id"] == "CALL-1"
    events = client.get("/api/v1/events", headers=contacts_auth).json["events"]
    breach = [e for e in events if e["type"] == "contact.breach_detected"]
    assert len(breach) == 1
    assert breach[0]["account_number"] == "SR001"
    assert breach[0]["data"]["rule"] == "cn.quiet_hours" and breach[0]["data"]["agency_code"] == "SUNNY-COLLECT"


def test_a_late_contact_changes_the_evaluation_of_later_ones(client, db, contacts_auth, account):
    # Calls 2–4 answered on the 25th; then call 1, earlier that day, is reported late: call 4 is now the fourth.
    for n in (2, 3, 4):
        client.post(
            "/api/v1/contacts", json=contact(n, occurred_at=f"2026-11-25T1{n}:00:00+08:00"), headers=contacts_auth
        )
    assert client.get("/api/v1/contacts/CALL-4", headers=contacts_auth).json["compliant"] is True
    late = client.post(
        "/api/v1/contacts", json=contact(1, occurred_at="2026-11-25T09:00:00+08:00"), headers=contacts_auth
    )
    assert late.json["compliant"] is True
    now = client.get("/api/v1/contacts/CALL-4", headers=contacts_auth).json
    assert [b["rule"] for b in now["breaches"]] == ["cn.daily_voice_contacts"]
    assert count(db, OutboxEvent) == 1


def test_batch_is_all_or_none_with_pointed_errors(client, db, contacts_auth, account):
    body = {
        "contacts": [
            contact(1),
            contact(2, channel="pigeon", occurred_at="2026-11-25 10:00"),
            contact(3, account_number="NOPE"),
            contact(4, extra="x", duration_seconds=-1),
        ]
    }
    response = client.post("/api/v1/contacts:batch", json=body, headers=contacts_auth)
    assert response.status_code == 422
    pointers = {e["pointer"] for e in response.json["errors"]}
    assert pointers == {
        "/contacts/1/channel",
        "/contacts/1/occurred_at",
        "/contacts/3/extra",
        "/contacts/3/duration_seconds",
    }
    assert count(db, CollectionContact) == 0
    missing = client.post(
        "/api/v1/contacts:batch",
        json={"contacts": [contact(1), contact(3, account_number="NOPE")]},
        headers=contacts_auth,
    )
    assert missing.status_code == 422
    assert missing.json["errors"] == [
        {"pointer": "/contacts/1/account_number", "detail": "is not an account of your lender"}
    ]
    assert count(db, CollectionContact) == 0


def test_batch_records_evaluates_and_replays(client, db, contacts_auth, account):
    body = {"contacts": [contact(n, occurred_at=f"2026-11-25T1{n}:00:00+08:00") for n in range(5)]}
    first = client.post("/api/v1/contacts:batch", json=body, headers=contacts_auth)
    assert first.status_code == 200
    assert (first.json["created"], first.json["replayed"]) == (5, 0)
    assert [c["compliant"] for c in first.json["contacts"]] == [True, True, True, False, False]
    again = client.post("/api/v1/contacts:batch", json=body, headers=contacts_auth)
    assert (again.json["created"], again.json["replayed"]) == (0, 5)
    assert again.json["contacts"] == first.json["contacts"]
    conflict = client.post(
        "/api/v1/contacts:batch", json={"contacts": [contact(9), contact(9, agent_id="B")]}, headers=contacts_auth
    )
    assert conflict.status_code == 409
    assert conflict.json["errors"][0]["pointer"] == "/contacts/1/contact_id"
    too_many = client.post(
        "/api/v1/contacts:batch", json={"contacts": [contact(n) for n in range(1001)]}, headers=contacts_auth
    )
    assert too_many.status_code == 422 and too_many.json["errors"][0]["pointer"] == "/contacts"


def test_scope_lender_and_unknown_contacts(client, db, make_client, auth, contacts_auth, account):
    assert client.post("/api/v1/contacts", json=contact(), headers=auth).status_code == 403  # no contacts:write
    assert client.get("/api/v1/contacts/NOPE", headers=contacts_auth).status_code == 404
    from tests.factories import LenderFactory

    other_lender = LenderFactory()
    _, other = make_client(SCOPES, name="other", for_lender=other_lender)
    client.post("/api/v1/contacts", json=contact(), headers=contacts_auth)
    assert client.get("/api/v1/contacts/CALL-1", headers=other).status_code == 404
    refused = client.post("/api/v1/contacts", json=contact(), headers=other)
    assert refused.status_code == 422  # SR001 is not the other lender's account


def test_a_contact_in_the_future_or_without_an_offset_is_refused(client, db, contacts_auth, account):
    future = (utcnow() + timedelta(hours=1)).isoformat()
    for moment, detail in (
        (future, "must not be in the future"),
        ("2026-11-25T10:00:00", "must be an RFC 3339 time with an offset"),
    ):
        response = client.post("/api/v1/contacts", json=contact(occurred_at=moment), headers=contacts_auth)
        assert response.status_code == 422
        assert response.json["errors"] == [{"pointer": "/occurred_at", "detail": detail}]


def test_a_refusal_reported_late_marks_every_later_contact_with_that_person(client, db, contacts_auth, account):
    # A colleague is called on the 1st and the 20th; later the platform reports that on
    # 1 November at 09:00 the same colleague refused further contact.
    colleague = {"party": "colleague", "phone_number": "13900139000", "outcome": "no_answer"}
    for n, day in ((1, "2026-11-01T11:00:00+08:00"), (2, "2026-11-20T11:00:00+08:00")):
        assert client.post(
            "/api/v1/contacts", json=contact(n, occurred_at=day, **colleague), headers=contacts_auth
        ).json["compliant"]
    refusal = {**colleague, "outcome": "refused"}
    late = client.post(
        "/api/v1/contacts", json=contact(0, occurred_at="2026-11-01T09:00:00+08:00", **refusal), headers=contacts_auth
    )
    assert late.json["compliant"] is True  # refusing is not a breach
    for n in (1, 2):
        rules = [b["rule"] for b in client.get(f"/api/v1/contacts/CALL-{n}", headers=contacts_auth).json["breaches"]]
        assert rules == ["cn.third_party"]


def test_contact_during_a_dispute_pause_breaks_any_paused(client, db, contacts_auth, account):
    from portal.contact import pauses
    from portal.models import PauseReason

    pauses.pause(account, PauseReason.DISPUTE, source_ref="D-TEST0001", actor_type="test")
    response = client.post(
        "/api/v1/contacts", json=contact(occurred_at=utcnow().isoformat(), channel="letter"), headers=contacts_auth
    )
    assert [b["rule"] for b in response.json["breaches"]] == ["any.paused"]
