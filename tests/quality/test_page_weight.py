"""Every borrower page weighs at most 20 KB on the wire, as a phone on a cold cache gets it.

Real Chromium with its cache disabled, so every page pays for its stylesheet and icon as a
first visit does. Bytes are Chromium's own count of what arrived (DevTools'
``Network.loadingFinished.encodedDataLength``): compressed bodies plus response headers.
The HTML is compressed by the app (brotli/gzip, Flask-Compress); static files are counted as
sent. Stripe's script and anything else from Stripe's hosts (localstripe in the tests) is not
counted: DESIGN.md's budget excludes it. Run with ``-s`` to see the table.
"""

from __future__ import annotations

import pytest

from portal.rights.content import PAGES
from tests.quality import world as w

pytestmark = [pytest.mark.browser, pytest.mark.committing]

BUDGET = 20 * 1024
STRIPE_HOSTS = ("js.stripe.com", "api.stripe.com", "stripe.network", "hooks.stripe.com")


class WireMeter:
    """Counts what each page load transfers, per request, through a DevTools session.

    Requests are grouped by DevTools' loader id: a document and everything it loads, the icon
    included, share one, so a late request of the previous page is never counted twice.
    """

    def __init__(self, context, page, stripe_base: str | None):
        self.page = page
        self.stripe_base = stripe_base
        self.cdp = context.new_cdp_session(page)
        self.cdp.send("Network.enable")
        self.cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        self.requests: dict[str, dict] = {}
        self.cdp.on("Network.requestWillBeSent", self._sent)
        self.cdp.on("Network.responseReceived", self._response)
        self.cdp.on("Network.loadingFinished", self._finished)
        self.cdp.on("Network.loadingFailed", self._failed)

    def _sent(self, event):
        known = self.requests.get(event["requestId"])
        # A redirect (the reminder link's 303) keeps the request id: add what it cost.
        redirected = event["redirectResponse"]["encodedDataLength"] if known and event.get("redirectResponse") else 0
        self.requests[event["requestId"]] = {
            "url": event["request"]["url"],
            "loader": event.get("loaderId"),
            "type": event.get("type", ""),
            "encoding": "",
            "bytes": None,
            "redirects": (known["redirects"] if known else 0) + redirected,
            "order": len(self.requests),
        }

    def _response(self, event):
        headers = {k.lower(): v for k, v in event["response"]["headers"].items()}
        self.requests[event["requestId"]]["encoding"] = headers.get("content-encoding", "")

    def _finished(self, event):
        request = self.requests[event["requestId"]]
        request["bytes"] = event["encodedDataLength"] + request["redirects"]

    def _failed(self, event):
        self.requests[event["requestId"]]["bytes"] = 0

    def is_stripe(self, url: str) -> bool:
        return any(host in url for host in STRIPE_HOSTS) or bool(self.stripe_base and url.startswith(self.stripe_base))

    def _of(self, loader: str) -> list[dict]:
        return [r for r in self.requests.values() if r["loader"] == loader]

    def load(self, url: str, *, ready: str | None = None) -> list[dict]:
        """Open ``url``; return every request of that page load once all have finished (the
        icon, fetched after the load event, included)."""
        before = len(self.requests)
        response = self.page.goto(url)
        assert response is not None and response.status < 400, (url, response and response.status)
        if ready:
            self.page.wait_for_selector(ready)
        for _ in range(300):
            documents = [
                r
                for r in self.requests.values()
                if r["order"] >= before and r["type"] == "Document" and r["url"] == self.page.url
            ]
            if documents:
                mine = self._of(documents[-1]["loader"])
                if all(r["bytes"] is not None for r in mine) and any(r["url"].endswith("favicon.svg") for r in mine):
                    return mine
            self.page.wait_for_timeout(10)  # lets Playwright deliver the DevTools events
        raise AssertionError(f"{url}: still loading after 3 s: {self.requests}")


def row(page_name: str, locale: str, requests: list[dict], meter: WireMeter) -> dict:
    counted = [r for r in requests if not meter.is_stripe(r["url"])]
    document = next(r for r in counted if r["type"] == "Document")
    return {
        "page": page_name,
        "locale": locale,
        "requests": len(counted),
        "html": document["bytes"],
        "encoding": document["encoding"] or "none",
        "other": sum(r["bytes"] for r in counted) - document["bytes"],
        "total": sum(r["bytes"] for r in counted),
        "stripe": sum(r["bytes"] or 0 for r in requests if meter.is_stripe(r["url"])),
    }


