"""Security headers, all in one after-request hook, with a fresh CSP nonce per request.

The policy starts from ``default-src 'none'`` and adds only what pages need. A view that
needs more (the pay page and Stripe's hosts) calls ``allow_csp`` for its own response.

Every response carries them, errors included: a WSGI middleware adds the fixed ones (and the
base policy) to any response that left Flask without them, which happens when an after-request
hook fails while an error is being answered (Flask then skips the remaining hooks).
"""

from __future__ import annotations

import functools
import secrets

from flask import Flask, abort, g, request

# How long browsers and shared caches may keep a public page (the rights pages): an hour, so a
# reviewed correction reaches readers the same day.
PUBLIC_MAX_AGE = 3600

BASE_CSP = {
    "default-src": ["'none'"],
    "style-src": ["'self'"],
    "img-src": ["'self'"],
    "form-action": ["'self'"],
    "base-uri": ["'none'"],
    "frame-ancestors": ["'none'"],
}


def csp_nonce() -> str:
    """The nonce for this response's <script> tags; only pages that ask for one get script-src."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def allow_csp(directive: str, *sources: str) -> None:
    g.setdefault("csp_extra", {}).setdefault(directive, []).extend(sources)


def use_referrer_policy(policy: str) -> None:
    """Pages whose URL carries a secret use "no-referrer"; the default keeps CSRF's Referer check."""
    g.referrer_policy = policy


def public_page(view):
    """Mark a view as the same for everybody: no personal data, no form, no cookie. Its
    response may be cached (unlike every other page) and indexed by search engines.

    A response that sets a cookie anyway (a signed-in visitor's session being refreshed) stays
    ``no-store``: a shared cache must never keep someone's cookie."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        g.public_page = True
        return view(*args, **kwargs)

    return wrapper


def _content_security_policy() -> str:
    policy = {key: list(values) for key, values in BASE_CSP.items()}
    if "csp_nonce" in g:
        policy.setdefault("script-src", []).append(f"'nonce-{g.csp_nonce}'")
    for directive, sources in g.get("csp_extra", {}).items():
        policy.setdefault(directive, []).extend(sources)
    return "; ".join(f"{key} {' '.join(values)}" for key, values in policy.items())


def _fixed_headers(hsts: bool) -> list[tuple[str, str]]:
    headers = [
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
        ("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(self)"),
    ]
    if hsts:
        headers.append(("Strict-Transport-Security", "max-age=31536000; includeSubDomains"))
    return headers


class AlwaysSecured:
    """WSGI middleware: the security headers on every response, whatever happened inside Flask.

    Adds only what is missing, so the per-request policy of the after-request hook stands.
    """

    def __init__(self, wsgi_app, hsts: bool):
        base_policy = "; ".join(f"{key} {' '.join(values)}" for key, values in BASE_CSP.items())
        self.wsgi_app = wsgi_app
        self.defaults = [
            ("Content-Security-Policy", base_policy),
            *_fixed_headers(hsts),
            ("Referrer-Policy", "same-origin"),
            ("Cache-Control", "no-store"),
        ]

    def __call__(self, environ, start_response):
        def start(status, headers, exc_info=None):
            present = {name.lower() for name, _ in headers}
            headers = list(headers) + [(n, v) for n, v in self.defaults if n.lower() not in present]
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, start)


def init_app(app: Flask) -> None:
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    app.wsgi_app = AlwaysSecured(app.wsgi_app, app.config["HSTS"])  # type: ignore[method-assign]

    @app.before_request
    def refuse_nul_characters():
        # No address of ours has a NUL character in it, and PostgreSQL cannot compare with one:
        # a 400 here rather than a 500 from inside a query.
        if "\x00" in request.path or b"%00" in request.query_string:
            abort(400)

    @app.after_request
    def security_headers(response):
        headers = response.headers
        headers["Content-Security-Policy"] = _content_security_policy()
        headers["Referrer-Policy"] = g.get("referrer_policy", "same-origin")
        for name, value in _fixed_headers(app.config["HSTS"]):
            headers[name] = value
        if g.get("public_page") and response.status_code == 200 and "Set-Cookie" not in headers:
            headers["Cache-Control"] = f"public, max-age={PUBLIC_MAX_AGE}"
            # The language follows the address's ?lang=, else the switch's cookie, else the browser.
            response.vary.update(("Accept-Language", "Cookie"))
        elif request.endpoint != "static":
            # Pages carry personal data; nothing may keep a copy (shared phones, back button).
            headers["Cache-Control"] = "no-store"
        return response
