"""Pauses of collection contact on an account: facts the lender's collection platform must obey."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import Model
from portal.models.types import UTCDateTime, enum_column, utcnow


class PauseReason(enum.StrEnum):
    """Why collection contact must stop for a while."""

    DISPUTE = "dispute"  # the borrower disputed the debt: no contact until it is answered
    URGENT_COMPLAINT = "urgent_complaint"  # threats, violence or third-party contact reported
    BORROWER_REQUEST = "borrower_request"  # a stop request where the jurisdiction grants it


class ContactPause(Model):
    """One pause: active from ``started_at`` until ``ended_at`` (None while it lasts).

    Several pauses may overlap (a dispute and an urgent complaint); contact may resume only
    when none is active. Rows are never deleted: when a pause was in force is evidence.
    """

    __table_args__ = (Index("ix_contact_pause_account_active", "account_id", "ended_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    reason: Mapped[PauseReason] = mapped_column(enum_column(PauseReason))
    # What caused it, as the lender may see it: a dispute or complaint reference, never
    # anything about a complainant.
    source_ref: Mapped[str] = mapped_column(String(40))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_note: Mapped[str | None] = mapped_column(String(200))
