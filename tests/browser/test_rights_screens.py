"""The rights centre in a phone's browser: each page fits the screen (no sideways scrolling) at
390 and 320 px, and a borrower can dispute a debt with the code from the text message.
With SCREENSHOT_DIR set, screenshots of each page are kept for a person to look at."""

from __future__ import annotations

import re

import pytest

from portal.rights.content import PAGES
from tests.browser import shot
from tests.helpers import last_sms_code
from tests.quality import world as w

pytestmark = [pytest.mark.browser, pytest.mark.committing]


def fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_public_rights_pages_fit_a_phone(chromium, live_server, db):
    w.make_borrower()
    for width in (390, 320):
        context = chromium.new_context(viewport={"width": width, "height": 844}, is_mobile=True, locale="zh-CN")
        page = context.new_page()
        for name in ("index", *PAGES, "genuine"):
            url = {"index": "/rights", "genuine": "/genuine"}.get(name, f"/rights/{name}")
            page.goto(live_server + url)
            assert fits(page), (width, url)
            if width == 390 or name == "collectors":
                shot(page, f"rights_{name}_{width}")
        for region in ("hk", "us"):
            page.goto(f"{live_server}/rights/collectors?region={region}")
            assert fits(page), (width, region)
            shot(page, f"rights_collectors_{region}_{width}")
        assert not context.cookies()  # no cookie from any public page
        context.close()


def test_a_borrower_disputes_a_debt_on_a_phone(chromium, live_server, db):
    world = w.make_borrower()
    context = w.phone_context(chromium, live_server)
    page = context.new_page()
    w.sign_in(page, live_server, world, "zh_Hans")
    page.goto(f"{live_server}/my-rights/dispute")
    shot(page, "rights_dispute_form_390")
    page.select_option("#reason", "already_paid")
    page.fill("#explanation", "我3月9日已经通过支付宝还清了。")
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r".*/confirm$"))
    shot(page, "rights_dispute_confirm_390")
    page.fill("#code", last_sms_code(fresh=True))
    page.click("main button[name=confirm]")
    page.wait_for_url(re.compile(r".*/my-rights/disputes/D-[A-Z0-9]+$"))
    assert "暂停" in page.inner_text("main")
    shot(page, "rights_dispute_status_390")
    page.goto(f"{live_server}/dashboard")
    assert "已提出异议" in page.inner_text("main")
    shot(page, "rights_dashboard_390")
    for url, name in (
        ("/my-rights/contact", "preferences"),
        ("/my-rights/documents", "documents"),
        ("/my-rights", "requests"),
    ):
        page.goto(live_server + url)
        assert fits(page), url
        shot(page, f"rights_{name}_390")
    page.goto(f"{live_server}/my-rights/contact")
    page.select_option("#hours_from", "18:00")
    page.select_option("#hours_until", "10:00")
    page.click("main button[type=submit]")
    assert "晚于" in page.inner_text(".error-summary")
    shot(page, "rights_preferences_error_390")
    context.close()
