"""What staff do for borrowers: search, the borrower view, assisted actions and plan decisions.

Every function takes the acting ``Actor``, checks its permission (portal/staff/permissions.py)
and writes an audit record with who, what, which record and from where, in the caller's
transaction. Other features' rules are called, never re-implemented: lockouts
(portal/access/service.py), links and SMS (portal/access, portal/sms), plans
(portal/plans/service.py), disputes and preferences (portal/rights/service.py).
"""

from __future__ import annotations

import csv
import enum
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from flask_babel import force_locale, gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import false, func, or_, select
from sqlalchemy.orm import selectinload

from portal import audit
from portal.access import service as access
from portal.extensions import db
from portal.models import (
    Account,
    AuditEvent,
    Borrower,
    BorrowerSession,
    Payment,
    RejectionReason,
    ReminderLink,
    RepaymentPlan,
    SmsPurpose,
    StaffSession,
    StaffUser,
)
from portal.payments import service as payments
from portal.plans import service as plans
from portal.rights import service as rights
from portal.sms import service as sms
from portal.staff import accounts as staff_accounts
from portal.staff.permissions import Actor, Permission, check

SEARCH_LIMIT = 50
AUDIT_TRAIL_LIMIT = 100


class SearchKind(enum.StrEnum):
    PHONE = "phone"
    ACCOUNT = "account"
    NAME = "name"
    ID_LAST4 = "id_last4"


SEARCH_KIND_LABELS = {
    SearchKind.PHONE: _l("Phone number"),
    SearchKind.ACCOUNT: _l("Loan account number"),
    SearchKind.NAME: _l("Part of the name"),
    SearchKind.ID_LAST4: _l("Last 4 characters of the ID number"),
}


class IdentifiedBy(enum.StrEnum):
    """How an agent confirmed who the caller is, before any assisted action."""

    SECURITY_QUESTIONS = "security_questions"  # date of birth and last 4 of the ID, asked by phone
    CALLED_BACK = "called_back"  # the agent called back the phone on file
    IN_PERSON = "in_person"  # ID document seen at a branch


IDENTIFIED_BY_LABELS = {
    IdentifiedBy.SECURITY_QUESTIONS: _l("Date of birth and last 4 of the ID, asked on the call"),
    IdentifiedBy.CALLED_BACK: _l("Called back on the phone number on file"),
    IdentifiedBy.IN_PERSON: _l("ID document seen in person"),
}


def mask_name(name: str) -> str:
    """王芳 → 王*, Li Na → L***: enough to recognise on the phone, not to copy out."""
    name = name.strip()
    if not name:
        return ""
    return name[0] + "*" * min(max(len(name) - 1, 1), 3)


def mask_phone(phone: str) -> str:
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) > 7 else "****"


def mask_account(number: str) -> str:
    return f"****{number[-4:]}"


@dataclass(frozen=True)
class Hit:
    borrower_id: int
    name: str
    phone: str
    id_last4: str
    lender: str
    accounts: list[str]


def search(actor: Actor, kind: SearchKind, query: str) -> list[Hit]:
    """Borrowers matching the query, masked; the search itself is audited with what was typed."""
    check(actor, Permission.SEARCH)
    query = query.strip()
    statement = select(Borrower).options(selectinload(Borrower.accounts)).order_by(Borrower.id).limit(SEARCH_LIMIT)
    if kind == SearchKind.PHONE:
        digits = "".join(ch for ch in query if ch.isdigit())
        statement = (
            statement.where(Borrower.phone_e164.like(f"%{digits}")) if len(digits) >= 7 else statement.where(false())
        )
    elif kind == SearchKind.ACCOUNT:
        statement = statement.where(Borrower.id.in_(select(Account.borrower_id).where(Account.account_number == query)))
    elif kind == SearchKind.NAME:
        escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        statement = (
            statement.where(Borrower.name.ilike(f"%{escaped}%", escape="\\")) if query else statement.where(false())
        )
    else:
        statement = statement.where(Borrower.national_id_last4 == query.upper())
    found = db.session.execute(statement).scalars().all()
    audit.record(
        "staff.searched",
        actor_type="staff",
        actor_id=actor.username,
        ip=actor.ip,
        kind=str(kind),
        # What was looked for, so that compliance can see who searched for whom.
        query=query[:100],
        results=len(found),
    )
    return [
        Hit(
            borrower_id=b.id,
            name=mask_name(b.name),
            phone=mask_phone(b.phone_e164),
            id_last4=b.national_id_last4,
            lender=b.lender.name,
            accounts=[mask_account(a.account_number) for a in b.accounts],
        )
        for b in found
    ]


