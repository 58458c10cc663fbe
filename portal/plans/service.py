"""Repayment plans: proposing, deciding, paying instalments. No request objects, no commits.

Invariants:

* An account has at most one open plan (pending review, offered by the lender, or active),
  checked under a lock on the account row; drafts waiting for their one-time code are not
  plans, and a new draft replaces the previous one, so the newest code confirms the newest
  draft only.
* Nothing commits a borrower without the one-time code sent to the phone on file
  (portal/otp): ``confirm`` and ``accept_counter`` are called only after it was verified.
* The decision at once is ``arithmetic.check`` under the lender's current policy version
  (recorded on the plan), plus the rule on broken plans; anything else goes to a person, with
  the reasons and an answer date in business days of the lender's jurisdiction.
* Every proposal, decision, payment against a plan and completion writes an audit event and
  an outbox event carrying the schedule.
* A payment towards an account with an active plan pays the instalment it was started for
  and anything beyond reduces the last instalments first (never a penalty for paying more).
"""

from __future__ import annotations

import secrets
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update

from portal import audit, business_days
from portal.extensions import db
from portal.models import (
    Account,
    AccountStatus,
    Borrower,
    HardshipReason,
    OtpPurpose,
    Payment,
    PaymentStatus,
    PlanInstalment,
    PlanKind,
    PlanPayment,
    PlanStatus,
    RejectionReason,
    RepaymentPlan,
)
from portal.models.types import utcnow
from portal.otp import service as otp
from portal.outbox.events import emit
from portal.plans import arithmetic as calc
from portal.plans import policy as policies

OPEN = (PlanStatus.PENDING, PlanStatus.OFFERED, PlanStatus.ACTIVE)
# Accounts on which no plan can be proposed: nothing to plan, or collection is paused.
NOT_PLANNABLE = (AccountStatus.SETTLED, AccountStatus.CLOSED, AccountStatus.DISPUTED)


class PlanRefused(Exception):
    """A proposal or decision that cannot go ahead; ``code`` picks the translated message."""

    def __init__(self, code: str, problems: list[calc.Problem] | None = None):
        super().__init__(code)
        self.code = code
        self.problems = problems or []


def balance_of(account) -> calc.Balance:
    return calc.Balance(
        account.principal_minor, account.interest_minor, account.penalty_interest_minor, account.fees_minor
    )


def local_today(timezone: str, now: datetime | None = None) -> date:
    return (now or utcnow()).astimezone(ZoneInfo(timezone)).date()


def current_policy(lender_id: int) -> policies.Version:
    version = policies.current(lender_id)
    if version is None:
        raise PlanRefused("no_policy")
    return version


def open_proposal(account_id: int) -> RepaymentPlan | None:
    """A proposal still waiting (for a reviewer or for the borrower): only one at a time. An
    active plan does not block a new proposal: asking to change a plan goes through the same
    rules, and the active plan stays until the new one is agreed."""
    return db.session.execute(
        select(RepaymentPlan).where(
            RepaymentPlan.account_id == account_id,
            RepaymentPlan.status.in_((PlanStatus.PENDING, PlanStatus.OFFERED)),
        )
    ).scalar_one_or_none()


def own_plan(borrower_id: int, public_id: str) -> RepaymentPlan | None:
    return db.session.execute(
        select(RepaymentPlan)
        .join(Account, Account.id == RepaymentPlan.account_id)
        .where(RepaymentPlan.public_id == public_id, Account.borrower_id == borrower_id)
    ).scalar_one_or_none()


def broken_plans(account_id: int) -> int:
    return db.session.execute(
        select(func.count())
        .select_from(RepaymentPlan)
        .where(RepaymentPlan.account_id == account_id, RepaymentPlan.status == PlanStatus.BROKEN)
    ).scalar_one()


def check_plannable(account) -> None:
    if account.status in NOT_PLANNABLE or account.overdue_minor <= 0:
        raise PlanRefused("not_plannable")


