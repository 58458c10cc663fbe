"""Which database errors are a "busy, try again" page, and that page rendering without the database."""

from __future__ import annotations

import sqlite3

import psycopg
import pytest
from flask_login import login_required
from sqlalchemy.exc import OperationalError

from portal.database import database_unavailable
from portal.extensions import db as _db
from tests.factories import AccountFactory
from tests.helpers import sign_in_through_link


def wrapped(original: Exception, *, invalidated: bool = False) -> OperationalError:
    return OperationalError("SELECT 1", {}, original, connection_invalidated=invalidated)


def sqlite_error(message: str, code: int) -> sqlite3.OperationalError:
    error = sqlite3.OperationalError(message)
    error.sqlite_errorcode = code
    return error


def postgres_error(sqlstate: str) -> psycopg.Error:
    return psycopg.errors.lookup(sqlstate)("from the server")


@pytest.mark.parametrize(
    ("error", "unavailable"),
    [
        (wrapped(psycopg.OperationalError("server closed the connection"), invalidated=True), True),
        (wrapped(psycopg.OperationalError("connection refused")), True),  # no SQLSTATE: never connected
        (wrapped(postgres_error("57P01")), True),  # admin shutdown (a restart)
        (wrapped(postgres_error("57P03")), True),  # cannot connect now (starting up)
        (wrapped(postgres_error("53300")), True),  # too many connections
        (wrapped(postgres_error("40P01")), False),  # deadlock: a bug in lock order, must be a 500
        (wrapped(postgres_error("57014")), False),  # statement timeout
        (wrapped(sqlite_error("database is locked", sqlite3.SQLITE_BUSY)), True),  # the demo's writer
        (wrapped(sqlite_error("no such table: account", sqlite3.SQLITE_ERROR)), False),
    ],
)
def test_only_an_unreachable_database_counts_as_busy(error, unavailable):
    assert database_unavailable(error) is unavailable


def test_the_busy_page_renders_when_the_database_goes_after_a_commit(make_app, db):
    app = make_app()

    @app.get("/test/commit-then-lose-the-database")
    @login_required
    def commit_then_fail():
        _db.session.commit()  # every loaded object (the signed-in session too) is now expired
        raise wrapped(psycopg.OperationalError("server closed the connection"), invalidated=True)

    client = app.test_client()
    account = AccountFactory()
    sign_in_through_link(client, account)
    response = client.get("/test/commit-then-lose-the-database")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    page = response.soup
    assert page.h1.get_text(strip=True) == "服务暂时繁忙"
    assert "借款页面" in page.main.get_text()  # where to check a payment before paying again
