"""Exercising rights: disputes, document requests and contact preferences. No requests here.

Invariants:

* Nothing commits a borrower without the one-time SMS code (portal/otp): a dispute is written
  first as ``awaiting_code`` (so its evidence files have an owner) and opens only when its code
  is verified; a document request or a change of preferences is written only after its code,
  whose subject carries a digest of exactly what was confirmed, so values changed between the
  code and the confirmation do not match the code.
* Each change writes its audit event and outbox event in the caller's transaction, in the order
  the lender must apply them: ``dispute.opened`` then ``contact.pause_requested``;
  ``dispute.answered`` then ``contact.pause_lifted``.
* Deadlines are business days of the lender's jurisdiction (portal/business_days.py), ending
  23:59:59 in the lender's time zone.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from portal import audit
from portal.business_days import deadline
from portal.contact import pauses
from portal.evidence import service as evidence
from portal.extensions import db
from portal.models import (
    Account,
    AccountStatus,
    Borrower,
    ContactChannel,
    ContactPreference,
    Dispute,
    DisputeReason,
    DisputeStatus,
    DocumentKind,
    DocumentRequest,
    EvidenceOwner,
    OtpPurpose,
    PauseReason,
)
from portal.models.types import utcnow
from portal.otp import service as otp
from portal.outbox.events import emit

# Business days the lender has to answer; the complaint rules give 15 days to decide, and an
# answer within 10 business days never falls later than that outside the long holidays.
DISPUTE_ANSWER_BUSINESS_DAYS = 10
DOCUMENT_BUSINESS_DAYS = 5
EXPLANATION_MAX = 2000
ANSWER_MAX = 4000
# The legal window for contact (no contact 22:00–08:00 in mainland China, 21:00–08:00 in the US);
# a borrower chooses hours inside it.
CONTACT_WINDOW = {
    "CN": ("08:00", "22:00"),
    "HK": ("08:00", "22:00"),
    "TW": ("08:00", "22:00"),
    "US": ("08:00", "21:00"),
}
# Where the law gives the right to make contact stop (a written request under the FDCPA). In
# mainland China a borrower can restrict how and when, not end contact about a debt they owe.
STOP_CONTACT_GRANTED = frozenset({"US"})
DEFAULT_CHANNELS = (ContactChannel.CALL, ContactChannel.SMS, ContactChannel.LETTER)


def _reference(prefix: str) -> str:
    # Unguessable and easy to read out on the phone: no 0/O or 1/I.
    alphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
    return f"{prefix}-" + "".join(secrets.choice(alphabet) for _ in range(8))


def _digest(*parts: object) -> str:
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:24]


# --- disputes -------------------------------------------------------------------------------


def dispute_subject(dispute: Dispute) -> str:
    return f"dispute:{dispute.reference}"


def start_dispute(
    account: Account,
    reason: DisputeReason,
    explanation: str,
    files: list[evidence.Accepted],
    *,
    locale: str,
    now: datetime | None = None,
) -> tuple[Dispute, otp.Challenge]:
    """Write the dispute and its evidence, and send the code that opens it.

    Raises ``otp.TooManyCodes`` (the caller's transaction must then be abandoned)."""
    now = now or utcnow()
    borrower = account.borrower
    dispute = Dispute(
        reference=_reference("D"),
        account_id=account.id,
        borrower_id=borrower.id,
        reason=DisputeReason(reason),
        explanation=explanation[:EXPLANATION_MAX],
        status=DisputeStatus.AWAITING_CODE,
        created_at=now,
    )
    db.session.add(dispute)
    db.session.flush()
    for accepted in files:
        evidence.store(EvidenceOwner.DISPUTE, dispute.reference, accepted)
    challenge = send_dispute_code(dispute, locale=locale, now=now)
    return dispute, challenge


def send_dispute_code(dispute: Dispute, *, locale: str, now: datetime | None = None) -> otp.Challenge:
    account = db.session.get_one(Account, dispute.account_id)
    return otp.issue(
        phone_e164=account.borrower.phone_e164,
        purpose=OtpPurpose.DISPUTE,
        subject=dispute_subject(dispute),
        borrower_id=dispute.borrower_id,
        locale=locale,
        sender_name=account.lender.name,
        now=now,
    )


def confirm_dispute(dispute: Dispute, challenge_id: str, code: str, *, now: datetime | None = None) -> otp.Outcome:
    """Verify the code; if it matches, open the dispute and pause collection contact."""
    now = now or utcnow()
    if dispute.status is not DisputeStatus.AWAITING_CODE:
        return otp.Outcome(otp.VerifyStatus.ALREADY_USED)
    outcome = otp.verify(challenge_id, code, purpose=OtpPurpose.DISPUTE, subject=dispute_subject(dispute), now=now)
    if not outcome.ok:
        return outcome
    account = db.session.execute(select(Account).where(Account.id == dispute.account_id).with_for_update()).scalar_one()
    lender = account.lender
    dispute.status = DisputeStatus.OPEN
    dispute.opened_at = now
    dispute.answer_due_at = deadline(now, DISPUTE_ANSWER_BUSINESS_DAYS, lender.jurisdiction, lender.timezone)
    dispute.account_status_before = account.status
    account.status = AccountStatus.DISPUTED
    audit.record(
        "dispute.opened", actor_type="borrower", actor_id=dispute.borrower_id, subject=dispute, reason=dispute.reason
    )
    emit(
        "dispute.opened",
        lender_id=account.lender_id,
        account=account,
        data={
            "reference": dispute.reference,
            "reason": str(dispute.reason),
            "answer_due_at": dispute.answer_due_at.isoformat(),
            "evidence_files": evidence.count(EvidenceOwner.DISPUTE, dispute.reference),
        },
    )
    pauses.pause(
        account, PauseReason.DISPUTE, source_ref=dispute.reference, actor_type="borrower", actor_id=dispute.borrower_id
    )
    return outcome


class DisputeNotOpen(Exception):
    pass


def find_dispute(reference: str) -> Dispute | None:
    return db.session.execute(
        select(Dispute).where(Dispute.reference == reference.strip().upper())
    ).scalar_one_or_none()


def answer_dispute(reference: str, answer: str, *, staff: str, now: datetime | None = None) -> Dispute:
    """Staff answer an open dispute: the borrower sees the answer, contact may resume."""
    now = now or utcnow()
    answer = answer.strip()
    if not answer:
        raise ValueError("the answer is empty")
    dispute = db.session.execute(
        select(Dispute).where(Dispute.reference == reference.strip().upper()).with_for_update()
    ).scalar_one_or_none()
    if dispute is None or dispute.status is not DisputeStatus.OPEN:
        raise DisputeNotOpen(reference)
    account = db.session.execute(select(Account).where(Account.id == dispute.account_id).with_for_update()).scalar_one()
    dispute.status = DisputeStatus.ANSWERED
    dispute.answer = answer[:ANSWER_MAX]
    dispute.answered_at = now
    dispute.answered_by = staff[:100]
    if account.status is AccountStatus.DISPUTED and not _other_open_disputes(account.id, dispute.id):
        account.status = dispute.account_status_before or AccountStatus.OVERDUE
    audit.record("dispute.answered", actor_type="staff", actor_id=staff, subject=dispute)
    emit(
        "dispute.answered",
        lender_id=account.lender_id,
        account=account,
        data={"reference": dispute.reference, "answered_at": now.isoformat()},
    )
    for pause in pauses.pauses_in_force(account.id, now):
        if pause.reason is PauseReason.DISPUTE and pause.source_ref == dispute.reference:
            pauses.lift(pause, note=f"dispute {dispute.reference} answered", actor_type="staff", actor_id=staff)
    return dispute


def _other_open_disputes(account_id: int, dispute_id: int) -> bool:
    return (
        db.session.execute(
            select(Dispute.id).where(
                Dispute.account_id == account_id, Dispute.status == DisputeStatus.OPEN, Dispute.id != dispute_id
            )
        ).first()
        is not None
    )


def open_disputes_by_account(borrower_id: int) -> dict[int, Dispute]:
    """The newest open dispute of each of a borrower's accounts (one query, for the dashboard)."""
    found: dict[int, Dispute] = {}
    for dispute in db.session.execute(
        select(Dispute)
        .where(Dispute.borrower_id == borrower_id, Dispute.status == DisputeStatus.OPEN)
        .order_by(Dispute.id)
    ).scalars():
        found[dispute.account_id] = dispute
    return found


def pending_disputes() -> list[Dispute]:
    """Open disputes, the nearest deadline first."""
    return list(
        db.session.execute(
            select(Dispute).where(Dispute.status == DisputeStatus.OPEN).order_by(Dispute.answer_due_at, Dispute.id)
        ).scalars()
    )


def disputes_of(borrower_id: int) -> list[Dispute]:
    """A borrower's confirmed disputes, newest first."""
    return list(
        db.session.execute(
            select(Dispute)
            .where(Dispute.borrower_id == borrower_id, Dispute.status != DisputeStatus.AWAITING_CODE)
            .order_by(Dispute.id.desc())
        ).scalars()
    )


# --- document requests ----------------------------------------------------------------------


def document_subject(account_id: int, kinds: tuple[DocumentKind, ...]) -> str:
    return f"documents:{account_id}:{_digest(*sorted(kinds))}"


def send_document_code(
    account: Account, kinds: tuple[DocumentKind, ...], *, locale: str, now: datetime | None = None
) -> otp.Challenge:
    return otp.issue(
        phone_e164=account.borrower.phone_e164,
        purpose=OtpPurpose.DOCUMENT_REQUEST,
        subject=document_subject(account.id, kinds),
        borrower_id=account.borrower_id,
        locale=locale,
        sender_name=account.lender.name,
        now=now,
    )


def confirm_documents(
    account: Account, kinds: tuple[DocumentKind, ...], challenge_id: str, code: str, *, now: datetime | None = None
) -> tuple[otp.Outcome, list[DocumentRequest]]:
    now = now or utcnow()
    outcome = otp.verify(
        challenge_id, code, purpose=OtpPurpose.DOCUMENT_REQUEST, subject=document_subject(account.id, kinds), now=now
    )
    if not outcome.ok:
        return outcome, []
    lender = account.lender
    due = deadline(now, DOCUMENT_BUSINESS_DAYS, lender.jurisdiction, lender.timezone)
    made = []
    for kind in sorted(kinds, key=list(DocumentKind).index):
        request = DocumentRequest(
            reference=_reference("R"),
            account_id=account.id,
            borrower_id=account.borrower_id,
            kind=kind,
            requested_at=now,
            due_at=due,
        )
        db.session.add(request)
        db.session.flush()
        audit.record(
            "document.requested", actor_type="borrower", actor_id=account.borrower_id, subject=request, kind=kind
        )
        emit(
            "document.requested",
            lender_id=account.lender_id,
            account=account,
            data={"reference": request.reference, "document": str(kind), "due_at": due.isoformat()},
        )
        made.append(request)
    return outcome, made


def document_requests_of(borrower_id: int) -> list[DocumentRequest]:
    return list(
        db.session.execute(
            select(DocumentRequest)
            .where(DocumentRequest.borrower_id == borrower_id)
            .order_by(DocumentRequest.id.desc())
        ).scalars()
    )


# --- contact preferences --------------------------------------------------------------------


@dataclass(frozen=True)
class Preferences:
    channels: tuple[ContactChannel, ...]
    hours_from: str
    hours_until: str
    language: str
    only_me: bool
    stop_contact: bool

    def digest(self) -> str:
        return _digest(
            ",".join(self.channels), self.hours_from, self.hours_until, self.language, self.only_me, self.stop_contact
        )


def preferences_subject(borrower_id: int, preferences: Preferences) -> str:
    return f"contact:{borrower_id}:{preferences.digest()}"


def current_preferences(borrower_id: int) -> Preferences | None:
    row = db.session.execute(
        select(ContactPreference).where(ContactPreference.borrower_id == borrower_id)
    ).scalar_one_or_none()
    if row is None:
        return None
    return Preferences(
        tuple(ContactChannel(c) for c in row.channels.split(",") if c),
        row.hours_from,
        row.hours_until,
        row.language,
        row.only_me,
        row.stop_contact,
    )


def send_preferences_code(
    borrower: Borrower, preferences: Preferences, *, locale: str, now: datetime | None = None
) -> otp.Challenge:
    return otp.issue(
        phone_e164=borrower.phone_e164,
        purpose=OtpPurpose.CONTACT_PREFERENCES,
        subject=preferences_subject(borrower.id, preferences),
        borrower_id=borrower.id,
        locale=locale,
        sender_name=borrower.lender.name,
        now=now,
    )


def confirm_preferences(
    borrower: Borrower, preferences: Preferences, challenge_id: str, code: str, *, now: datetime | None = None
) -> otp.Outcome:
    now = now or utcnow()
    outcome = otp.verify(
        challenge_id,
        code,
        purpose=OtpPurpose.CONTACT_PREFERENCES,
        subject=preferences_subject(borrower.id, preferences),
        now=now,
    )
    if not outcome.ok:
        return outcome
    row = db.session.execute(
        select(ContactPreference).where(ContactPreference.borrower_id == borrower.id).with_for_update()
    ).scalar_one_or_none()
    if row is None:
        row = ContactPreference(borrower_id=borrower.id)
        db.session.add(row)
    row.channels = ",".join(preferences.channels)
    row.hours_from = preferences.hours_from
    row.hours_until = preferences.hours_until
    row.language = preferences.language
    row.only_me = preferences.only_me
    row.stop_contact = preferences.stop_contact
    row.updated_at = now
    db.session.flush()
    data: dict[str, Any] = {
        "channels": list(preferences.channels),
        "hours": {"from": preferences.hours_from, "until": preferences.hours_until, "timezone": borrower.timezone},
        "language": preferences.language,
        "only_me": preferences.only_me,
        "stop_contact": preferences.stop_contact,
    }
    audit.record(
        "contact_preferences.changed", actor_type="borrower", actor_id=borrower.id, subject=row, preferences=data
    )
    accounts = list(
        db.session.execute(select(Account).where(Account.borrower_id == borrower.id).order_by(Account.id)).scalars()
    )
    stop_ref = f"P-{borrower.id}"
    for account in accounts:  # events are delivered in order per account: one per account
        emit("contact_preferences.changed", lender_id=borrower.lender_id, account=account, data=data)
        if preferences.stop_contact:
            pauses.pause(
                account, PauseReason.BORROWER_REQUEST, source_ref=stop_ref, actor_type="borrower", actor_id=borrower.id
            )
        else:
            for pause in pauses.pauses_in_force(account.id, now):
                if pause.reason is PauseReason.BORROWER_REQUEST and pause.source_ref == stop_ref:
                    pauses.lift(pause, note="stop request withdrawn", actor_type="borrower", actor_id=borrower.id)
    return outcome
