"""A repayment plan from a phone in real Chromium: what I can manage → an offer → the schedule →
the code by text message → agreed at once → the agreement → paying the first instalment."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.extensions import db as _db
from portal.models import RepaymentPlan
from portal.plans import policy as policies
from tests.browser.test_borrower_journey import shot
from tests.browser.test_payment_journey import enter_card, webhooks  # noqa: F401 (a fixture)
from tests.factories import AccountFactory
from tests.helpers import last_sms_code, make_link

pytestmark = [pytest.mark.browser, pytest.mark.committing]

TEXTS = {
    "zh_Hans": {"agreement": "您的还款计划协议", "next": "下一期还款", "receipt": "还款凭证", "second": "第2期"},
    "zh_Hant": {"agreement": "您的還款計劃協議", "next": "下一期還款", "receipt": "還款憑證", "second": "第2期"},
    "en": {
        "agreement": "Your repayment plan agreement",
        "next": "Next payment",
        "receipt": "Receipt",
        "second": "No. 2",
    },
}


@pytest.mark.parametrize("locale", ["zh_Hans", "zh_Hant", "en"])
def test_propose_confirm_agree_and_pay_the_first_instalment(phone, live_server, webhooks, db, locale):  # noqa: F811
    account = AccountFactory()  # overdue 2,040.70
    policies.set_policy(account.lender, policies.STANDARD, actor_type="test")
    _db.session.commit()
    texts = TEXTS[locale]
    phone.goto(f"{live_server}/r/{make_link(account, locale=locale)}")
    phone.fill("#date_of_birth", "19900512")
    phone.fill("#id_last4", account.borrower.national_id_last4)
    phone.click("main button[type=submit]")
    phone.wait_for_url(f"{live_server}/dashboard")
    phone.click(f"ul.actions a[href='/accounts/{account.id}/plan']")
    phone.fill("#income", "8000")
    phone.fill("#expenses", "5000")
    phone.fill("#debts", "1000")
    shot(phone, f"plans-{locale}-1-affordability")
    phone.click("main form button[type=submit]")
    phone.wait_for_selector("section.card")
    assert 1 <= phone.locator("section.card").count() <= 3
    shot(phone, f"plans-{locale}-2-options")
    phone.locator("section.card button[type=submit]").first.click()
    phone.wait_for_selector("table.schedule")
    shot(phone, f"plans-{locale}-3-preview")
    phone.check("#reason-job_loss")
    phone.click("main button[name=send]")
    phone.wait_for_selector("#code")
    shot(phone, f"plans-{locale}-4-code")
    phone.fill("#code", last_sms_code(fresh=True))
    phone.click("main button[name=confirm]")
    phone.wait_for_selector("h1")
    main = phone.locator("main").inner_text()
    assert texts["agreement"] in main, main
    shot(phone, f"plans-{locale}-5-agreement")
    db.session.rollback()
    plan = db.session.execute(select(RepaymentPlan).where(RepaymentPlan.status == "active")).scalar_one()
    first = plan.instalments[0]
    phone.click("main form button[type=submit]")  # Pay this instalment
    phone.wait_for_selector("#card-element input")
    enter_card(phone, "4242424242424242")
    phone.wait_for_selector("dl.receipt")
    assert texts["receipt"] in phone.locator("main").inner_text()
    phone.goto(f"{live_server}/dashboard")
    dashboard = phone.locator("main").inner_text()
    assert texts["next"] in dashboard and texts["second"] in dashboard
    shot(phone, f"plans-{locale}-6-dashboard")
    db.session.rollback()
    plan = db.session.get(RepaymentPlan, plan.id)
    assert plan.instalments[0].paid_minor == first.amount_minor
    assert plan.instalments[1].paid_minor == 0


def test_a_plan_outside_policy_is_reviewed_then_countered_and_accepted(phone, live_server, db, app):
    account = AccountFactory(borrower__locale="en")
    policies.set_policy(account.lender, policies.STANDARD, actor_type="test")
    _db.session.commit()
    phone.goto(f"{live_server}/r/{make_link(account, locale='en')}")
    phone.fill("#date_of_birth", "19900512")
    phone.fill("#id_last4", account.borrower.national_id_last4)
    phone.click("main button[type=submit]")
    phone.wait_for_url(f"{live_server}/dashboard")
    phone.goto(f"{live_server}/accounts/{account.id}/plan/options")
    phone.click("text=Start from six monthly payments")
    phone.wait_for_selector("table.schedule")
    phone.fill("#instalments", "18")
    phone.click("main button[name=update]")
    phone.wait_for_selector("text=A person needs to look at this plan")
    shot(phone, "plans-en-7-preview-outside-policy")
    phone.check("#reason-family_emergency")
    phone.click("main button[name=send]")
    phone.wait_for_selector("#code")
    phone.fill("#code", last_sms_code(fresh=True))
    phone.click("main button[name=confirm]")
    phone.wait_for_selector("text=Your proposal is being reviewed")
    assert "At most 12 instalments can be agreed at once." in phone.locator("main").inner_text()
    shot(phone, "plans-en-8-being-reviewed")
    db.session.rollback()
    plan = db.session.execute(select(RepaymentPlan).where(RepaymentPlan.status == "pending")).scalar_one()
    runner = app.test_cli_runner()
    first = plan.instalments[0].due_date.isoformat()
    result = runner.invoke(
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
            "--note",
            "We can do 12 months.",
        ]
    )
    assert result.exit_code == 0, result.output
    phone.goto(f"{live_server}/dashboard")
    phone.click("text=See the suggestion")
    phone.wait_for_selector("#code")
    shot(phone, "plans-en-9-counter-offer")
    phone.click("main button[name=resend]")
    phone.wait_for_selector("#code")
    phone.fill("#code", last_sms_code(fresh=True))
    phone.click("main button[name=confirm]")
    phone.wait_for_selector("text=Your repayment plan agreement")
    assert "No. 12" in phone.locator("main").inner_text()
