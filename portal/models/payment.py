import enum
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import Model
from portal.models.types import UTCDateTime, enum_column, utcnow


class PaymentStatus(enum.StrEnum):
    CREATED = "created"  # chosen, nothing sent to Stripe yet, nothing reserved
    PENDING = "pending"  # the amount is reserved on the account; Stripe has (or may have) the intent
    SUCCEEDED = "succeeded"  # final, except that it can be refunded
    FAILED = "failed"  # final, except that a late success from Stripe still counts
    REFUNDED = "refunded"  # all of it


class PaymentPurpose(enum.StrEnum):
    OVERDUE_FULL = "overdue_full"
    INSTALMENT = "instalment"
    OTHER = "other"


class PaymentMethod(enum.StrEnum):
    """Stripe payment method types the portal can offer."""

    CARD = "card"
    ALIPAY = "alipay"
    WECHAT_PAY = "wechat_pay"


class Payment(Model):
    """One attempt to pay an amount towards one account. Amounts in minor units."""

    id: Mapped[int] = mapped_column(primary_key=True)
    # Random, for URLs: a sequence number would let one guess other people's payments.
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    purpose: Mapped[PaymentPurpose] = mapped_column(enum_column(PaymentPurpose, 16))
    method: Mapped[PaymentMethod] = mapped_column(enum_column(PaymentMethod, 16), default=PaymentMethod.CARD)
    status: Mapped[PaymentStatus] = mapped_column(
        enum_column(PaymentStatus, 16), default=PaymentStatus.CREATED, index=True
    )
    # Passed to Stripe with every call for this attempt: a retry can never charge twice.
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    provider_reference: Mapped[str | None] = mapped_column(String(255), unique=True)
    provider_status: Mapped[str | None] = mapped_column(String(32))
    payment_method_ref: Mapped[str | None] = mapped_column(String(255))
    failure_code: Mapped[str | None] = mapped_column(String(64))
    receipt_number: Mapped[str | None] = mapped_column(String(32), unique=True)
    # What the payment paid off, fixed when it succeeds (fees first, principal last).
    applied_fees_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    applied_penalty_interest_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    applied_interest_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    applied_principal_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    # Money paid beyond what was still overdue when it succeeded (the loan core changed
    # meanwhile): staff must refund it.
    excess_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    refunded_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    # Overdue amount of the account right after this payment, for the receipt.
    overdue_after_minor: Mapped[int | None] = mapped_column(BigInteger)
    submit_attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the portal last asked Stripe about this pending payment (its page, reconciliation):
    # claimed by a conditional UPDATE, so that refreshes and concurrent askers make at most one
    # call per interval (payments.service.CHECK_INTERVAL).
    last_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    account = relationship("Account", lazy="joined", innerjoin=True)

    @property
    def applied(self) -> dict[str, int]:
        """What the payment paid off, part by part."""
        return {
            "fees": self.applied_fees_minor,
            "penalty_interest": self.applied_penalty_interest_minor,
            "interest": self.applied_interest_minor,
            "principal": self.applied_principal_minor,
        }


class ProcessedStripeEvent(Model):
    """Every Stripe event we acted on, once: Stripe delivers late, twice and out of order."""

    __table_args__ = (UniqueConstraint("event_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(255))
    event_type: Mapped[str] = mapped_column(String(64))
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payment.id"), index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
