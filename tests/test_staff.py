"""The staff console: accounts from the CLI, sign-in with a password and a TOTP second factor,
lockouts in the database, a separate revocable session with an idle limit, one permission table
walked for every route and role, masked search, the borrower view, assisted actions, plan
decisions, and an audit record for each; on PostgreSQL the audit table refuses UPDATE/DELETE."""

from __future__ import annotations

import csv
import io
import re
import time
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from portal.access import service as access
from portal.access import throttle
from portal.i18n import LOCALES
from portal.models import (
    AuditEvent,
    PlanFrequency,
    PlanKind,
    PlanStatus,
    RepaymentPlan,
    SmsMessage,
    StaffRole,
    StaffSession,
)
from portal.models.types import utcnow
from portal.plans import arithmetic as calc
from portal.plans import policy as policies
from portal.plans import service as plans
from portal.staff import accounts, sessions
from portal.staff.permissions import GRANTS
from portal.staff.views import PUBLIC, REQUIRED
from tests.factories import AccountFactory
from tests.helpers import sign_in_through_link
from tests.pages import text_of

PASSWORD = "correct horse battery staple"


def make_staff(db, username: str, role: StaffRole, *, enrolled: bool = True):
    staff = accounts.create(username, role, PASSWORD, by="test")
    if enrolled:
        staff.totp_enrolled_at = utcnow()
    db.session.commit()
    return staff


def next_code(staff) -> str:
    """A code the server accepts now: this time step, or the next if this one was used."""
    from portal.extensions import db

    db.session.refresh(staff)
    generator = pyotp.TOTP(staff.totp_secret)
    step = generator.timecode(utcnow())
    if staff.totp_last_step is not None and staff.totp_last_step >= step:
        step = staff.totp_last_step + 1
    return generator.generate_otp(step)


def sign_in(client, staff, password: str = PASSWORD):
    response = client.submit("/staff/", {"username": staff.username, "password": password})
    assert response.status_code == 303 and response.headers["Location"].endswith("/staff/two-factor")
    done = client.submit("/staff/two-factor", {"code": next_code(staff)})
    assert done.status_code == 303 and done.headers["Location"].endswith("/staff/console"), done.status_code
    return done


def audit_actions(db, prefix: str = "") -> list[str]:
    return list(
        db.session.execute(
            select(AuditEvent.action).where(AuditEvent.action.startswith(prefix)).order_by(AuditEvent.id)
        ).scalars()
    )


# ------------------------------------------------------------------------------ accounts


def test_staff_accounts_from_the_command_line_take_the_password_from_stdin(runner, db):
    created = runner.invoke(args=["staff", "create", "Li.Na", "--role", "agent"], input=f"{PASSWORD}\n")
    assert created.exit_code == 0, created.output
    staff = accounts.find("li.na")
    assert staff.role == StaffRole.AGENT and staff.password_hash.startswith("$argon2id$")
    assert PASSWORD not in staff.password_hash
    short = runner.invoke(args=["staff", "create", "wang", "--role", "agent"], input="short\n")
    assert short.exit_code != 0 and "at least 12" in short.output
    assert runner.invoke(args=["staff", "create", "x", "--role", "janitor"], input=f"{PASSWORD}\n").exit_code != 0

    assert runner.invoke(args=["staff", "disable", "li.na"]).exit_code == 0
    db.session.expire_all()
    assert accounts.find("li.na").disabled_at is not None
    reset = runner.invoke(args=["staff", "reset-password", "li.na"], input="another long password\n")
    assert reset.exit_code == 0, reset.output
    assert {"staff.created", "staff.disabled", "staff.password_reset"} <= set(audit_actions(db, "staff."))


# ------------------------------------------------------------------------------ sign-in


def test_enrolment_shows_a_qr_code_then_recovery_codes_once_and_they_work_once(client, db):
    staff = make_staff(db, "zhao.lei", StaffRole.AGENT, enrolled=False)
    response = client.submit("/staff/", {"username": "zhao.lei", "password": PASSWORD})
    assert response.headers["Location"].endswith("/staff/enrol")
    page = client.get("/staff/enrol")
    assert page.soup.find("svg") is not None and staff.totp_secret in text_of(page)
    wrong = client.submit("/staff/enrol", {"code": "000000" if next_code(staff) != "000000" else "111111"})
    assert wrong.status_code == 400
    done = client.submit("/staff/enrol", {"code": next_code(staff)})
    assert done.status_code == 200
    codes = [c.get_text() for c in done.soup.select(".codes code")]
    assert len(codes) == 10 and len(set(codes)) == 10
    assert client.get("/staff/console").status_code == 200
    # Only hashes are kept.
    from portal.models import StaffRecoveryCode

    stored = db.session.execute(select(StaffRecoveryCode.code_hash)).scalars().all()
    assert not set(codes) & set(stored)

    assert client.post("/staff/sign-out", data={"csrf_token": _csrf(client)}).status_code == 303
    assert client.get("/staff/console").status_code == 303
    client.submit("/staff/", {"username": "zhao.lei", "password": PASSWORD})
    assert client.submit("/staff/two-factor", {"code": codes[0]}).status_code == 303
    client.post("/staff/sign-out", data={"csrf_token": _csrf(client)})
    client.submit("/staff/", {"username": "zhao.lei", "password": PASSWORD})
    assert client.submit("/staff/two-factor", {"code": codes[0]}).status_code == 400


