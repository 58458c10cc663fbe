"""The contact history in real Chromium at phone size (390×844), in zh_Hans and en: every
contact readable, breaches explained, the report link carrying the contact's details."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.browser import shot
from tests.quality import world as w

pytestmark = [pytest.mark.browser, pytest.mark.committing]

TEXTS = {
    "zh_Hans": {"heading": "联系记录", "night": "晚上 22:00 至次日早上 08:00 之间不得联系您", "report": "举报这次联系"},
    "zh_Hant": {"heading": "聯繫紀錄", "night": "晚上 22:00 至隔天早上 08:00 之間不得聯繫您", "report": "檢舉這次聯繫"},
    "en": {
        "heading": "Contact history",
        "night": "between 22:00 and 08:00 unless you agreed",
        "report": "Report this contact",
    },
}


@pytest.mark.parametrize("locale", ["zh_Hans", "zh_Hant", "en"])
def test_contact_history_on_a_phone(chromium, live_server, db, locale):
    world = w.make_borrower()
    context = w.phone_context(chromium, live_server, locale)
    page = context.new_page()
    try:
        w.sign_in(page, live_server, world, locale)
        page.goto(f"{live_server}/accounts/{world.account.id}")
        page.click(f"a[href='/accounts/{world.account.id}/contacts']")
        page.wait_for_url(f"{live_server}/accounts/{world.account.id}/contacts")
        main = page.locator("main").inner_text()
        assert TEXTS[locale]["heading"] in main and TEXTS[locale]["night"] in main
        assert page.locator("ol.contacts > li").count() == 5
        # Nothing wider than the phone: no sideways scrolling.
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        shot(page, f"contacts_{locale}")
        # "Report this contact" names the contact only; the complaint form fills in the rest.
        link = page.get_by_role("link", name=TEXTS[locale]["report"]).first
        assert set(parse_qs(urlsplit(link.get_attribute("href")).query)) == {"contact"}
        link.click()
        page.wait_for_url(re.compile(r".*/complaint\?contact=\d+$"))
        assert page.locator("input[name=contact]").count() == 1
    finally:
        context.close()