def evaluate(policy: policies.Policy, account, proposal: calc.Proposal, today: date) -> list[calc.Problem]:
    """The policy's problems with a proposal, plus the rule on earlier broken plans."""
    problems = calc.check(policy, balance_of(account), proposal, today)
    if broken_plans(account.id) >= policy.broken_plans_before_review > 0:
        problems.append(calc.Problem("broken_before", policy.broken_plans_before_review))
    return problems


def _lock_account(account_id: int) -> Account:
    return db.session.execute(
        select(Account).where(Account.id == account_id).with_for_update().execution_options(populate_existing=True)
    ).scalar_one()


def _instalments(plan: RepaymentPlan, schedule: list[calc.Instalment]) -> None:
    for item in schedule:
        db.session.add(
            PlanInstalment(plan_id=plan.id, number=item.number, due_date=item.due_date, amount_minor=item.amount_minor)
        )
    db.session.flush()
    db.session.refresh(plan, ["instalments"])


def _new_plan(account: Account, version: policies.Version, proposal: calc.Proposal, **values) -> RepaymentPlan:
    policy = version.policy
    balance = balance_of(account)
    total = calc.total_to_pay(policy, balance, proposal.kind)
    plan = RepaymentPlan(
        public_id=secrets.token_urlsafe(12),
        account_id=account.id,
        policy_id=version.id,
        kind=proposal.kind,
        frequency=proposal.frequency if proposal.kind == "instalments" else None,
        currency=account.currency,
        balance_minor=balance.total,
        total_minor=total,
        waived=calc.waiver(policy, balance, proposal.kind),
        paid_minor=0,
        created_at=utcnow(),
        **values,
    )
    db.session.add(plan)
    db.session.flush()
    _instalments(plan, calc.schedule(total, proposal))
    return plan


def draft(
    account_id: int,
    proposal: calc.Proposal,
    *,
    hardship_reason: HardshipReason,
    hardship_note: str | None,
    affordability: dict | None,
    locale: str,
    now: datetime | None = None,
) -> tuple[RepaymentPlan, otp.Challenge]:
    """Save the borrower's chosen plan as a draft and send the one-time code that confirms it.

    Raises PlanRefused (nothing written) for wrong input, an account that cannot have a plan,
    an open plan, or too many codes (otp.TooManyCodes)."""
    now = now or utcnow()
    account = _lock_account(account_id)
    check_plannable(account)
    if open_proposal(account.id) is not None:
        raise PlanRefused("open_plan")
    borrower = db.session.get_one(Borrower, account.borrower_id)
    version = current_policy(account.lender_id)
    problems = evaluate(version.policy, account, proposal, local_today(borrower.timezone, now))
    if calc.is_input_error(problems):
        raise PlanRefused("input", problems)
    challenge = otp.issue(
        phone_e164=borrower.phone_e164,
        purpose=OtpPurpose.PLAN,
        subject=f"account:{account.id}",
        borrower_id=borrower.id,
        locale=locale,
        sender_name=account.lender.name,
        now=now,
    )
    # Only the newest draft can be confirmed (its code replaced the previous one).
    db.session.execute(
        update(RepaymentPlan)
        .where(RepaymentPlan.account_id == account.id, RepaymentPlan.status == PlanStatus.DRAFT)
        .values(status=PlanStatus.WITHDRAWN, ended_at=now)
        .execution_options(synchronize_session=False)
    )
    plan = _new_plan(
        account,
        version,
        proposal,
        status=PlanStatus.DRAFT,
        hardship_reason=hardship_reason,
        hardship_note=hardship_note or None,
        affordability=affordability,
        review_reasons=[problem.code for problem in problems],
        proposed_by="borrower",
    )
    audit.record("plan.drafted", actor_type="borrower", actor_id=borrower.id, subject=plan, kind=plan.kind)
    return plan, challenge


def resend_code(plan: RepaymentPlan, *, locale: str, now: datetime | None = None) -> otp.Challenge:
    borrower = db.session.get_one(Borrower, plan.account.borrower_id)
    purpose = OtpPurpose.COUNTER_OFFER if plan.status == PlanStatus.OFFERED else OtpPurpose.PLAN
    return otp.issue(
        phone_e164=borrower.phone_e164,
        purpose=purpose,
        subject=f"account:{plan.account_id}",
        borrower_id=borrower.id,
        locale=locale,
        sender_name=plan.account.lender.name,
        now=now,
    )


