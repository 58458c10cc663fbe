"""Filing and handling complaints about improper collection.

Invariants:

* A draft keeps what was typed, step by step, server-side for ``DRAFT_LIFETIME``: going back,
  a refused step or an expired page loses nothing. Its evidence files are stored at once
  (portal/evidence, owner ``complaint_draft``) and pass to the complaint when it is filed.
* ``submit`` files a draft at most once: the draft row is locked, a filed draft returns its
  complaint, and ``complaint.draft_id`` is unique. The complaint, its files, its audit events,
  its outbox events and (when urgent and the account is known) the pause of collection contact
  are written in one transaction, or none of them is.
* Deadlines count business days in the lender's jurisdiction and time zone
  (portal/business_days.py): acknowledgement within ``ACKNOWLEDGE_BUSINESS_DAYS`` (urgent
  complaints within ``URGENT_ACKNOWLEDGE``), decision within ``DECISION_BUSINESS_DAYS``.
* Outbox events carry a reference and categories only, never who complained or what they said.
* Nothing here commits or knows about requests.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import phonenumbers
from sqlalchemy import select

from portal import audit, business_days
from portal.complaints.messages import answered_sms
from portal.contact import pauses
from portal.evidence import service as evidence
from portal.extensions import db
from portal.jurisdiction import Jurisdiction
from portal.models import (
    Account,
    AnswerBy,
    Borrower,
    CollectionContact,
    ComplainantRole,
    Complaint,
    ComplaintCategory,
    ComplaintChannel,
    ComplaintDraft,
    ComplaintMessage,
    ComplaintStatus,
    DesiredOutcome,
    EvidenceOwner,
    Lender,
    PauseReason,
    Resolution,
    SmsPurpose,
)
from portal.models.complaint import URGENT_CATEGORIES
from portal.models.types import utcnow
from portal.outbox.events import emit
from portal.sms import service as sms

DRAFT_LIFETIME = timedelta(days=7)
ACKNOWLEDGE_BUSINESS_DAYS = 1
URGENT_ACKNOWLEDGE = timedelta(hours=24)
# Decision deadlines (regulations.md): 15 days in mainland China (银行业保险业消费投诉处理管理办法),
# complex cases up to 30 more; the CFPB asks companies to respond within 15 days. Counted in
# business days of the lender's jurisdiction.
DECISION_BUSINESS_DAYS = {Jurisdiction.CN: 15, Jurisdiction.HK: 15, Jurisdiction.TW: 15, Jurisdiction.US: 15}
MAX_EXTENSION_BUSINESS_DAYS = {Jurisdiction.CN: 30, Jurisdiction.HK: 30, Jurisdiction.TW: 30, Jurisdiction.US: 45}
PHONE_REGION = {Jurisdiction.CN: "CN", Jurisdiction.HK: "HK", Jurisdiction.TW: "TW", Jurisdiction.US: "US"}
DESCRIPTION_LENGTH = 10_000
REFERENCE_PREFIX = "C"
OPEN_STATUSES = (
    ComplaintStatus.RECEIVED,
    ComplaintStatus.ACKNOWLEDGED,
    ComplaintStatus.INVESTIGATING,
    ComplaintStatus.EXTENDED,
    ComplaintStatus.REOPENED,
)
# How long after a decision the complainant may appeal and have it decided again (the CFPB
# takes consumer feedback for 60 days; mainland rules set no figure, the same window is used).
APPEAL_WINDOW = timedelta(days=60)


class HandlingError(ValueError):
    """A handling step that does not fit the complaint's state (said in plain words)."""


# --- drafts ------------------------------------------------------------------------------


def start_draft(*, borrower_id: int | None, now: datetime | None = None) -> ComplaintDraft:
    now = now or utcnow()
    draft = ComplaintDraft(
        public_id=secrets.token_urlsafe(16),
        borrower_id=borrower_id,
        data={},
        created_at=now,
        updated_at=now,
        expires_at=now + DRAFT_LIFETIME,
    )
    db.session.add(draft)
    db.session.flush()
    return draft


