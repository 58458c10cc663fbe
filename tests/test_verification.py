"""Proving who you are: the same message whatever was wrong, lockouts, sessions."""

from __future__ import annotations

import os
import re
from datetime import date

import pytest
from sqlalchemy import select

from portal.access import throttle
from portal.extensions import limiter
from portal.models import AuditEvent, BorrowerSession
from tests.factories import AccountFactory
from tests.helpers import make_link, sign_in_through_link, verify
from tests.pages import text_of


def open_link(client, account):
    code = make_link(account)
    client.get(f"/r/{code}")
    return code


def test_right_answers_sign_in_and_land_on_a_url_without_the_code(client, db):
    account = AccountFactory()
    code = open_link(client, account)
    response = verify(client, account)
    assert response.status_code == 303
    assert response.headers["Location"] == "/dashboard"
    assert code not in response.headers["Location"]
    assert client.get("/dashboard").status_code == 200


def test_id_last4_is_accepted_in_lower_case_and_date_with_dashes(client, db):
    account = AccountFactory(borrower__national_id="11010119900512453X")
    open_link(client, account)
    assert verify(client, account, dob="1990-05-12", last4="453x").status_code == 303


@pytest.mark.parametrize("dob,last4", [("19800101", None), ("19900512", "0000"), ("19800101", "0000")])
def test_wrong_answers_get_one_generic_message(client, db, dob, last4):
    account = AccountFactory()
    open_link(client, account)
    page = verify(client, account, dob=dob, last4=last4)
    assert page.status_code == 400
    alert = page.soup.find(role="alert").get_text(" ", strip=True)
    # Tries left are counted down; what the person typed is still there.
    assert "4" in alert
    assert page.soup.find(id="date_of_birth")["value"] == dob
    assert client.get("/dashboard").status_code == 302


def test_messages_are_identical_for_each_kind_of_wrong_answer(app, db):
    account = AccountFactory()
    alerts = set()
    for dob, last4 in (("19800101", None), ("19900512", "0000")):
        fresh = app.test_client()
        fresh.get(f"/r/{make_link(account)}")
        limiter.reset()
        page = verify(fresh, account, dob=dob, last4=last4)
        alerts.add(page.soup.find(role="alert").get_text(" ", strip=True))
    assert len(alerts) == 1


def test_badly_formatted_answers_get_field_messages_and_keep_the_input(client, db):
    account = AccountFactory()
    open_link(client, account)
    page = verify(client, account, dob="1990-5", last4="12")
    assert page.status_code == 400
    summary = page.soup.select(".error-summary a")
    assert [a["href"] for a in summary] == ["#date_of_birth", "#id_last4"]
    assert "19880314" in summary[0].get_text()
    assert page.soup.find(id="date_of_birth")["value"] == "1990-5"
    assert page.soup.find(id="date_of_birth")["aria-invalid"] == "true"


def test_five_failures_lock_the_link_for_30_minutes_and_say_until_when(client, db):
    account = AccountFactory()
    open_link(client, account)
    for _attempt in range(4):
        page = verify(client, account, dob="19800101")
        assert page.status_code == 400
    page = verify(client, account, dob="19800101")
    assert page.status_code == 429
    text = text_of(page)
    assert re.search(r"\d{1,2}:\d{2}", text), text
    # While locked the form is gone (nothing to type in vain), and the lender's phone is there.
    page = client.get("/verify")
    assert page.status_code == 429
    assert page.soup.find("input", id="date_of_birth") is None
    assert page.soup.find("a", href=f"tel:{account.lender.contact_phone}")
    # Even the right answers, posted anyway, are refused while locked.
    token = page.soup.find("input", attrs={"name": "csrf_token"})["value"]
    refused = client.post(
        "/verify",
        data={"csrf_token": token, "date_of_birth": "19900512", "id_last4": account.borrower.national_id_last4},
    )
    assert refused.status_code == 429
    assert client.get("/dashboard").status_code == 302
    events = (
        db.session.execute(select(AuditEvent.details).where(AuditEvent.action == "verification.failed")).scalars().all()
    )
    assert len(events) == 5 and events[-1]["locked"] is True


