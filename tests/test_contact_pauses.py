"""Pausing collection contact: written with its outbox event, idempotent, lifted on the record."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from portal.contact.pauses import lift, pause, pauses_in_force
from portal.models import AuditEvent, OutboxEvent, PauseReason
from portal.models.types import utcnow
from tests.factories import AccountFactory


def events(db, event_type: str) -> list[dict]:
    return [e.payload for e in db.session.execute(select(OutboxEvent).where(OutboxEvent.type == event_type)).scalars()]


def test_a_pause_tells_the_lender_with_a_reference_only_and_is_not_doubled(db):
    account = AccountFactory()
    first = pause(account, PauseReason.URGENT_COMPLAINT, source_ref="C-2026-000123", actor_type="system")
    again = pause(account, PauseReason.URGENT_COMPLAINT, source_ref="C-2026-000123", actor_type="system")
    assert again.id == first.id
    [sent] = events(db, "contact.pause_requested")
    assert sent["account_number"] == account.account_number
    assert sent["data"] == {"pause_id": first.id, "reason": "urgent_complaint", "reference": "C-2026-000123"}
    assert pauses_in_force(account.id) == [first]


def test_lifting_ends_it_for_later_moments_only(db):
    account = AccountFactory()
    record = pause(account, PauseReason.DISPUTE, source_ref="D-2026-000001", actor_type="borrower")
    during = utcnow()
    assert lift(record, note="dispute answered", actor_type="cli") is True
    assert lift(record, note="twice", actor_type="cli") is False
    assert pauses_in_force(account.id) == []
    assert pauses_in_force(account.id, at=during) == [record]
    assert pauses_in_force(account.id, at=record.started_at - timedelta(seconds=1)) == []
    assert [e["data"]["reference"] for e in events(db, "contact.pause_lifted")] == ["D-2026-000001"]
    actions = db.session.execute(select(AuditEvent.action).order_by(AuditEvent.id)).scalars().all()
    assert actions[-2:] == ["contact.paused", "contact.pause_lifted"]
