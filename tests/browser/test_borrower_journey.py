"""The foundation journey in real Chromium at phone size: link, one wrong try, dashboard."""

from __future__ import annotations

import pytest

from tests.browser import shot
from tests.factories import AccountFactory, BorrowerFactory, LenderFactory
from tests.helpers import make_link

pytestmark = [pytest.mark.browser, pytest.mark.committing]


@pytest.mark.parametrize(
    "locale,texts",
    [
        ("zh_Hans", {"wrong": "如果再有4次未能通过", "amount": "¥9,359.75", "heading": "逾期金额"}),
        ("zh_Hant", {"wrong": "如果再有4次未能通過", "amount": "CN¥9,359.75", "heading": "逾期金額"}),
        ("en", {"wrong": "After 4 more unsuccessful tries", "amount": "CN¥9,359.75", "heading": "Overdue amount"}),
    ],
)
def test_link_wrong_answer_then_right_answer_shows_the_overdue_amount(phone, live_server, db, locale, texts):
    lender = LenderFactory(name="晨光消费金融有限公司")
    account = AccountFactory(
        borrower=BorrowerFactory(lender=lender, national_id="310104198511031234"),
        principal_minor=850000,
        interest_minor=42000,
        penalty_interest_minor=38975,
        fees_minor=5000,
        days_past_due=95,
    )
    code = make_link(account, locale=locale)

    phone.goto(f"{live_server}/r/{code}")
    assert phone.url == f"{live_server}/verify"
    assert "9,359" not in phone.content()
    shot(phone, f"{locale}-verify")

    phone.fill("#date_of_birth", "19900512")
    phone.fill("#id_last4", "0000")
    phone.click("button[type=submit] >> nth=0")
    alert = phone.locator("[role=alert]").first
    assert texts["wrong"] in alert.inner_text()
    # What the person typed is still there.
    assert phone.input_value("#date_of_birth") == "19900512"
    shot(phone, f"{locale}-verify-wrong")

    phone.fill("#id_last4", "1234")
    phone.click("main button[type=submit]")
    phone.wait_for_url(f"{live_server}/dashboard")
    body = phone.locator("main").inner_text()
    assert texts["heading"] in body and texts["amount"] in body
    shot(phone, f"{locale}-dashboard")

    # Nothing is wider than the phone: no sideways scrolling at 390 px.
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390


def test_pages_fit_a_320_pixel_screen(chromium, live_server, db):
    context = chromium.new_context(viewport={"width": 320, "height": 640})
    page = context.new_page()
    try:
        account = AccountFactory()
        page.goto(f"{live_server}/r/{make_link(account)}")
        assert page.evaluate("document.documentElement.scrollWidth") <= 320
        page.fill("#date_of_birth", "19900512")
        page.fill("#id_last4", account.borrower.national_id_last4)
        page.click("main button[type=submit]")
        page.wait_for_url(f"{live_server}/dashboard")
        assert page.evaluate("document.documentElement.scrollWidth") <= 320
        # Every button and link a thumb needs is at least 44 px tall.
        small = page.evaluate("""() => [...document.querySelectorAll('main a.button, button')]
            .filter(e => e.getBoundingClientRect().height < 44).map(e => e.outerHTML)""")
        assert small == []
    finally:
        context.close()
