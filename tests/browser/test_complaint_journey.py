"""Filing a complaint in real Chromium at phone size (390 × 844): a borrower in Simplified
Chinese with a screenshot and an AMR recording, going back and forth; someone else in English."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import select

from portal.models import Complaint, ContactPause, EvidenceFile
from tests import evidence_samples as samples
from tests.factories import AccountFactory, LenderFactory
from tests.helpers import last_sms_code, make_link

pytestmark = [pytest.mark.browser, pytest.mark.committing]

SCREENSHOTS = os.environ.get("SCREENSHOT_DIR")


def shot(page, name):
    if SCREENSHOTS:
        page.screenshot(path=os.path.join(SCREENSHOTS, f"complaint-{name}.png"), full_page=True)


def fits(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_a_borrower_files_in_chinese_with_a_screenshot_and_a_recording(phone, live_server, db, tmp_path):
    account = AccountFactory()
    code = make_link(account, locale="zh_Hans")
    phone.goto(f"{live_server}/r/{code}")
    phone.fill("#date_of_birth", "19900512")
    phone.fill("#id_last4", account.borrower.national_id_last4)
    phone.click("main button[type=submit]")
    phone.wait_for_url(f"{live_server}/dashboard")
    phone.click("a[href='/complaint']")
    shot(phone, "start")
    phone.click("main button[type=submit]")
    assert phone.url.endswith("/complaint/what")  # a signed-in borrower skips "about you"
    phone.check("input[value=third_parties]")
    phone.click("button[name=continue]")
    phone.fill("#incident_date", "2026-11-27")
    phone.fill("#incident_time", "22:40")
    phone.check("input[value=call]")
    phone.fill("#caller_number", "021-6123 4567")
    phone.click("button[name=continue]")
    phone.fill("#description", "催收员打电话给我的同事，说我欠钱不还。")
    (tmp_path / "截图.png").write_bytes(samples.png())
    (tmp_path / "录音.amr").write_bytes(samples.amr())
    phone.set_input_files("#evidence", str(tmp_path / "截图.png"))
    phone.click("button[name=upload]")
    phone.set_input_files("#evidence", str(tmp_path / "录音.amr"))
    phone.click("button[name=upload]")
    assert "截图.png" in phone.inner_text("main") and "录音.amr" in phone.inner_text("main")
    shot(phone, "details")
    fits(phone)
    # Back twice and forward again: everything is still there.
    phone.click("button[name=back]")
    assert phone.input_value("#caller_number") == "021-6123 4567"
    phone.click("button[name=back]")
    assert phone.is_checked("input[value=third_parties]")
    phone.click("button[name=continue]")
    phone.click("button[name=continue]")
    assert phone.input_value("#description") == "催收员打电话给我的同事，说我欠钱不还。"
    phone.click("button[name=continue]")
    phone.check("input[value=stop_contact]")
    phone.click("button[name=continue]")
    shot(phone, "review")
    phone.click("button[name=send_code]")
    phone.fill("#code", last_sms_code(fresh=True))
    phone.click("button[name=confirm]")
    phone.wait_for_url(f"{live_server}/complaint/receipt")
    body = phone.inner_text("main")
    shot(phone, "receipt")
    fits(phone)
    db.session.rollback()
    complaint = db.session.execute(select(Complaint)).scalar_one()
    assert complaint.reference in body and "紧急" in body
    for file in db.session.execute(select(EvidenceFile)).scalars():
        assert file.sha256 in body.replace("\n", "")
    assert db.session.execute(select(ContactPause.account_id)).scalar_one() == account.id


def test_someone_else_files_in_english_without_an_account(phone, live_server, db):
    LenderFactory(name="Dawn Consumer Finance")
    phone.context.add_cookies([{"name": "portal_lang", "value": "en", "url": live_server}])
    phone.goto(f"{live_server}/complaint")
    phone.click("main button[type=submit]")
    phone.fill("#name", "Li Ming")
    phone.fill("#phone", "+86 139 1234 5678")
    phone.select_option("#relation", "colleague")
    phone.click("button[name=continue]")
    phone.check("input[value=insults]")
    phone.click("button[name=continue]")
    phone.fill("#incident_date", "2026-11-20")
    phone.check("input[value=sms]")
    phone.click("button[name=continue]")
    phone.fill("#description", "Abusive text messages about a colleague's loan.")
    phone.click("button[name=continue]")
    phone.check("input[value=apology]")
    phone.click("button[name=continue]")
    assert "Li Ming" in phone.inner_text("main")
    phone.click("button[name=send_code]")
    phone.fill("#code", last_sms_code(fresh=True))
    phone.click("button[name=confirm]")
    phone.wait_for_url(f"{live_server}/complaint/receipt")
    assert "We have received your complaint" in phone.inner_text("main")
    fits(phone)
