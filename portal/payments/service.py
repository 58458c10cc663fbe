"""Payments: choosing an amount, charging through Stripe, recording the outcome exactly once.

How "exactly once" holds, whatever the order, duplication or delay of return pages and
webhooks, and however many taps or tabs:

* Our own Payment row exists before Stripe is called, with a deterministic idempotency key
  that every call for that attempt passes to Stripe.
* Sending an attempt to Stripe first reserves its amount on the account with one atomic
  conditional UPDATE (``overdue - reserved >= amount``), and moves the attempt from
  ``created`` to ``pending`` with another. A second tap finds it already pending and sends
  nothing; attempts that together exceed what is owed cannot all reserve.
* Every outcome (return page, webhook, reconciliation) goes through ``record_success`` /
  ``record_failure``, which are conditional UPDATEs on the payment's status under a lock on
  the account row: the first one moves the money, every later one changes nothing.
* Webhook events are stored by id under a unique constraint before they are acted on.
* Nothing stays reserved forever: an attempt still pending after PAYMENT_CONFIRMATION_MINUTES
  whose intent Stripe says was never completed is cancelled at Stripe first, and only then
  recorded as failed through ``record_failure`` (``reconcile``). Stripe cannot take money for a
  cancelled intent; if it took some before the cancel, the cancel is refused and the success is
  recorded instead, and a late success after a failure still counts, once (``record_success``).
* Asking Stripe about a pending payment is claimed first (``last_checked_at``, a conditional
  UPDATE committed before the call): whoever asks, a page view, a refresh or reconcilers on
  several machines, at most one call per ``CHECK_INTERVAL`` is made.

A database transaction never stays open while waiting on Stripe: the functions that call it
commit first (``commit_before_external_call``), and the request (or CLI command) commits the
outcome at its end, like everything else (portal/database.py).
"""

from __future__ import annotations

import dataclasses
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import CursorResult, Executable, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import lazyload
from sqlalchemy.orm.attributes import set_committed_value

from portal import audit
from portal.database import commit_before_external_call
from portal.extensions import db
from portal.models import (
    Account,
    AccountAdjustment,
    AccountStatus,
    Borrower,
    Payment,
    PaymentMethod,
    PaymentPurpose,
    PaymentStatus,
    ProcessedStripeEvent,
)
from portal.models.types import utcnow
from portal.outbox.events import emit
from portal.payments.gateway import (
    Intent,
    InvalidWebhook,
    NotCancellable,
    PaymentDeclined,
    ProviderUnavailable,
    gateway,
    intent_params,
)
from portal.plans import service as plans
from portal.signed_in import LoanAccount

# Which payment methods work with which presentment currency (Stripe's rules: Alipay and
# WeChat Pay present in CNY here; cards in any currency the account settles).
METHOD_CURRENCIES = {PaymentMethod.CARD: None, PaymentMethod.ALIPAY: {"CNY"}, PaymentMethod.WECHAT_PAY: {"CNY"}}
# Statuses that hold a reservation on the account.
IN_FLIGHT = (PaymentStatus.PENDING,)
# At most one question to Stripe about a pending payment per interval, however often its page
# is opened and however many reconcilers run.
CHECK_INTERVAL = timedelta(seconds=5)
# Stripe's statuses of an intent the borrower never completed: nothing has been charged, and
# Stripe still allows it to be cancelled.
NEVER_COMPLETED = ("requires_action", "requires_payment_method", "requires_confirmation")
# The failure code of an attempt cancelled because its bank check was never finished.
ABANDONED = "confirmation_abandoned"


def _changed(statement: Executable) -> int:
    """Run a conditional UPDATE; how many rows it changed (0: its condition no longer held)."""
    return cast("CursorResult[Any]", db.session.execute(statement)).rowcount


class PaymentRefused(Exception):
    """An amount or attempt that cannot go ahead. ``code`` picks the translated message."""

    def __init__(self, code: str, **details):
        super().__init__(code)
        self.code = code
        self.details = details


# ---------------------------------------------------------------------------------------
# Choosing what to pay


@dataclass(frozen=True)
class Allocation:
    """How an amount pays off the overdue breakdown: fees, then penalty interest, then
    interest, then principal (the order loan contracts use); anything beyond is excess."""

    fees: int
    penalty_interest: int
    interest: int
    principal: int
    excess: int

    @property
    def total(self) -> int:
        return self.fees + self.penalty_interest + self.interest + self.principal


