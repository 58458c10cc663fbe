"""Borrower A, or a visitor who is not signed in, can never see borrower B's data.

Every URL pattern of the app (read from ``app.url_map``, so a new route is crawled the day it
is added) is requested with every method it accepts, filled with B's identifiers: B's
account id and account number, each of B's payments (one per state), B's reminder link code.
POSTs carry a valid CSRF token of the requester's own session, so what stops them is the
access check, not CSRF; each is sent once as a form and once as JSON. Redirects are followed
once, and the page they lead to is checked too.

B is a customer of the same lender as A, the harder case: scoping by lender alone would leak.
Nothing B-specific may appear in any response (B's name, phone, account number in full or
masked, amounts, receipt number), no route filled with B's identifiers may answer 2xx, and
B's records are unchanged afterwards.
"""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from portal.models import Account, Borrower, ContactPreference, Dispute, Payment, ReminderLink, RepaymentPlan
from portal.models.types import utcnow
from portal.rights.content import PAGES
from tests.factories import AccountFactory, BorrowerFactory
from tests.helpers import sign_in_through_link
from tests.quality import world as w

B_NAME = "欧阳娜娜"
B_PHONE = "+8613911112222"
B_ACCOUNT = "ZXB55107391"
B_DISPUTE = "D-BBBBBBBB"
B_EXPLANATION = "乙的异议说明：这笔已还清"


@pytest.fixture
def people(db):
    a = w.make_borrower(name="甲先生")
    b_person = BorrowerFactory(lender=a.borrower.lender, name=B_NAME, phone_e164=B_PHONE)
    account = AccountFactory(
        borrower=b_person,
        account_number=B_ACCOUNT,
        principal_minor=98765432,
        interest_minor=1234567,
        penalty_interest_minor=111111,
        fees_minor=222222,
    )
    b = w.Borrower([account])
    for state, amount in (("created", 333333), ("pending", 444444), ("failed", 555555), ("succeeded", 666666)):
        b.payments[state] = w.payment(account, amount, state).public_id
    db.session.add(
        Dispute(
            reference=B_DISPUTE,
            account_id=account.id,
            borrower_id=b_person.id,
            reason="already_paid",
            explanation=B_EXPLANATION,
            status="open",
            opened_at=utcnow(),
            answer_due_at=utcnow(),
        )
    )
    # B's plans: an agreed one, and a proposal being reviewed on a second loan.
    second = AccountFactory(borrower=b_person, account_number="ZXB55107392")
    b.plans["active"] = w.plan(account, "active").public_id
    b.plans["pending"] = w.plan(second, "pending").public_id
    w.collection_contacts(account)  # B's contact history: agent ids and agencies are B's alone
    db.session.commit()
    receipt = db.session.execute(
        select(Payment.receipt_number).where(Payment.public_id == b.payments["succeeded"])
    ).scalar_one()
    secrets = [B_NAME, B_PHONE, B_PHONE[3:], B_ACCOUNT, "•••• 7391", "&bull;&bull;&bull;&bull; 7391", receipt]
    secrets += [B_EXPLANATION]
    account = db.session.get(Account, account.id)
    for minor in (
        account.principal_minor,
        account.interest_minor,
        account.penalty_interest_minor,
        account.fees_minor,
        account.overdue_minor,
        333333,
        444444,
        555555,
        666666,
    ):
        if minor >= 100_000:  # 1,000.00 and more: a figure no page shows by chance
            secrets += [f"{minor // 100:,}.{minor % 100:02d}", f"{minor // 100}.{minor % 100:02d}"]
    return a, b, secrets


def identifiers(b: w.Borrower, code: str) -> dict[str, list[str]]:
    """B's value(s) for every URL argument name of the app. A route with an argument not
    named here fails the crawl until someone says what B's value for it is."""
    return {
        "account_id": [str(b.account.id)],
        "borrower_id": [str(b.account.borrower_id)],  # the staff console's borrower view
        "staff_id": ["1"],  # the staff console's admin pages
        "account_number": [B_ACCOUNT],
        "public_id": [*b.payments.values(), *b.plans.values()],
        "code": [code],
        "feature": ["plan", "rights", "complaint"],
        "filename": ["css/portal.css"],
        "name": list(PAGES),
        "reference": [B_DISPUTE],
        "contact_id": [f"Q-{b.account.id}-0", f"Q-{b.account.id}-2"],
    }


# Routes that may answer 2xx although filled with B's values, and why.
PUBLIC_BY_DESIGN = {
    "static": "the stylesheet is the same for everybody",
    "accounts.coming_soon": "the feature name is not B's",
    "rights.page": "the rights pages are the same for everybody",
    # Holding B's reminder link is what the link is for: it leads to the verification form
    # (which shows only the lender's name) and nothing more until B's answers are given.
    "access.open_link": "a reminder link opens the verification form for whoever holds it",
}