@dataclass
class BorrowerView:
    borrower: Borrower
    accounts: list[Account]
    locks: dict[int, access.LockStatus]
    plans: list[RepaymentPlan]
    payments: list[Payment]
    disputes: list
    preferences: rights.Preferences | None
    links: list[ReminderLink]
    sign_ins: list[BorrowerSession]
    trail: list[AuditEvent]


def _accounts_of(borrower_id: int) -> list[Account]:
    return list(
        db.session.execute(select(Account).where(Account.borrower_id == borrower_id).order_by(Account.id)).scalars()
    )


def borrower_view(actor: Actor, borrower_id: int) -> BorrowerView | None:
    """What the borrower sees, plus the portal's contact history and the audit trail."""
    check(actor, Permission.VIEW_BORROWER)
    borrower = db.session.get(Borrower, borrower_id)
    if borrower is None:
        return None
    audit.record("staff.viewed_borrower", actor_type="staff", actor_id=actor.username, subject=borrower, ip=actor.ip)
    accounts = _accounts_of(borrower.id)
    ids = [a.id for a in accounts]
    subjects = [("borrower", str(borrower.id))] + [("account", str(i)) for i in ids]
    plan_list = list(
        db.session.execute(
            select(RepaymentPlan).where(RepaymentPlan.account_id.in_(ids)).order_by(RepaymentPlan.id.desc())
        ).scalars()
    )
    links = list(
        db.session.execute(
            select(ReminderLink).where(ReminderLink.account_id.in_(ids)).order_by(ReminderLink.id.desc()).limit(20)
        ).scalars()
    )
    subjects += [("repaymentplan", str(p.id)) for p in plan_list] + [("reminderlink", str(link.id)) for link in links]
    trail = list(
        db.session.execute(
            select(AuditEvent)
            .where(or_(*[(AuditEvent.subject_type == t) & (AuditEvent.subject_id == i) for t, i in subjects]))
            .order_by(AuditEvent.id.desc())
            .limit(AUDIT_TRAIL_LIMIT)
        ).scalars()
    )
    return BorrowerView(
        borrower=borrower,
        accounts=accounts,
        locks={a.id: access.lock_status(a) for a in accounts},
        plans=plan_list,
        payments=list(
            db.session.execute(
                select(Payment).where(Payment.account_id.in_(ids)).order_by(Payment.id.desc()).limit(50)
            ).scalars()
        ),
        disputes=rights.disputes_of(borrower.id),
        preferences=rights.current_preferences(borrower.id),
        links=links,
        sign_ins=list(
            db.session.execute(
                select(BorrowerSession)
                .where(BorrowerSession.borrower_id == borrower.id)
                .order_by(BorrowerSession.id.desc())
                .limit(20)
            ).scalars()
        ),
        trail=trail,
    )


def _own_account(borrower_id: int, account_id: int) -> Account | None:
    account = db.session.get(Account, account_id)
    return account if account is not None and account.borrower_id == borrower_id else None