def code_purpose(plan: RepaymentPlan) -> OtpPurpose:
    return OtpPurpose.COUNTER_OFFER if plan.status == PlanStatus.OFFERED else OtpPurpose.PLAN


def schedule_data(plan: RepaymentPlan) -> dict:
    """The plan as upstream systems receive it in every plan.* event."""
    return {
        "plan_id": plan.public_id,
        "kind": plan.kind,
        "frequency": plan.frequency,
        "status": plan.status,
        "currency": plan.currency,
        "balance": plan.balance_minor,
        "total": plan.total_minor,
        "waived": plan.waived,
        "paid": plan.paid_minor,
        "hardship_reason": plan.hardship_reason,
        "policy_version": db.session.get_one(policies.PlanPolicy, plan.policy_id).version,
        "schedule": [
            {"number": i.number, "due_date": i.due_date.isoformat(), "amount": i.amount_minor, "paid": i.paid_minor}
            for i in plan.instalments
        ],
    }


def emit_event(event_type: str, plan: RepaymentPlan, account: Account, **extra) -> None:
    emit(event_type, lender_id=account.lender_id, account=account, data={**schedule_data(plan), **extra})


def _activate(plan: RepaymentPlan, account: Account, now: datetime, decided_by: str) -> None:
    """Make ``plan`` the account's plan; a plan it changes ends here (what was paid stays paid)."""
    replaced = db.session.execute(
        select(RepaymentPlan).where(
            RepaymentPlan.account_id == account.id,
            RepaymentPlan.status == PlanStatus.ACTIVE,
            RepaymentPlan.id != plan.id,
        )
    ).scalar_one_or_none()
    if replaced is not None:
        replaced.status, replaced.ended_at = PlanStatus.REPLACED, now
        audit.record("plan.replaced", actor_type="system", subject=replaced, by=plan.public_id)
    plan.status = PlanStatus.ACTIVE
    plan.decided_at = now
    plan.decided_by = decided_by
    account.status = AccountStatus.IN_PLAN


def confirm(plan: RepaymentPlan, *, actor_id: object, now: datetime | None = None) -> RepaymentPlan:
    """The borrower confirmed a draft with the one-time code: decide at once, or send it to review."""
    now = now or utcnow()
    account = _lock_account(plan.account_id)
    plan = db.session.get_one(RepaymentPlan, plan.id, populate_existing=True)
    if plan.status != PlanStatus.DRAFT:
        raise PlanRefused("not_a_draft")
    check_plannable(account)
    if open_proposal(account.id) is not None:
        raise PlanRefused("open_plan")
    if account.overdue_minor != plan.balance_minor:
        raise PlanRefused("figures_changed")
    borrower = db.session.get_one(Borrower, account.borrower_id)
    version = current_policy(account.lender_id)
    proposal = proposal_of(plan)
    problems = evaluate(version.policy, account, proposal, local_today(borrower.timezone, now))
    if calc.is_input_error(problems):
        raise PlanRefused("input", problems)
    plan.policy_id = version.id
    plan.proposed_at = now
    plan.review_reasons = [problem.code for problem in problems]
    audit.record("plan.proposed", actor_type="borrower", actor_id=actor_id, subject=plan, reasons=plan.review_reasons)
    if problems:
        plan.status = PlanStatus.PENDING
        lender = account.lender
        plan.review_due_at = business_days.deadline(
            now, version.policy.review_business_days, lender.jurisdiction, lender.timezone
        )
        emit_event("plan.proposed", plan, account)
        return plan
    _activate(plan, account, now, "policy")
    emit_event("plan.proposed", plan, account)
    emit_event("plan.approved", plan, account, decided_by="policy")
    audit.record("plan.approved", actor_type="system", subject=plan, decided_by="policy")
    return plan