def urls(app, b, code):
    values = identifiers(b, code)
    rules = sorted(app.url_map.iter_rules(), key=lambda r: r.endpoint == "access.sign_out")
    for rule in rules:  # signing out last: everything else is requested while signed in
        missing = set(rule.arguments) - set(values)
        assert not missing, f"{rule.rule}: which value of borrower B fits {missing}? Add it above."
        combos = [{}]
        for name in rule.arguments:
            combos = [{**c, name: v} for c in combos for v in values[name]]
        for combo in combos:
            path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m, c=combo: c[m.group(1)], rule.rule)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield rule, method, path


def csrf_token(client) -> str:
    # The language switch on every page carries the session's CSRF token.
    return client.get("/signed-out").soup.find("input", attrs={"name": "csrf_token"})["value"]


def crawl(app, client, b, code, secrets) -> list[str]:
    token = csrf_token(client)
    form = {
        "csrf_token": token,
        "lang": "en",
        "next": f"/accounts/{b.account.id}",
        "method": "alipay",
        "choice": "instalment",
        "code": code,
        "kind": "instalments",
        "instalments": "3",
        "frequency": "monthly",
        "first_date": "2030-01-01",
        "hardship_reason": "illness",
        "option": "0",
        "amount": "10",
        "account_number": "TYPED-BY-A-0001",
        "date_of_birth": "20000101",
        "id_last4": "0000",
    }
    body = {
        "payment_method": "pm_card_visa",
        "account_number": "TYPED-BY-A-0001",
        "code": code,
        "overdue": "0.00",
        "principal": "0.00",
        "status": "settled",
    }
    problems = []
    for rule, method, path in urls(app, b, code):
        if method == "GET":
            attempts = [("GET", {})]
        else:
            attempts = [
                (f"{method} form", {"data": form}),
                (f"{method} json", {"data": json.dumps(body), "content_type": "application/json"}),
            ]
        for label, kwargs in attempts:
            response = client.open(path, method=method, headers={"X-CSRFToken": token}, **kwargs)
            text = response.get_data(as_text=True) + response.headers.get("Location", "")
            response.close()
            target = urlsplit(response.headers.get("Location", ""))
            if target.path and target.netloc in ("", "localhost"):
                # Where the redirect leads (the link's verification page, a language switch's
                # next page) must not show B's data either.
                followed = client.get(target.path + (f"?{target.query}" if target.query else ""))
                text += followed.get_data(as_text=True)
                followed.close()
            leaked = [s for s in secrets if s in text]
            if leaked:
                problems.append(f"{label} {path} -> {response.status_code} shows B's {leaked}")
            if rule.arguments and rule.endpoint not in PUBLIC_BY_DESIGN and 200 <= response.status_code < 300:
                problems.append(f"{label} {path} -> {response.status_code} with B's identifiers")
    return problems


def snapshot(db, b):
    """B's records, as plain values (only the link's open counter may change: anyone holding
    a link counts as opening it when they start verifying)."""
    db.session.expire_all()
    rows = []
    for model, where in (
        (Borrower, Borrower.id == b.borrower.id),
        (Account, Account.borrower_id == b.borrower.id),
        (Payment, Payment.account_id == b.account.id),
        (ReminderLink, ReminderLink.account_id == b.account.id),
        (Dispute, Dispute.borrower_id == b.borrower.id),
        (ContactPreference, ContactPreference.borrower_id == b.borrower.id),
        (RepaymentPlan, RepaymentPlan.account_id.in_(select(Account.id).where(Account.borrower_id == b.borrower.id))),
    ):
        for obj in db.session.execute(select(model).where(where).order_by(model.id)).scalars():
            rows.append(
                {
                    c.key: getattr(obj, c.key)
                    for c in model.__table__.columns
                    if c.key not in ("opened_count", "last_opened_at")
                }
            )
    return rows


@pytest.mark.parametrize("who", ["borrower A", "a visitor who is not signed in"])
def test_nobody_else_reaches_borrower_b(app, client, db, people, stripe_server, who):
    a, b, secrets = people
    code = b.link()
    if who == "borrower A":
        sign_in_through_link(client, a.account)
        own = client.get("/dashboard")
        assert "甲先生" in own.get_data(as_text=True)  # really signed in as A
        assert not [s for s in secrets if s in own.get_data(as_text=True)]
    before = snapshot(db, b)
    problems = crawl(app, client, b, code, secrets)
    assert not problems, "\n".join(problems)
    assert snapshot(db, b) == before


def test_the_crawl_sees_b_data_when_b_is_signed_in(app, client, db, people):
    """The check can fail: signed in as B, the same secrets are found on B's pages."""
    _, b, secrets = people
    sign_in_through_link(client, b.account)
    text = client.get(f"/accounts/{b.account.id}").get_data(as_text=True)
    text += client.get(f"/payments/{b.payments['succeeded']}").get_data(as_text=True)
    assert {B_NAME, "•••• 7391", "987,654.32"} - {s for s in secrets if s in text} == {B_NAME}