def _csrf(client) -> str:
    page = client.get("/staff/signed-out")
    return (
        page.soup.find("input", attrs={"name": "csrf_token"})["value"]
        if page.soup.find("input", attrs={"name": "csrf_token"})
        else client.get("/staff/").soup.find("input", attrs={"name": "csrf_token"})["value"]
    )


def test_a_totp_code_works_once(client, db, make_app):
    staff = make_staff(db, "qian", StaffRole.AGENT)
    code = next_code(staff)
    client.submit("/staff/", {"username": "qian", "password": PASSWORD})
    assert client.submit("/staff/two-factor", {"code": code}).status_code == 303
    other = make_app().test_client()
    other.submit("/staff/", {"username": "qian", "password": PASSWORD})
    assert other.submit("/staff/two-factor", {"code": code}).status_code == 400


def test_wrong_passwords_lock_the_username_in_the_database_for_every_worker(client, db, make_app):
    staff = make_staff(db, "sun", StaffRole.AGENT)
    for _ in range(throttle.PER_STAFF.max_failures):
        wrong = client.submit("/staff/", {"username": "sun", "password": "not the password!"})
        assert wrong.status_code == 400
        assert "not the password" not in wrong.get_data(as_text=True)  # a password is never echoed
    locked = client.submit("/staff/", {"username": "sun", "password": PASSWORD})
    assert locked.status_code == 429 and "30" in text_of(locked)
    # Another worker (its own app and limiter memory) sees the same lock.
    other = make_app().test_client()
    assert other.submit("/staff/", {"username": "SUN", "password": PASSWORD}).status_code == 429
    # An unknown username fails the same way and is counted too.
    assert client.submit("/staff/", {"username": "nobody", "password": PASSWORD}).status_code == 400
    assert "staff.sign_in_refused" in audit_actions(db, "staff.")
    assert staff.totp_enrolled_at is not None


def test_staff_sessions_are_separate_idle_limited_and_revocable(app, client, db, monkeypatch):
    staff = make_staff(db, "zhou", StaffRole.AGENT)
    account = AccountFactory()
    db.session.commit()
    # A borrower's session is not a staff session.
    sign_in_through_link(client, account)
    assert client.get("/staff/console").status_code == 303
    client = app.test_client()  # a browser of its own: the borrower's session has its own idle limit
    sign_in(client, staff)
    cookie = client.get_cookie(sessions.COOKIE, path=sessions.PATH)
    assert cookie is not None and cookie.path == "/staff" and cookie.http_only
    assert client.get("/staff/console").status_code == 200
    # 31 minutes later, without activity, the session is over.
    later = time.time() + 31 * 60
    monkeypatch.setattr(sessions.time, "time", lambda: later)
    idle = client.get("/staff/console")
    assert idle.status_code == 303 and "reason=idle" in idle.headers["Location"]
    monkeypatch.undo()
    assert db.session.execute(select(StaffSession.ended_at)).scalar_one() is not None
    # Disabling (an admin's revocation) ends a live session at once.
    sign_in(client, staff)
    assert client.get("/staff/console").status_code == 200
    accounts.disable("zhou", by="admin")
    db.session.commit()
    assert client.get("/staff/console").status_code == 303


# ------------------------------------------------------------------------------ roles


@pytest.fixture
def world(app, db):
    account = AccountFactory(borrower__name="王小芳", account_number="SR2024000999")
    policies.set_policy(account.lender, policies.STANDARD, actor_type="test")
    db.session.commit()
    proposal = calc.Proposal(
        PlanKind.INSTALMENTS, plans.local_today("Asia/Shanghai") + timedelta(days=3), 18, PlanFrequency.MONTHLY
    )
    with app.test_request_context():
        plan, _ = plans.draft(
            account.id, proposal, hardship_reason="job_loss", hardship_note=None, affordability=None, locale="en"
        )
        plan = plans.confirm(plan, actor_id=None)
    db.session.commit()
    assert plan.status == PlanStatus.PENDING
    colleague = make_staff(db, "colleague", StaffRole.AGENT)
    return {"account": account, "borrower": account.borrower, "plan": plan, "colleague": colleague}


