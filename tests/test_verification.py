"""Proving who you are: the same message whatever was wrong, lockouts, sessions."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from portal.access import throttle
from portal.access.throttle import PER_ACCOUNT
from portal.models import AuditEvent, BorrowerSession, CounterKind
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
    alerts = set()
    for dob, last4 in (("19800101", None), ("19900512", "0000")):
        account = AccountFactory()
        fresh = app.test_client()
        fresh.get(f"/r/{make_link(account)}")
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

    limit = throttle.PER_ADDRESS.max_failures
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
    for _ in range(throttle.PER_ADDRESS.max_failures):
        throttle.charge([(CounterKind.ADDRESS, "127.0.0.1")])
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
            "REDIS_URL": "redis://cache:6379/0",
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


def test_the_lockout_holds_when_redis_is_down(db, make_app):
    """Counters live in the database: Redis down changes nothing about the lock (request-rate
    limits fail open and are logged)."""
    broken = make_app(RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0")
    account = AccountFactory()
    code = make_link(account)
    browser = broken.test_client()
    browser.get(f"/r/{code}")
    assert browser.get("/verify").status_code == 200
    statuses = [verify(browser, account, dob="19800101").status_code for _ in range(PER_ACCOUNT.max_failures)]
    assert statuses == [400] * (PER_ACCOUNT.max_failures - 1) + [429]
    assert browser.get("/verify").status_code == 429
    assert browser.get("/dashboard").status_code == 302


def test_full_width_digits_from_a_chinese_keyboard_are_understood(client, db):
    account = AccountFactory(borrower__national_id="11010119900512453X")
    open_link(client, account)
    assert verify(client, account, dob="１９９０－０５－１２", last4="４５３ｘ").status_code == 303


# --------------------------------------------------------------------------- who pays for a guess


def _sign_in(client, number, dob, last4):
    return client.submit("/sign-in", {"account_number": number, "date_of_birth": dob, "id_last4": last4})


def _actions(db, action):
    return db.session.execute(select(AuditEvent).where(AuditEvent.action == action)).scalars().all()


def test_one_person_gets_five_tries_in_all_not_five_per_account(app, db):
    """The answers belong to a person: their accounts at two lenders share one count."""
    first = AccountFactory(borrower__national_id="110101199005124535")
    second = AccountFactory(borrower__national_id="110101199005124535")
    assert first.lender_id != second.lender_id
    statuses = []
    for attempt in range(PER_ACCOUNT.max_failures):
        account = (first, second)[attempt % 2]
        browser = app.test_client()
        browser.get(f"/r/{make_link(account)}")
        statuses.append(verify(browser, account, dob="19800101").status_code)
    assert statuses == [400] * (PER_ACCOUNT.max_failures - 1) + [429]
    for account in (first, second):
        browser = app.test_client()
        browser.get(f"/r/{make_link(account)}")
        assert browser.get("/verify").status_code == 429


def test_a_number_at_two_lenders_charges_both_before_any_comparison(client, db):
    """Wrong guesses with a number that exists at two lenders count against both accounts,
    every one is audited, and the lock holds for the right answers of either."""
    ours = AccountFactory(account_number="DUP0001")
    theirs = AccountFactory(account_number="DUP0001", borrower__date_of_birth=date(1985, 3, 14))
    statuses = [_sign_in(client, "DUP0001", "19700101", "0000").status_code for _ in range(PER_ACCOUNT.max_failures)]
    assert statuses == [400] * (PER_ACCOUNT.max_failures - 1) + [429]
    failed = _actions(db, "verification.failed")
    assert sorted(e.subject_id for e in failed) == sorted([str(ours.id), str(theirs.id)] * PER_ACCOUNT.max_failures)
    # Neither person can be signed in now, not even with their right answers…
    for account, dob in ((ours, "19900512"), (theirs, "19850314")):
        page = _sign_in(client, "DUP0001", dob, account.borrower.national_id_last4)
        assert page.status_code == 429
    assert client.get("/dashboard").status_code == 302
    # …and each refused attempt is on the record too, for both accounts.
    assert len(_actions(db, "verification.refused")) == 2 * 2


def test_the_right_answer_at_either_lender_signs_in_and_clears_only_its_own_count(client, db):
    AccountFactory(account_number="DUP0002")
    theirs = AccountFactory(account_number="DUP0002", borrower__date_of_birth=date(1985, 3, 14))
    _sign_in(client, "DUP0002", "19700101", "0000")
    page = _sign_in(client, "DUP0002", "19850314", theirs.borrower.national_id_last4)
    assert page.status_code == 303
    signed_in = _actions(db, "borrower.signed_in")
    assert [e.subject_id for e in signed_in] == [str(theirs.borrower.id)]


def _statements(db, action):
    """How many SQL statements one call makes (its writes flushed)."""
    counted = {"sql": 0}

    def count(*_args, **_kwargs):
        counted["sql"] += 1

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        action()
        db.session.flush()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    return counted["sql"]


def test_a_wrong_answer_costs_the_same_work_for_a_known_and_an_unknown_number(app, db, monkeypatch):
    from portal.access.service import verify_account_number

    known = AccountFactory(account_number="KNOWN0001")
    comparisons = []
    real_compare = hmac.compare_digest

    def compare(a, b):
        comparisons.append(1)
        return real_compare(a, b)

    monkeypatch.setattr(hmac, "compare_digest", compare)
    real_sha256 = hashlib.sha256

    def sha256(*args, **kwargs):
        comparisons.append(2)
        return real_sha256(*args, **kwargs)

    monkeypatch.setattr(hashlib, "sha256", sha256)
    work = {}
    db.session.execute(sa.text("SELECT 1"))  # the test's own transaction has begun: not counted
    for number in ("KNOWN0001", "NOBODY0001"):
        db.session.expire_all()
        comparisons.clear()
        with app.test_request_context():
            sql = _statements(db, lambda n=number: verify_account_number(n, date(1970, 1, 1), "0000", "192.0.2.1"))
        work[number] = (sql, comparisons.count(1), comparisons.count(2))
    assert work["KNOWN0001"] == work["NOBODY0001"], work
    assert known.id and work["KNOWN0001"][0] >= 3  # the account, the locks, the charge, the record


# --------------------------------------------------------------------------- staff: status, unlock


def _lock(app, account):
    browser = app.test_client()
    browser.get(f"/r/{make_link(account)}")
    for _ in range(PER_ACCOUNT.max_failures):
        verify(browser, account, dob="19800101")
    return browser


def test_lock_status_and_an_audited_unlock(app, db):
    from portal.access.service import lock_status, unlock

    account = AccountFactory()
    assert lock_status(account).locked_until is None and lock_status(account).account_failures == 0
    browser = _lock(app, account)
    status = lock_status(account)
    assert status.locked_until is not None
    assert status.account_failures == status.person_failures == PER_ACCOUNT.max_failures
    with pytest.raises(ValueError):
        unlock(account, "agent-7", " ")
    unlock(account, "agent-7", "identity checked by phone")
    assert lock_status(account).locked_until is None
    (event,) = _actions(db, "verification.unlocked")
    assert event.actor_id == "agent-7" and event.details["reason"] == "identity checked by phone"
    assert event.details["was_locked_until"]
    # The person can try again at once, with the full number of tries.
    assert browser.get("/verify").status_code == 200
    assert verify(browser, account).status_code == 303


def test_cli_shows_and_clears_a_lock(app, db, runner):
    account = AccountFactory(account_number="LOCKED01")
    _lock(app, account)
    shown = runner.invoke(args=["access", "status", "LOCKED01"])
    assert shown.exit_code == 0, shown.output
    limit = PER_ACCOUNT.max_failures
    assert "locked until" in shown.output and f"{limit} of {limit}" in shown.output
    assert runner.invoke(args=["access", "unlock", "LOCKED01"]).exit_code != 0  # a reason is required
    cleared = runner.invoke(args=["access", "unlock", "LOCKED01", "--reason", "called back, ID checked"])
    assert cleared.exit_code == 0, cleared.output
    assert "was locked until" in cleared.output
    assert "not locked" in runner.invoke(args=["access", "status", "LOCKED01"]).output
    assert _actions(db, "verification.unlocked")[0].actor_type == "cli"


def test_prune_deletes_only_counters_that_are_over(app, db, runner):
    from portal.models import VerificationCounter
    from portal.models.types import utcnow

    throttle.charge([(CounterKind.ADDRESS, "192.0.2.10"), (CounterKind.ADDRESS, "192.0.2.11")])
    old = db.session.get(VerificationCounter, (CounterKind.ADDRESS, "192.0.2.10"))
    old.window_ends_at = utcnow() - timedelta(seconds=1)
    db.session.flush()
    result = runner.invoke(args=["access", "prune"])
    assert result.exit_code == 0, result.output
    assert "1 expired counter(s) deleted" in result.output
    left = db.session.execute(select(VerificationCounter.subject)).scalars().all()
    assert left == ["192.0.2.11"]


# --------------------------------------------------------------------------- atomic under concurrency


@pytest.mark.committing
def test_parallel_guesses_cannot_pass_the_limit(app, db):
    """Twelve wrong answers at once for one account: at most five are ever compared."""
    account = AccountFactory()
    code = make_link(account)
    browsers = []
    for _ in range(12):
        browser = app.test_client()
        browser.get(f"/r/{code}")
        token = browser.get("/verify").soup.find("input", attrs={"name": "csrf_token"})["value"]
        browsers.append((browser, token))
    barrier = threading.Barrier(len(browsers))

    def guess(pair):
        browser, token = pair
        barrier.wait()
        return browser.post(
            "/verify", data={"csrf_token": token, "date_of_birth": "19800101", "id_last4": "0000"}
        ).status_code

    with ThreadPoolExecutor(len(browsers)) as pool:
        statuses = list(pool.map(guess, browsers))
    assert set(statuses) <= {400, 429, 503}, statuses
    db.session.remove()
    failed = _actions(db, "verification.failed")
    refused = _actions(db, "verification.refused")
    assert len(failed) <= PER_ACCOUNT.max_failures
    # Every attempt that got an answer (not "busy") is on the record.
    assert len(failed) + len(refused) == sum(1 for s in statuses if s != 503)


# --------------------------------------------------------------------------- sessions


def test_signing_in_again_ends_the_previous_session_on_the_server(client, db):
    account = AccountFactory()
    sign_in_through_link(client, account)
    old_cookie = client.get_cookie("portal_session").value
    sign_in_through_link(client, account)
    records = db.session.execute(select(BorrowerSession).order_by(BorrowerSession.id)).scalars().all()
    assert len(records) == 2
    assert records[0].ended_at is not None and records[1].ended_at is None
    # A copy of the old cookie no longer opens anything.
    other = client.application.test_client()
    other.set_cookie("portal_session", old_cookie)
    assert other.get("/dashboard").status_code == 302
    assert client.get("/dashboard").status_code == 200


def test_a_session_ends_after_its_absolute_lifetime_however_active(client, db):
    from portal.access.sessions import ABSOLUTE_LIFETIME
    from portal.models.types import utcnow

    account = AccountFactory()
    sign_in_through_link(client, account)
    record = db.session.execute(select(BorrowerSession)).scalar_one()
    record.created_at = utcnow() - ABSOLUTE_LIFETIME + timedelta(minutes=1)
    db.session.commit()
    assert client.get("/dashboard").status_code == 200  # still within, and active
    record.created_at = utcnow() - ABSOLUTE_LIFETIME - timedelta(seconds=1)
    db.session.commit()
    response = client.get("/dashboard")
    assert response.status_code == 302 and response.headers["Location"] == "/signed-out?reason=expired"
    db.session.refresh(record)
    assert record.ended_at is not None
    page = client.get(response.headers["Location"])
    assert str(int(ABSOLUTE_LIFETIME.total_seconds() // 3600)) in text_of(page)
    assert client.get("/dashboard").status_code == 302
