"""Repayment plans through the borrower's pages and the review commands: propose, confirm with
the one-time code, approved at once or reviewed, counter-offer, paying an instalment."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from portal.models import (
    AccountStatus,
    AuditEvent,
    OutboxEvent,
    PlanStatus,
    RejectionReason,
    RepaymentPlan,
)
from portal.models.plan import PlanFrequency, PlanKind
from portal.outbox.events import CATALOGUE
from portal.payments import service as payments
from portal.plans import arithmetic as calc
from portal.plans import policy as policies
from portal.plans import service
from tests.factories import AccountFactory
from tests.helpers import last_sms_code, sign_in_through_link
from tests.pages import text_of

OUTBOX_PLAN_EVENTS = [name for name in CATALOGUE if name.startswith("plan.")]


@pytest.fixture
def account(db):
    # Overdue 2,040.70 = principal 2,000.00 + interest 36.50 + penalty 4.20.
    made = AccountFactory(borrower__locale="en")
    policies.set_policy(made.lender, policies.STANDARD, actor_type="test")
    db.session.commit()
    return made


@pytest.fixture
def signed_in(client, account):
    sign_in_through_link(client, account)
    return client


def plans_of(db, account) -> list[RepaymentPlan]:
    db.session.expire_all()
    return list(
        db.session.execute(
            select(RepaymentPlan).where(RepaymentPlan.account_id == account.id).order_by(RepaymentPlan.id)
        ).scalars()
    )


def events(db, prefix="plan.") -> list[OutboxEvent]:
    return list(
        db.session.execute(
            select(OutboxEvent).where(OutboxEvent.type.startswith(prefix)).order_by(OutboxEvent.id)
        ).scalars()
    )


def today() -> date:
    return service.local_today("Asia/Shanghai")


def propose(client, account, **fields):
    """Adjust a plan on the preview page and send it; returns the response of "send a code"."""
    data = {
        "kind": "instalments",
        "instalments": "4",
        "frequency": "monthly",
        "first_date": (today() + timedelta(days=5)).isoformat(),
        "amount": "",
        "hardship_reason": "illness",
        "hardship_note": "住院两周",
        **fields,
    }
    preview = client.post(f"/accounts/{account.id}/plan/preview", data={**data, "csrf_token": token(client, account)})
    assert preview.status_code in (200, 400)
    return client.post(f"/accounts/{account.id}/plan/submit", data={**data, "csrf_token": token(client, account)})


def token(client, account) -> str:
    page = client.get(f"/accounts/{account.id}/plan")
    return page.soup.find("input", attrs={"name": "csrf_token"})["value"]


def confirm(client, db, response):
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    confirm_url = response.headers["Location"]
    return client.submit(confirm_url, {"code": last_sms_code()}, button=("confirm", "1"))


def test_the_start_page_asks_gently_and_can_be_skipped(signed_in, account):
    page = signed_in.get(f"/accounts/{account.id}/plan")
    assert page.status_code == 200
    assert page.soup.find("input", id="income")["inputmode"] == "decimal"
    skip = page.soup.find("a", href=f"/accounts/{account.id}/plan/options")
    assert skip is not None
    options = signed_in.get(skip["href"])
    assert options.status_code == 200
    assert 1 <= len(options.soup.select("section.card")) <= 3


def test_affordability_gives_ranked_offers_explained_in_one_sentence(signed_in, account):
    page = signed_in.submit(f"/accounts/{account.id}/plan", {"income": "6000", "expenses": "4000", "debts": "500"})
    assert page.status_code == 200
    text = text_of(page)
    # 1,500.00 left each month: the quickest plans costing about 20 %, 35 % and 50 % of it.
    assert "of what is left each month" in text
    shares = [int(s) for s in re.findall(r"About (\d+)% of what is left", text)]
    assert shares and shares == sorted(shares) and shares[-1] <= 50


def test_a_wrong_amount_is_explained_next_to_the_field_and_kept(signed_in, account):
    page = signed_in.submit(f"/accounts/{account.id}/plan", {"income": "六千", "expenses": "4000", "debts": ""})
    assert page.status_code == 400
    field = page.soup.find("input", id="income")
    assert field["value"] == "六千" and field["aria-invalid"] == "true"
    assert "Enter an amount like 500.00" in text_of(page)


def test_the_preview_shows_every_payment_summing_exactly_with_the_remainder_last(signed_in, account):
    first = today() + timedelta(days=5)
    page = signed_in.post(
        f"/accounts/{account.id}/plan/preview",
        data={
            "csrf_token": token(signed_in, account),
            "kind": "instalments",
            "instalments": "3",
            "frequency": "monthly",
            "first_date": first.isoformat(),
        },
    )
    assert page.status_code == 200
    rows = page.soup.select("table.schedule tbody tr")
    assert len(rows) == 3
    amounts = [row.find_all("td")[-1].get_text(strip=True) for row in rows]
    # 2,040.70 / 3 = 680.23 remainder 0.01 on the last.
    assert amounts == ["CN¥680.23", "CN¥680.23", "CN¥680.24"]
    assert "can be agreed straight away" in text_of(page)


def test_instant_approval_after_the_code_leads_to_the_agreement(signed_in, account, db):
    response = propose(signed_in, account)
    page = confirm(signed_in, db, response)
    assert page.status_code == 303, text_of(page) if hasattr(page, "soup") else page.status_code
    agreement = signed_in.get(page.headers["Location"])
    text = text_of(agreement)
    assert "Your repayment plan agreement" in text
    assert "¥510.17" in text and "¥510.19" in text  # 2,040.70 in 4: remainder on the last
    assert "5 days after its date" in text  # what happens if a payment is missed
    [plan] = [p for p in plans_of(db, account) if p.status != PlanStatus.WITHDRAWN]
    assert plan.status == PlanStatus.ACTIVE and plan.decided_by == "policy"
    assert plan.hardship_reason == "illness"
    assert db.session.get(type(account), account.id).status == AccountStatus.IN_PLAN
    kinds = [event.type for event in events(db)]
    assert kinds == ["plan.proposed", "plan.approved"]
    schedule = events(db)[-1].payload["data"]["schedule"]
    assert sum(item["amount"] for item in schedule) == 204070
    actions = set(db.session.execute(select(AuditEvent.action)).scalars())
    assert {"plan.drafted", "plan.proposed", "plan.approved"} <= actions


def test_a_wrong_code_commits_nothing(signed_in, account, db):
    response = propose(signed_in, account)
    page = signed_in.submit(response.headers["Location"], {"code": "000000"}, button=("confirm", "1"))
    assert page.status_code == 400
    assert "not right" in text_of(page)
    assert {p.status for p in plans_of(db, account)} == {PlanStatus.DRAFT}
    assert events(db) == []


def test_bad_input_is_refused_next_to_the_field_and_kept(signed_in, account, db):
    past = (today() - timedelta(days=1)).isoformat()
    page = propose(signed_in, account, first_date=past, instalments="abc")
    assert page.status_code == 400
    assert page.soup.find("input", id="instalments")["value"] == "abc"
    assert page.soup.find("input", id="first_date")["value"] == past
    assert "whole number of instalments" in text_of(page)
    assert plans_of(db, account) == []


def test_a_plan_outside_policy_is_reviewed_with_reasons_and_an_answer_date(signed_in, account, db):
    response = propose(signed_in, account, instalments="18")
    page = confirm(signed_in, db, response)
    status = signed_in.get(page.headers["Location"])
    text = text_of(status)
    assert "Your proposal is being reviewed" in text
    assert "At most 12 instalments can be agreed at once." in text
    [plan] = plans_of(db, account)
    assert plan.status == PlanStatus.PENDING and plan.review_due_at is not None
    assert [e.type for e in events(db)] == ["plan.proposed"]


def test_the_answer_date_counts_chinese_working_days_across_a_holiday_and_an_adjusted_day(app, account, db):
    # Proposed on Wednesday 30 September 2026: 1-7 October is the National Day holiday and
    # Saturday 10 October is an adjusted working day. Three business days: 8, 9 and 10 October.
    proposal = calc.Proposal(PlanKind.INSTALMENTS, date(2026, 10, 1), 20, PlanFrequency.MONTHLY)
    now = datetime(2026, 9, 30, 2, 0, tzinfo=UTC)
    with app.test_request_context():
        plan, _ = service.draft(
            account.id,
            proposal,
            hardship_reason="job_loss",
            hardship_note=None,
            affordability=None,
            locale="en",
            now=now,
        )
        plan = service.confirm(plan, actor_id=None, now=now)
    assert plan.status == PlanStatus.PENDING
    assert plan.review_due_at.astimezone(service.ZoneInfo("Asia/Shanghai")).date() == date(2026, 10, 10)


def reviewed_plan(app, account, db):
    proposal = calc.Proposal(PlanKind.INSTALMENTS, today() + timedelta(days=3), 18, PlanFrequency.MONTHLY)
    with app.test_request_context():
        plan, _ = service.draft(
            account.id, proposal, hardship_reason="job_loss", hardship_note=None, affordability=None, locale="en"
        )
        plan = service.confirm(plan, actor_id=None)
    db.session.commit()
    return plan


def reject_from_the_command_line(app, runner, account, db):
    plan = reviewed_plan(app, account, db)
    listed = runner.invoke(args=["plans", "pending"])
    assert listed.exit_code == 0 and plan.public_id in listed.output
    rejected = runner.invoke(
        args=["plans", "decide", plan.public_id, "reject", "--reason", "term_too_long", "--note", "最长12期"]
    )
    assert rejected.exit_code == 0, rejected.output
    db.session.expire_all()
    assert db.session.get(RepaymentPlan, plan.id).rejection_reasons == [RejectionReason.TERM_TOO_LONG]
    return plan


def test_pending_and_decide_from_the_command_line(app, runner, account, db):
    reject_from_the_command_line(app, runner, account, db)


def test_a_rejection_gives_the_reasons_and_a_plan_that_would_be_agreed(app, runner, signed_in, account, db):
    plan = reject_from_the_command_line(app, runner, account, db)
    text = text_of(signed_in.get(f"/plans/{plan.public_id}"))
    assert "Your proposal was not agreed" in text and "The plan would take too long to finish." in text
    assert "最长12期" in text and "A similar plan that can be agreed straight away" in text
    assert text.count("No. ") == 12  # the suggestion: 12 monthly payments
    assert [e.type for e in events(db)][-1] == "plan.rejected"


def test_a_counter_offer_is_accepted_with_the_code(app, runner, signed_in, account, db):
    plan = reviewed_plan(app, account, db)
    first = (today() + timedelta(days=3)).isoformat()
    countered = runner.invoke(
        args=[
            "plans",
            "decide",
            plan.public_id,
            "counter",
            "--instalments",
            "12",
            "--frequency",
            "monthly",
            "--first-date",
            first,
        ]
    )
    assert countered.exit_code == 0, countered.output
    offer = plans_of(db, account)[-1]
    assert offer.status == PlanStatus.OFFERED and offer.counter_of_id == plan.id
    page = signed_in.submit(f"/plans/{offer.public_id}/confirm", button=("resend", "1"))
    assert page.status_code == 303
    done = signed_in.submit(f"/plans/{offer.public_id}/confirm", {"code": last_sms_code()}, button=("confirm", "1"))
    assert done.status_code == 303
    assert plans_of(db, account)[-1].status == PlanStatus.ACTIVE
    assert [e.type for e in events(db)][-2:] == ["plan.countered", "plan.accepted"]


def test_the_pay_button_pays_exactly_the_next_instalment_and_extra_reduces_the_last(signed_in, account, db):
    confirm(signed_in, db, propose(signed_in, account))
    dashboard = signed_in.get("/dashboard")
    text = text_of(dashboard)
    assert "Next payment" in text and "¥510.17" in text
    response = signed_in.post(
        f"/accounts/{account.id}/pay",
        data={"csrf_token": token(signed_in, account), "choice": "instalment"},
    )
    assert response.status_code == 303
    public_id = response.headers["Location"].rsplit("/", 1)[1]
    payment = db.session.execute(select(payments.Payment).where(payments.Payment.public_id == public_id)).scalar_one()
    assert payment.amount_minor == 51017 and payment.purpose == "instalment"
    payments.record_success(payment.id, source="test")
    # 600.00 more by "another amount": the rest of no. 2 is not touched first — it pays no. 2
    # (the next one), and the 89.83 beyond reduces the last instalment.
    extra = payments.start_payment(db.session.get(type(account), account.id), 60000, "other")
    payments.record_success(extra.id, source="test")
    db.session.commit()
    [plan] = [p for p in plans_of(db, account) if p.status == PlanStatus.ACTIVE]
    assert [i.paid_minor for i in plan.instalments] == [51017, 51017, 0, 8983]
    assert plan.paid_minor == 111017


def test_paying_every_instalment_completes_the_plan(app, signed_in, account, db):
    confirm(signed_in, db, propose(signed_in, account))
    payment = payments.start_payment(db.session.get(type(account), account.id), 204070, "overdue_full")
    payments.record_success(payment.id, source="test")
    db.session.commit()
    [plan] = [p for p in plans_of(db, account) if p.status != PlanStatus.WITHDRAWN]
    assert plan.status == PlanStatus.COMPLETED
    assert db.session.get(type(account), account.id).status == AccountStatus.SETTLED
    assert events(db)[-1].type == "plan.completed"


def test_a_tampered_option_is_refused_with_a_message(signed_in, account):
    page = signed_in.post(
        f"/accounts/{account.id}/plan/preview", data={"csrf_token": token(signed_in, account), "option": "7"}
    )
    assert page.status_code == 400
    assert "not available any more" in text_of(page)


def test_a_settled_account_cannot_get_a_plan(signed_in, account, db):
    account.status = AccountStatus.SETTLED
    db.session.commit()
    page = signed_in.get(f"/accounts/{account.id}/plan")
    assert "cannot be proposed" in text_of(page)
    refused = signed_in.post(
        f"/accounts/{account.id}/plan/submit",
        data={"csrf_token": token(signed_in, account), "kind": "deferral", "first_date": today().isoformat()},
    )
    assert refused.status_code == 409


def test_policy_set_refuses_a_contradictory_file_listing_every_problem(runner, account, db, tmp_path):
    lender = account.lender.code
    bad = tmp_path / "bad.toml"
    bad.write_text(
        policies.to_toml(policies.STANDARD)
        .replace("max_term_days = 366", "max_term_days = 10")
        .replace("grace_days = 5", "grace_days = -2")
    )
    refused = runner.invoke(args=["policy", "set", lender, str(bad)])
    assert refused.exit_code == 1
    assert "grace_days must not be negative" in refused.output
    assert "frequency monthly is not possible within max_term_days 10" in refused.output
    assert "nothing changed" in refused.output
    good = tmp_path / "good.toml"
    good.write_text(policies.to_toml(policies.STANDARD).replace("max_instalments = 12", "max_instalments = 9"))
    assert runner.invoke(args=["policy", "set", lender, str(good)]).exit_code == 0
    shown = runner.invoke(args=["policy", "show", lender])
    assert "version 2," in shown.output and "max_instalments = 9" in shown.output


def test_a_plan_records_the_policy_version_it_was_decided_under(signed_in, account, db):
    policies.set_policy(account.lender, policies.STANDARD, actor_type="test")  # version 2
    db.session.commit()
    confirm(signed_in, db, propose(signed_in, account))
    [plan] = [p for p in plans_of(db, account) if p.status == PlanStatus.ACTIVE]
    assert events(db)[-1].payload["data"]["policy_version"] == 2
    assert plan.policy_id == policies.current(account.lender_id).id


def test_a_pending_proposal_can_be_withdrawn(app, signed_in, account, db):
    plan = reviewed_plan(app, account, db)
    page = signed_in.submit(f"/plans/{plan.public_id}", button=None)
    assert page.status_code == 303
    assert plans_of(db, account)[-1].status == PlanStatus.WITHDRAWN
    assert "Propose a repayment plan" in text_of(signed_in.get(f"/accounts/{account.id}"))


def test_the_readme_documents_every_policy_key():
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    text = readme.split("### Repayment plans\n", 1)[1].split("\n### ", 1)[0]
    assert all(f"`{key}`" in text for key in policies.KEYS)
    assert all(f"`{event}`" in text for event in OUTBOX_PLAN_EVENTS)


def settle(app, db, account, runner=None):
    proposal = calc.Proposal(PlanKind.SETTLEMENT, today() + timedelta(days=10))
    with app.test_request_context():
        plan, _ = service.draft(
            account.id, proposal, hardship_reason="job_loss", hardship_note=None, affordability=None, locale="en"
        )
        plan = service.confirm(plan, actor_id=None)
    db.session.commit()
    return plan


def test_a_settlement_paid_in_full_settles_the_account_and_issues_a_certificate(app, signed_in, account, db):
    plan = settle(app, db, account)
    # STANDARD waives all penalty interest (4.20) and half the fees (none here).
    assert (
        plan.status == PlanStatus.ACTIVE
        and plan.total_minor == 204070 - 420
        and plan.waived == {"penalty_interest": 420}
    )
    response = signed_in.post(
        f"/accounts/{account.id}/pay", data={"csrf_token": token(signed_in, account), "choice": "instalment"}
    )
    payment = db.session.execute(
        select(payments.Payment).where(payments.Payment.public_id == response.headers["Location"].rsplit("/", 1)[1])
    ).scalar_one()
    assert payment.amount_minor == 203650
    payments.record_success(payment.id, source="test")
    db.session.commit()
    db.session.expire_all()
    settled = db.session.get(type(account), account.id)
    assert settled.status == AccountStatus.SETTLED and settled.overdue_minor == 0
    assert [e.type for e in events(db, "")][-3:] == ["plan.completed", "account.settled", "payment.succeeded"]
    page = signed_in.get(f"/plans/{plan.public_id}/certificate")
    text = text_of(page)
    assert "Settlement certificate" in text and f"JQ-{plan.public_id}" in text
    assert "CN¥2,036.50" in text and "CN¥4.20" in text and payment.receipt_number in text
    assert "See your settlement certificate" in text_of(signed_in.get(f"/plans/{plan.public_id}"))


def test_no_certificate_before_the_plan_is_paid(app, signed_in, account, db):
    plan = settle(app, db, account)
    assert signed_in.get(f"/plans/{plan.public_id}/certificate").status_code == 404


def test_paying_off_early_completes_the_plan_without_any_charge(app, signed_in, account, db):
    confirm(signed_in, db, propose(signed_in, account, instalments="6"))
    response = signed_in.post(
        f"/accounts/{account.id}/pay", data={"csrf_token": token(signed_in, account), "choice": "full"}
    )
    assert response.status_code == 303
    payment = db.session.execute(
        select(payments.Payment).where(payments.Payment.public_id == response.headers["Location"].rsplit("/", 1)[1])
    ).scalar_one()
    assert payment.amount_minor == 204070  # exactly what is overdue, nothing more
    payments.record_success(payment.id, source="test")
    db.session.commit()
    [plan] = [p for p in plans_of(db, account) if p.status != PlanStatus.WITHDRAWN]
    assert plan.status == PlanStatus.COMPLETED and plan.paid_minor == 204070


def import_figures(runner, tmp_path, account, **amounts):
    from tests.test_import import GOOD, write_csv

    row = {
        **GOOD,
        "lender_code": account.lender.code,
        "lender_name": account.lender.name,
        "account_number": account.account_number,
        "phone": account.borrower.phone_e164,
        "national_id": "110101199005120001X",
        "locale": "en",
        **amounts,
    }
    return runner.invoke(args=["import", str(write_csv(tmp_path, [row]))])


@pytest.fixture
def imported_account(db, runner, tmp_path):
    """An account as the loan core creates it (its national ID known to the import)."""
    from tests.test_import import GOOD, write_csv

    row = {**GOOD, "lender_code": "CORE", "account_number": "CORE0001", "national_id": "110101199005120001X"}
    row["locale"] = "en"
    assert runner.invoke(args=["import", str(write_csv(tmp_path, [row], name="first.csv"))]).exit_code == 0
    account = db.session.execute(
        select(type_of_account()).where(type_of_account().account_number == "CORE0001")
    ).scalar_one()
    policies.set_policy(account.lender, policies.STANDARD, actor_type="test")
    db.session.commit()
    return account


def type_of_account():
    from portal.models import Account

    return Account


def test_a_core_import_that_lowers_the_overdue_amount_shrinks_the_last_instalments(
    app, client, runner, imported_account, db, tmp_path
):
    account = imported_account
    sign_in_through_link(client, account, dob="19900512")
    confirm(client, db, propose(client, account))
    # Paid 600.00 elsewhere: the core now says 1,440.70 is overdue (principal 1,400.00).
    result = import_figures(runner, tmp_path, account, principal="1400.00", overdue_amount="1440.70")
    assert result.exit_code == 0, result.output
    [plan] = [p for p in plans_of(db, account) if p.status == PlanStatus.ACTIVE]
    assert [i.amount_minor for i in plan.instalments] == [51017, 51017, 42036, 0]
    assert plan.total_minor == 144070
    assert "plan.adjusted" in set(db.session.execute(select(AuditEvent.action)).scalars())


def test_a_core_import_that_raises_it_keeps_the_plan_and_shows_the_difference(
    app, client, runner, imported_account, db, tmp_path
):
    account = imported_account
    sign_in_through_link(client, account, dob="19900512")
    confirm(client, db, propose(client, account))
    # New penalty interest: 2,050.70 overdue, 10.00 more than the plan covers.
    result = import_figures(runner, tmp_path, account, penalty_interest="14.20", overdue_amount="2050.70")
    assert result.exit_code == 0, result.output
    [plan] = [p for p in plans_of(db, account) if p.status == PlanStatus.ACTIVE]
    assert plan.total_minor == 204070 and [i.amount_minor for i in plan.instalments][-1] == 51019
    assert "CN¥10.00 more overdue than this plan still covers" in text_of(client.get("/dashboard"))


def test_asking_to_change_an_active_plan_goes_through_the_same_rules(signed_in, account, db):
    confirm(signed_in, db, propose(signed_in, account))
    [old] = [p for p in plans_of(db, account) if p.status == PlanStatus.ACTIVE]
    assert "Ask to change this plan" in text_of(signed_in.get(f"/plans/{old.public_id}"))
    confirm(signed_in, db, propose(signed_in, account, instalments="8"))
    statuses = {p.public_id: p.status for p in plans_of(db, account)}
    assert statuses[old.public_id] == PlanStatus.REPLACED
    [new] = [p for p in plans_of(db, account) if p.status == PlanStatus.ACTIVE]
    assert len(new.instalments) == 8 and new.total_minor == 204070
