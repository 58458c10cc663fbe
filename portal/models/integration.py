"""Upstream systems: API clients, idempotent requests, and the outbox of events for them."""

import enum
from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import Model
from portal.models.types import UTCDateTime, enum_column, utcnow


class ApiScope(enum.StrEnum):
    ACCOUNTS_WRITE = "accounts:write"
    LINKS_WRITE = "links:write"
    EVENTS_READ = "events:read"
    CONTACTS_WRITE = "contacts:write"


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for its next attempt
    DELIVERED = "delivered"
    DEAD = "dead"  # retried for RETRY_FOR without success; an administrator decides


class ApiClient(Model):
    """A lender's system calling the API. The bearer token is shown once; only its hash stays."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    lender_id: Mapped[int] = mapped_column(ForeignKey("lender.id"), index=True)
    # Public part of the token (for lookup) and SHA-256 of the whole token.
    key_id: Mapped[str] = mapped_column(String(32), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[str] = mapped_column(String(200))
    # Where outbound events are POSTed, and the key that signs them (HMAC-SHA256). The key
    # must be readable to sign, so it is kept like a password the portal itself uses.
    webhook_url: Mapped[str | None] = mapped_column(String(500))
    webhook_secret: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    lender = relationship("Lender", lazy="joined", innerjoin=True)

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes.split(",")


class IdempotentRequest(Model):
    """The first response to a request with an Idempotency-Key, replayed for repeats.

    Holds no secret in clear: ``key`` is the SHA-256 of the client's Idempotency-Key and
    ``body`` is the response encrypted with a key derived from that Idempotency-Key and the
    app's SECRET_KEY (portal/api/idempotency.py). Kept for ``IDEMPOTENCY_KEEP``.
    """

    __table_args__ = (UniqueConstraint("client_id", "key"), Index("ix_idempotent_request_created_at", "created_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("api_client.id"))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutboxEvent(Model):
    """A fact upstream systems must learn, written in the same transaction as the change.

    ``(tx_id, id)`` orders the pull feed (portal/outbox/events.py): ``tx_id`` is the writing
    transaction's id on PostgreSQL (``pg_current_xact_id``), 0 on SQLite, whose writers take
    turns. ``event_id`` is the stable id receivers de-duplicate on, and the feed's cursor.
    """

    __table_args__ = (Index("ix_outbox_event_feed", "lender_id", "tx_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(40), unique=True)
    type: Mapped[str] = mapped_column(String(64))
    lender_id: Mapped[int] = mapped_column(ForeignKey("lender.id"), index=True)
    tx_id: Mapped[int] = mapped_column(BigInteger, default=0)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"), index=True)
    payload: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutboxDelivery(Model):
    """One event on its way to one client's webhook: retried until delivered or dead."""

    __table_args__ = (
        UniqueConstraint("event_id", "client_id"),
        # "Is an earlier event of this account still on its way to this client?"
        Index("ix_outbox_delivery_order", "client_id", "account_id", "event_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("outbox_event.id"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("api_client.id"), index=True)
    # Copied from the event so "is an earlier event of this account still undelivered?" is
    # one indexed lookup.
    account_id: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[DeliveryStatus] = mapped_column(
        enum_column(DeliveryStatus, 16), default=DeliveryStatus.PENDING, index=True
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # Retries stop here (three days after the event, or after an administrator's retry).
    give_up_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # A worker holds a delivery until this time while it sends it.
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(500))
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    event = relationship("OutboxEvent", lazy="joined", innerjoin=True)
    client = relationship("ApiClient", lazy="joined", innerjoin=True)
