"""axe-core finds no accessibility violations on any borrower page, in zh_Hans and en.

Real Chromium at phone size, signed in through a reminder link as a person would be. Every
state a borrower can meet is visited: the forms empty and with errors, a wrong answer, each
payment state, the coming-soon pages, signed out. axe (the axe-core bundled with
axe-playwright-python) runs its default rule set: its WCAG A and AA rules and Deque's best
practices. The test fails listing every violation with the page, the rule, and the offending
elements.
"""

from __future__ import annotations

import threading
from pathlib import Path

import axe_playwright_python
import pytest
from werkzeug.serving import make_server

from portal.rights.content import PAGES
from tests.quality import world as w

pytestmark = [pytest.mark.browser, pytest.mark.committing]

AXE_SCRIPT = (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text()

# The card field is Stripe's: in production an iframe from js.stripe.com that Stripe makes
# accessible; in the tests, localstripe's stand-in (bare inputs with placeholders). Neither is
# our markup, so axe looks at everything on the card page except inside it.
EXCLUDE = {"card": ["#card-element"]}


def axe_context(chromium, live_server, locale=None):
    """A phone profile with axe loaded into every page before the page's own scripts (an
    init script is not subject to the page's CSP, which allows no inline or injected script)."""
    context = w.phone_context(chromium, live_server, locale)
    context.add_init_script(AXE_SCRIPT)
    return context


def axe(page, name: str) -> list[str]:
    """Run axe on the page as it is now; one line per violation."""
    context = {"exclude": [[selector] for selector in EXCLUDE.get(name, [])]}
    results = page.evaluate(
        "([context, options]) => axe.run(context.exclude.length ? context : document, options)",
        [context, {"resultTypes": ["violations"]}],
    )
    problems = []
    for violation in results["violations"]:
        targets = ", ".join(" ".join(node["target"]) for node in violation["nodes"][:5])
        problems.append(
            f"{name} ({page.url}): {violation['id']} [{violation['impact']}] {violation['help']} -> {targets}"
        )
    return problems


def visit(page, url: str, name: str, problems: list[str] | None) -> None:
    response = page.goto(url)
    assert response is not None and response.status < 500, (url, response and response.status)
    if problems is not None:
        problems.extend(axe(page, name))


@pytest.mark.parametrize("locale", ["zh_Hans", "en"])
def test_no_axe_violations_on_public_pages(chromium, live_server, db, locale):
    world = w.make_borrower(accounts=1)
    context = axe_context(chromium, live_server, locale)
    page = context.new_page()
    problems: list[str] = []
    try:
        visit(page, f"{live_server}/", "landing", problems)
        page.click("main button[type=submit]")  # nothing filled in: every field in error
        page.wait_for_selector(".error-summary")
        problems.extend(axe(page, "sign-in with errors"))
        visit(page, f"{live_server}/r/{world.link(locale)}", "verify", problems)
        page.fill("#date_of_birth", w.DOB)
        page.fill("#id_last4", "0000")
        page.click("main button[type=submit]")
        page.wait_for_selector("[role=alert]")
        problems.extend(axe(page, "verify, wrong answer"))
        page.fill("#date_of_birth", "1990")
        page.click("main button[type=submit]")
        page.wait_for_selector(".field--error")
        problems.extend(axe(page, "verify, invalid date"))
        visit(page, f"{live_server}/r/AAAAAAAAAAAAAAAA", "unknown link", problems)
        visit(page, f"{live_server}/no/such/page", "not found", problems)
        visit(page, f"{live_server}/signed-out?reason=idle", "signed out (idle)", problems)
        visit(page, f"{live_server}/rights?lang={locale}", "rights index", problems)
        for name in PAGES:
            visit(page, f"{live_server}/rights/{name}?lang={locale}", f"rights: {name}", problems)
        visit(page, f"{live_server}/rights/complaints?region=hk", "rights: complaints (Hong Kong)", problems)
        visit(page, f"{live_server}/genuine?lang={locale}", "genuine", problems)
    finally:
        context.close()
    assert not problems, "axe violations:\n" + "\n".join(problems)


@pytest.mark.parametrize("locale", ["zh_Hans", "en"])
def test_no_axe_violations_on_signed_in_pages(chromium, live_server, db, stripe_server, locale):
    world = w.make_borrower(
        accounts=6,
        history=3,
        states=("succeeded", "failed", "pending", "created"),
        plan_states=("active", "pending", "completed", "offered", "declined"),
    )
    account = world.account.id
    context = axe_context(chromium, live_server)
    page = context.new_page()
    problems: list[str] = []
    try:
        w.sign_in(page, live_server, world, locale)
        problems.extend(axe(page, "dashboard"))
        visit(page, f"{live_server}/accounts/{account}", "account", problems)
        visit(page, f"{live_server}/accounts/{account}/contacts", "contact history", problems)
        visit(page, f"{live_server}/accounts/{account}/pay", "pay amount", problems)
        page.check("#choice-other")
        page.fill("#amount", "0.001")
        page.click("main button[type=submit]")
        page.wait_for_selector(".error-summary")
        problems.extend(axe(page, "pay amount with error"))
        card = f"{live_server}/payments/{world.payments['created']}"
        visit(page, card, "card", None)
        page.wait_for_selector("#card-element input")  # Stripe's field is mounted
        problems.extend(axe(page, "card"))
        for state in ("pending", "failed", "succeeded"):
            visit(page, f"{live_server}/payments/{world.payments[state]}", state, problems)
        for feature in ("rights",):
            visit(page, f"{live_server}/coming-soon/{feature}", f"coming soon: {feature}", problems)
        fresh = world.accounts[5].id
        visit(page, f"{live_server}/accounts/{fresh}/plan", "plan: what you can manage", problems)
        page.fill("#income", "abc")
        page.click("main form button[type=submit]")
        page.wait_for_selector(".error-summary")
        problems.extend(axe(page, "plan: what you can manage, with an error"))
        visit(page, f"{live_server}/accounts/{fresh}/plan/options", "plan: options", problems)
        page.click("main section.card button[type=submit]")
        page.wait_for_selector("table.schedule")
        problems.extend(axe(page, "plan: preview"))
        page.click("main button[name=send]")  # no reason chosen yet: the message by the field
        page.wait_for_selector(".error-summary")
        problems.extend(axe(page, "plan: preview with an error"))
        page.check("#reason-other")
        page.click("main button[name=send]")
        page.wait_for_selector("#code")
        problems.extend(axe(page, "plan: confirm with the code"))
        visit(page, f"{live_server}/plans/{world.plans['active']}", "plan: agreement", problems)
        visit(page, f"{live_server}/plans/{world.plans['pending']}", "plan: being reviewed", problems)
        visit(page, f"{live_server}/plans/{world.plans['completed']}/certificate", "plan: certificate", problems)
        visit(page, f"{live_server}/plans/{world.plans['offered']}/confirm", "plan: counter-offer", problems)
        visit(page, f"{live_server}/plans/{world.plans['declined']}", "plan: counter-offer declined", problems)
        visit(page, f"{live_server}/my-rights/dispute", "dispute form", problems)
        page.fill("#explanation", "")
        page.click("main button[type=submit]")
        page.wait_for_selector(".error-summary")
        problems.extend(axe(page, "dispute form with error"))
        page.fill("#explanation", "金额不对")
        page.click("main button[type=submit]")
        page.wait_for_selector("#code")
        problems.extend(axe(page, "dispute code step"))
        visit(page, f"{live_server}/my-rights/documents", "documents form", problems)
        page.click("main button[type=submit]")
        page.wait_for_selector(".error-summary")
        problems.extend(axe(page, "documents form with error"))
        visit(page, f"{live_server}/my-rights/contact", "contact preferences", problems)
        page.select_option("#hours_from", "20:00")
        page.select_option("#hours_until", "09:00")
        page.click("main button[type=submit]")
        page.wait_for_selector(".error-summary")
        problems.extend(axe(page, "contact preferences with error"))
        page.select_option("#hours_from", "09:00")
        page.select_option("#hours_until", "20:00")
        page.click("main button[type=submit]")
        page.wait_for_selector("#code")
        problems.extend(axe(page, "contact preferences code step"))
        visit(page, f"{live_server}/my-rights", "your requests", problems)
        # The complaint form: each step, one with its error messages, and the status page.
        visit(page, f"{live_server}/complaint", "complaint", problems)
        page.click("main button[type=submit]")
        page.wait_for_url(f"{live_server}/complaint/what")
        page.click("button[name=continue]")
        page.wait_for_selector(".error-summary")
        problems.extend(axe(page, "complaint: what, with an error"))
        for step in ("when", "details", "outcome"):
            visit(page, f"{live_server}/complaint/{step}", f"complaint: {step}", problems)
        visit(page, f"{live_server}/complaint/status", "complaint status", problems)
        page.goto(f"{live_server}/dashboard")
        page.click("header button[type=submit]")  # sign out
        page.wait_for_url(f"{live_server}/signed-out")
        problems.extend(axe(page, "signed out"))
    finally:
        context.close()
    assert not problems, "axe violations:\n" + "\n".join(problems)


@pytest.mark.parametrize("locale", ["zh_Hans", "en"])
def test_no_axe_violations_on_the_database_busy_page(chromium, make_app, locale):
    # What every borrower sees while the database restarts (errors.py): a page of its own.
    app = make_app(SQLALCHEMY_DATABASE_URI="postgresql+psycopg://postgres@127.0.0.1:1/unreachable")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    context = axe_context(chromium, base, locale)
    try:
        response = context.new_page().goto(f"{base}/r/AAAAAAAAAAAAAAAA")
        assert response is not None and response.status == 503
        problems = axe(context.pages[0], "database busy")
    finally:
        context.close()
        server.shutdown()
        thread.join()
    assert not problems, "axe violations:\n" + "\n".join(problems)