def find_draft(public_id: str | None, *, now: datetime | None = None) -> ComplaintDraft | None:
    """An open draft (not expired, not yet filed), or None."""
    if not public_id or not isinstance(public_id, str):
        return None
    draft = db.session.execute(select(ComplaintDraft).where(ComplaintDraft.public_id == public_id)).scalar_one_or_none()
    if draft is None or draft.submitted_at is not None or draft.expires_at <= (now or utcnow()):
        return None
    return draft


def filed_complaint(public_id: str | None) -> Complaint | None:
    """The complaint already filed from this draft, if it was."""
    if not public_id or not isinstance(public_id, str):
        return None
    return db.session.execute(
        select(Complaint)
        .join(ComplaintDraft, Complaint.draft_id == ComplaintDraft.id)
        .where(ComplaintDraft.public_id == public_id)
    ).scalar_one_or_none()


def save_step(draft: ComplaintDraft, step: str, values: dict, *, complete: bool, now: datetime | None = None) -> None:
    """Keep a step's values (valid or not: what was typed is never lost) and whether it is complete."""
    now = now or utcnow()
    data = dict(draft.data or {})
    data[step] = values
    done = set(data.get("_complete", []))
    (done.add if complete else done.discard)(step)
    data["_complete"] = sorted(done)
    draft.data = data  # a new dict: JSON columns notice reassignment, not mutation
    draft.updated_at = now
    draft.expires_at = now + DRAFT_LIFETIME


def step_values(draft: ComplaintDraft | None, step: str) -> dict:
    return dict((draft.data or {}).get(step, {})) if draft else {}


def completed_steps(draft: ComplaintDraft) -> set[str]:
    return set((draft.data or {}).get("_complete", []))


# What a broken contact rule (portal/collection/rules.py) is, in the complaint form's words.
CATEGORY_FOR_RULE = {
    "cn.quiet_hours": ComplaintCategory.NIGHT_OR_TOO_OFTEN,
    "cn.daily_voice_contacts": ComplaintCategory.NIGHT_OR_TOO_OFTEN,
    "cn.daily_attempts": ComplaintCategory.NIGHT_OR_TOO_OFTEN,
    "cn.third_party": ComplaintCategory.THIRD_PARTIES,
    "us.7_in_7": ComplaintCategory.NIGHT_OR_TOO_OFTEN,
    "us.after_conversation": ComplaintCategory.NIGHT_OR_TOO_OFTEN,
    "us.quiet_hours": ComplaintCategory.NIGHT_OR_TOO_OFTEN,
    "any.paused": ComplaintCategory.OTHER,
    "any.channel_off": ComplaintCategory.OTHER,
    "any.stopped": ComplaintCategory.OTHER,
}
# The contact log's channels in the form's: email and letters have no button of their own.
CHANNEL_FOR_CONTACT = {
    "call": ComplaintChannel.CALL,
    "sms": ComplaintChannel.SMS,
    "messaging_app": ComplaintChannel.MESSAGING_APP,
    "visit": ComplaintChannel.VISIT,
}


def prefill_from_contact(draft: ComplaintDraft, contact: CollectionContact, timezone: str, other_text: str) -> None:
    """Start the "what" and "when" steps from a contact the lender reported (the borrower's
    "Report this contact"): its time in the borrower's time zone, channel, agent, agency, number
    and the rules it broke. Nothing is marked done: the borrower goes through every step, sees
    what was filled in and adds what was said. ``other_text`` describes rules that have no
    category of their own (contact while paused, on a channel turned off, after a stop)."""
    local = contact.occurred_at.astimezone(ZoneInfo(timezone))
    categories = sorted({CATEGORY_FOR_RULE[rule] for rule in contact.breaches if rule in CATEGORY_FOR_RULE})
    if categories:
        other = other_text if ComplaintCategory.OTHER in categories else ""
        save_step(draft, "what", {"categories": categories, "category_other": other}, complete=False)
    save_step(
        draft,
        "when",
        {
            "incident_date": local.date().isoformat(),
            "incident_time": local.strftime("%H:%M"),
            "timezone": timezone,
            "channel": CHANNEL_FOR_CONTACT.get(contact.channel, ComplaintChannel.OTHER),
            "collector_name": contact.agent_id or "",
            "collector_agency": contact.agency_code or "",
            "caller_number": contact.phone_number or "",
        },
        complete=False,
    )


