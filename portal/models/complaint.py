"""Complaints about improper collection, their drafts and the messages about them."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import Model
from portal.models.types import UTCDateTime, enum_column, utcnow


class ComplaintCategory(enum.StrEnum):
    """What happened; the issue's list, in the order people are asked."""

    THREATS = "threats"  # threats or violence
    INSULTS = "insults"
    THIRD_PARTIES = "third_parties"  # contacting relatives, colleagues or phone contacts
    NIGHT_OR_TOO_OFTEN = "night_or_too_often"  # 22:00–08:00, or too often
    IMPERSONATION = "impersonation"  # police, courts, lawyers, officials
    FALSE_CLAIMS = "false_claims"  # legal consequences, credit records
    PUBLIC_DISCLOSURE = "public_disclosure"
    UNFAIR_FEES = "unfair_fees"
    BORROW_ELSEWHERE = "borrow_elsewhere"
    OTHER = "other"


# The categories that make a complaint urgent: acknowledged within 24 hours, and collection
# contact paused on the account at once (portal/complaints/service.py).
URGENT_CATEGORIES = frozenset(
    {ComplaintCategory.THREATS, ComplaintCategory.THIRD_PARTIES, ComplaintCategory.IMPERSONATION}
)


class ComplaintChannel(enum.StrEnum):
    CALL = "call"
    SMS = "sms"
    MESSAGING_APP = "messaging_app"
    VISIT = "visit"
    SOCIAL_MEDIA = "social_media"
    OTHER = "other"


class DesiredOutcome(enum.StrEnum):
    STOP_CONTACT = "stop_contact"
    APOLOGY = "apology"
    CORRECT_RECORDS = "correct_records"
    REFUND_FEES = "refund_fees"
    OTHER = "other"


class AnswerBy(enum.StrEnum):
    """How the complainant wants the answer (it is always on the status page as well)."""

    SMS = "sms"
    PHONE_CALL = "phone_call"
    EMAIL = "email"


class ComplainantRole(enum.StrEnum):
    BORROWER = "borrower"
    THIRD_PARTY = "third_party"  # a relative, colleague or contact; sees nothing of the debt


class ComplaintStatus(enum.StrEnum):
    RECEIVED = "received"
    ACKNOWLEDGED = "acknowledged"
    INVESTIGATING = "investigating"
    EXTENDED = "extended"  # the decision deadline was extended, with a reason
    RESOLVED = "resolved"
    CLOSED = "closed"
    REOPENED = "reopened"  # the complainant appealed within the window: decided again


class Resolution(enum.StrEnum):
    UPHELD = "upheld"
    PARTLY_UPHELD = "partly_upheld"
    NOT_UPHELD = "not_upheld"


class ComplaintDraft(Model):
    """What someone has typed so far, kept server-side between steps (``data``: step → fields)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    borrower_id: Mapped[int | None] = mapped_column(ForeignKey("borrower.id"))
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Set once, when the draft becomes a complaint (a second submit finds it and files nothing).
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Complaint(Model):
    """A filed complaint. Visible only to compliance staff and the complainant."""

    __table_args__ = (Index("ix_complaint_status_due", "status", "decision_due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # C-2026-000123; set right after the row gets its id, in the same transaction.
    reference: Mapped[str | None] = mapped_column(String(20), unique=True)
    # One complaint per draft, whatever the number of submits (unique).
    draft_id: Mapped[int] = mapped_column(ForeignKey("complaint_draft.id"), unique=True)
    lender_id: Mapped[int] = mapped_column(ForeignKey("lender.id"), index=True)
    borrower_id: Mapped[int | None] = mapped_column(ForeignKey("borrower.id"), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    role: Mapped[ComplainantRole] = mapped_column(enum_column(ComplainantRole, 16))
    complainant_name: Mapped[str] = mapped_column(String(200))
    complainant_phone_e164: Mapped[str] = mapped_column(String(20))
    complainant_email: Mapped[str | None] = mapped_column(String(200))
    relation_to_borrower: Mapped[str | None] = mapped_column(String(100))
    # What a third party told us about the borrower, as typed (never checked against accounts
    # in a way that tells them anything).
    borrower_name_given: Mapped[str | None] = mapped_column(String(200))
    account_number_given: Mapped[str | None] = mapped_column(String(64))
    categories: Mapped[list] = mapped_column(JSON)
    category_other: Mapped[str | None] = mapped_column(String(200))
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    incident_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    incident_timezone: Mapped[str] = mapped_column(String(64))
    channel: Mapped[ComplaintChannel] = mapped_column(enum_column(ComplaintChannel, 16))
    collector_name: Mapped[str | None] = mapped_column(String(200))
    collector_agency: Mapped[str | None] = mapped_column(String(200))
    caller_number: Mapped[str | None] = mapped_column(String(40))  # E.164 when it parsed
    description: Mapped[str] = mapped_column(Text)
    desired_outcomes: Mapped[list] = mapped_column(JSON)
    desired_other: Mapped[str | None] = mapped_column(String(200))
    answer_by: Mapped[AnswerBy] = mapped_column(enum_column(AnswerBy, 16))
    locale: Mapped[str] = mapped_column(String(8))
    status: Mapped[ComplaintStatus] = mapped_column(enum_column(ComplaintStatus, 16), default=ComplaintStatus.RECEIVED)
    resolution: Mapped[Resolution | None] = mapped_column(enum_column(Resolution, 16))
    remedy: Mapped[str | None] = mapped_column(Text)
    extension_reason: Mapped[str | None] = mapped_column(Text)
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    acknowledge_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decision_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ComplaintMessage(Model):
    """A reply to the complainant (``internal`` false) or a note kept among staff (true)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaint.id"), index=True)
    author: Mapped[str] = mapped_column(String(100))  # a staff name; never shown to the complainant
    internal: Mapped[bool] = mapped_column(Boolean, default=False)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