def clear_lockout(actor: Actor, borrower_id: int, account_id: int, identified_by: IdentifiedBy) -> bool:
    """Clear an account's verification lockout after the agent recorded how the caller was
    identified (access.unlock audits who and why)."""
    check(actor, Permission.ASSIST)
    account = _own_account(borrower_id, account_id)
    if account is None:
        return False
    access.unlock(
        account, actor.username, f"assisted by agent {actor.username}; caller identified: {IdentifiedBy(identified_by)}"
    )
    audit.record(
        "staff.assisted",
        actor_type="staff",
        actor_id=actor.username,
        subject=account,
        ip=actor.ip,
        assisted="clear_lockout",
        identified_by=str(identified_by),
    )
    return True


def send_fresh_link(actor: Actor, borrower_id: int, account_id: int, identified_by: IdentifiedBy) -> bool:
    """A new reminder link by SMS to the phone on file: never to a number the agent types."""
    check(actor, Permission.ASSIST)
    account = _own_account(borrower_id, account_id)
    if account is None:
        return False
    borrower = account.borrower
    link, code = access.create_link(account, actor_type="staff", actor_id=actor.username)
    url = access.link_url(code)
    with force_locale(link.locale or borrower.locale):
        text, redacted = (
            gettext(
                "%(lender)s: here is a new secure link to see your loan and your options: %(link)s",
                lender=account.lender.name,
                link=shown,
            )
            for shown in (url, access.link_url("…"))
        )
    sms.send(borrower.phone_e164, text, purpose=SmsPurpose.REMINDER, borrower_id=borrower.id, redacted_text=redacted)
    audit.record(
        "staff.assisted",
        actor_type="staff",
        actor_id=actor.username,
        subject=account,
        ip=actor.ip,
        assisted="send_link",
        link=link.id,
        identified_by=str(identified_by),
    )
    return True


def plan_queue(actor: Actor) -> list[RepaymentPlan]:
    check(actor, Permission.DECIDE_PLANS)
    return plans.pending()


def decide_plan(
    actor: Actor,
    public_id: str,
    decision: str,
    *,
    reasons: list[RejectionReason] | None = None,
    note: str | None = None,
    proposal=None,
) -> RepaymentPlan:
    """Approve, reject (with reasons) or counter a pending proposal through the plans service,
    which audits the decision with the staff member's name."""
    check(actor, Permission.DECIDE_PLANS)
    if decision == "approve":
        return plans.approve(public_id, staff=actor.username, note=note)
    if decision == "reject":
        return plans.reject(public_id, staff=actor.username, reasons=reasons or [], note=note)
    if decision == "counter":
        return plans.counter(public_id, proposal, staff=actor.username, note=note)
    raise ValueError(f"unknown decision {decision!r}")


def stale_payments(actor: Actor) -> list[Payment]:
    """Payments still "being confirmed" after the configured time, with their Stripe reference
    (portal/payments decides which; ``portal payments reconcile`` settles them)."""
    check(actor, Permission.RECONCILE)
    found = payments.stale_payments()
    audit.record(
        "staff.listed_stale_payments", actor_type="staff", actor_id=actor.username, ip=actor.ip, count=len(found)
    )
    return found


AUDIT_PAGE_LIMIT = 200
AUDIT_EXPORT_LIMIT = 100_000


@dataclass(frozen=True)
class AuditFilter:
    """What the audit viewer narrows to; every part optional. Dates are whole UTC days."""

    staff: str | None = None
    borrower_id: int | None = None
    action: str | None = None
    date_from: date | None = None
    date_to: date | None = None

    def as_details(self) -> dict:
        return {
            f"filter_{k}": (v.isoformat() if isinstance(v, date) else v) for k, v in vars(self).items() if v is not None
        }