def add_file(draft: ComplaintDraft, filename: str | None, data: bytes) -> evidence.Accepted | evidence.Refused:
    """Check one uploaded file by its content and keep it with the draft if it is accepted."""
    checked = evidence.check_upload(
        filename, data, files_so_far=evidence.count(EvidenceOwner.COMPLAINT_DRAFT, draft.id)
    )
    if isinstance(checked, evidence.Accepted):
        evidence.store(EvidenceOwner.COMPLAINT_DRAFT, draft.id, checked)
        draft.updated_at = utcnow()
    return checked


def draft_files(draft: ComplaintDraft):
    return evidence.files_of(EvidenceOwner.COMPLAINT_DRAFT, draft.id)


# --- phone numbers -------------------------------------------------------------------------


def parse_phone(text: str, jurisdiction: str) -> str | None:
    """A phone number as typed (any common format, with or without the country code) in
    E.164, or None if it is not a valid number."""
    region = PHONE_REGION.get(Jurisdiction(jurisdiction), "CN")
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


# --- filing --------------------------------------------------------------------------------


@dataclass
class Filing:
    """Everything a complaint is filed with, as plain values (built from a draft's steps)."""

    lender: Lender
    role: ComplainantRole
    complainant_name: str
    complainant_phone_e164: str
    categories: list[ComplaintCategory]
    channel: ComplaintChannel
    incident_timezone: str
    description: str
    desired_outcomes: list[DesiredOutcome]
    answer_by: AnswerBy
    locale: str
    borrower: Borrower | None = None
    account: Account | None = None
    complainant_email: str | None = None
    relation_to_borrower: str | None = None
    borrower_name_given: str | None = None
    account_number_given: str | None = None
    category_other: str | None = None
    incident_at: datetime | None = None
    collector_name: str | None = None
    collector_agency: str | None = None
    caller_number: str | None = None
    desired_other: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def urgent(self) -> bool:
        return is_urgent(self.categories)


def is_urgent(categories) -> bool:
    return bool(URGENT_CATEGORIES & {ComplaintCategory(c) for c in categories})


def deadlines(filed_at: datetime, lender: Lender, *, urgent: bool) -> tuple[datetime, datetime]:
    """(acknowledge by, decide by) for a complaint filed at ``filed_at`` with ``lender``."""
    jurisdiction = Jurisdiction(lender.jurisdiction)
    if urgent:
        acknowledge = filed_at + URGENT_ACKNOWLEDGE
    else:
        acknowledge = business_days.deadline(filed_at, ACKNOWLEDGE_BUSINESS_DAYS, jurisdiction, lender.timezone)
    decide = business_days.deadline(filed_at, DECISION_BUSINESS_DAYS[jurisdiction], jurisdiction, lender.timezone)
    return acknowledge, decide


def reference_for(complaint_id: int, filed_at: datetime) -> str:
    return f"{REFERENCE_PREFIX}-{filed_at.astimezone(UTC).year}-{complaint_id:06d}"


def matching_account(lender: Lender, account_number: str | None) -> Account | None:
    """The account a third party named, if it exists at that lender (they are never told)."""
    if not account_number:
        return None
    return db.session.execute(
        select(Account).where(Account.lender_id == lender.id, Account.account_number == account_number.strip())
    ).scalar_one_or_none()