def proposal_of(plan: RepaymentPlan) -> calc.Proposal:
    """The proposal a stored plan was built from (its schedule states it completely)."""
    first = plan.instalments[0]
    amounts = {i.amount_minor for i in plan.instalments[:-1]}
    chosen_amount = None
    if len(plan.instalments) > 1 and len(amounts) == 1:
        amount = amounts.pop()
        if plan.instalments[-1].amount_minor < amount:
            chosen_amount = amount
    return calc.Proposal(plan.kind, first.due_date, len(plan.instalments), plan.frequency, chosen_amount)


def pending() -> list[RepaymentPlan]:
    """Proposals waiting for a person, the earliest promised answer first."""
    return list(
        db.session.execute(
            select(RepaymentPlan)
            .where(RepaymentPlan.status == PlanStatus.PENDING)
            .order_by(RepaymentPlan.review_due_at, RepaymentPlan.id)
        ).scalars()
    )


def _pending_for_decision(public_id: str) -> tuple[RepaymentPlan, Account]:
    plan = db.session.execute(select(RepaymentPlan).where(RepaymentPlan.public_id == public_id)).scalar_one_or_none()
    if plan is None:
        raise PlanRefused("unknown_plan")
    account = _lock_account(plan.account_id)
    db.session.refresh(plan)
    if plan.status != PlanStatus.PENDING:
        raise PlanRefused("not_pending")
    return plan, account


def approve(public_id: str, *, staff: str, note: str | None = None, now: datetime | None = None) -> RepaymentPlan:
    now = now or utcnow()
    plan, account = _pending_for_decision(public_id)
    if account.status in NOT_PLANNABLE:
        raise PlanRefused("not_plannable")
    plan.decision_note = note
    _activate(plan, account, now, staff)
    audit.record("plan.approved", actor_type="staff", actor_id=staff, subject=plan, note=note)
    emit_event("plan.approved", plan, account, decided_by="staff")
    return plan


def reject(
    public_id: str,
    *,
    staff: str,
    reasons: list[RejectionReason],
    note: str | None = None,
    now: datetime | None = None,
) -> RepaymentPlan:
    if not reasons:
        raise PlanRefused("reasons_required")
    now = now or utcnow()
    plan, account = _pending_for_decision(public_id)
    plan.status = PlanStatus.REJECTED
    plan.rejection_reasons = [str(RejectionReason(reason)) for reason in reasons]
    plan.decision_note = note
    plan.decided_at, plan.decided_by, plan.ended_at = now, staff, now
    audit.record("plan.rejected", actor_type="staff", actor_id=staff, subject=plan, reasons=plan.rejection_reasons)
    emit_event("plan.rejected", plan, account, reasons=plan.rejection_reasons)
    return plan


def counter(
    public_id: str, proposal: calc.Proposal, *, staff: str, note: str | None = None, now: datetime | None = None
) -> RepaymentPlan:
    """Replace a pending proposal with the lender's own offer; the borrower accepts it with a code."""
    now = now or utcnow()
    plan, account = _pending_for_decision(public_id)
    borrower = db.session.get_one(Borrower, account.borrower_id)
    version = current_policy(account.lender_id)
    problems = calc.check(version.policy, balance_of(account), proposal, local_today(borrower.timezone, now))
    if calc.is_input_error(problems):
        raise PlanRefused("input", problems)
    plan.status = PlanStatus.COUNTERED
    plan.decided_at, plan.decided_by, plan.ended_at = now, staff, now
    offer = _new_plan(
        account,
        version,
        proposal,
        status=PlanStatus.OFFERED,
        hardship_reason=plan.hardship_reason,
        hardship_note=plan.hardship_note,
        affordability=plan.affordability,
        proposed_by="staff",
        counter_of_id=plan.id,
        decision_note=note,
        decided_by=staff,
        proposed_at=now,
    )
    audit.record("plan.countered", actor_type="staff", actor_id=staff, subject=plan, offer=offer.public_id)
    emit_event("plan.countered", offer, account, replaces=plan.public_id)
    return offer


