"""Pausing collection contact (a dispute, an urgent complaint) and lifting the pause.

A pause is written in the same transaction as what caused it, together with its outbox event
(``contact.pause_requested``), so the lender's collection platform can never miss it; lifting
it sends ``contact.pause_lifted``. Events carry the reason and a reference only: never who
complained or what they said.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select

from portal import audit
from portal.extensions import db
from portal.models import Account
from portal.models.contact import ContactPause, PauseReason
from portal.models.types import utcnow
from portal.outbox.events import emit


def pause(
    account: Account, reason: PauseReason, *, source_ref: str, actor_type: str, actor_id: object = None
) -> ContactPause:
    """Pause contact on an account; the same reason and source twice is one pause."""
    existing = db.session.execute(
        select(ContactPause).where(
            ContactPause.account_id == account.id,
            ContactPause.reason == reason,
            ContactPause.source_ref == source_ref,
            ContactPause.ended_at.is_(None),
        )
    ).scalar_one_or_none()
    if existing is not None:
        return existing
    record = ContactPause(account_id=account.id, reason=reason, source_ref=source_ref, started_at=utcnow())
    db.session.add(record)
    db.session.flush()
    audit.record(
        "contact.paused", actor_type=actor_type, actor_id=actor_id, subject=account, reason=reason, source=source_ref
    )
    emit(
        "contact.pause_requested",
        lender_id=account.lender_id,
        account=account,
        data={"pause_id": record.id, "reason": str(reason), "reference": source_ref},
    )
    return record


def lift(record: ContactPause, *, note: str, actor_type: str, actor_id: object = None) -> bool:
    """End a pause (the dispute was answered, the complaint resolved). False if already ended."""
    if record.ended_at is not None:
        return False
    record.ended_at = utcnow()
    record.end_note = note[:200]
    account = db.session.get_one(Account, record.account_id)
    audit.record(
        "contact.pause_lifted", actor_type=actor_type, actor_id=actor_id, subject=account, pause=record.id, note=note
    )
    emit(
        "contact.pause_lifted",
        lender_id=account.lender_id,
        account=account,
        data={"pause_id": record.id, "reason": str(record.reason), "reference": record.source_ref},
    )
    return True


def pauses_in_force(account_id: int, at: datetime | None = None) -> list[ContactPause]:
    """The pauses active on an account at a moment (now by default), oldest first."""
    moment = at or utcnow()
    return list(
        db.session.execute(
            select(ContactPause)
            .where(
                ContactPause.account_id == account_id,
                ContactPause.started_at <= moment,
                or_(ContactPause.ended_at.is_(None), ContactPause.ended_at > moment),
            )
            .order_by(ContactPause.started_at, ContactPause.id)
        ).scalars()
    )