def test_the_lock_covers_every_link_and_the_sign_in_form_for_that_account(client, db):
    account = AccountFactory()
    open_link(client, account)
    for _ in range(5):
        verify(client, account, dob="19800101")
    open_link(client, account)  # a second, fresh link
    assert client.get("/verify").status_code == 429
    page = client.submit(
        "/sign-in",
        {
            "account_number": account.account_number,
            "date_of_birth": "19900512",
            "id_last4": account.borrower.national_id_last4,
        },
    )
    assert page.status_code == 429


def test_a_success_resets_the_failure_count(client, db):
    account = AccountFactory()
    open_link(client, account)
    for _ in range(4):
        verify(client, account, dob="19800101")
    assert verify(client, account).status_code == 303
    client.post("/sign-out", data={"csrf_token": _token(client)})
    open_link(client, account)
    for _ in range(4):
        assert verify(client, account, dob="19800101").status_code == 400


def test_one_address_cannot_walk_through_many_accounts(app, db):
    """Many accounts, each under its own limit, from one address: the address is paused."""
    from portal.access.service import create_link, verify_link

    limit = throttle.PER_IP.max_failures
    outcomes = []
    for account in AccountFactory.create_batch(limit // 4 + 1):
        link, _ = create_link(account)
        for _ in range(4):  # stay under each account's own limit
            outcomes.append(verify_link(link, date(1980, 1, 1), "0000", "203.0.113.9"))
    assert all(o.tries_left is not None for o in outcomes[: limit - 1])
    assert all(o.locked_by == "network" for o in outcomes[limit - 1 :])
    # Another address is unaffected, and the same person on Wi-Fi can go on.
    other = AccountFactory()
    link, _ = create_link(other)
    assert (
        verify_link(link, other.borrower.date_of_birth, other.borrower.national_id_last4, "198.51.100.7").borrower
        == other.borrower
    )


def test_a_network_pause_says_it_is_not_the_persons_fault(client, db):
    account = AccountFactory()
    open_link(client, account)
    with client.application.app_context():
        for _ in range(throttle.PER_IP.max_failures):
            throttle.record_failure(throttle.PER_IP, "127.0.0.1")
    page = client.get("/verify")
    assert page.status_code == 429
    text = text_of(page)
    assert "不是因为您填写有误" in text and "Wi-Fi" in text


def test_too_many_posts_a_minute_get_a_calm_page(client, db):
    account = AccountFactory()
    open_link(client, account)
    token = client.get("/verify").soup.find("input", attrs={"name": "csrf_token"})["value"]
    statuses = [client.post("/verify", data={"csrf_token": token, "date_of_birth": "x"}).status_code for _ in range(31)]
    assert statuses[:30] == [400] * 30 and statuses[30] == 429
    last = client.post("/verify", data={"csrf_token": token})
    assert last.status_code == 429 and last.soup.h1


def _token(client):
    page = client.get("/signed-out")
    return page.soup.find("input", attrs={"name": "csrf_token"})["value"]


def test_direct_sign_in_with_account_number(client, db):
    account = AccountFactory(account_number="SR2024000777")
    page = client.submit(
        "/sign-in",
        {
            "account_number": " SR2024000777 ",
            "date_of_birth": "19900512",
            "id_last4": account.borrower.national_id_last4,
        },
    )
    assert page.status_code == 303 and page.headers["Location"] == "/dashboard"
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "borrower.signed_in")).scalar_one()
    assert event.details["method"] == "sign_in"


def test_unknown_account_number_fails_like_a_wrong_answer(client, db):
    account = AccountFactory()
    wrong = client.submit(
        "/sign-in", {"account_number": account.account_number, "date_of_birth": "19800101", "id_last4": "0000"}
    )
    unknown = client.submit(
        "/sign-in", {"account_number": "NOSUCHACCOUNT", "date_of_birth": "19800101", "id_last4": "0000"}
    )
    assert wrong.status_code == unknown.status_code == 400
    assert wrong.soup.find(role="alert").get_text(" ", strip=True) == unknown.soup.find(role="alert").get_text(
        " ", strip=True
    )