def accept_counter(plan: RepaymentPlan, *, actor_id: object, now: datetime | None = None) -> RepaymentPlan:
    now = now or utcnow()
    account = _lock_account(plan.account_id)
    plan = db.session.get_one(RepaymentPlan, plan.id, populate_existing=True)
    if plan.status != PlanStatus.OFFERED:
        raise PlanRefused("not_offered")
    _activate(plan, account, now, plan.decided_by or "staff")
    audit.record("plan.accepted", actor_type="borrower", actor_id=actor_id, subject=plan)
    emit_event("plan.accepted", plan, account)
    return plan


def withdraw(plan: RepaymentPlan, *, actor_id: object, now: datetime | None = None) -> RepaymentPlan:
    """The borrower takes back a proposal still waiting for review."""
    now = now or utcnow()
    _lock_account(plan.account_id)
    plan = db.session.get_one(RepaymentPlan, plan.id, populate_existing=True)
    if plan.status not in (PlanStatus.PENDING, PlanStatus.DRAFT):
        raise PlanRefused("not_pending")
    plan.status, plan.ended_at = PlanStatus.WITHDRAWN, now
    audit.record("plan.withdrawn", actor_type="borrower", actor_id=actor_id, subject=plan)
    return plan


# ---------------------------------------------------------------------------------------
# Paying instalments (through portal/payments)


def next_instalment(plan) -> PlanInstalment | None:
    return next((i for i in plan.instalments if i.outstanding_minor > 0), None)


def active_plan(account_id: int) -> RepaymentPlan | None:
    return db.session.execute(
        select(RepaymentPlan).where(RepaymentPlan.account_id == account_id, RepaymentPlan.status == PlanStatus.ACTIVE)
    ).scalar_one_or_none()


def open_plans(account_ids: list[int]) -> dict[int, RepaymentPlan]:
    """The open plan (active, being reviewed, or offered) of each account that has one: one
    query, plus one for the instalments, whatever the number of accounts."""
    if not account_ids:
        return {}
    plans = db.session.execute(
        select(RepaymentPlan)
        .where(RepaymentPlan.account_id.in_(account_ids), RepaymentPlan.status.in_(OPEN))
        # An active plan and a proposal to change it: the active plan is the one shown.
        .order_by((RepaymentPlan.status == PlanStatus.ACTIVE).asc(), RepaymentPlan.id)
    ).scalars()
    return {plan.account_id: plan for plan in plans}


def instalment_to_pay(account_id: int) -> tuple[RepaymentPlan, PlanInstalment] | None:
    """What the plan's Pay button pays: the next instalment, less what was already paid of it."""
    plan = active_plan(account_id)
    if plan is None:
        return None
    instalment = next_instalment(plan)
    return None if instalment is None else (plan, instalment)


def payment_started(payment: Payment, plan: RepaymentPlan, instalment: PlanInstalment) -> None:
    db.session.add(PlanPayment(payment_id=payment.id, plan_id=plan.id, instalment_number=instalment.number))
    db.session.flush()


def apply_payment(payment: Payment, account: Account, amount: int, *, now: datetime | None = None) -> None:
    """A payment on ``account`` succeeded (called under the account lock by payments.service)."""
    plan = db.session.execute(
        select(RepaymentPlan)
        .where(RepaymentPlan.account_id == account.id, RepaymentPlan.status == PlanStatus.ACTIVE)
        .with_for_update()
    ).scalar_one_or_none()
    if plan is None or amount <= 0:
        return
    now = now or utcnow()
    link = db.session.get(PlanPayment, payment.id)
    remaining = amount
    if link is not None and link.plan_id == plan.id:
        target = next(i for i in plan.instalments if i.number == link.instalment_number)
        paid = min(target.outstanding_minor, remaining)
        target.paid_minor += paid
        remaining -= paid
    elif (target := next_instalment(plan)) is not None:
        # A payment made without the plan's button pays the next instalment first, so that
        # paying "another amount" of exactly one instalment does what the borrower expects.
        paid = min(target.outstanding_minor, remaining)
        target.paid_minor += paid
        remaining -= paid
    # Money beyond the instalment it was meant for reduces the last instalments first.
    for instalment in reversed(plan.instalments):
        paid = min(instalment.outstanding_minor, remaining)
        instalment.paid_minor += paid
        remaining -= paid
    plan.paid_minor += amount - remaining
    audit.record("plan.payment", actor_type="system", subject=plan, payment=payment.public_id, amount=amount)
    if next_instalment(plan) is None:
        plan.status, plan.ended_at = PlanStatus.COMPLETED, now
        if plan.kind == PlanKind.SETTLEMENT:
            _write_off(plan, account)
        account.status = AccountStatus.SETTLED if account.overdue_minor == 0 else AccountStatus.OVERDUE
        audit.record("plan.completed", actor_type="system", subject=plan)
        emit_event("plan.completed", plan, account)
        if account.status == AccountStatus.SETTLED:
            emit("account.settled", lender_id=account.lender_id, account=account)