def _url(rule: str, world) -> str:
    return (
        rule.replace("<int:borrower_id>", str(world["borrower"].id))
        .replace("<int:staff_id>", str(world["colleague"].id))
        .replace("<int:account_id>", str(world["account"].id))
        .replace("<public_id>", world["plan"].public_id)
    )


def staff_rules(app):
    return [r for r in app.url_map.iter_rules() if r.rule.startswith("/staff")]


def test_every_staff_route_names_its_permission(app):
    endpoints = {r.endpoint for r in staff_rules(app)}
    assert endpoints == PUBLIC | set(REQUIRED), "a staff route needs @requires(permission) or a place in PUBLIC"


@pytest.mark.parametrize("who", ["nobody", "borrower", *[str(r) for r in StaffRole]])
def test_every_staff_route_with_every_role(app, client, db, world, who):
    if who == "borrower":
        sign_in_through_link(client, world["account"])
    elif who != "nobody":
        sign_in(client, make_staff(db, f"user-{who}", StaffRole(who)))
    csrf = _csrf(client)
    for rule in staff_rules(app):
        if rule.endpoint not in REQUIRED:
            continue
        url = _url(rule.rule, world)
        if "GET" in rule.methods:
            response = client.get(url + ("?kind=name&q=小芳" if rule.endpoint == "staff.search" else ""))
        else:
            response = client.post(url, data={"csrf_token": csrf})
        if who in ("nobody", "borrower"):
            assert response.status_code == 303 and "/staff/" in response.headers["Location"], (who, url)
        elif REQUIRED[rule.endpoint] in GRANTS[StaffRole(who)]:
            assert response.status_code in (200, 303, 400), (who, url, response.status_code)
        else:
            assert response.status_code == 403, (who, url, response.status_code)
    # No route changed the plan for a role without the permission, nor without the form's fields.
    db.session.expire_all()
    assert plans.pending()[0].status == PlanStatus.PENDING


# ------------------------------------------------------------------------------ agent work


@pytest.fixture
def agent(client, db):
    staff = make_staff(db, "agent.wu", StaffRole.AGENT)
    client.set_cookie("portal_lang", "en")
    sign_in(client, staff)
    return client


@pytest.mark.parametrize(
    ("kind", "query"), [("name", "小芳"), ("account", "SR2024000999"), ("phone", "PHONE"), ("id_last4", "LAST4")]
)
def test_search_finds_the_borrower_masked_and_is_audited(agent, db, world, kind, query):
    borrower = world["borrower"]
    query = query.replace("PHONE", borrower.phone_e164[-8:]).replace("LAST4", borrower.national_id_last4)
    page = agent.get(f"/staff/search?kind={kind}&q={query}")
    assert page.status_code == 200
    shown = text_of(page)
    assert "王*" in shown and "王小芳" not in shown
    assert borrower.phone_e164 not in shown and "****0999" in shown and "SR2024000999" not in shown
    assert page.soup.find("a", href=f"/staff/borrowers/{borrower.id}")
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "staff.searched")).scalar_one()
    assert event.actor_id == "agent.wu" and event.ip == "127.0.0.1"
    assert event.details == {"kind": kind, "query": query, "results": 1}


def test_a_search_without_a_query_is_explained(agent, db):
    page = agent.get("/staff/search?kind=name&q=")
    assert page.status_code == 400 and "Enter what to search for" in text_of(page)


def test_the_borrower_view_shows_accounts_lock_and_audit_trail(agent, db, world):
    account = world["account"]
    page = agent.get(f"/staff/borrowers/{world['borrower'].id}")
    assert page.status_code == 200
    shown = text_of(page)
    assert "SR2024000999" in shown and world["plan"].public_id in shown
    assert "staff.viewed_borrower" in audit_actions(db)
    assert access.lock_status(account).locked_until is None


