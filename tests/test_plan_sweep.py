"""`portal plans sweep`: reminders before an instalment, a note the day after a miss, and the
end of a plan past the grace days; idempotent, and safe with several sweeps at once."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from portal.extensions import db as _db
from portal.models import Account, AccountStatus, OutboxEvent, PlanStatus, RepaymentPlan, SmsMessage
from portal.models.plan import PlanFrequency, PlanKind
from portal.plans import arithmetic as calc
from portal.plans import policy as policies
from portal.plans import service
from portal.plans.sweep import sweep
from tests.factories import AccountFactory

# Policy STANDARD: reminders 3 days before, 5 grace days.
FIRST = date(2026, 12, 10)


def at(day: date, hour: int = 2) -> datetime:
    """A moment on ``day`` in Shanghai (UTC+8): 02:00 UTC is 10:00 there."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


@pytest.fixture
def plan(app, db):
    account = AccountFactory(borrower__locale="en")
    policies.set_policy(account.lender, policies.STANDARD, actor_type="test")
    proposal = calc.Proposal(PlanKind.INSTALMENTS, FIRST, 4, PlanFrequency.MONTHLY)
    now = at(date(2026, 12, 1))
    with app.test_request_context():
        made, _ = service.draft(
            account.id,
            proposal,
            hardship_reason="illness",
            hardship_note=None,
            affordability=None,
            locale="en",
            now=now,
        )
        made = service.confirm(made, actor_id=None, now=now)
    db.session.commit()
    assert made.status == PlanStatus.ACTIVE
    return made


def texts(db) -> list[str]:
    return list(
        db.session.execute(
            select(SmsMessage.text).where(SmsMessage.purpose != "one_time_code").order_by(SmsMessage.id)
        ).scalars()
    )


def run(app, db, day: date):
    with app.test_request_context():
        result = sweep(now=at(day))
    db.session.commit()
    return result


def test_a_reminder_with_a_fresh_link_three_days_before_and_only_once(app, db, plan):
    assert run(app, db, FIRST - timedelta(days=4)).reminded == 0
    assert run(app, db, FIRST - timedelta(days=3)).reminded == 1
    assert run(app, db, FIRST - timedelta(days=2)).reminded == 0
    [text] = texts(db)
    assert "instalment 1" in text and "CN¥510.17" in text and "10 December 2026" in text and "/r/" in text


def test_the_day_after_a_miss_a_note_then_the_plan_ends_after_the_grace_days(app, db, plan):
    run(app, db, FIRST - timedelta(days=3))
    assert run(app, db, FIRST + timedelta(days=1)).missed == 1
    assert "If you pay it by 15 December 2026" in texts(db)[-1]
    assert run(app, db, FIRST + timedelta(days=5)).broken == []  # the last day of grace
    result = run(app, db, FIRST + timedelta(days=6))
    assert result.broken == [plan.public_id]
    db.session.expire_all()
    assert db.session.get(RepaymentPlan, plan.id).status == PlanStatus.BROKEN
    assert db.session.get(Account, plan.account_id).status == AccountStatus.OVERDUE
    assert "has ended" in texts(db)[-1] and "propose a new plan" in texts(db)[-1]
    event = db.session.execute(select(OutboxEvent).where(OutboxEvent.type == "plan.broken")).scalar_one()
    assert len(event.payload["data"]["schedule"]) == 4
    # Again: nothing more.
    again = run(app, db, FIRST + timedelta(days=7))
    assert (again.reminded, again.missed, again.broken) == (0, 0, [])


def plan_events(db, event_type: str) -> list[OutboxEvent]:
    return list(
        db.session.execute(select(OutboxEvent).where(OutboxEvent.type == event_type).order_by(OutboxEvent.id)).scalars()
    )


def test_every_missed_instalment_is_an_outbox_event_once(app, db, plan):
    run(app, db, FIRST + timedelta(days=1))
    run(app, db, FIRST + timedelta(days=2))
    [missed] = plan_events(db, "plan.missed")
    data = missed.payload["data"]
    assert data["instalment"] == 1 and data["due_date"] == FIRST.isoformat() and data["outstanding"] == 51017
    assert len(data["schedule"]) == 4 and missed.payload["account_number"] == plan.account.account_number


def test_a_miss_first_seen_after_the_grace_days_is_still_an_event(app, db, plan):
    assert run(app, db, FIRST + timedelta(days=9)).broken == [plan.public_id]
    assert [e.payload["data"]["instalment"] for e in plan_events(db, "plan.missed")] == [1]
    assert len(plan_events(db, "plan.broken")) == 1


DEADLINE = date(2026, 12, 20)


@pytest.fixture
def settlement(app, db):
    account = AccountFactory(borrower__locale="en")
    policies.set_policy(account.lender, policies.STANDARD, actor_type="test")
    now = at(date(2026, 12, 1))
    with app.test_request_context():
        made, _ = service.draft(
            account.id,
            calc.Proposal(PlanKind.SETTLEMENT, DEADLINE),
            hardship_reason="illness",
            hardship_note=None,
            affordability=None,
            locale="en",
            now=now,
        )
        made = service.confirm(made, actor_id=None, now=now)
    db.session.commit()
    assert made.status == PlanStatus.ACTIVE and made.waived
    return made


