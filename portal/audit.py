"""Writing audit events. Always inside the caller's transaction: no change without its record."""

from __future__ import annotations

from typing import Any

from portal.extensions import db
from portal.models import AuditEvent


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