def submit(
    draft: ComplaintDraft, filing: Filing, *, ip: str | None = None, now: datetime | None = None
) -> tuple[Complaint, bool]:
    """File the draft; returns (complaint, newly filed). A draft already filed returns its complaint."""
    now = now or utcnow()
    locked = db.session.execute(
        select(ComplaintDraft).where(ComplaintDraft.id == draft.id).with_for_update()
    ).scalar_one()
    if locked.submitted_at is not None:
        existing = db.session.execute(select(Complaint).where(Complaint.draft_id == locked.id)).scalar_one()
        return existing, False
    acknowledge_by, decide_by = deadlines(now, filing.lender, urgent=filing.urgent)
    complaint = Complaint(
        draft_id=locked.id,
        lender_id=filing.lender.id,
        borrower_id=filing.borrower.id if filing.borrower else None,
        account_id=filing.account.id if filing.account else None,
        role=filing.role,
        complainant_name=filing.complainant_name,
        complainant_phone_e164=filing.complainant_phone_e164,
        complainant_email=filing.complainant_email,
        relation_to_borrower=filing.relation_to_borrower,
        borrower_name_given=filing.borrower_name_given,
        account_number_given=filing.account_number_given,
        categories=[str(c) for c in filing.categories],
        category_other=filing.category_other,
        urgent=filing.urgent,
        incident_at=filing.incident_at,
        incident_timezone=filing.incident_timezone,
        channel=filing.channel,
        collector_name=filing.collector_name,
        collector_agency=filing.collector_agency,
        caller_number=filing.caller_number,
        description=filing.description[:DESCRIPTION_LENGTH],
        desired_outcomes=[str(o) for o in filing.desired_outcomes],
        desired_other=filing.desired_other,
        answer_by=filing.answer_by,
        locale=filing.locale,
        status=ComplaintStatus.RECEIVED,
        filed_at=now,
        acknowledge_due_at=acknowledge_by,
        decision_due_at=decide_by,
    )
    db.session.add(complaint)
    db.session.flush()
    complaint.reference = reference_for(complaint.id, now)
    locked.submitted_at = now
    files = evidence.adopt(locked.id, EvidenceOwner.COMPLAINT, complaint.id)
    actor_type = "borrower" if filing.role is ComplainantRole.BORROWER else "public"
    actor_id = filing.borrower.id if filing.borrower else None
    audit.record(
        "complaint.filed",
        actor_type=actor_type,
        actor_id=actor_id,
        subject=complaint,
        ip=ip,
        reference=complaint.reference,
        urgent=complaint.urgent,
        files=files,
    )
    emit(
        "complaint.filed",
        lender_id=filing.lender.id,
        account=filing.account,
        data={"reference": complaint.reference, "categories": complaint.categories, "urgent": complaint.urgent},
    )
    if complaint.urgent:
        for account in accounts_to_pause(filing):
            pauses.pause(
                account,
                PauseReason.URGENT_COMPLAINT,
                source_ref=complaint.reference,
                actor_type=actor_type,
                actor_id=actor_id,
            )
    return complaint, True


def accounts_to_pause(filing: Filing) -> list[Account]:
    """A borrower's complaint pauses every account they have with the lender (the harm is to
    the person); a third party's only the account they named, when it exists."""
    if filing.borrower is not None:
        return [a for a in filing.borrower.accounts if a.lender_id == filing.lender.id]
    return [filing.account] if filing.account is not None else []


def files_of(complaint: Complaint):
    return evidence.files_of(EvidenceOwner.COMPLAINT, complaint.id)


# --- reading ---------------------------------------------------------------------------------


def normalise_reference(text: str | None) -> str:
    return "".join((text or "").split()).upper()


def find(reference: str | None) -> Complaint | None:
    if not reference:
        return None
    return db.session.execute(
        select(Complaint).where(Complaint.reference == normalise_reference(reference))
    ).scalar_one_or_none()


def complaints_of(borrower_id: int) -> list[Complaint]:
    """A signed-in borrower's own complaints, newest first."""
    return list(
        db.session.execute(
            select(Complaint).where(Complaint.borrower_id == borrower_id).order_by(Complaint.filed_at.desc())
        ).scalars()
    )


