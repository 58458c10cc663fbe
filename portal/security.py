"""Security headers, all in one after-request hook, with a fresh CSP nonce per request.

The policy starts from ``default-src 'none'`` and adds only what pages need. A view that
needs more (the pay page and Stripe's hosts) calls ``allow_csp`` for its own response.
"""

from __future__ import annotations

import secrets

from flask import Flask, abort, g, request

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


def _content_security_policy() -> str:
    policy = {key: list(values) for key, values in BASE_CSP.items()}
    if "csp_nonce" in g:
        policy.setdefault("script-src", []).append(f"'nonce-{g.csp_nonce}'")
    for directive, sources in g.get("csp_extra", {}).items():
        policy.setdefault(directive, []).extend(sources)
    return "; ".join(f"{key} {' '.join(values)}" for key, values in policy.items())


def init_app(app: Flask) -> None:
    app.jinja_env.globals["csp_nonce"] = csp_nonce

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
        headers["X-Content-Type-Options"] = "nosniff"
        headers["X-Frame-Options"] = "DENY"
        headers["Referrer-Policy"] = g.get("referrer_policy", "same-origin")
        headers["Cross-Origin-Opener-Policy"] = "same-origin"
        headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), payment=(self)"
        if app.config["HSTS"]:
            headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        if request.endpoint != "static":
            # Pages carry personal data; nothing may keep a copy (shared phones, back button).
            headers["Cache-Control"] = "no-store"
        return response
