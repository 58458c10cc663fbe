"""`portal plans sweep`: reminders before instalments, a note the day after a miss, and the end
of a plan whose instalment stays unpaid past the policy's grace days.

Invariants:

* Idempotent: each reminder and each note is marked on its instalment when written, and a
  plan is broken by a conditional change of its status; running the sweep again changes nothing.
* Safe on several machines at once: each plan is claimed with ``FOR UPDATE SKIP LOCKED``, so
  two sweeps never work on the same plan; the one that waits simply finds nothing left to do.
* Dates are the borrower's own: "the day after a miss" is counted in their time zone.
* Texts go out with the change that caused them (portal/sms), in the borrower's language,
  signed with the lender's name; a reminder carries a fresh reminder link.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask_babel import force_locale, gettext
from sqlalchemy import select

from portal import audit
from portal.access.service import create_link, link_url
from portal.extensions import db
from portal.models import Account, AccountStatus, Borrower, PlanStatus, RepaymentPlan, SmsPurpose
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
        if today - instalment.due_date > timedelta(days=policy.grace_days):
            _break(plan, account, borrower, instalment.due_date, now)
            result.broken.append(plan.public_id)
            return
        if instalment.due_date < today and instalment.missed_notified_at is None:
            instalment.missed_notified_at = now
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
            audit.record("plan.missed", actor_type="system", subject=plan, instalment=instalment.number)
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


def _reminder_due(due: date, today: date, days_before: int) -> bool:
    return today <= due <= today + timedelta(days=days_before)


def _break(plan: RepaymentPlan, account: Account, borrower: Borrower, missed_date: date, now: datetime) -> None:
    plan.status, plan.ended_at = PlanStatus.BROKEN, now
    if account.status == AccountStatus.IN_PLAN:
        account.status = AccountStatus.OVERDUE
    audit.record("plan.broken", actor_type="system", subject=plan, missed=missed_date.isoformat())
    service.emit_event("plan.broken", plan, account)
    with force_locale(borrower.locale):
        text = gettext(
            "%(lender)s: your repayment plan has ended because an instalment stayed unpaid. What is still "
            "overdue is due again under your loan contract. You can propose a new plan on the portal.",
            lender=account.lender.name,
        )
    sms.send(borrower.phone_e164, text, purpose=SmsPurpose.NOTICE, borrower_id=borrower.id, now=now)