ALLOCATION_ORDER = ("fees", "penalty_interest", "interest", "principal")


def allocate(account: Account, amount: int) -> Allocation:
    remaining = amount
    parts = {}
    for part in ALLOCATION_ORDER:
        outstanding = getattr(account, f"{part}_minor")
        parts[part] = min(outstanding, remaining)
        remaining -= parts[part]
    return Allocation(excess=remaining, **parts)


def minimum_amount(account: LoanAccount) -> int:
    """The smallest "other amount": the lower of a share of the overdue amount and a fixed
    sum, rounded up to a whole minor unit, and never more than what can be paid."""
    lender = account.lender
    share = -(-account.overdue_minor * lender.min_payment_basis_points // 10_000)
    return max(min(share, lender.min_payment_minor, account.payable_minor), 1)


def available_methods(account: LoanAccount) -> list[PaymentMethod]:
    offered = []
    for name in account.lender.payment_methods.split(","):
        try:
            method = PaymentMethod(name.strip())
        except ValueError:
            continue  # not a method the portal knows (or an empty entry)
        currencies = METHOD_CURRENCIES[method]
        if currencies is None or account.currency in currencies:
            offered.append(method)
    return offered


def check_amount(account: LoanAccount, amount: int) -> None:
    if account.payable_minor <= 0:
        raise PaymentRefused("in_flight" if account.reserved_minor else "nothing_due")
    if amount <= 0:
        raise PaymentRefused("not_positive")
    if amount > account.payable_minor:
        raise PaymentRefused("above_balance", maximum=account.payable_minor)
    if amount < minimum_amount(account) and amount != account.payable_minor:
        raise PaymentRefused("below_minimum", minimum=minimum_amount(account))


def start_payment(
    account: LoanAccount,
    amount: int,
    purpose: PaymentPurpose,
    method: PaymentMethod = PaymentMethod.CARD,
    *,
    actor_id: object = None,
) -> Payment:
    """Record the borrower's choice. Nothing is reserved or sent yet (the caller commits).

    ``account`` may be the page's snapshot: the amount is checked again, under a lock, when
    the payment reserves it (submit)."""
    check_amount(account, amount)
    if method not in available_methods(account):
        raise PaymentRefused("method_unavailable")
    public_id = secrets.token_urlsafe(16)
    payment = Payment(
        public_id=public_id,
        account_id=account.id,
        amount_minor=amount,
        currency=account.currency,
        purpose=purpose,
        method=method,
        idempotency_key=f"portal-payment-{public_id}",
    )
    db.session.add(payment)
    db.session.flush()
    audit.record(
        "payment.created",
        actor_type="borrower",
        actor_id=actor_id,
        subject=payment,
        amount=amount,
        currency=account.currency,
        purpose=purpose,
        method=method,
    )
    return payment


def check_still_payable(payment: Payment) -> None:
    """Refuse an attempt chosen earlier that no longer fits what can be paid now.

    The account changed after the amount was chosen (the card page was left open): another
    payment succeeded or is being confirmed, or the loan core lowered the figures. The code
    says which, so the borrower is told the truth and the new figure.
    """
    account = payment.account
    if payment.amount_minor <= account.payable_minor:
        return
    if account.reserved_minor and payment.amount_minor <= account.overdue_minor:
        raise PaymentRefused("in_flight")  # it fits once the payment being confirmed is settled
    if account.payable_minor <= 0:
        raise PaymentRefused("in_flight" if account.reserved_minor else "nothing_due")
    raise PaymentRefused("amount_changed", chosen=payment.amount_minor, owed=account.overdue_minor)


def choose_method(payment: Payment, method: str) -> None:
    """Switch an attempt that has not been sent yet to another available method."""
    if payment.status != PaymentStatus.CREATED or method not in available_methods(payment.account):
        raise PaymentRefused("method_unavailable")
    payment.method = PaymentMethod(method)


# ---------------------------------------------------------------------------------------
# Sending to Stripe


@dataclass(frozen=True)
class SubmitResult:
    """What the browser should do next: nothing (see the status page), confirm a 3-D
    Secure challenge with ``client_secret``, go to ``redirect_url``, or show ``qr_image_url``."""

    payment: Payment
    client_secret: str | None = None
    redirect_url: str | None = None
    qr_image_url: str | None = None


class _NotReserved(Exception):
    pass


def _reserve(payment: Payment) -> bool:
    """Move created → pending and reserve the amount, atomically. False if already sent."""
    try:
        with db.session.begin_nested():  # both changes, or neither
            _reserve_or_raise(payment)
    except _NotReserved:
        return False
    return True


def _reserve_or_raise(payment: Payment) -> None:
    reserved = _changed(
        update(Account)
        .where(Account.id == payment.account_id, Account.overdue_minor - Account.reserved_minor >= payment.amount_minor)
        .values(reserved_minor=Account.reserved_minor + payment.amount_minor)
        .execution_options(synchronize_session=False)
    )
    if reserved != 1:
        raise _NotReserved
    sent = _changed(
        update(Payment)
        .where(Payment.id == payment.id, Payment.status == PaymentStatus.CREATED)
        .values(status=PaymentStatus.PENDING, submitted_at=utcnow(), submit_attempts=Payment.submit_attempts + 1)
        .execution_options(synchronize_session=False)
    )
    if sent != 1:
        raise _NotReserved


def submit(
    payment: Payment, *, payment_method_ref: str | None, return_url: str | None, actor_id: object = None
) -> SubmitResult:
    """Send an attempt to Stripe once. Commits the reservation before the call."""
    payment_id = payment.id
    if not _reserve(payment):
        payment = db.session.get_one(Payment, payment_id, populate_existing=True)
        if payment.status == PaymentStatus.CREATED:
            # Could not reserve: the amount is no longer payable. Say why, from the account as
            # it is now (another tab paid first, or the figures changed).
            db.session.refresh(payment.account)
            check_still_payable(payment)
            raise PaymentRefused("in_flight")  # it fitted again a moment later: ask to wait
        return SubmitResult(payment)  # a double tap: already on its way, nothing more to send
    payment.payment_method_ref = payment_method_ref
    audit.record("payment.submitted", actor_type="borrower", actor_id=actor_id, subject=payment, method=payment.method)
    # From here on the payment is pending with its amount reserved, whatever Stripe answers
    # or if it never does: committed before asking.
    commit_before_external_call("Stripe: create the payment intent")

    params = intent_params(
        amount=payment.amount_minor,
        currency=payment.currency,
        method=payment.method,
        payment_method=payment_method_ref,
        metadata={"payment_id": payment.public_id, "account_number": payment.account.account_number},
        return_url=return_url,
    )
    try:
        intent = gateway().create_intent(params, payment.idempotency_key)
    except PaymentDeclined as declined:
        record_failure(payment.id, declined.code, source="charge")
        return SubmitResult(db.session.get_one(Payment, payment_id))
    except ProviderUnavailable as exc:
        # The outcome is unknown: the money may or may not have moved. The payment stays
        # pending (the amount stays reserved) until Stripe confirms either way.
        current_app.logger.warning("Stripe unreachable for payment %s: %s", payment.public_id, exc)
        payment = db.session.get_one(Payment, payment_id, populate_existing=True)
        payment.provider_status = "unreachable"
        audit.record("payment.provider_unreachable", actor_type="system", subject=payment)
        return SubmitResult(payment)

    payment = db.session.get_one(Payment, payment_id, populate_existing=True)
    payment.provider_reference = intent.id
    apply_intent(payment, intent, source="submit")
    return SubmitResult(
        payment,
        client_secret=intent.client_secret if intent.status == "requires_action" else None,
        redirect_url=intent.redirect_url,
        qr_image_url=intent.qr_image_url,
    )


# ---------------------------------------------------------------------------------------
# Recording outcomes (the only place where money moves on our side)


def apply_intent(payment: Payment, intent: Intent, *, source: str) -> None:
    """Bring our record in line with what Stripe says about the intent (caller commits)."""
    payment, _ = _lock(payment.id)
    if intent.amount != payment.amount_minor or intent.currency != payment.currency:
        current_app.logger.error("intent %s does not match payment %s", intent.id, payment.public_id)
        audit.record(
            "payment.mismatch", actor_type="system", subject=payment, intent=intent.id, intent_amount=intent.amount
        )
        return
    payment.provider_status = intent.status
    if intent.status == "succeeded":  # Stripe's vocabulary
        record_success(payment.id, source=source)
    elif intent.status in ("requires_payment_method", "canceled"):
        record_failure(payment.id, intent.failure_code or intent.status, source=source)


def _lock(payment_id: int) -> tuple[Payment, Account]:
    """Lock the payment's account row, then read the payment fresh.

    Every change of a payment's status takes this lock first (``_reserve`` takes it with its
    UPDATE), so while it is held the status read here is the truth. SQLite has a single
    writer, which gives the same guarantee there.
    """
    # No autoflush: a pending change to the payment must not lock its row before the
    # account's, or two paths would take the locks in opposite orders (a deadlock).
    with db.session.no_autoflush:
        account_id = db.session.execute(select(Payment.account_id).where(Payment.id == payment_id)).scalar_one()
        account = db.session.execute(
            select(Account).where(Account.id == account_id).with_for_update().execution_options(populate_existing=True)
        ).scalar_one()
    return db.session.get_one(Payment, payment_id), account


# Receipt numbers are read out over the phone: the day of the payment in the borrower's time
# zone, then random digits of Crockford's base 32 (no I, L, O or U, which are taken for 1, 0
# and V). Random, not a sequence: a receipt tells nobody how many payments others made.
RECEIPT_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
RECEIPT_RANDOM_LENGTH = 8  # 40 bits: a collision on one day is rare, and retried
RECEIPT_ATTEMPTS = 8
_receipt_random = secrets.SystemRandom()


def _receipt_number(day: date) -> str:
    random_part = "".join(_receipt_random.choice(RECEIPT_ALPHABET) for _ in range(RECEIPT_RANDOM_LENGTH))
    half = RECEIPT_RANDOM_LENGTH // 2
    return f"R{day:%Y%m%d}-{random_part[:half]}-{random_part[half:]}"


def _issue_receipt_number(payment: Payment, account: Account) -> None:
    """Give a succeeded payment a unique receipt number, drawing again on a collision."""
    timezone = db.session.execute(select(Borrower.timezone).where(Borrower.id == account.borrower_id)).scalar_one()
    assert payment.completed_at is not None  # set by the move to succeeded
    day = payment.completed_at.astimezone(ZoneInfo(timezone)).date()
    # Everything else this transaction changed goes out first: a collision rolls back only the
    # savepoint around the number.
    db.session.flush()
    for _ in range(RECEIPT_ATTEMPTS):
        number = _receipt_number(day)
        try:
            with db.session.begin_nested():
                _changed(
                    update(Payment)
                    .where(Payment.id == payment.id)
                    .values(receipt_number=number)
                    .execution_options(synchronize_session=False)
                )
        except IntegrityError:
            continue
        set_committed_value(payment, "receipt_number", number)
        return
    raise RuntimeError(f"no free receipt number for payment {payment.public_id} after {RECEIPT_ATTEMPTS} draws")


def _payment_data(payment: Payment, account: Account) -> dict:
    return {
        "payment_id": payment.public_id,
        "amount": payment.amount_minor,
        "currency": payment.currency,
        "method": payment.method,
        "receipt_number": payment.receipt_number,
        "refunded": payment.refunded_minor,
        "overdue_after": account.overdue_minor,
        "provider_reference": payment.provider_reference,
    }


def _record_adjustment(account: Account, payment: Payment, parts: dict[str, int]) -> None:
    """What the portal changed in the figures, with when: an import with older figures applies
    it again on top of them (portal/imports/upsert.py)."""
    if any(parts.values()):
        db.session.add(
            AccountAdjustment(
                account_id=account.id,
                payment_id=payment.id,
                recorded_at=utcnow(),
                **{f"{part}_minor": amount for part, amount in parts.items()},
            )
        )


def _set_account_status(account: Account) -> None:
    if account.overdue_minor == 0 and account.status == AccountStatus.OVERDUE:
        account.status = AccountStatus.SETTLED
        emit("account.settled", lender_id=account.lender_id, account=account)
    elif account.overdue_minor > 0 and account.status == AccountStatus.SETTLED:
        account.status = AccountStatus.OVERDUE


def _move(payment_id: int, from_statuses: tuple[str, ...], **values):
    """Change a payment's status once, under the account lock, releasing its reservation.

    Returns (payment, account), or None when the payment was not in one of ``from_statuses``
    (another webhook, return page or worker got there first).
    """
    payment, account = _lock(payment_id)
    previous = payment.status
    moved = _changed(
        update(Payment)
        .where(Payment.id == payment_id, Payment.status.in_(from_statuses))
        .values(completed_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )
    if moved != 1:
        return None
    db.session.refresh(payment)
    if previous in IN_FLIGHT:
        account.reserved_minor -= payment.amount_minor
    return payment, account


def record_success(payment_id: int, *, source: str) -> bool:
    """Apply a succeeded payment to the account, once. Returns False if it already was."""
    moved = _move(
        payment_id, (PaymentStatus.CREATED, PaymentStatus.PENDING, PaymentStatus.FAILED), status=PaymentStatus.SUCCEEDED
    )
    if moved is None:
        return False
    payment, account = moved
    allocation = allocate(account, payment.amount_minor)
    for part in ALLOCATION_ORDER:
        setattr(account, f"{part}_minor", getattr(account, f"{part}_minor") - getattr(allocation, part))
        setattr(payment, f"applied_{part}_minor", getattr(allocation, part))
    account.overdue_minor -= allocation.total
    _record_adjustment(account, payment, {part: -getattr(allocation, part) for part in ALLOCATION_ORDER})
    payment.excess_minor = allocation.excess
    payment.overdue_after_minor = account.overdue_minor
    _issue_receipt_number(payment, account)
    _set_account_status(account)
    # An active repayment plan learns what this payment paid (under the same account lock).
    plans.apply_payment(payment, account, allocation.total)
    emit("payment.succeeded", lender_id=account.lender_id, account=account, data=_payment_data(payment, account))
    audit.record(
        "payment.succeeded",
        actor_type="system",
        subject=payment,
        source=source,
        amount=payment.amount_minor,
        receipt=payment.receipt_number,
        overdue_after=account.overdue_minor,
        excess=allocation.excess,
    )
    if allocation.excess:
        current_app.logger.error(
            "payment %s exceeded the overdue amount by %s: refund it", payment.public_id, allocation.excess
        )
    return True


def record_failure(payment_id: int, code: str | None, *, source: str) -> bool:
    """Mark an attempt failed and release its reservation, once."""
    moved = _move(
        payment_id,
        (PaymentStatus.CREATED, PaymentStatus.PENDING),
        status=PaymentStatus.FAILED,
        failure_code=(code or "failed")[:64],
    )
    if moved is None:
        return False
    payment, account = moved
    audit.record("payment.failed", actor_type="system", subject=payment, source=source, code=payment.failure_code)
    emit(
        "payment.failed",
        lender_id=account.lender_id,
        account=account,
        data={**_payment_data(payment, account), "failure_code": payment.failure_code},
    )
    return True


def record_refund(payment_id: int, refunded_total: int, *, source: str) -> bool:
    """Apply a (possibly partial, cumulative) refund: the debt it paid comes back."""
    payment, account = _lock(payment_id)
    if payment.status not in (PaymentStatus.SUCCEEDED, PaymentStatus.REFUNDED):
        # The refund proves the charge happened, whatever order the events came in.
        record_success(payment_id, source=source)
        payment, account = _lock(payment_id)
    delta = min(refunded_total, payment.amount_minor) - payment.refunded_minor
    if delta <= 0:
        return False
    payment.refunded_minor += delta
    # Undo in reverse: first money that paid nothing (excess), then principal … fees.
    remaining = delta
    from_excess = min(payment.excess_minor, remaining)
    payment.excess_minor -= from_excess
    remaining -= from_excess
    given_back = {}
    for part in reversed(ALLOCATION_ORDER):
        applied = getattr(payment, f"applied_{part}_minor")
        back = min(applied, remaining)
        setattr(payment, f"applied_{part}_minor", applied - back)
        setattr(account, f"{part}_minor", getattr(account, f"{part}_minor") + back)
        account.overdue_minor += back
        remaining -= back
        given_back[part] = back
    _record_adjustment(account, payment, given_back)
    if payment.refunded_minor == payment.amount_minor:
        payment.status = PaymentStatus.REFUNDED
    _set_account_status(account)
    emit(
        "payment.refunded",
        lender_id=account.lender_id,
        account=account,
        data={**_payment_data(payment, account), "refunded_now": delta},
    )
    audit.record(
        "payment.refunded",
        actor_type="system",
        subject=payment,
        source=source,
        refunded=delta,
        refunded_total=payment.refunded_minor,
        overdue_after=account.overdue_minor,
    )
    return True


# ---------------------------------------------------------------------------------------
# Webhooks, return pages and reconciliation


def _payment_by_intent(intent_id: str | None, public_id: str | None) -> Payment | None:
    if intent_id:
        found = db.session.execute(select(Payment).where(Payment.provider_reference == intent_id)).scalar_one_or_none()
        if found:
            return found
    if public_id:
        found = db.session.execute(select(Payment).where(Payment.public_id == public_id)).scalar_one_or_none()
        # The webhook can beat our own save of the intent id: trust it only if it is unset
        # (the caller records it once it holds the account lock).
        if found and found.provider_reference is None:
            return found
    return None


def _check_shape(event_id, obj) -> None:
    """Signed events still get checked: ids and codes must be text, amounts whole numbers."""
    texts = [
        event_id,
        obj.get("id"),
        obj.get("status"),
        obj.get("payment_intent"),
        (obj.get("metadata") or {}).get("payment_id"),
        (obj.get("last_payment_error") or {}).get("code"),
        (obj.get("last_payment_error") or {}).get("decline_code"),
    ]
    numbers = [obj.get("amount"), obj.get("amount_refunded")]
    if (
        not isinstance(obj.get("metadata") or {}, dict)
        or not isinstance(obj.get("last_payment_error") or {}, dict)
        or any(v is not None and not isinstance(v, str) for v in texts)
        or any(v is not None and (not isinstance(v, int) or isinstance(v, bool)) for v in numbers)
    ):
        raise InvalidWebhook("an event whose fields do not have Stripe's types")


def handle_webhook(event: dict) -> str:
    """Act on one verified Stripe event, once. Returns what happened, for the log and tests.

    The caller commits; a duplicate event raises nothing and changes nothing.
    """
    payment = None
    obj = event["data"]["object"]
    _check_shape(event["id"], obj)
    if event["type"].startswith("payment_intent."):
        payment = _payment_by_intent(obj.get("id"), (obj.get("metadata") or {}).get("payment_id"))
    elif event["type"] == "charge.refunded":
        payment = _payment_by_intent(obj.get("payment_intent"), None)

    if payment is not None:
        # Lock order everywhere: the account row, then the payment's. Recording the event
        # below references the payment row, so take the account lock first.
        payment, _ = _lock(payment.id)
        if payment.provider_reference is None and event["type"].startswith("payment_intent."):
            payment.provider_reference = obj.get("id")
    try:
        with db.session.begin_nested():
            db.session.add(
                ProcessedStripeEvent(
                    event_id=event["id"], event_type=event["type"], payment_id=payment.id if payment else None
                )
            )
    except IntegrityError:
        return "duplicate"

    if payment is None:
        audit.record("stripe.event_ignored", actor_type="system", event=event["id"], type=event["type"])
        return "ignored"
    if event["type"] == "payment_intent.succeeded":
        intent = Intent.from_stripe(obj)
        apply_intent(payment, intent, source="webhook")
        return "succeeded"
    if event["type"] == "payment_intent.payment_failed":
        error = obj.get("last_payment_error") or {}
        record_failure(payment.id, error.get("decline_code") or error.get("code"), source="webhook")
        return "failed"
    if event["type"] == "charge.refunded":
        record_refund(payment.id, obj.get("amount_refunded", 0), source="webhook")
        return "refunded"
    audit.record("stripe.event_ignored", actor_type="system", subject=payment, event=event["id"], type=event["type"])
    return "ignored"


def _claim_check(payment_id: int) -> bool:
    """Whether this caller may ask Stripe about a pending payment now.

    One conditional UPDATE, committed before the call: of any number of concurrent askers
    (tabs, workers, reconcilers on several machines) one wins per CHECK_INTERVAL. The time is
    read here, not earlier: a reconciler's loop can last longer than the interval.
    """
    now = utcnow()
    claimed = _changed(
        update(Payment)
        .where(
            Payment.id == payment_id,
            Payment.status == PaymentStatus.PENDING,
            Payment.provider_reference.is_not(None),
            or_(Payment.last_checked_at.is_(None), Payment.last_checked_at <= now - CHECK_INTERVAL),
        )
        .values(last_checked_at=now)
        .execution_options(synchronize_session=False)
    )
    return claimed == 1


def _ask_stripe(payment: Payment) -> Intent | None:
    """The intent as Stripe has it now, or None: not ours to ask (someone asked a moment ago,
    the payment is settled or never reached Stripe) or Stripe did not answer."""
    if payment.status != PaymentStatus.PENDING or not payment.provider_reference:
        return None
    reference = payment.provider_reference
    if not _claim_check(payment.id):
        return None
    commit_before_external_call("Stripe: read the payment intent")
    try:
        return gateway().retrieve_intent(reference)
    except ProviderUnavailable:
        return None


def sync(payment: Payment) -> Payment:
    """Ask Stripe about a pending payment (the return page, "Check again"), at most once per
    CHECK_INTERVAL, and record what it says. Returns the payment as it is now."""
    if payment.status != PaymentStatus.PENDING:
        return payment  # nothing to ask: no query on the card page or a receipt
    payment_id = payment.id
    intent = _ask_stripe(payment)
    if intent is not None:
        apply_intent(db.session.get_one(Payment, payment_id), intent, source="sync")
        db.session.flush()
    return db.session.get_one(Payment, payment_id, populate_existing=True)


def stale_payments(now: datetime | None = None) -> list[Payment]:
    """Payments still unconfirmed after PAYMENT_CONFIRMATION_MINUTES: staff must look."""
    cutoff = (now or utcnow()) - timedelta(minutes=current_app.config["PAYMENT_CONFIRMATION_MINUTES"])
    return list(
        db.session.execute(
            select(Payment)
            .where(Payment.status == PaymentStatus.PENDING, Payment.submitted_at < cutoff)
            .order_by(Payment.submitted_at, Payment.id)
        ).scalars()
    )


def _cancel_abandoned(intent: Intent) -> Intent | None:
    """Cancel at Stripe an intent the borrower never completed; the intent as it is afterwards
    (cancelled, or whatever it became meanwhile), or None if Stripe did not answer."""
    try:
        try:
            after = gateway().cancel_intent(intent.id)
        except NotCancellable:
            # It moved on meanwhile: succeeded, processing, or cancelled by another reconciler.
            after = gateway().retrieve_intent(intent.id)
    except ProviderUnavailable:
        return None
    # Keep the reason Stripe gave before the cancel (a failed bank check), if it gave one.
    return dataclasses.replace(after, failure_code=after.failure_code or intent.failure_code)


def _reconcile_one(payment: Payment) -> Payment:
    payment_id = payment.id
    intent = _ask_stripe(payment)
    if intent is not None and intent.status in NEVER_COMPLETED:
        intent = _cancel_abandoned(intent)
    if intent is not None and intent.status == "canceled" and not intent.failure_code:
        # Past the confirmation window nobody finished it, whoever cancelled it: this run,
        # another machine's, or an earlier run that stopped before recording the outcome.
        intent = dataclasses.replace(intent, failure_code=ABANDONED)
    if intent is not None:
        apply_intent(db.session.get_one(Payment, payment_id), intent, source="reconcile")
        db.session.flush()
    return db.session.get_one(Payment, payment_id, populate_existing=True)


def reconcile(now: datetime | None = None) -> list[Payment]:
    """Settle every payment still pending after PAYMENT_CONFIRMATION_MINUTES; return those
    still unresolved.

    Stripe's answer is recorded as it is, except that an intent the borrower never completed
    (a bank check left open, no payment method) is cancelled at Stripe and then recorded as
    failed, which releases its reservation. Safe to run from cron on several machines at once:
    each payment is claimed before Stripe is asked, and every outcome is recorded once.
    """
    checked = [_reconcile_one(payment) for payment in stale_payments(now)]
    return [payment for payment in checked if payment.status == PaymentStatus.PENDING]


def own_payment(borrower, public_id: str) -> Payment | None:
    """A payment on one of this borrower's accounts, or None."""
    return db.session.execute(
        select(Payment).join(Account).where(Payment.public_id == public_id, Account.borrower_id == borrower.id)
    ).scalar_one_or_none()


def history(account: LoanAccount) -> list[Payment]:
    """Payments of an account a borrower should see: everything that reached Stripe."""
    return list(
        db.session.execute(
            select(Payment)
            .where(Payment.account_id == account.id, Payment.status != PaymentStatus.CREATED)
            .order_by(Payment.created_at.desc(), Payment.id.desc())
            # Every row's account is the one the page shows already: no join to it (and its lender).
            .options(lazyload(Payment.account))
        ).scalars()
    )
