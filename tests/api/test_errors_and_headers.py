"""Every response carries the security headers, errors included, on pages and on the API; an
unavailable database is the documented 503 problem, never a 500."""

from __future__ import annotations

import psycopg
import pytest
from flask.testing import FlaskClient
from sqlalchemy import event, select

from portal.api.limits import MAX_BODY, RATE_LIMIT_PER_MINUTE
from portal.extensions import db as _db
from portal.models import AuditEvent
from tests.factories import AccountFactory, BorrowerFactory
from tests.local import free_port

SECURITY_HEADERS = ("Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy")


def assert_secured(response):
    missing = [name for name in SECURITY_HEADERS if name not in response.headers]
    assert not missing, f"{response.status_code} {response.request.path} lacks {missing}"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"


@pytest.fixture
def failing_app(make_app):
    """An app with a view that fails, on a page and on the API, and a hook that can fail too."""
    app = make_app(WTF_CSRF_ENABLED=False)
    app.test_client_class = FlaskClient  # raw requests: no page checks on purpose
    app.config["PROPAGATE_EXCEPTIONS"] = False
    state = {"hook_fails": False}

    @app.get("/test/fails")
    def page_fails():
        raise RuntimeError("a bug")

    @app.get("/api/v1/test-fails")
    def api_fails():
        raise RuntimeError("a bug")

    @app.after_request
    def sometimes_fails(response):
        if state["hook_fails"]:
            raise RuntimeError("an after-request hook failed")
        return response

    app.hook_fails = state
    return app


@pytest.mark.parametrize("where", ["page", "api"])
def test_every_error_status_carries_the_security_headers(failing_app, db, auth, where):
    client = failing_app.test_client()
    api = where == "api"
    prefix = "/api/v1" if api else ""
    headers = auth if api else {}
    responses = {
        404: client.get(f"{prefix}/no-such-thing", headers=headers),
        405: client.delete("/api/v1/events" if api else "/sign-in", headers=headers),
        413: client.open(
            "/api/v1/accounts/SR1" if api else "/sign-in",
            method="PUT" if api else "POST",
            data=b"x" * ((MAX_BODY if api else failing_app.config["MAX_CONTENT_LENGTH"]) + 1),
            headers={**headers, "Content-Type": "application/json" if api else "application/x-www-form-urlencoded"},
        ),
        500: client.get(f"{prefix}/test-fails" if api else "/test/fails", headers=headers),
    }
    if api:
        for _ in range(RATE_LIMIT_PER_MINUTE):
            client.get("/api/v1/openapi.json", headers=headers)
        responses[429] = client.get("/api/v1/openapi.json", headers=headers)
    else:
        for _ in range(40):
            last = client.post("/sign-in", data={})
            if last.status_code == 429:
                break
        responses[429] = last
    for status, response in responses.items():
        assert response.status_code == status, (status, response.get_data(as_text=True)[:300])
        assert_secured(response)
        if api:
            assert response.mimetype == "application/problem+json"
    # Even when an after-request hook itself fails while the error is being answered.
    failing_app.hook_fails["hook_fails"] = True
    response = client.get(f"{prefix}/test-fails" if api else "/test/fails", headers=headers)
    assert response.status_code == 500
    assert_secured(response)


@pytest.mark.committing
def test_an_unreachable_database_is_the_documented_503_problem(make_app, app, client):
    down = make_app(SQLALCHEMY_DATABASE_URI=f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/gone").test_client()
    documented = client.get("/api/v1/openapi.json").json["paths"]
    calls = [
        ("GET", "/api/v1/events", "/events", "get"),
        ("PUT", "/api/v1/accounts/SR001", "/accounts/{account_number}", "put"),
        ("POST", "/api/v1/accounts:batch", "/accounts:batch", "post"),
        ("POST", "/api/v1/reminder-links", "/reminder-links", "post"),
        ("DELETE", "/api/v1/reminder-links/abc", "/reminder-links/{code}", "delete"),
    ]
    for method, path, template, operation in calls:
        response = down.open(
            path, method=method, json={}, headers={"Authorization": "Bearer spk_0123456789ab_secret-part"}
        )
        assert response.status_code == 503, (path, response.get_data(as_text=True))
        assert response.mimetype == "application/problem+json"
        assert response.json["code"] == "database_unavailable"
        assert response.headers["Retry-After"] == "5"
        assert_secured(response)
        assert "503" in documented[template][operation]["responses"]
    page = down.get("/")
    assert page.status_code == 503
    assert_secured(page)


@pytest.mark.postgres
@pytest.mark.committing
def test_the_database_lost_during_an_api_call_is_a_503_and_the_call_stays_audited(app, client, db, make_client, lender):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("ends the request's PostgreSQL connection from outside")
    AccountFactory(borrower=BorrowerFactory(lender=lender), account_number="SR009")
    client_row, auth = make_client(scopes=("links:write",))
    killed = []

    def end_connection_from_outside(conn, cursor, statement, parameters, context, executemany):
        if not killed and "FROM account" in statement and "reminder" not in statement:
            pid = conn.connection.dbapi_connection.info.backend_pid
            with psycopg.connect(db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)) as k:
                k.execute("SELECT pg_terminate_backend(%s)", (pid,))
            killed.append(pid)

    event.listen(_db.engine, "before_cursor_execute", end_connection_from_outside)
    try:
        response = client.post("/api/v1/reminder-links", headers=auth, json={"account_number": "SR009"})
    finally:
        event.remove(_db.engine, "before_cursor_execute", end_connection_from_outside)
    assert killed, "the view never queried the account"
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json" and response.json["code"] == "database_unavailable"
    assert_secured(response)
    # The audit hook ran after the session was released, on plain values, and its record of
    # the failed call was committed on a fresh connection.
    with app.app_context():
        audits = _db.session.execute(
            select(AuditEvent).where(AuditEvent.action == "api.call", AuditEvent.actor_id == str(client_row.id))
        ).scalars()
        assert [a.details["status"] for a in audits] == [503]
        _db.session.remove()
    # And the next call works again.
    assert client.post("/api/v1/reminder-links", headers=auth, json={"account_number": "SR009"}).status_code == 201
