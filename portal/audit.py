"""Writing audit events. Always inside the caller's transaction: no change without its record."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import insert

from portal.extensions import db
from portal.models import AuditEvent
from portal.models.types import utcnow


def record(
    action: str,
    *,
    actor_type: str,
    actor_id: object = None,
    subject: Any = None,  # any model instance (its class name and id are recorded)
    ip: str | None = None,
    **details,
) -> AuditEvent:
    event = AuditEvent(
        action=action,
        actor_type=actor_type,
        actor_id=None if actor_id is None else str(actor_id),
        subject_type=None if subject is None else type(subject).__name__.lower(),
        subject_id=None if subject is None else str(subject.id),
        ip=ip,
        details=details,
    )
    db.session.add(event)
    return event


def record_many(
    action: str,
    *,
    actor_type: str,
    actor_id: object = None,
    subject_type: str,
    items: Iterable[tuple[object, dict]],
) -> int:
    """The same records as ``record``, one per (subject id, details), in one bulk INSERT:
    for set-based writes (portal/imports) that change many rows in one statement."""
    now = utcnow()
    rows = [
        {
            "occurred_at": now,
            "action": action,
            "actor_type": actor_type,
            "actor_id": None if actor_id is None else str(actor_id),
            "subject_type": subject_type,
            "subject_id": str(subject_id),
            "ip": None,
            "details": details,
        }
        for subject_id, details in items
    ]
    if rows:
        db.session.execute(insert(AuditEvent), rows)
    return len(rows)


# The columns of an audit record, in the order ``insert_from_select`` expects them.
COLUMNS = ("occurred_at", "actor_type", "actor_id", "action", "subject_type", "subject_id", "ip", "details")


def insert_from_select(select_sql: str) -> str:
    """SQL that writes the records a SELECT produces (its columns in ``COLUMNS`` order), for
    set-based writes that audit every row they change in the same statement (PostgreSQL)."""
    return f"INSERT INTO {AuditEvent.__tablename__} ({', '.join(COLUMNS)}) {select_sql}"
