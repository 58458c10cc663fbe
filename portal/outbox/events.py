"""The events upstream systems learn about, and how they are written: with the change.

``emit`` adds the event (and one delivery per subscribed client) to the caller's
transaction, so a change can never be committed without its event, nor an event without
its change. Delivery happens later, in ``portal outbox run``.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import BigInteger, Text, cast, func, or_, select, tuple_
from sqlalchemy.sql.elements import ColumnElement

from portal.extensions import db
from portal.models import Account, ApiClient, OutboxDelivery, OutboxEvent
from portal.models.types import utcnow

# The whole catalogue, designed now; features emit theirs as they land. Collection systems
# never receive a complainant's personal data (complaint.* carry references only).
CATALOGUE = {
    "payment.succeeded": "A payment was confirmed by the payment provider.",
    "payment.failed": "A payment attempt failed; no money was taken.",
    "payment.refunded": "All or part of a payment was refunded.",
    "plan.proposed": "A repayment plan was proposed (by the borrower or an agent with consent).",
    "plan.approved": "A repayment plan was approved.",
    "plan.rejected": "A repayment plan was rejected.",
    "plan.countered": "A supervisor countered a proposed plan.",
    "plan.accepted": "The borrower accepted a counter-offer; the plan is active.",
    "plan.declined": "The borrower declined a counter-offer (or replaced it with a new proposal).",
    "plan.withdrawn": "The borrower withdrew a proposal waiting for review (or replaced it with a new one).",
    "plan.missed": "An instalment of an active plan was not paid by its due date.",
    "plan.adjusted": "New figures from the loan core changed the instalments of an active plan.",
    "plan.broken": "An active plan was broken (missed instalments).",
    "plan.completed": "All instalments of a plan were paid.",
    "account.settled": "The overdue amount of an account reached zero.",
    "dispute.opened": "The borrower disputed the debt; collection contact must pause.",
    "dispute.answered": "A dispute was answered.",
    "document.requested": "The borrower asked for a document (e.g. a settlement certificate).",
    "contact_preferences.changed": "The borrower changed how and when they may be contacted.",
    "contact.pause_requested": "Collection contact must pause (urgent complaint or dispute).",
    "contact.breach_detected": "A reported collection contact breaks a contact rule (rule id and contact id only).",
    "contact.pause_lifted": "A pause of collection contact ended (dispute answered, complaint resolved).",
    "complaint.filed": "A complaint was filed (reference only, no complainant data).",
    "complaint.resolved": "A complaint was resolved.",
    "link.opened": "Someone started verifying through a reminder link.",
    "borrower.signed_in": "A borrower proved who they are and signed in.",
}


# How long a delivery is retried before it is dead-lettered for an administrator.
RETRY_FOR = timedelta(days=3)


class UnknownEvent(ValueError):
    pass


def emit(event_type: str, *, lender_id: int, account: Account | None = None, data: dict | None = None) -> OutboxEvent:
    if event_type not in CATALOGUE:
        raise UnknownEvent(event_type)
    now = utcnow()
    event_id = f"evt_{uuid.uuid4().hex}"
    payload = {
        "id": event_id,
        "type": event_type,
        "created_at": now.isoformat().replace("+00:00", "Z"),
        "account_number": account.account_number if account else None,
        "data": data or {},
    }
    event = OutboxEvent(
        event_id=event_id,
        type=event_type,
        lender_id=lender_id,
        account_id=account.id if account else None,
        payload=payload,
        created_at=now,
        tx_id=_this_transaction(),
    )
    db.session.add(event)
    db.session.flush()
    subscribers = db.session.execute(
        select(ApiClient.id).where(
            ApiClient.lender_id == lender_id, ApiClient.webhook_url.is_not(None), ApiClient.disabled_at.is_(None)
        )
    ).scalars()
    for client_id in subscribers:
        db.session.add(
            OutboxDelivery(
                event_id=event.id,
                client_id=client_id,
                account_id=event.account_id,
                next_attempt_at=now,
                give_up_at=now + RETRY_FOR,
            )
        )
    return event


# Events per page of the pull feed (GET /api/v1/events?limit=N), and N when not given.
FEED_LIMIT = range(1, 501)
FEED_DEFAULT_LIMIT = 100


class UnknownCursor(ValueError):
    """The cursor is not one of this lender's events."""


def _as_bigint(xid8) -> ColumnElement[int]:
    return cast(cast(xid8, Text), BigInteger)


def _this_transaction() -> ColumnElement[int] | int:
    """The writing transaction's id on PostgreSQL; 0 on SQLite, where writers take turns
    (portal/database.py: every writing transaction begins IMMEDIATE), so row ids follow
    commit order there."""
    if db.session.get_bind().dialect.name == "postgresql":
        return _as_bigint(func.pg_current_xact_id())
    return 0


def feed(lender_id: int, after: str | None, limit: int) -> list[OutboxEvent]:
    """Events of a lender after a cursor, oldest first: the pull API for clients without webhooks.

    Lossless under concurrent writers. Row ids are handed out when an event is written, but
    PostgreSQL transactions commit in any order, so paging by id alone can step over an event
    whose transaction commits later. Events are therefore ordered by (writing transaction id,
    row id) and handed out only once every transaction that began before theirs has finished
    (``tx_id`` below the snapshot's xmin): any event committed later has a larger key than every
    cursor handed out so far. An event appears in the feed once the transactions older than
    its own have ended (normally milliseconds).

    The cursor is the public id of the last event the lender received: opaque, and it says
    nothing about other lenders' events.
    """
    query = select(OutboxEvent).where(OutboxEvent.lender_id == lender_id)
    if after:
        start = db.session.execute(
            select(OutboxEvent.tx_id, OutboxEvent.id).where(
                OutboxEvent.lender_id == lender_id, OutboxEvent.event_id == after
            )
        ).one_or_none()
        if start is None:
            raise UnknownCursor(after)
        query = query.where(tuple_(OutboxEvent.tx_id, OutboxEvent.id) > tuple_(start.tx_id, start.id))
    if db.session.get_bind().dialect.name == "postgresql":
        # Events written by the reading transaction itself are visible to it as well (a
        # request that reads the feed writes none; the tests' rolled-back transaction does).
        query = query.where(
            or_(
                OutboxEvent.tx_id < _as_bigint(func.pg_snapshot_xmin(func.pg_current_snapshot())),
                OutboxEvent.tx_id == _as_bigint(func.pg_current_xact_id_if_assigned()),
            )
        )
    return list(db.session.execute(query.order_by(OutboxEvent.tx_id, OutboxEvent.id).limit(limit)).scalars())