def replies(complaint: Complaint) -> list[ComplaintMessage]:
    """The messages meant for the complainant, oldest first (internal notes never)."""
    return list(
        db.session.execute(
            select(ComplaintMessage)
            .where(ComplaintMessage.complaint_id == complaint.id, ComplaintMessage.internal.is_(False))
            .order_by(ComplaintMessage.created_at, ComplaintMessage.id)
        ).scalars()
    )


def messages(complaint: Complaint) -> list[ComplaintMessage]:
    return list(
        db.session.execute(
            select(ComplaintMessage)
            .where(ComplaintMessage.complaint_id == complaint.id)
            .order_by(ComplaintMessage.created_at, ComplaintMessage.id)
        ).scalars()
    )


def pending(now: datetime | None = None) -> list[Complaint]:
    """Open complaints, urgent first, then by the nearest deadline."""
    rows = db.session.execute(select(Complaint).where(Complaint.status.in_(OPEN_STATUSES))).scalars().all()

    def due(c: Complaint) -> datetime:
        return c.acknowledge_due_at if c.acknowledged_at is None else c.decision_due_at

    return sorted(rows, key=lambda c: (not c.urgent, due(c)))


# --- handling (compliance staff; the CLI now, the staff console later) ------------------------


def _staff_step(complaint: Complaint, action: str, staff: str, **details) -> None:
    audit.record(f"complaint.{action}", actor_type="staff", actor_id=staff, subject=complaint, **details)


def acknowledge(complaint: Complaint, *, staff: str, message: str | None = None, now: datetime | None = None) -> None:
    if complaint.status is not ComplaintStatus.RECEIVED:
        raise HandlingError(f"{complaint.reference} is {complaint.status}, not received")
    complaint.status = ComplaintStatus.ACKNOWLEDGED
    complaint.acknowledged_at = now or utcnow()
    _staff_step(complaint, "acknowledged", staff)
    if message:
        reply(complaint, staff=staff, body=message, now=now)


def investigate(complaint: Complaint, *, staff: str, now: datetime | None = None) -> None:
    if complaint.status not in (ComplaintStatus.RECEIVED, ComplaintStatus.ACKNOWLEDGED):
        raise HandlingError(f"{complaint.reference} is {complaint.status}: it cannot start investigating now")
    if complaint.acknowledged_at is None:
        complaint.acknowledged_at = now or utcnow()
    complaint.status = ComplaintStatus.INVESTIGATING
    _staff_step(complaint, "investigating", staff)


def extend(complaint: Complaint, *, staff: str, reason: str, business_days_more: int) -> None:
    """Extend the decision deadline, with a reason the complainant sees (complex cases)."""
    if complaint.status not in OPEN_STATUSES:
        raise HandlingError(f"{complaint.reference} is {complaint.status}: only an open complaint is extended")
    if not reason.strip():
        raise HandlingError("an extension needs a reason")
    lender = db.session.get_one(Lender, complaint.lender_id)
    jurisdiction = Jurisdiction(lender.jurisdiction)
    limit = MAX_EXTENSION_BUSINESS_DAYS[jurisdiction]
    if not 1 <= business_days_more <= limit:
        raise HandlingError(f"an extension is 1 to {limit} business days in {jurisdiction}")
    if complaint.extension_reason:
        raise HandlingError(f"{complaint.reference} was already extended once")
    old = complaint.decision_due_at
    complaint.decision_due_at = business_days.deadline(old, business_days_more, jurisdiction, lender.timezone)
    complaint.extension_reason = reason.strip()
    if complaint.acknowledged_at is None:
        complaint.acknowledged_at = utcnow()
    complaint.status = ComplaintStatus.EXTENDED
    _staff_step(complaint, "extended", staff, reason=complaint.extension_reason, days=business_days_more)