def _audit_query(chosen: AuditFilter):
    statement = select(AuditEvent)
    if chosen.staff:
        statement = statement.where(AuditEvent.actor_type == "staff", AuditEvent.actor_id == chosen.staff)
    if chosen.action:
        statement = statement.where(AuditEvent.action == chosen.action)
    if chosen.borrower_id is not None:
        ids = [str(a.id) for a in _accounts_of(chosen.borrower_id)]
        statement = statement.where(
            or_(
                (AuditEvent.subject_type == "borrower") & (AuditEvent.subject_id == str(chosen.borrower_id)),
                (AuditEvent.subject_type == "account") & (AuditEvent.subject_id.in_(ids)),
            )
        )
    if chosen.date_from:
        statement = statement.where(AuditEvent.occurred_at >= datetime.combine(chosen.date_from, time(), UTC))
    if chosen.date_to:
        end = datetime.combine(chosen.date_to + timedelta(days=1), time(), UTC)
        statement = statement.where(AuditEvent.occurred_at < end)
    return statement


def audit_log(actor: Actor, chosen: AuditFilter) -> list[AuditEvent]:
    """The newest matching audit records first; looking is itself audited."""
    check(actor, Permission.AUDIT)
    found = list(
        db.session.execute(_audit_query(chosen).order_by(AuditEvent.id.desc()).limit(AUDIT_PAGE_LIMIT)).scalars()
    )
    audit.record(
        "staff.viewed_audit_log", actor_type="staff", actor_id=actor.username, ip=actor.ip, **chosen.as_details()
    )
    return found


# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: object) -> str:
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


AUDIT_CSV_COLUMNS = ("occurred_at", "actor_type", "actor_id", "action", "subject_type", "subject_id", "ip", "details")


def audit_csv(actor: Actor, chosen: AuditFilter) -> str:
    """The matching audit records, oldest first, as CSV whose cells a spreadsheet never runs."""
    check(actor, Permission.AUDIT)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(AUDIT_CSV_COLUMNS)
    rows = db.session.execute(_audit_query(chosen).order_by(AuditEvent.id).limit(AUDIT_EXPORT_LIMIT)).scalars()
    count = 0
    for event in rows:
        values = [getattr(event, column) for column in AUDIT_CSV_COLUMNS]
        values[0] = event.occurred_at.isoformat()
        writer.writerow([spreadsheet_safe(v) for v in values])
        count += 1
    audit.record(
        "staff.exported_audit_log",
        actor_type="staff",
        actor_id=actor.username,
        ip=actor.ip,
        rows=count,
        **chosen.as_details(),
    )
    return out.getvalue()


@dataclass(frozen=True)
class StaffRow:
    staff: StaffUser
    live_sessions: int


def staff_list(actor: Actor) -> list[StaffRow]:
    check(actor, Permission.MANAGE_STAFF)
    live = (
        select(StaffSession.staff_id, func.count().label("n"))
        .where(StaffSession.ended_at.is_(None))
        .group_by(StaffSession.staff_id)
        .subquery()
    )
    rows = db.session.execute(
        select(StaffUser, func.coalesce(live.c.n, 0))
        .outerjoin(live, live.c.staff_id == StaffUser.id)
        .order_by(StaffUser.username)
    ).all()
    return [StaffRow(staff, count) for staff, count in rows]


def end_staff_sessions(actor: Actor, staff_id: int) -> bool:
    """Sign a member of staff out everywhere now (their next request meets the sign-in page)."""
    check(actor, Permission.MANAGE_STAFF)
    staff = db.session.get(StaffUser, staff_id)
    if staff is None:
        return False
    ended = staff_accounts.end_sessions(staff)
    audit.record(
        "staff.sessions_ended", actor_type="staff", actor_id=actor.username, subject=staff, ip=actor.ip, ended=ended
    )
    return True


def disable_staff(actor: Actor, staff_id: int) -> bool:
    """Disable another member of staff (never oneself: an admin cannot lock every admin out)."""
    check(actor, Permission.MANAGE_STAFF)
    staff = db.session.get(StaffUser, staff_id)
    if staff is None or staff.id == actor.staff_id:
        return False
    staff_accounts.disable(staff.username, by=actor.username, actor_type="staff", ip=actor.ip)
    return True
