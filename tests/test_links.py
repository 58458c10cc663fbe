"""Reminder links: short, random, stored hashed, expiring, revocable, safe against scanners."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.access.service import create_link, hash_code, look_up_link
from portal.models import AuditEvent, OutboxEvent, ReminderLink
from portal.models.types import utcnow
from tests.factories import AccountFactory
from tests.helpers import make_link, verify
from tests.pages import text_of

BASE64URL = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_code_is_sms_short_random_and_only_its_hash_is_stored(db):
    account = AccountFactory()
    codes = {create_link(account)[1] for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        assert len(code) <= 16 and set(code) <= BASE64URL
    # 16 base64url characters from 12 random bytes: 96 bits.
    assert 16 * math.log2(64) >= 96
    stored = db.session.execute(select(ReminderLink.code_hash)).scalars().all()
    assert not codes & set(stored)
    assert {hash_code(c) for c in codes} == set(stored)


def test_link_defaults_to_14_days(db):
    link, _ = create_link(AccountFactory())
    assert timedelta(days=13, hours=23) < link.expires_at - utcnow() <= timedelta(days=14)


def test_opening_a_link_reveals_nothing_about_the_debt(client, db):
    account = AccountFactory(principal_minor=123400)
    code = make_link(account)
    page = client.get(f"/r/{code}", follow_redirects=True)
    text = text_of(page)
    assert account.lender.name in text
    assert "genuine" in text or "真实" in text or "真的" in text or "官方" in text
    assert "1,234" not in text and account.account_number not in text
    assert account.borrower.name not in text
    # The code is no longer in the address bar after the redirect.
    assert page.request.path == "/verify"


def test_prefetching_a_link_changes_nothing(client, db):
    account = AccountFactory()
    code = make_link(account)
    before = db.session.execute(select(func.count()).select_from(AuditEvent)).scalar()
    for _ in range(3):
        client.get(f"/r/{code}", follow_redirects=True)
        client.head(f"/r/{code}")
    link = look_up_link(code).link
    db.session.refresh(link)
    assert link.opened_count == 0 and link.revoked_at is None
    assert db.session.execute(select(func.count()).select_from(AuditEvent)).scalar() == before
    # and the link still works afterwards
    assert verify(client, account).status_code == 303


def test_an_open_is_counted_once_per_browser_when_someone_starts_verifying(client, db):
    account = AccountFactory()
    code = make_link(account)
    client.get(f"/r/{code}")
    verify(client, account, dob="19800101")
    verify(client, account, dob="19800102")
    link = look_up_link(code).link
    db.session.refresh(link)
    assert link.opened_count == 1


def test_link_opened_is_reported_once_per_link_however_many_browsers(app, db):
    account = AccountFactory()
    code = make_link(account)
    for _ in range(3):
        browser = app.test_client()  # a fresh browser each time: cookies cleared, another phone
        browser.get(f"/r/{code}")
        verify(browser, account, dob="19800101")
    opened = db.session.execute(select(AuditEvent).where(AuditEvent.action == "link.opened")).scalars().all()
    assert len(opened) == 1
    events = db.session.execute(select(OutboxEvent).where(OutboxEvent.type == "link.opened")).scalars().all()
    assert len(events) == 1
    link = look_up_link(code).link
    db.session.refresh(link)
    assert link.opened_count == 3 and link.last_opened_at is not None


@pytest.mark.parametrize("problem", ["expired", "revoked"])
def test_a_dead_link_shows_only_the_lenders_public_service_line(client, db, problem):
    """Whoever holds a dead link may have got the message by mistake: the lender's public
    number, nothing more of the lender's contact details."""
    account = AccountFactory()
    code = make_link(account)
    link = look_up_link(code).link
    if problem == "expired":
        link.expires_at = utcnow() - timedelta(minutes=1)
    else:
        link.revoked_at = utcnow()
    db.session.commit()
    page = client.get(f"/r/{code}")
    assert page.status_code == 410
    text = text_of(page)
    lender = account.lender
    assert page.soup.find("a", href=f"tel:{lender.contact_phone.replace(' ', '')}")
    assert lender.contact_email not in text and not page.soup.find("a", href=f"mailto:{lender.contact_email}")
    assert lender.service_opens not in text
    assert not page.soup.select(".contact")


def test_expired_link_gets_a_clear_page_with_the_lenders_contact(client, db):
    account = AccountFactory()
    code = make_link(account)
    link = look_up_link(code).link
    link.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    page = client.get(f"/r/{code}")
    assert page.status_code == 410
    assert account.lender.contact_phone in text_of(page)
    assert page.soup.find("a", href="/sign-in")


def test_revoked_link_stops_working(client, db, runner):
    account = AccountFactory()
    code = make_link(account)
    result = runner.invoke(args=["link", "revoke", f"http://localhost/r/{code}"])
    assert result.exit_code == 0, result.output
    page = client.get(f"/r/{code}")
    assert page.status_code == 410
    assert db.session.execute(select(AuditEvent).where(AuditEvent.action == "link.revoked")).scalar_one()


def test_unknown_link_is_a_helpful_404(client, db):
    page = client.get("/r/AAAAAAAAAAAAAAAA")
    assert page.status_code == 404
    assert page.soup.find("a", href="/sign-in")
    assert client.get("/r/" + "x" * 200).status_code == 404


def test_verify_page_without_a_link_in_the_session_asks_to_reopen_it(client, db):
    page = client.get("/verify")
    assert page.status_code == 400
    assert page.soup.find("a", href="/sign-in")


def test_a_link_revoked_after_opening_cannot_be_used_to_verify(client, db):
    account = AccountFactory()
    code = make_link(account)
    client.get(f"/r/{code}")
    look_up_link(code).link.revoked_at = utcnow()
    db.session.commit()
    assert client.get("/verify").status_code == 400


def test_cli_creates_a_link_with_language_and_expiry(runner, db):
    account = AccountFactory(account_number="SR0001")
    result = runner.invoke(args=["link", "create", "SR0001", "--lang", "en", "--expires-days", "3"])
    assert result.exit_code == 0, result.output
    url = result.output.strip()
    assert url.startswith("http://localhost/r/")
    link = look_up_link(url.rsplit("/", 1)[1]).link
    assert link.account_id == account.id and link.locale == "en"
    assert timedelta(days=2, hours=23) < link.expires_at - utcnow() <= timedelta(days=3)


def test_cli_refuses_unknown_account_and_bad_expiry(runner, db):
    assert runner.invoke(args=["link", "create", "NOPE"]).exit_code != 0
    AccountFactory(account_number="SR0002")
    assert runner.invoke(args=["link", "create", "SR0002", "--expires-days", "0"]).exit_code != 0