def reply(complaint: Complaint, *, staff: str, body: str, internal: bool = False, now: datetime | None = None):
    """A message to the complainant (shown on the status page), or an internal note."""
    if not body.strip():
        raise HandlingError("the message is empty")
    message = ComplaintMessage(
        complaint_id=complaint.id, author=staff, internal=internal, body=body.strip(), created_at=now or utcnow()
    )
    db.session.add(message)
    db.session.flush()
    _staff_step(complaint, "noted" if internal else "replied", staff, message=message.id)
    return message


def resolve(
    complaint: Complaint,
    *,
    staff: str,
    resolution: Resolution,
    answer: str,
    remedy: str | None = None,
    now: datetime | None = None,
) -> None:
    """Decide: the answer is shown to the complainant; a pause this complaint caused is lifted."""
    if complaint.status not in OPEN_STATUSES:
        raise HandlingError(f"{complaint.reference} is {complaint.status}: it is not open")
    now = now or utcnow()
    complaint.status = ComplaintStatus.RESOLVED
    complaint.resolution = Resolution(resolution)
    complaint.remedy = (remedy or "").strip() or None
    complaint.resolved_at = now
    if complaint.acknowledged_at is None:
        complaint.acknowledged_at = now
    reply(complaint, staff=staff, body=answer, now=now)
    _staff_step(complaint, "resolved", staff, resolution=str(resolution))
    lender = db.session.get_one(Lender, complaint.lender_id)
    # The answer is on the status page; a text message says so, whatever else staff do.
    sms.send(
        complaint.complainant_phone_e164,
        answered_sms(complaint, lender),
        purpose=SmsPurpose.NOTICE,
        borrower_id=complaint.borrower_id,
    )
    account = db.session.get(Account, complaint.account_id) if complaint.account_id else None
    emit(
        "complaint.resolved",
        lender_id=complaint.lender_id,
        account=account,
        data={"reference": complaint.reference, "resolution": str(resolution)},
    )
    for pause in _pauses_of(complaint):
        pauses.lift(pause, note=f"complaint {complaint.reference} resolved", actor_type="staff", actor_id=staff)


def close(complaint: Complaint, *, staff: str, now: datetime | None = None) -> None:
    if complaint.status is not ComplaintStatus.RESOLVED:
        raise HandlingError(f"{complaint.reference} is {complaint.status}: only a resolved complaint is closed")
    complaint.status = ComplaintStatus.CLOSED
    complaint.closed_at = now or utcnow()
    _staff_step(complaint, "closed", staff)


def reopen(complaint: Complaint, *, staff: str, reason: str, now: datetime | None = None) -> None:
    """The complainant appealed within ``APPEAL_WINDOW`` of the decision: decide again, on a new
    deadline counted from today."""
    now = now or utcnow()
    if complaint.status not in (ComplaintStatus.RESOLVED, ComplaintStatus.CLOSED) or complaint.resolved_at is None:
        raise HandlingError(f"{complaint.reference} is {complaint.status}: only a decided complaint is reopened")
    if now > complaint.resolved_at + APPEAL_WINDOW:
        raise HandlingError(f"{complaint.reference} was decided more than {APPEAL_WINDOW.days} days ago")
    if not reason.strip():
        raise HandlingError("reopening needs a reason")
    lender = db.session.get_one(Lender, complaint.lender_id)
    _, complaint.decision_due_at = deadlines(now, lender, urgent=complaint.urgent)
    complaint.status = ComplaintStatus.REOPENED
    _staff_step(complaint, "reopened", staff, reason=reason.strip(), previous=str(complaint.resolution))
    complaint.resolution = None
    complaint.resolved_at = None
    complaint.closed_at = None


def _pauses_of(complaint: Complaint):
    from portal.models import ContactPause

    return list(
        db.session.execute(
            select(ContactPause).where(
                ContactPause.source_ref == complaint.reference,
                ContactPause.reason == PauseReason.URGENT_COMPLAINT,
                ContactPause.ended_at.is_(None),
            )
        ).scalars()
    )