def _write_off(plan: RepaymentPlan, account: Account) -> None:
    """A settlement paid in full: what the lender agreed to waive is taken off what is still
    overdue (never more than is left), in the order payments pay it off."""
    remaining = min(plan.waived_minor, account.overdue_minor)
    written_off = {}
    for part in ("fees", "penalty_interest", "interest", "principal"):
        amount = min(getattr(account, f"{part}_minor"), remaining)
        setattr(account, f"{part}_minor", getattr(account, f"{part}_minor") - amount)
        remaining -= amount
        if amount:
            written_off[part] = amount
    account.overdue_minor -= sum(written_off.values())
    audit.record("plan.waiver_applied", actor_type="system", subject=plan, written_off=written_off)


def payments_during(plan: RepaymentPlan) -> list[Payment]:
    """The succeeded payments on the plan's account from its approval to its end, oldest first."""
    query = select(Payment).where(
        Payment.account_id == plan.account_id,
        Payment.status == PaymentStatus.SUCCEEDED,
        Payment.completed_at >= plan.decided_at,
    )
    if plan.ended_at is not None:
        query = query.where(Payment.completed_at <= plan.ended_at)
    return list(db.session.execute(query.order_by(Payment.completed_at)).scalars())


# ---------------------------------------------------------------------------------------
# The loan core's figures change during a plan (portal/imports)


def follow_core(account_ids: list[int], *, actor_type: str, now: datetime | None = None) -> int:
    """Apply the rule for new figures from the loan core to the active plans of these accounts.

    The plan never breaks silently. If what is overdue is now less than what the plan still
    expects (paid elsewhere, a correction), the last instalments shrink until the plan expects
    exactly what is overdue; at zero the plan is complete. If it is more (new penalty
    interest), the agreed plan stands and the pages show the difference separately.
    Returns the number of plans changed."""
    now = now or utcnow()
    changed = 0
    for start in range(0, len(account_ids), 500):
        part = account_ids[start : start + 500]
        plans = db.session.execute(
            select(RepaymentPlan)
            .where(RepaymentPlan.account_id.in_(part), RepaymentPlan.status == PlanStatus.ACTIVE)
            .with_for_update()
        ).scalars()
        for plan in list(plans):
            account = db.session.get_one(Account, plan.account_id)
            expected = plan.remaining_minor
            if account.overdue_minor >= expected:
                continue
            cut = expected - account.overdue_minor
            for instalment in reversed(plan.instalments):
                reduce = min(instalment.outstanding_minor, cut)
                instalment.amount_minor -= reduce
                cut -= reduce
            plan.total_minor = sum(i.amount_minor for i in plan.instalments)
            audit.record(
                "plan.adjusted",
                actor_type=actor_type,
                subject=plan,
                expected=expected,
                overdue=account.overdue_minor,
                total=plan.total_minor,
            )
            if next_instalment(plan) is None:
                plan.status, plan.ended_at = PlanStatus.COMPLETED, now
                account.status = AccountStatus.SETTLED if account.overdue_minor == 0 else AccountStatus.OVERDUE
                audit.record("plan.completed", actor_type="system", subject=plan)
                emit_event("plan.completed", plan, account)
            changed += 1
    return changed
