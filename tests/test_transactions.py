"""One transaction rule (portal/database.py): a request commits once at its end, an error rolls
everything back, and nothing else in the portal commits."""

from __future__ import annotations

import ast
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

import portal
from portal import audit
from portal.database import get_without_transaction
from portal.extensions import db as _db
from portal.models import AuditEvent

PORTAL = Path(portal.__file__).parent
# Where commits may happen: the request's end, the named boundary before an external call and
# the CLI command's end, all defined in this one module.
COMMITTING_MODULES = {PORTAL / "database.py"}


def commit_calls(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "commit"
    ]


def test_nothing_outside_the_transaction_module_commits():
    offenders = {
        str(path.relative_to(PORTAL.parent)): lines
        for path in sorted(PORTAL.rglob("*.py"))
        if path not in COMMITTING_MODULES and (lines := commit_calls(path))
    }
    assert offenders == {}, "commit through portal/database.py's boundaries, not directly"


def test_the_check_would_see_a_commit(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("from portal.extensions import db\n\ndef f():\n    db.session.commit()\n")
    assert commit_calls(sample) == [4]


def audit_count(action: str) -> int:
    return _db.session.execute(select(func.count()).where(AuditEvent.action == action)).scalar_one()


def test_a_request_that_answers_commits_what_it_did_even_a_refusal(make_app, db):
    app = make_app(WTF_CSRF_ENABLED=False)

    @app.post("/test/refuse")
    def refuse():
        audit.record("test.refused", actor_type="system")
        return "no", 400, {"Content-Type": "text/plain"}

    response = app.test_client().post("/test/refuse")
    assert response.status_code == 400
    assert audit_count("test.refused") == 1


def test_a_request_that_fails_leaves_nothing_behind(make_app, db):
    app = make_app(WTF_CSRF_ENABLED=False)

    @app.post("/test/fail")
    def fail():
        audit.record("test.half_done", actor_type="system")
        _db.session.flush()
        raise RuntimeError("a bug after a write")

    response = app.test_client().post("/test/fail")
    assert response.status_code == 500
    assert audit_count("test.half_done") == 0


def test_a_database_lost_at_commit_is_a_busy_page_with_every_header(make_app, db, monkeypatch):
    app = make_app(WTF_CSRF_ENABLED=False)

    @app.post("/test/commit-fails")
    def commit_fails():
        audit.record("test.lost", actor_type="system")
        session = _db.session()

        def lost():
            raise OperationalError("COMMIT", {}, psycopg.OperationalError("server closed"), connection_invalidated=True)

        monkeypatch.setattr(session, "commit", lost)
        return "done"

    response = app.test_client().post("/test/commit-fails")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"


def test_a_view_without_transaction_must_be_get_only(make_app):
    app = make_app()

    @app.route("/test/both", methods=["GET", "POST"])
    @get_without_transaction
    def both():
        return "?"

    from portal.database import init_commit

    with pytest.raises(RuntimeError, match="without a transaction but accepts"):
        init_commit(app)
