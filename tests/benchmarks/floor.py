"""The portal plus one route: what every signed-in page costs before it does anything itself.

Same app, same production settings as ``wsgi:app``; ``/bench/floor`` runs the whole request
pipeline (session cookie, sign-in check against the database with the borrower's accounts,
idle timeout, CSRF and rate-limit hooks, security headers, compression) and answers "ok"
instead of rendering a page. The benchmark measures it beside the real pages, so the report
shows how much of a page's time is the pipeline and how much is the page.
"""

from __future__ import annotations

import os

from flask_login import current_user, login_required

from portal import create_app
from portal.database import get_without_transaction

os.environ.setdefault("PORTAL_ENV", "production")
app = create_app()


@app.get("/bench/floor")
@get_without_transaction
@login_required
def floor():
    return f"ok {len(current_user.borrower.accounts)}"
