"""What a borrower asks for from the rights centre: disputes, documents, contact preferences.

Rows are never deleted: when a dispute was open, or what the borrower asked for, is evidence.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import Model
from portal.models.account import AccountStatus
from portal.models.types import UTCDateTime, enum_column, utcnow


class DisputeReason(enum.StrEnum):
    NOT_MINE = "not_mine"
    AMOUNT_WRONG = "amount_wrong"
    ALREADY_PAID = "already_paid"
    IDENTITY_THEFT = "identity_theft"
    OTHER = "other"


class DisputeStatus(enum.StrEnum):
    AWAITING_CODE = "awaiting_code"  # written, evidence attached, not yet confirmed by SMS code
    OPEN = "open"  # confirmed: collection contact paused until it is answered
    ANSWERED = "answered"


class Dispute(Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    borrower_id: Mapped[int] = mapped_column(ForeignKey("borrower.id"), index=True)
    reason: Mapped[DisputeReason] = mapped_column(enum_column(DisputeReason))
    explanation: Mapped[str] = mapped_column(Text)
    status: Mapped[DisputeStatus] = mapped_column(enum_column(DisputeStatus), default=DisputeStatus.AWAITING_CODE)
    # What the account was before the dispute, restored when the answer lifts the pause.
    account_status_before: Mapped[AccountStatus | None] = mapped_column(enum_column(AccountStatus, 16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answer_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[str | None] = mapped_column(String(100))


class DocumentKind(enum.StrEnum):
    CONTRACT = "contract"
    BALANCE_STATEMENT = "balance_statement"  # the balance with its itemisation
    AGENCY_NAME = "agency_name"  # the collection agency now handling the account


class DocumentRequestStatus(enum.StrEnum):
    REQUESTED = "requested"
    SENT = "sent"


class DocumentRequest(Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    borrower_id: Mapped[int] = mapped_column(ForeignKey("borrower.id"), index=True)
    kind: Mapped[DocumentKind] = mapped_column(enum_column(DocumentKind))
    status: Mapped[DocumentRequestStatus] = mapped_column(
        enum_column(DocumentRequestStatus), default=DocumentRequestStatus.REQUESTED
    )
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ContactChannel(enum.StrEnum):
    CALL = "call"
    SMS = "sms"
    EMAIL = "email"
    LETTER = "letter"


class ContactPreference(Model):
    """One borrower's wishes, as the lender's collection platform must apply them.

    Home visits are not a channel a borrower can switch on here: never without consent given
    in person. No row means nothing chosen: the law's own limits apply.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    borrower_id: Mapped[int] = mapped_column(ForeignKey("borrower.id"), unique=True)
    # Comma-separated ContactChannel values, in ContactChannel order.
    channels: Mapped[str] = mapped_column(String(64))
    hours_from: Mapped[str] = mapped_column(String(5))  # "09:00", the borrower's local time
    hours_until: Mapped[str] = mapped_column(String(5))
    language: Mapped[str] = mapped_column(String(8))
    only_me: Mapped[bool] = mapped_column(Boolean, default=False)
    stop_contact: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
