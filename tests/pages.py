"""A test client that checks, on every HTML page it fetches, what every page must get right.

One <h1>, a <title> that starts with the <h1>'s text (GOV.UK Notify's check: a screen reader's
first words match the page), a nonce on every <script>, no duplicate ids, an action and (for a
POST) a CSRF token on every form, a page that parses as HTML without errors, and security
headers. html5lib, the browsers' parsing algorithm, reports the errors; the tree the tests
read is built by lxml, which is much faster (the page has no errors by then). Plus a tiny form
helper so tests fill in forms the way a person does (and CSRF stays on).
"""

from __future__ import annotations

import re
from collections import Counter

import html5lib
from bs4 import BeautifulSoup
from flask.testing import FlaskClient


class PageProblem(AssertionError):
    pass


def check_page(response) -> BeautifulSoup:
    text = response.get_data(as_text=True)
    parser = html5lib.HTMLParser(strict=False)
    parser.parse(text)
    # html5lib reports every parse error; only a doctype-less or broken page produces any.
    if parser.errors:
        raise PageProblem(f"HTML parse errors: {parser.errors[:3]}")
    soup = BeautifulSoup(text, "lxml")
    h1s = soup.find_all("h1")
    if len(h1s) != 1:
        raise PageProblem(f"expected one <h1>, found {len(h1s)}")
    if not soup.title or not soup.title.get_text(strip=True):
        raise PageProblem("page has no <title>")
    heading, title = (" ".join(tag.get_text(" ").split()) for tag in (h1s[0], soup.title))
    if not title.startswith(heading):
        raise PageProblem(f"<title> {title!r} does not start with the <h1> {heading!r}")
    if not soup.html.get("lang"):
        raise PageProblem("<html> has no lang attribute")
    csp = response.headers.get("Content-Security-Policy", "")
    for script in soup.find_all("script"):
        nonce = script.get("nonce")
        if not nonce or f"'nonce-{nonce}'" not in csp:
            raise PageProblem(f"<script> without the response's CSP nonce: {script}")
    ids = Counter(tag["id"] for tag in soup.find_all(id=True))
    duplicates = [name for name, count in ids.items() if count > 1]
    if duplicates:
        raise PageProblem(f"duplicate ids: {duplicates}")
    for form in soup.find_all("form"):
        if not form.get("action"):
            raise PageProblem(f"a form without an action: {str(form)[:120]}")
        if form.get("method", "get").lower() == "post" and not form.find("input", attrs={"name": "csrf_token"}):
            raise PageProblem(f"POST form without CSRF token: {form.get('action')}")
    for label in soup.find_all("label"):
        target = label.get("for")
        if target and not soup.find(id=target):
            raise PageProblem(f"label for missing field {target}")
    for header in ("Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy"):
        if header not in response.headers:
            raise PageProblem(f"missing header {header}")
    if "unsafe-inline" in csp:
        raise PageProblem("CSP allows unsafe-inline")
    return soup


class PageCheckingClient(FlaskClient):
    def open(self, *args, **kwargs):
        # A fresh app context per request, as in production: otherwise a request reuses the
        # test's own context, and with it ``g`` (CSRF token, locale) and the DB session.
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        if response.mimetype == "text/html" and response.status_code not in (204, 301, 302, 303, 307):
            response.soup = check_page(response)
        return response

    def submit(
        self,
        url: str,
        data: dict | None = None,
        *,
        form_index: int = 0,
        button: tuple[str, str] | None = None,
        follow_redirects: bool = False,
    ):
        """GET the page, fill in its form like a person, and POST it to the form's action."""
        page = self.get(url)
        assert page.status_code < 400, f"cannot open {url}: {page.status_code}"
        # The page's own forms first (in <main>), then the footer's language switch; the
        # header's sign-out button is never picked by accident.
        main = page.soup.find("main")
        forms = [
            f
            for f in main.find_all("form") + page.soup.find("footer").find_all("form")
            if f.get("method", "").lower() == "post"
        ]
        form = forms[form_index]
        values = {field["name"]: field.get("value", "") for field in form.find_all("input") if field.get("name")}
        values.update(data or {})
        if button:
            values[button[0]] = button[1]
        return self.post(form.get("action") or url, data=values, follow_redirects=follow_redirects)


def text_of(response) -> str:
    """The visible text of a page, with whitespace folded, for assertions a person would make."""
    return re.sub(r"\s+", " ", response.soup.get_text(" ")).strip()
