"""The speed layer of templates changes no byte of any page.

Every page, in every language, rendered by the portal's per-language compiled templates and by
stock Flask-Babel + Jinja (PRECOMPILED_TRANSLATIONS off) must be the same HTML, once the two
values that differ on purpose between any two responses (the CSP nonce and the CSRF token) are
set aside.
"""

from __future__ import annotations

import re

import pytest

from portal.i18n import LOCALE_COOKIE, LOCALES
from portal.models import Account
from tests.helpers import sign_in_through_link
from tests.quality import world as w

SECRET = "the-same-secret-for-both-apps-0123456789abcdef"
VOLATILE = [
    (re.compile(r'nonce="[^"]+"'), 'nonce="…"'),
    (re.compile(r'name="csrf_token" type="hidden" value="[^"]+"'), 'name="csrf_token" type="hidden" value="…"'),
    (re.compile(r'name="csrf_token" value="[^"]+"'), 'name="csrf_token" value="…"'),
    (re.compile(r'data-csrf="[^"]+"'), 'data-csrf="…"'),
]


def stable(html: str) -> str:
    for pattern, replacement in VOLATILE:
        html = pattern.sub(replacement, html)
    return html


@pytest.fixture
def both(make_app):
    fast = make_app(SECRET_KEY=SECRET)
    stock = make_app(SECRET_KEY=SECRET, PRECOMPILED_TRANSLATIONS=False)
    assert fast.jinja_env.__class__ is not stock.jinja_env.__class__  # the layer really is off
    return fast.test_client(), stock.test_client()


def same_page(fast, stock, url: str, locale: str, method: str = "GET", data: dict | None = None) -> int:
    for client in (fast, stock):
        client.set_cookie(LOCALE_COOKIE, locale)
    responses = [client.open(url, method=method, data=data) for client in (fast, stock)]
    assert responses[0].status_code == responses[1].status_code, url
    first, second = (stable(r.get_data(as_text=True)) for r in responses)
    assert first == second, f"{url} in {locale} differs"
    return responses[0].status_code


def test_every_page_is_the_same_with_and_without_precompiled_translations(both, db):
    fast, stock = both
    world = w.make_borrower(
        accounts=2, history=3, states=("created", "pending", "failed", "succeeded"), plan_states=("active",)
    )
    account = world.account.id
    for locale in LOCALES:
        for url in ("/", "/sign-in", "/signed-out", "/signed-out?reason=idle", "/no-such-page"):
            same_page(fast, stock, url, locale)
        fast.get(f"/r/{world.link()}")
        stock.set_cookie("portal_session", fast.get_cookie("portal_session").value)
        assert same_page(fast, stock, "/verify", locale) == 200

    sign_in_through_link(fast, world.account)
    stock.set_cookie("portal_session", fast.get_cookie("portal_session").value)
    signed_in = [
        "/dashboard",
        f"/accounts/{account}",
        f"/accounts/{account}/pay",
        f"/accounts/{account}/plan",
        f"/accounts/{account}/plan/options",
        *(f"/payments/{public_id}" for public_id in world.payments.values()),
    ]
    for locale in LOCALES:
        for url in signed_in:
            assert same_page(fast, stock, url, locale) == 200, url
        # A form sent back with errors (no CSRF token needed to compare: both refuse alike).
        assert same_page(fast, stock, f"/accounts/{account}/pay", locale, "POST", {"choice": "other"}) == 400

    # A card page left open while the account changed: the amount form, with the reason.
    figures = db.session.get(Account, account)
    figures.principal_minor -= figures.overdue_minor - 1000
    figures.overdue_minor = 1000  # less than the 50.00 the created payment was for
    db.session.commit()
    for locale in LOCALES:
        assert same_page(fast, stock, f"/payments/{world.payments['created']}", locale) == 200
