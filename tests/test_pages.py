"""Every page, in every language, passes the page checks; headers and error pages."""

from __future__ import annotations

import pytest

from portal.i18n import LOCALES
from portal.plans import policy as policies
from tests.factories import AccountFactory
from tests.helpers import make_link, sign_in_through_link

PUBLIC = [
    "/",
    "/sign-in",
    "/signed-out",
    "/signed-out?reason=idle",
    "/r/unknown-code-123",
    "/rights",
    "/rights/collectors",
    "/genuine",
    "/complaint",
    "/complaint/status",
]
SIGNED_IN = [
    "/dashboard",
    "/accounts/{id}",
    "/accounts/{id}/pay",
    "/accounts/{id}/plan",
    "/accounts/{id}/plan/options",
    "/accounts/{id}/contacts",
    "/my-rights",
    "/my-rights/dispute",
    "/my-rights/documents",
    "/my-rights/contact",
] + [f"/coming-soon/{f}" for f in ("rights",)]


def rule_urls(app):
    return {rule.rule for rule in app.url_map.iter_rules()}


def test_the_crawl_covers_every_route(app):
    covered = {
        "/",
        "/sign-in",
        "/signed-out",
        "/r/<code>",
        "/dashboard",
        "/verify",
        "/coming-soon/<feature>",
        "/sign-out",
        "/language",
        "/static/<path:filename>",
        "/accounts/<int:account_id>",
        "/accounts/<int:account_id>/pay",
        # payment pages: crawled in every state by tests/test_payment_pages.py
        "/payments/<public_id>",
        "/payments/<public_id>/card",
        "/payments/<public_id>/wallet",
        "/stripe/webhook",
        # the complaint form, step by step: tests/test_complaints.py
        "/complaint",
        "/complaint/start",
        "/complaint/about",
        "/complaint/what",
        "/complaint/when",
        "/complaint/details",
        "/complaint/outcome",
        "/complaint/review",
        "/complaint/confirm",
        "/complaint/receipt",
        "/complaint/status",
        "/complaint/status/code",
        "/complaint/status/mine",
        "/complaint/status/view",
        # JSON API: tests/api/ and the schemathesis run
        "/api/v1/accounts/<path:account_number>",
        "/api/v1/accounts:batch",
        "/api/v1/events",
        "/api/v1/openapi.json",
        "/api/v1/reminder-links",
        "/api/v1/reminder-links/<code>",
        # repayment plans: the two GET steps here, every page and POST in tests/test_plans.py
        "/accounts/<int:account_id>/plan",
        "/accounts/<int:account_id>/plan/options",
        "/accounts/<int:account_id>/plan/preview",
        "/accounts/<int:account_id>/plan/submit",
        "/plans/<public_id>",
        "/plans/<public_id>/confirm",
        "/plans/<public_id>/withdraw",
        "/plans/<public_id>/certificate",
        # rights centre: every content page in every locale, the dispute, document and contact
        # forms with their code steps, in tests/test_rights.py
        "/rights",
        "/rights/<name>",
        "/genuine",
        "/my-rights",
        "/my-rights/dispute",
        "/my-rights/disputes/<reference>",
        "/my-rights/disputes/<reference>/confirm",
        "/my-rights/documents",
        "/my-rights/contact",
        # collection contacts: the API in tests/api/test_contacts_api.py, the history here and
        # in tests/test_contact_history.py
        "/api/v1/contacts",
        "/api/v1/contacts:batch",
        "/api/v1/contacts/<path:contact_id>",
        "/accounts/<int:account_id>/contacts",
        # staff console: every route with every role, and every page in every language, in
        # tests/test_staff.py
        "/staff/",
        "/staff/two-factor",
        "/staff/enrol",
        "/staff/sign-out",
        "/staff/signed-out",
        "/staff/console",
        "/staff/search",
        "/staff/borrowers/<int:borrower_id>",
        "/staff/borrowers/<int:borrower_id>/accounts/<int:account_id>/unlock",
        "/staff/borrowers/<int:borrower_id>/accounts/<int:account_id>/link",
        "/staff/plans",
        "/staff/plans/<public_id>",
        "/staff/payments/stale",
        "/staff/audit",
        "/staff/audit.csv",
        "/staff/admin/staff",
        "/staff/admin/staff/<int:staff_id>/sessions/end",
        "/staff/admin/staff/<int:staff_id>/disable",
    }
    assert rule_urls(app) == covered, "a new route needs a place in this crawl"


@pytest.mark.parametrize("locale", LOCALES)
def test_every_public_page_in_every_language(client, db, locale):
    client.set_cookie("portal_lang", locale)
    for url in PUBLIC:
        response = client.get(url)
        assert response.status_code in (200, 404), url
        assert response.soup.html["lang"] == {"zh_Hans": "zh-Hans", "zh_Hant": "zh-Hant", "en": "en"}[locale]
    account = AccountFactory()
    response = client.get(f"/r/{make_link(account)}", follow_redirects=True)
    assert response.request.path == "/verify" and response.status_code == 200


@pytest.mark.parametrize("locale", LOCALES)
def test_every_signed_in_page_in_every_language(client, db, locale):
    client.set_cookie("portal_lang", locale)
    account = AccountFactory()
    policies.set_policy(account.lender, policies.STANDARD, actor_type="test")
    db.session.commit()
    sign_in_through_link(client, account)
    for url in SIGNED_IN:
        response = client.get(url.format(id=account.id))
        assert response.status_code == 200, url


def test_security_headers(client, db):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert "script-src" not in csp  # no page of this slice runs a script
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "Strict-Transport-Security" not in response.headers  # development/testing


def test_link_redirect_sends_no_referrer(client, db):
    response = client.get(f"/r/{make_link(AccountFactory())}")
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_hsts_in_production(make_app):
    app = make_app(HSTS=True)
    assert "max-age=31536000" in app.test_client().get("/").headers["Strict-Transport-Security"]


def test_static_files_may_be_cached(client):
    response = client.get("/static/css/portal.css")
    assert response.status_code == 200
    assert response.headers.get("Cache-Control") != "no-store"
    response.close()


def test_404_is_a_friendly_page(client, db):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert response.soup.find("a", href="/")


def test_wrong_method_is_a_page_not_a_stack_trace(client, db):
    assert client.get("/sign-out").status_code == 405
    assert client.delete("/dashboard").status_code == 405


def test_post_without_csrf_is_refused_politely(client, db):
    response = client.post("/sign-in", data={"account_number": "X"})
    assert response.status_code == 400
    assert response.soup.h1


def test_huge_post_is_refused(client, db):
    response = client.post("/sign-in", data={"account_number": "x" * (13 * 1024 * 1024)})
    assert response.status_code == 413


def test_an_unexpected_error_is_a_calm_500_page(make_app, db):
    app = make_app()

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals")

    response = app.test_client().get("/boom")
    assert response.status_code == 500
    assert "secret internals" not in response.get_data(as_text=True)
    assert response.soup.find("a", href="/")


def test_a_typed_address_with_control_characters_never_reaches_the_page(client, db):
    # The language switch sends the reader back to this address: escaped, never echoed raw
    # (the page checker refuses control characters in the HTML).
    page = client.get("/no/such%01page?x=%02y")
    assert page.status_code == 404
    assert page.soup.find("input", attrs={"name": "next"})["value"] == "/no/such%01page?x=%02y"
