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