def test_clearing_a_lockout_needs_how_the_caller_was_identified(agent, client, db, world):
    account = world["account"]
    for _ in range(throttle.PER_ACCOUNT.max_failures):
        throttle.charge([access.account_key(account)])
    db.session.commit()
    assert access.lock_status(account).locked_until is not None
    url = f"/staff/borrowers/{world['borrower'].id}"
    unlock = f"{url}/accounts/{account.id}/unlock"
    csrf = agent.get(url).soup.find("input", attrs={"name": "csrf_token"})["value"]
    missing = agent.post(unlock, data={"csrf_token": csrf})
    assert missing.status_code == 400 and "Record how you identified the caller" in text_of(missing)
    assert access.lock_status(account).locked_until is not None
    done = agent.post(unlock, data={"csrf_token": csrf, "identified_by": "security_questions"})
    assert done.status_code == 303
    assert access.lock_status(account).locked_until is None
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "verification.unlocked")).scalar_one()
    assert event.actor_type == "staff" and event.actor_id == "agent.wu"
    assert "assisted by agent agent.wu" in event.details["reason"]


def test_a_fresh_link_goes_only_to_the_phone_on_file(agent, db, world):
    account = world["account"]
    url = f"/staff/borrowers/{world['borrower'].id}"
    done = agent.submit(url, {"identified_by": "called_back", "to": "+8613900000000"})
    assert done.status_code == 303 and "done=link_sent" in done.headers["Location"]
    [message] = db.session.execute(select(SmsMessage).where(SmsMessage.purpose == "reminder")).scalars().all()
    assert message.to_e164 == account.borrower.phone_e164
    code = re.search(r"/r/([\w-]{16})", message.text).group(1)
    assert access.look_up_link(code).link.account_id == account.id
    assist = db.session.execute(select(AuditEvent).where(AuditEvent.action == "staff.assisted")).scalar_one()
    assert assist.details["assisted"] == "send_link" and assist.details["identified_by"] == "called_back"


def test_payments_stuck_being_confirmed_are_listed_with_their_stripe_reference(agent, db, world):
    from tests.quality.world import payment

    stuck = payment(world["account"], 5_000, "pending")
    stuck.submitted_at = utcnow() - timedelta(hours=2)
    stuck.provider_reference = "pi_stuck_for_two_hours"
    fresh = payment(world["account"], 6_000, "pending")
    fresh.provider_reference = "pi_just_sent"
    db.session.commit()
    page = agent.get("/staff/payments/stale")
    assert page.status_code == 200
    shown = text_of(page)
    assert "pi_stuck_for_two_hours" in shown and "pi_just_sent" not in shown and "SR2024000999" in shown
    assert "staff.listed_stale_payments" in audit_actions(db)


# ------------------------------------------------------------------------------ supervisors


def test_a_supervisor_approves_rejects_or_counters_through_the_plans_service(client, db, world):
    sign_in(client, make_staff(db, "sup.he", StaffRole.SUPERVISOR))
    plan = world["plan"]
    queue = client.get("/staff/plans")
    assert plan.public_id in text_of(queue)
    no_reason = client.submit("/staff/plans", {"decision": "reject"})
    assert no_reason.status_code == 400
    assert plans.pending()[0].status == PlanStatus.PENDING
    rejected = client.submit("/staff/plans", {"decision": "reject", "reasons": "term_too_long", "note": "12 months?"})
    assert rejected.status_code == 303
    db.session.expire_all()
    assert plans.pending() == []
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "plan.rejected")).scalar_one()
    assert event.actor_type == "staff" and event.actor_id == "sup.he"


def test_a_supervisor_counter_offers_or_approves(client, db, world):
    sign_in(client, make_staff(db, "sup.ma", StaffRole.SUPERVISOR))
    client.set_cookie("portal_lang", "en")
    plan = world["plan"]
    first = (plans.local_today("Asia/Shanghai") + timedelta(days=7)).isoformat()
    bad = client.submit("/staff/plans", {"decision": "counter", "instalments": "12", "first_date": "soon"})
    assert bad.status_code == 400 and "The decision was not recorded" in text_of(bad)
    countered = client.submit("/staff/plans", {"decision": "counter", "instalments": "12", "first_date": first})
    assert countered.status_code == 303, text_of(countered)
    db.session.expire_all()
    offer = db.session.execute(select(RepaymentPlan).where(RepaymentPlan.counter_of_id == plan.id)).scalar_one()
    assert offer.status == PlanStatus.OFFERED and len(offer.instalments) == 12 and offer.decided_by == "sup.ma"
    assert "plan.countered" in audit_actions(db, "plan.")


# ------------------------------------------------------------------------------ admins