def test_a_settlement_unpaid_by_its_deadline_ends_on_the_deadline_without_grace(app, db, settlement):
    assert run(app, db, DEADLINE).broken == []  # the deadline itself: still time to pay
    # The sweep runs late, three days after the deadline: the plan still ended on the deadline.
    result = run(app, db, DEADLINE + timedelta(days=3))
    assert result.broken == [settlement.public_id]
    db.session.expire_all()
    ended = db.session.get(RepaymentPlan, settlement.id)
    assert ended.status == PlanStatus.BROKEN
    # Midnight after the deadline in Shanghai.
    assert ended.ended_at.astimezone(UTC) == datetime(2026, 12, 20, 16, 0, tzinfo=UTC)
    assert db.session.get(Account, settlement.account_id).status == AccountStatus.OVERDUE
    assert [len(plan_events(db, kind)) for kind in ("plan.missed", "plan.broken")] == [1, 1]
    text = texts(db)[-1]
    assert "not paid by 20 December 2026" in text and "reduction no longer applies" in text


def test_a_settlement_ends_the_day_after_its_deadline_not_after_the_grace_days(app, db, settlement):
    assert run(app, db, DEADLINE + timedelta(days=1)).broken == [settlement.public_id]


def settlement_payment(db, settlement, submitted_at: datetime):
    """The settlement's amount, submitted to the payment provider at ``submitted_at``."""
    from portal.models import PaymentPurpose, PaymentStatus
    from portal.payments import service as payments

    account = db.session.get(Account, settlement.account_id)
    payment = payments.start_payment(account, settlement.total_minor, PaymentPurpose.INSTALMENT)
    payment.status, payment.submitted_at = PaymentStatus.PENDING, submitted_at
    account.reserved_minor += payment.amount_minor
    db.session.commit()
    return payment


def test_a_settlement_paid_in_time_but_still_being_confirmed_is_not_ended(app, db, settlement):
    from portal.payments import service as payments

    payment = settlement_payment(db, settlement, at(DEADLINE, 15))  # 23:00 in Shanghai on the deadline
    assert run(app, db, DEADLINE + timedelta(days=1)).broken == []
    payments.record_success(payment.id, source="test")
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(RepaymentPlan, settlement.id).status == PlanStatus.COMPLETED
    assert db.session.get(Account, settlement.account_id).status == AccountStatus.SETTLED


def test_a_payment_started_after_the_deadline_gets_no_reduction_even_before_the_sweep(app, db, settlement):
    from portal.payments import service as payments

    payment = settlement_payment(db, settlement, at(DEADLINE, 16))  # 00:00 in Shanghai the day after
    with app.test_request_context():
        payments.record_success(payment.id, source="test")
    db.session.commit()
    db.session.expire_all()
    ended = db.session.get(RepaymentPlan, settlement.id)
    assert ended.status == PlanStatus.BROKEN and ended.ended_at.astimezone(UTC) == at(DEADLINE, 16)
    account = db.session.get(Account, settlement.account_id)
    assert account.status == AccountStatus.OVERDUE and account.overdue_minor == 420  # the penalty, not waived
    assert [len(plan_events(db, kind)) for kind in ("plan.missed", "plan.broken", "plan.completed")] == [1, 1, 0]
    assert run(app, db, DEADLINE + timedelta(days=1)).broken == []


def test_a_paid_instalment_gets_no_note_and_the_plan_carries_on(app, db, plan):
    plan.instalments[0].paid_minor = plan.instalments[0].amount_minor
    db.session.commit()
    result = run(app, db, FIRST + timedelta(days=10))
    assert (result.missed, result.broken) == (0, [])


def test_the_next_proposal_after_a_broken_plan_is_reviewed(app, db, plan):
    run(app, db, FIRST + timedelta(days=6))
    proposal = calc.Proposal(PlanKind.INSTALMENTS, FIRST + timedelta(days=10), 4, PlanFrequency.MONTHLY)
    now = at(FIRST + timedelta(days=7))
    with app.test_request_context():
        again, _ = service.draft(
            plan.account_id,
            proposal,
            hardship_reason="illness",
            hardship_note=None,
            affordability=None,
            locale="en",
            now=now,
        )
        again = service.confirm(again, actor_id=None, now=now)
    assert again.status == PlanStatus.PENDING and again.review_reasons == ["broken_before"]


@pytest.mark.postgres
@pytest.mark.committing
def test_two_sweeps_at_once_send_each_text_once(app, plan):
    start = threading.Barrier(2)
    results = []

    def one_sweep():
        with app.app_context(), app.test_request_context():
            start.wait()
            results.append(sweep(now=at(FIRST - timedelta(days=3))).reminded)
            _db.session.commit()

    threads = [threading.Thread(target=one_sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [0, 1]


def test_the_command_sends_due_reminders_in_the_borrowers_language(app, db, runner):
    account = AccountFactory(borrower__locale="zh_Hant")
    policies.set_policy(account.lender, policies.STANDARD, actor_type="test")
    today = service.local_today("Asia/Shanghai")
    proposal = calc.Proposal(PlanKind.INSTALMENTS, today + timedelta(days=2), 4, PlanFrequency.MONTHLY)
    with app.test_request_context():
        made, _ = service.draft(
            account.id, proposal, hardship_reason="illness", hardship_note=None, affordability=None, locale="en"
        )
        service.confirm(made, actor_id=None)
    db.session.commit()
    result = runner.invoke(args=["plans", "sweep"])
    assert result.exit_code == 0, result.output
    assert "1 reminder(s)" in result.output
    assert "CN¥510.17" in texts(db)[-1] and "還款計劃" in texts(db)[-1]