def test_sign_in_form_needs_every_answer(client, db):
    page = client.submit("/sign-in", {"account_number": "", "date_of_birth": "", "id_last4": ""})
    assert page.status_code == 400
    assert len(page.soup.select(".error-summary li")) == 3


def test_session_id_changes_at_sign_in_and_signing_out_ends_it_on_the_server(client, db):
    account = AccountFactory()
    code = make_link(account)
    client.get(f"/r/{code}")
    before = client.get_cookie("portal_session").value
    sign_in_through_link(client, account)
    after = client.get_cookie("portal_session").value
    assert before != after
    stolen_cookie = after
    record = db.session.execute(select(BorrowerSession)).scalar_one()
    assert record.ended_at is None

    page = client.get("/dashboard")
    form = page.soup.find("form", action="/sign-out")
    response = client.post("/sign-out", data={"csrf_token": form.find("input", attrs={"name": "csrf_token"})["value"]})
    assert response.headers["Location"] == "/signed-out"
    db.session.refresh(record)
    assert record.ended_at is not None
    # Replaying the old cookie does not bring the session back.
    client.set_cookie("portal_session", stolen_cookie)
    assert client.get("/dashboard").status_code == 302


def test_idle_for_15_minutes_signs_out_with_a_clear_page(client, app, db, monkeypatch):
    account = AccountFactory()
    sign_in_through_link(client, account)
    assert client.get("/dashboard").status_code == 200
    with client.session_transaction() as session:
        session["seen"] -= 15 * 60 + 1
    response = client.get("/dashboard")
    assert response.status_code == 302
    assert response.headers["Location"] == "/signed-out?reason=idle"
    page = client.get(response.headers["Location"])
    assert "15" in text_of(page)
    assert client.get("/dashboard").status_code == 302


def test_every_page_offers_sign_out_when_signed_in(client, db):
    sign_in_through_link(client, AccountFactory())
    for url in ("/dashboard", "/coming-soon/rights"):
        assert client.get(url).soup.find("form", action="/sign-out")


def test_session_cookie_flags(client, db):
    sign_in_through_link(client, AccountFactory())
    cookie = client.get_cookie("portal_session")
    assert cookie.http_only and cookie.same_site == "Lax"


def test_session_cookie_is_secure_in_production():
    from portal.config import load

    production = load(
        {
            "PORTAL_ENV": "production",
            "SECRET_KEY": "k" * 40,
            "ID_HASH_KEY": "h" * 40,
            "SMS_BACKEND": "http",
            "SMS_GATEWAY_URL": "https://sms.example.cn/v1/messages",
            "SMS_GATEWAY_TOKEN": "t" * 40,
        }
    )
    assert production["SESSION_COOKIE_SECURE"] is True and production["HSTS"] is True


@pytest.mark.redis
@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL")
def test_lockout_holds_across_worker_processes(app, db, make_app):
    """Two app instances stand for two gunicorn workers sharing Redis."""
    account = AccountFactory()
    workers = [app, make_app()]
    code = make_link(account)
    statuses = []
    for attempt in range(6):
        browser = workers[attempt % 2].test_client()
        browser.get(f"/r/{code}")
        if browser.get("/verify").status_code == 429:  # the other worker's lock shows at once
            statuses.append(429)
            continue
        statuses.append(verify(browser, account, dob="19800101").status_code)
    assert statuses == [400, 400, 400, 400, 429, 429]


def test_verification_fails_closed_when_the_lockout_store_is_down(db, make_app):
    broken = make_app(RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0")
    account = AccountFactory()
    code = make_link(account)
    browser = broken.test_client()
    browser.get(f"/r/{code}")
    page = browser.get("/verify")
    assert page.status_code == 503
    assert "try again" in text_of(page) or "再试" in text_of(page)
    assert browser.get("/dashboard").status_code == 302


def test_full_width_digits_from_a_chinese_keyboard_are_understood(client, db):
    account = AccountFactory(borrower__national_id="11010119900512453X")
    open_link(client, account)
    assert verify(client, account, dob="１９９０－０５－１２", last4="４５３ｘ").status_code == 303