def test_an_admin_signs_a_colleague_out_everywhere_and_disables_them(app, client, db, world):
    colleague = world["colleague"]
    theirs = app.test_client()
    sign_in(theirs, colleague)
    assert theirs.get("/staff/console").status_code == 200
    admin = make_staff(db, "admin.tang", StaffRole.ADMIN)
    client.set_cookie("portal_lang", "en")
    sign_in(client, admin)
    listing = client.get("/staff/admin/staff")
    assert "colleague" in text_of(listing) and "Sign out everywhere" in text_of(listing)
    ended = client.post(f"/staff/admin/staff/{colleague.id}/sessions/end", data={"csrf_token": _csrf(client)})
    assert ended.status_code == 303
    assert theirs.get("/staff/console").status_code == 303
    sign_in(theirs, colleague)
    disabled = client.post(f"/staff/admin/staff/{colleague.id}/disable", data={"csrf_token": _csrf(client)})
    assert disabled.status_code == 303
    assert theirs.get("/staff/console").status_code == 303
    refused = theirs.submit("/staff/", {"username": "colleague", "password": PASSWORD})
    assert refused.status_code == 400
    # Never oneself.
    assert client.post(f"/staff/admin/staff/{admin.id}/disable", data={"csrf_token": _csrf(client)}).status_code == 404
    actions = audit_actions(db, "staff.")
    assert "staff.sessions_ended" in actions and "staff.disabled" in actions


# ------------------------------------------------------------------------------ audit


def test_compliance_filters_the_audit_log_and_exports_it_safe_for_spreadsheets(client, db, world):
    from portal import audit

    audit.record("test.formula", actor_type="staff", actor_id="=HYPERLINK(1)", subject=world["account"], ip="@evil")
    db.session.commit()
    client.set_cookie("portal_lang", "en")
    sign_in(client, make_staff(db, "comp.xu", StaffRole.COMPLIANCE))
    borrower = world["borrower"].id
    page = client.get(f"/staff/audit?borrower={borrower}&action=test.formula")
    assert page.status_code == 200 and "test.formula" in text_of(page) and "plan.drafted" not in text_of(page)
    bad = client.get("/staff/audit?date_from=yesterday")
    assert bad.status_code == 400 and "Enter a date like 2026-12-15." in text_of(bad)
    today = utcnow().date().isoformat()
    export = client.get(f"/staff/audit.csv?borrower={borrower}&date_from={today}&date_to={today}")
    assert export.status_code == 200 and export.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(export.get_data(as_text=True))))
    assert rows[0][:4] == ["occurred_at", "actor_type", "actor_id", "action"]
    [formula] = [row for row in rows if row[3] == "test.formula"]
    assert formula[2] == "'=HYPERLINK(1)" and formula[6] == "'@evil"
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    actions = audit_actions(db, "staff.")
    assert "staff.viewed_audit_log" in actions and "staff.exported_audit_log" in actions


@pytest.mark.postgres
def test_the_database_refuses_to_change_or_delete_audit_records(db):
    from portal import audit

    audit.record("test.kept", actor_type="system")
    db.session.commit()
    for statement in ("UPDATE audit_event SET action = 'test.changed'", "DELETE FROM audit_event"):
        with pytest.raises(DBAPIError, match="append-only"):
            with db.session.begin_nested():
                db.session.execute(text(statement))
    assert db.session.execute(select(func.count()).where(AuditEvent.action == "test.kept")).scalar_one() == 1


# ------------------------------------------------------------------------------ pages


@pytest.mark.parametrize("locale", LOCALES)
def test_every_staff_page_in_every_language(client, db, world, locale):
    client.set_cookie("portal_lang", locale)
    assert client.get("/staff/").status_code == 200
    assert client.get("/staff/signed-out").status_code == 200
    staff = make_staff(db, f"sup-{locale.lower()}", StaffRole.SUPERVISOR, enrolled=False)
    client.submit("/staff/", {"username": staff.username, "password": PASSWORD})
    assert client.get("/staff/enrol").status_code == 200
    assert client.submit("/staff/enrol", {"code": next_code(staff)}).status_code == 200
    for url in (
        "/staff/console",
        "/staff/search?kind=name&q=小芳",
        f"/staff/borrowers/{world['borrower'].id}",
        "/staff/plans",
        "/staff/payments/stale",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
    assert client.post("/staff/sign-out", data={"csrf_token": _csrf(client)}).status_code == 303
    sign_in(client, make_staff(db, f"comp-{locale.lower()}", StaffRole.COMPLIANCE))
    assert client.get("/staff/audit").status_code == 200
    assert client.get("/staff/audit?date_to=soon").status_code == 400
    assert client.post("/staff/sign-out", data={"csrf_token": _csrf(client)}).status_code == 303
    sign_in(client, make_staff(db, f"admin-{locale.lower()}", StaffRole.ADMIN))
    assert client.get("/staff/admin/staff").status_code == 200