def table(rows: list[dict]) -> str:
    lines = [
        f"{'page':<22} {'locale':<8} {'req':>3} {'html':>6} {'enc':>5} {'static':>8} "
        f"{'total':>7} {'budget':>7}  (Stripe, not counted)"
    ]
    for r in rows:
        flag = "" if r["total"] <= BUDGET else "  OVER BUDGET"
        lines.append(
            f"{r['page']:<22} {r['locale']:<8} {r['requests']:>3} {r['html']:>6} "
            f"{r['encoding']:>5} {r['other']:>8} {r['total']:>7} {BUDGET:>7}  "
            f"({r['stripe']}){flag}"
        )
    return "\n".join(lines)


@pytest.mark.parametrize("locale", ["zh_Hans", "en"])
def test_every_borrower_page_is_at_most_20_kb(chromium, live_server, app, db, stripe_server, locale):
    # A borrower with six loans and a history of ten payments: more than most people have.
    world = w.make_borrower(
        accounts=6,
        history=10,
        states=("succeeded", "failed", "pending", "created"),
        plan_states=("active", "pending", "completed", "offered", "declined"),
    )
    account = world.account.id
    context = w.phone_context(chromium, live_server, locale)
    page = context.new_page()
    meter = WireMeter(context, page, app.config["STRIPE_API_BASE"])
    rows = []

    def measure(name, url, **kwargs):
        requests = meter.load(url, **kwargs)
        rows.append(row(name, locale, requests, meter))

    try:
        measure("landing (sign-in)", f"{live_server}/")
        measure("sign-in", f"{live_server}/sign-in")
        measure("verify", f"{live_server}/r/{world.link()}")
        page.fill("#date_of_birth", w.DOB)
        page.fill("#id_last4", world.last4)
        with page.expect_navigation(url=f"{live_server}/dashboard"):
            page.click("main button[type=submit]")
        measure("dashboard", f"{live_server}/dashboard")
        measure("account", f"{live_server}/accounts/{account}")
        measure("contact history", f"{live_server}/accounts/{account}/contacts")
        measure("pay (amount)", f"{live_server}/accounts/{account}/pay")
        measure("pay (card)", f"{live_server}/payments/{world.payments['created']}", ready="#card-element input")
        measure("payment pending", f"{live_server}/payments/{world.payments['pending']}")
        measure("payment failed", f"{live_server}/payments/{world.payments['failed']}")
        measure("receipt", f"{live_server}/payments/{world.payments['succeeded']}")
        for feature in ("rights",):
            measure(f"coming soon: {feature}", f"{live_server}/coming-soon/{feature}")
        fresh = world.accounts[5].id
        measure("plan: what you can manage", f"{live_server}/accounts/{fresh}/plan")
        measure("plan: options", f"{live_server}/accounts/{fresh}/plan/options")
        # (The schedule preview answers a POST; its weight is the options page's plus a table.)
        measure("plan: agreement", f"{live_server}/plans/{world.plans['active']}")
        measure("plan: being reviewed", f"{live_server}/plans/{world.plans['pending']}")
        measure("plan: certificate", f"{live_server}/plans/{world.plans['completed']}/certificate")
        measure("rights: index", f"{live_server}/rights")
        for name in PAGES:
            measure(f"rights: {name}", f"{live_server}/rights/{name}")
        measure("genuine", f"{live_server}/genuine")
        measure("dispute form", f"{live_server}/my-rights/dispute")
        measure("documents form", f"{live_server}/my-rights/documents")
        measure("contact preferences", f"{live_server}/my-rights/contact")
        measure("your requests", f"{live_server}/my-rights")
        measure("complaint", f"{live_server}/complaint")
        with page.expect_navigation(url=f"{live_server}/complaint/what"):
            page.click("main button[type=submit]")
        for step in ("what", "when", "details", "outcome"):
            measure(f"complaint: {step}", f"{live_server}/complaint/{step}")
        measure("complaint status", f"{live_server}/complaint/status")
        with page.expect_navigation(url=f"{live_server}/signed-out"):
            page.click("header button[type=submit]")  # sign out
        measure("signed out", f"{live_server}/signed-out")
    finally:
        context.close()

    report = table(rows)
    print(f"\nBytes on the wire per page, cold cache (budget {BUDGET} B):\n{report}")
    # The HTML really is compressed: a page sent plain would hide in a generous budget today
    # and blow it tomorrow.
    assert all(r["encoding"] in ("br", "gzip") for r in rows), report
    assert all(r["total"] <= BUDGET for r in rows), f"over the {BUDGET} B budget:\n{report}"
