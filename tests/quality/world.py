"""Test data for the quality checks: a borrower with every kind of page to look at.

Payments are put in each state through the payment service itself (``start_payment`` then
``record_success`` / ``record_failure``), so receipts carry real allocations and receipt
numbers; a pending payment is one that Stripe has not answered yet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app

from portal.collection import service as contacts
from portal.extensions import db
from portal.models import Account, HardshipReason, Payment, PlanFrequency, PlanKind, RepaymentPlan
from portal.models.types import utcnow
from portal.payments import service
from portal.plans import arithmetic as calc
from portal.plans import policy as policies
from portal.plans import service as plans
from tests.factories import AccountFactory, BorrowerFactory, LenderFactory
from tests.helpers import make_link

DOB = "19900512"  # BorrowerFactory's date of birth, typed as a person would


@dataclass
class Borrower:
    """One borrower's accounts and one payment public id per state (on the first account)."""

    accounts: list[Account]
    payments: dict[str, str] = field(default_factory=dict)
    plans: dict[str, str] = field(default_factory=dict)  # status -> a plan's public id

    @property
    def account(self) -> Account:
        return self.accounts[0]

    @property
    def borrower(self):
        return self.account.borrower

    @property
    def last4(self) -> str:
        return self.borrower.national_id_last4

    def link(self, locale: str | None = None) -> str:
        return make_link(self.account, locale=locale)


def payment(account: Account, amount: int, state: str) -> Payment:
    """A payment of ``amount`` minor units on ``account`` in ``state`` (the caller commits)."""
    made = service.start_payment(account, amount, "other", actor_id=account.borrower_id)
    if state == "succeeded":
        service.record_success(made.id, source="test")
    elif state == "failed":
        service.record_failure(made.id, "card_declined", source="test")
    elif state == "pending":
        # Sent to Stripe, no answer yet: the amount is reserved on the account.
        made.status, made.submitted_at = "pending", utcnow()
        account.reserved_minor += amount
    elif state != "created":
        raise ValueError(state)
    db.session.flush()
    return made


def plan(account: Account, state: str) -> RepaymentPlan:
    """A repayment plan on ``account``, proposed and confirmed through the plan service:
    "active" (agreed at once), "pending" (outside the lender's policy, being reviewed) or
    "completed" (a settlement paid in full through the payment service), "offered" or
    "declined" (the lender's counter-offer to a pending proposal, open or declined)."""
    if policies.current(account.lender_id) is None:
        policies.set_policy(account.lender, policies.STANDARD, actor_type="test")
    first = plans.local_today(account.borrower.timezone) + timedelta(days=3)
    if state == "completed":  # a settlement, paid in full: the certificate
        proposal = calc.Proposal(PlanKind.SETTLEMENT, first)
    else:
        count = 4 if state == "active" else 40
        proposal = calc.Proposal(PlanKind.INSTALMENTS, first, count, PlanFrequency.MONTHLY)
    with current_app.test_request_context():
        made, _ = plans.draft(
            account.id,
            proposal,
            hardship_reason=HardshipReason.ILLNESS,
            hardship_note=None,
            affordability=None,
            locale="zh_Hans",
        )
        made = plans.confirm(made, actor_id=account.borrower_id)
        if state in ("offered", "declined"):
            counter = calc.Proposal(PlanKind.INSTALMENTS, first, 12, PlanFrequency.MONTHLY)
            made = plans.counter(made.public_id, counter, staff="test")
        if state == "declined":
            made = plans.decline_counter(made, actor_id=account.borrower_id)
    if state == "completed":
        payment(account, made.total_minor, "succeeded")
        db.session.refresh(made)
    db.session.flush()
    return made


def make_borrower(
    *,
    name: str = "王芳",
    lender=None,
    accounts: int = 1,
    history: int = 0,
    states: tuple[str, ...] = (),
    plan_states: tuple[str, ...] = (),
) -> Borrower:
    """A borrower with ``accounts`` accounts; ``history`` finished payments on the first one
    (alternately paid and declined), then one payment in each of ``states``; then one plan in
    each of ``plan_states``, the first on the first account, the next on the second, and so on."""
    lender = lender or LenderFactory()
    person = BorrowerFactory(lender=lender, name=name)
    made = [
        AccountFactory(borrower=person, days_past_due=3 + i, principal_minor=200000 + 1000 * i) for i in range(accounts)
    ]
    first = made[0]
    first.principal_minor += 10_000_000  # room for a long history of payments
    first.overdue_minor += 10_000_000
    for i in range(history):
        paid = payment(first, 10_000 + i, "succeeded" if i % 2 == 0 else "failed")
        paid.created_at = utcnow() - timedelta(days=history - i)
    world = Borrower(made)
    for state in states:
        world.payments[state] = payment(first, 5_000, state).public_id
    for account, state in zip(made, plan_states, strict=False):
        world.plans[state] = plan(account, state).public_id
    collection_contacts(first)
    db.session.commit()
    return world


def collection_contacts(account: Account) -> None:
    """Collection contacts on ``account`` as a lender's platform reports them, one of each kind
    the contact history shows: a compliant call, a call at night, a relative called while the
    borrower was reachable, an unanswered text."""
    zone = ZoneInfo(account.borrower.timezone)
    today = utcnow().astimezone(zone).date()

    def local(days_ago: int, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(today - timedelta(days=days_ago), time(hour, minute), tzinfo=zone)

    kinds = [
        ("call", "answered", "borrower", local(3, 10)),
        ("call", "no_answer", "borrower", local(2, 15)),
        ("call", "no_answer", "borrower", local(2, 23, 30)),  # at night: breaks the quiet hours
        ("sms", "message_left", "borrower", local(1, 9, 30)),
        ("call", "answered", "relative", local(1, 11)),  # while the borrower was reachable
    ]
    reports = [
        contacts.Report(
            contact_id=f"Q-{account.id}-{n}",
            account_number=account.account_number,
            occurred_at=when,
            channel=channel,
            direction="outbound",
            outcome=outcome,
            party=party,
            phone_number=None,
            agent_id=f"A-{17 + n}",
            agency_code="SUNNY-COLLECT",
            duration_seconds=None,
        )
        for n, (channel, outcome, party, when) in enumerate(kinds)
    ]
    contacts.record(account.lender, reports, actor_type="test")


def sign_in(page, base_url: str, world: Borrower, locale: str) -> None:
    """Open a reminder link and answer the two questions, as a person does."""
    page.goto(f"{base_url}/r/{world.link(locale)}")
    page.fill("#date_of_birth", DOB)
    page.fill("#id_last4", world.last4)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base_url}/dashboard")


PHONE = {"width": 390, "height": 844}


def phone_context(chromium, base_url: str, locale: str | None = None, **options):
    """A fresh phone-sized browser profile; with ``locale``, the language switch already set."""
    context = chromium.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="zh-CN", **options
    )
    if locale:
        context.add_cookies([{"name": "portal_lang", "value": locale, "url": base_url}])
    return context
