"""The staff console in real Chromium: TOTP enrolment from the QR page, recovery codes, signing in
again with a code, search and the borrower view, the plan queue; axe finds no violations on any
of them, at desktop size and at phone size. Set SCREENSHOT_DIR to keep screenshots."""

from __future__ import annotations

import os

import pyotp
import pytest

from portal.extensions import db
from portal.models import StaffRole, StaffUser
from portal.models.types import utcnow
from portal.staff import accounts
from tests.quality import world as w
from tests.quality.test_accessibility import AXE_SCRIPT, axe

pytestmark = [pytest.mark.browser, pytest.mark.committing]

PASSWORD = "correct horse battery staple"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def code_after(secret: str, last_step: int | None) -> str:
    generator = pyotp.TOTP(secret)
    step = generator.timecode(utcnow())
    if last_step is not None and last_step >= step:
        step = last_step + 1
    return generator.generate_otp(step)


def shoot(page, name: str) -> None:
    folder = os.environ.get("SCREENSHOT_DIR")
    if folder:
        page.screenshot(path=os.path.join(folder, f"staff_{name}.png"), full_page=True)


@pytest.mark.parametrize("locale", ["zh_Hans", "en"])
def test_enrol_sign_in_search_and_view_in_chromium(chromium, live_server, app, locale):
    with app.app_context():
        world = w.make_borrower(name="王小芳", accounts=2, history=2, plan_states=("pending",))
        borrower_id = world.borrower.id
        accounts.create("sup.lin", StaffRole.SUPERVISOR, PASSWORD, by="test")
        db.session.commit()
    context = chromium.new_context(viewport=DESKTOP, locale="zh-CN")
    context.add_cookies([{"name": "portal_lang", "value": locale, "url": live_server}])
    context.add_init_script(AXE_SCRIPT)
    page = context.new_page()
    problems: list[str] = []
    try:
        page.goto(f"{live_server}/staff/")
        problems += axe(page, "staff sign-in")
        shoot(page, f"sign_in_{locale}_desktop")
        page.fill("#username", "sup.lin")
        page.fill("#password", PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_url("**/staff/enrol")
        assert page.locator("figure.qr svg").count() == 1
        problems += axe(page, "staff enrolment")
        secret = page.locator("figure.qr code").inner_text().strip()
        page.fill("#code", code_after(secret, None))
        page.click("main button[type=submit]")
        page.wait_for_selector(".codes")
        assert page.locator(".codes code").count() == 10
        problems += axe(page, "recovery codes")
        page.click("main a.button")
        page.wait_for_url("**/staff/console")

        # Sign out and in again: password, then the next code from the app.
        page.click("header button[type=submit]")
        page.wait_for_url("**/staff/signed-out")
        page.goto(f"{live_server}/staff/")
        page.fill("#username", "sup.lin")
        page.fill("#password", PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_url("**/staff/two-factor")
        problems += axe(page, "two-factor")
        with app.app_context():
            last = db.session.query(StaffUser).filter_by(username="sup.lin").one().totp_last_step
        page.fill("#code", code_after(secret, last))
        page.click("main button[type=submit]")
        page.wait_for_url("**/staff/console")
        problems += axe(page, "console")

        page.select_option("#kind", "name")
        page.fill("#q", "小芳")
        page.click("main button[type=submit]")
        page.wait_for_selector("table.staff-table")
        assert "王小芳" not in page.inner_text("main")
        problems += axe(page, "search results")
        shoot(page, f"search_{locale}_desktop")
        page.click(f"a[href='/staff/borrowers/{borrower_id}']")
        page.wait_for_url(f"**/staff/borrowers/{borrower_id}")
        problems += axe(page, "borrower view")
        shoot(page, f"borrower_{locale}_desktop")
        page.goto(f"{live_server}/staff/plans")
        problems += axe(page, "plan queue")
        page.goto(f"{live_server}/staff/payments/stale")
        problems += axe(page, "unconfirmed payments")

        page.set_viewport_size(PHONE)
        page.goto(f"{live_server}/staff/search?kind=name&q=%E5%B0%8F%E8%8A%B3")
        problems += axe(page, "search results, phone")
        shoot(page, f"search_{locale}_phone")
        page.goto(f"{live_server}/staff/borrowers/{borrower_id}")
        problems += axe(page, "borrower view, phone")
        shoot(page, f"borrower_{locale}_phone")
        page.click("header button[type=submit]")
        page.goto(f"{live_server}/staff/")
        problems += axe(page, "sign-in, phone")
        shoot(page, f"sign_in_{locale}_phone")

        # Compliance: the audit log, with an error and filtered.
        with app.app_context():
            compliance = accounts.create("comp.gu", StaffRole.COMPLIANCE, PASSWORD, by="test")
            compliance.totp_enrolled_at = utcnow()
            comp_secret = compliance.totp_secret
            db.session.commit()
        page.set_viewport_size(DESKTOP)
        page.fill("#username", "comp.gu")
        page.fill("#password", PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_url("**/staff/two-factor")
        page.fill("#code", code_after(comp_secret, None))
        page.click("main button[type=submit]")
        page.wait_for_url("**/staff/console")
        page.goto(f"{live_server}/staff/audit?date_from=soon")
        problems += axe(page, "audit log with an error")
        page.goto(f"{live_server}/staff/audit?borrower={borrower_id}")
        assert page.locator("table.staff-table tbody tr").count() > 0
        problems += axe(page, "audit log")
    finally:
        context.close()
    assert not problems, "axe violations:\n" + "\n".join(problems)
