"""`portal plans sweep`: reminders before instalments, a note the day after a miss, and the end
of a plan whose instalment stays unpaid past the policy's grace days.

Invariants:

* Idempotent: each reminder and each note is marked on its instalment when written, and a
  plan is broken by a conditional change of its status; running the sweep again changes nothing.
* Safe on several machines at once: each plan is claimed with ``FOR UPDATE SKIP LOCKED``, so
  two sweeps never work on the same plan; the one that waits simply finds nothing left to do.
* Dates are the borrower's own: "the day after a miss" is counted in their time zone.
* Every missed instalment is marked, audited and sent as ``plan.missed`` once, also when the
  sweep first sees it after the grace days. A settlement has no grace days: it ends when its
  deadline has passed, and ``ended_at`` is the end of that day however late the sweep runs;
  a payment submitted by then and still being confirmed holds the end until it is decided,
  and one started after it pays what is overdue without the settlement's reduction.
* Texts go out with the change that caused them (portal/sms), in the borrower's language,
  signed with the lender's name; a reminder carries a fresh reminder link.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import force_locale, gettext
from sqlalchemy import select

from portal import audit
from portal.access.service import create_link, link_url
from portal.extensions import db
from portal.models import (
    Account,
    AccountStatus,
    Borrower,
    PlanInstalment,
    PlanKind,
    PlanStatus,
    RepaymentPlan,
    SmsPurpose,
)
from portal.models.types import utcnow
from portal.plans import policy as policies
from portal.plans import service
from portal.sms import service as sms
from portal.templating import long_date, money

BATCH = 200


@dataclass
class SweepResult:
    reminded: int = 0
    missed: int = 0
    broken: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return f"{self.reminded} reminder(s), {self.missed} missed-payment note(s), {len(self.broken)} plan(s) ended"


def sweep(*, now: datetime | None = None) -> SweepResult:
    """One pass over every active plan (the caller commits, e.g. the CLI command)."""
    now = now or utcnow()
    result = SweepResult()
    claimed = db.session.execute(
        select(RepaymentPlan)
        .where(RepaymentPlan.status == PlanStatus.ACTIVE)
        .order_by(RepaymentPlan.id)
        .with_for_update(skip_locked=True, of=RepaymentPlan)
        .limit(BATCH * 50)
    ).scalars()
    for plan in list(claimed):
        _sweep_plan(plan, now, result)
    return result


def _sweep_plan(plan: RepaymentPlan, now: datetime, result: SweepResult) -> None:
    account = db.session.get_one(Account, plan.account_id)
    borrower = db.session.get_one(Borrower, account.borrower_id)
    policy = policies.by_id(plan.policy_id)
    today = service.local_today(borrower.timezone, now)
    lender = account.lender
    for instalment in plan.instalments:
        if instalment.outstanding_minor <= 0:
            continue
        if today > last_day_of(plan, instalment, policy):
            end = end_of_last_day(plan, instalment, borrower, policy)
            if plan.kind == PlanKind.SETTLEMENT and service.payment_in_flight(account.id, started_before=end):
                return  # paid in time and still being confirmed: that payment decides
            _end_missed(plan, account, borrower, instalment, now, min(end, now))
            result.broken.append(plan.public_id)
            return
        if instalment.due_date < today and instalment.missed_notified_at is None:
            _missed(plan, account, instalment, now)
            last_day = instalment.due_date + timedelta(days=policy.grace_days)
            with force_locale(borrower.locale):
                text = gettext(
                    "%(lender)s: instalment %(number)s of your repayment plan (%(amount)s, due %(due)s) is not "
                    "paid yet. If you pay it by %(last_day)s your plan carries on as agreed.",
                    lender=lender.name,
                    number=instalment.number,
                    amount=money(instalment.outstanding_minor, plan.currency),
                    due=long_date(instalment.due_date),
                    last_day=long_date(last_day),
                )
            sms.send(borrower.phone_e164, text, purpose=SmsPurpose.REMINDER, borrower_id=borrower.id, now=now)
            result.missed += 1
        elif _reminder_due(instalment.due_date, today, policy.reminder_days_before) and instalment.reminded_at is None:
            instalment.reminded_at = now
            _, code = create_link(account, actor_type="system")
            with force_locale(borrower.locale):
                text = gettext(
                    "%(lender)s: instalment %(number)s of your repayment plan, %(amount)s, is due on %(due)s. "
                    "You can pay it here: %(link)s",
                    lender=lender.name,
                    number=instalment.number,
                    amount=money(instalment.outstanding_minor, plan.currency),
                    due=long_date(instalment.due_date),
                    link=link_url(code),
                )
            sms.send(borrower.phone_e164, text, purpose=SmsPurpose.REMINDER, borrower_id=borrower.id, now=now)
            result.reminded += 1


def last_day_of(plan: RepaymentPlan, instalment: PlanInstalment, policy: policies.Policy) -> date:
    """The last day (borrower's calendar) an instalment can be paid before the plan ends: its
    due date plus the grace days; a settlement's deadline is firm, because its reduction was
    agreed for payment by that date (and the policy limits how far away the deadline may be)."""
    if plan.kind == PlanKind.SETTLEMENT:
        return instalment.due_date
    return instalment.due_date + timedelta(days=policy.grace_days)


def end_of_last_day(
    plan: RepaymentPlan, instalment: PlanInstalment, borrower: Borrower, policy: policies.Policy
) -> datetime:
    """The moment the last day ends in the borrower's time zone: when an unpaid plan ended,
    however late the sweep runs."""
    day_after = last_day_of(plan, instalment, policy) + timedelta(days=1)
    return datetime.combine(day_after, time(), tzinfo=ZoneInfo(borrower.timezone)).astimezone(UTC)


def end_lapsed_settlement(plan: RepaymentPlan, account: Account, started: datetime, now: datetime) -> bool:
    """A payment started at ``started`` succeeded towards an active settlement: if its deadline
    had already passed then, the settlement ended on its deadline (as the sweep would have
    ended it) and the payment counts as an ordinary payment. Returns whether it ended."""
    borrower = db.session.get_one(Borrower, account.borrower_id)
    instalment = plan.instalments[-1]
    end = end_of_last_day(plan, instalment, borrower, policies.by_id(plan.policy_id))
    if started < end:
        return False
    _end_missed(plan, account, borrower, instalment, now, end)
    return True


def _end_missed(
    plan: RepaymentPlan, account: Account, borrower: Borrower, instalment: PlanInstalment, now: datetime, ended_at
) -> None:
    if instalment.missed_notified_at is None:
        _missed(plan, account, instalment, now)
    _break(plan, account, borrower, instalment.due_date, now, ended_at)


def _missed(plan: RepaymentPlan, account: Account, instalment: PlanInstalment, now: datetime) -> None:
    """Once per missed instalment: marked on it, audited, and told to upstream systems."""
    instalment.missed_notified_at = now
    audit.record("plan.missed", actor_type="system", subject=plan, instalment=instalment.number)
    service.emit_event(
        "plan.missed",
        plan,
        account,
        instalment=instalment.number,
        due_date=instalment.due_date.isoformat(),
        outstanding=instalment.outstanding_minor,
    )


def _reminder_due(due: date, today: date, days_before: int) -> bool:
    return today <= due <= today + timedelta(days=days_before)


def _break(
    plan: RepaymentPlan, account: Account, borrower: Borrower, missed_date: date, now: datetime, ended_at: datetime
) -> None:
    plan.status, plan.ended_at = PlanStatus.BROKEN, ended_at
    if account.status == AccountStatus.IN_PLAN:
        account.status = AccountStatus.OVERDUE
    audit.record("plan.broken", actor_type="system", subject=plan, missed=missed_date.isoformat())
    service.emit_event("plan.broken", plan, account)
    with force_locale(borrower.locale):
        if plan.kind == PlanKind.SETTLEMENT:
            text = gettext(
                "%(lender)s: your settlement was not paid by %(deadline)s, so it has ended and the reduction "
                "no longer applies. What is still overdue is due under your loan contract. You can propose a "
                "new plan on the portal.",
                lender=account.lender.name,
                deadline=long_date(missed_date),
            )
        else:
            text = gettext(
                "%(lender)s: your repayment plan has ended because an instalment stayed unpaid. What is still "
                "overdue is due again under your loan contract. You can propose a new plan on the portal.",
                lender=account.lender.name,
            )
    sms.send(borrower.phone_e164, text, purpose=SmsPurpose.NOTICE, borrower_id=borrower.id, now=now)
