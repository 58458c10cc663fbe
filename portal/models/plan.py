"""Repayment plans, their instalments, and the lenders' plan policies (versioned)."""

import enum
from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import Model
from portal.models.types import UTCDateTime, enum_column, utcnow


class PlanKind(enum.StrEnum):
    INSTALMENTS = "instalments"
    SETTLEMENT = "settlement"  # one payment by a deadline, part of the charges waived
    DEFERRAL = "deferral"  # the whole amount, later


class PlanFrequency(enum.StrEnum):
    WEEKLY = "weekly"
    FORTNIGHTLY = "fortnightly"
    MONTHLY = "monthly"


class PlanStatus(enum.StrEnum):
    DRAFT = "draft"  # chosen, waiting for the one-time code; not a plan yet
    PENDING = "pending"  # outside policy: a person reviews it
    OFFERED = "offered"  # a counter-offer from the lender, waiting for the borrower
    COUNTERED = "countered"  # the proposal a counter-offer replaced
    ACTIVE = "active"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    COMPLETED = "completed"
    BROKEN = "broken"
    REPLACED = "replaced"  # the borrower changed the plan: a newer agreed plan took its place


class HardshipReason(enum.StrEnum):
    JOB_LOSS = "job_loss"
    ILLNESS = "illness"
    FAMILY_EMERGENCY = "family_emergency"
    BUSINESS_DIFFICULTY = "business_difficulty"
    OTHER = "other"


class RejectionReason(enum.StrEnum):
    OUTSIDE_POLICY = "outside_policy"
    TERM_TOO_LONG = "term_too_long"
    INSTALMENTS_TOO_SMALL = "instalments_too_small"
    RECENT_BROKEN_PLAN = "recent_broken_plan"
    OTHER = "other"


class PlanPolicy(Model):
    """One version of a lender's plan policy; never changed once written."""

    __table_args__ = (UniqueConstraint("lender_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lender_id: Mapped[int] = mapped_column(ForeignKey("lender.id"))
    version: Mapped[int] = mapped_column(Integer)
    settings: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RepaymentPlan(Model):
    """A proposal and, once approved, the plan. Amounts in minor units of ``currency``.

    The instalments always sum exactly to ``total_minor`` (portal/plans/arithmetic.py).
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    # Random, for URLs and for reading out on the phone.
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("plan_policy.id"))
    kind: Mapped[PlanKind] = mapped_column(enum_column(PlanKind, 16))
    frequency: Mapped[PlanFrequency | None] = mapped_column(enum_column(PlanFrequency, 16))
    status: Mapped[PlanStatus] = mapped_column(enum_column(PlanStatus, 16), default=PlanStatus.DRAFT, index=True)
    currency: Mapped[str] = mapped_column(String(3))
    # The overdue amount the plan was built on, what the borrower agrees to pay, and what the
    # lender waives (balance = total + waived).
    balance_minor: Mapped[int] = mapped_column(BigInteger)
    total_minor: Mapped[int] = mapped_column(BigInteger)
    waived: Mapped[dict] = mapped_column(JSON, default=dict)
    paid_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    hardship_reason: Mapped[HardshipReason | None] = mapped_column(enum_column(HardshipReason, 32))
    hardship_note: Mapped[str | None] = mapped_column(Text)
    # Optional affordability answers, monthly, minor units.
    affordability: Mapped[dict | None] = mapped_column(JSON)
    # Problem codes (portal/plans/arithmetic.py) that sent it to review, and the reviewer's reasons.
    review_reasons: Mapped[list] = mapped_column(JSON, default=list)
    rejection_reasons: Mapped[list] = mapped_column(JSON, default=list)
    decision_note: Mapped[str | None] = mapped_column(Text)
    proposed_by: Mapped[str] = mapped_column(String(16), default="borrower")
    decided_by: Mapped[str | None] = mapped_column(String(64))
    counter_of_id: Mapped[int | None] = mapped_column(ForeignKey("repayment_plan.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    proposed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    review_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    account = relationship("Account", lazy="joined", innerjoin=True)
    instalments = relationship("PlanInstalment", order_by="PlanInstalment.number", lazy="selectin")

    @property
    def waived_minor(self) -> int:
        return sum(self.waived.values())

    @property
    def remaining_minor(self) -> int:
        """What the plan still expects: the agreed total less what has been paid towards it."""
        return sum(max(i.amount_minor - i.paid_minor, 0) for i in self.instalments)


class PlanInstalment(Model):
    __table_args__ = (UniqueConstraint("plan_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("repayment_plan.id"))
    number: Mapped[int] = mapped_column(Integer)  # 1, 2, …
    due_date: Mapped[date] = mapped_column(Date)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    paid_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    # Set once by `portal plans sweep` when the reminder before the date, and the note the day
    # after a miss, were written: the sweep sends each at most once, however often it runs.
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    missed_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def outstanding_minor(self) -> int:
        return max(self.amount_minor - self.paid_minor, 0)


class PlanPayment(Model):
    """A payment started to pay one instalment (the Pay button of a plan)."""

    payment_id: Mapped[int] = mapped_column(ForeignKey("payment.id"), primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("repayment_plan.id"), index=True)
    instalment_number: Mapped[int] = mapped_column(Integer)
