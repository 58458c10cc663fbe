"""Collection contacts reported by a lender's collection platform, each with its evaluation
against the contact rules of the lender's jurisdiction (portal/collection/rules.py).

Rows are never deleted: what was reported, and when, is evidence.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import Model
from portal.models.types import UTCDateTime, enum_column, utcnow


class CollectionChannel(enum.StrEnum):
    CALL = "call"
    SMS = "sms"
    MESSAGING_APP = "messaging_app"
    EMAIL = "email"
    LETTER = "letter"
    VISIT = "visit"


class ContactDirection(enum.StrEnum):
    OUTBOUND = "outbound"  # the collector contacted someone
    INBOUND = "inbound"  # someone contacted the collector


class ContactOutcome(enum.StrEnum):
    ANSWERED = "answered"
    NO_ANSWER = "no_answer"
    MESSAGE_LEFT = "message_left"
    REFUSED = "refused"  # the person contacted refused further contact


class ContactParty(enum.StrEnum):
    BORROWER = "borrower"
    RELATIVE = "relative"
    COLLEAGUE = "colleague"
    EMERGENCY_CONTACT = "emergency_contact"
    OTHER = "other"


class CollectionContact(Model):
    """One contact as the platform reported it, and its current evaluation.

    ``breaches`` is the list of rule ids the contact breaks, recomputed whenever a contact
    reported later changes the picture; ``request_hash`` is the SHA-256 of the normalised
    report, so the same ``contact_id`` with another body can be refused.
    """

    __table_args__ = (
        UniqueConstraint("lender_id", "contact_id"),
        Index("ix_collection_contact_account_time", "account_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lender_id: Mapped[int] = mapped_column(ForeignKey("lender.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    contact_id: Mapped[str] = mapped_column(String(100))
    request_hash: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    channel: Mapped[CollectionChannel] = mapped_column(enum_column(CollectionChannel, 16))
    direction: Mapped[ContactDirection] = mapped_column(enum_column(ContactDirection, 16))
    outcome: Mapped[ContactOutcome] = mapped_column(enum_column(ContactOutcome, 16))
    party: Mapped[ContactParty] = mapped_column(enum_column(ContactParty, 20))
    phone_number: Mapped[str | None] = mapped_column(String(20))
    agent_id: Mapped[str] = mapped_column(String(64))
    agency_code: Mapped[str] = mapped_column(String(64))
    duration_seconds: Mapped[int | None] = mapped_column(Integer)
    compliant: Mapped[bool] = mapped_column(Boolean, default=True)
    breaches: Mapped[list] = mapped_column(JSON, default=list)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    evaluated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
