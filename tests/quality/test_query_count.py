"""A page costs the same few SQL statements whatever the borrower's data size.

Counted with SQLAlchemy's ``before_cursor_execute`` event on the app's engine, for one GET
of each page, signed in: a borrower with one account and one payment, then a borrower with
30 accounts and 50 payments in the history of the account shown. Transaction control
(BEGIN, SAVEPOINT, RELEASE: the test's rollback wrapper adds savepoints, PostgreSQL's BEGIN
never goes through a cursor) is not counted. A failure prints the statements, most repeated
first, which names the N+1 query.
"""

from __future__ import annotations

import re
from collections import Counter
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from tests.helpers import sign_in_through_link
from tests.quality import world as w

MAX_QUERIES = 6
PAGES = {
    "dashboard": "/dashboard",
    "account": "/accounts/{account}",
    "pay (amount)": "/accounts/{account}/pay",
    "receipt": "/payments/{receipt}",
    "contact history": "/accounts/{account}/contacts",
}
TRANSACTION_CONTROL = re.compile(r"^\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)\b", re.I)


@contextmanager
def counting(engine):
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if not TRANSACTION_CONTROL.match(statement):
            statements.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def statements_per_page(client, db, world) -> dict[str, list[str]]:
    sign_in_through_link(client, world.account)
    urls = {
        name: url.format(account=world.account.id, receipt=world.payments["succeeded"]) for name, url in PAGES.items()
    }
    client.get(urls["dashboard"])  # warm: first-request work (e.g. a lazy import) is not per page
    seen = {}
    for name, url in urls.items():
        with counting(db.engine) as statements:
            response = client.get(url)
        assert response.status_code == 200, (name, response.status_code)
        seen[name] = statements
    return seen


def describe(statements: list[str]) -> str:
    return "\n".join(f"    {n} x {sql[:200]}" for sql, n in Counter(statements).most_common())


@pytest.fixture
def small(db):
    return w.make_borrower(name="小王", accounts=1, history=0, states=("succeeded",))


@pytest.fixture
def large(db):
    return w.make_borrower(name="大王", accounts=30, history=49, states=("succeeded",))


def test_queries_per_page_do_not_grow_with_the_data(app, db, small, large):
    few = statements_per_page(app.test_client(), db, small)
    many = statements_per_page(app.test_client(), db, large)
    table = "\n".join(f"  {name:<14} {len(few[name]):>3} {len(many[name]):>4}" for name in PAGES)
    print(f"\nSQL statements per page (1 account, 1 payment | 30 accounts, 50 payments):\n{table}")
    problems = []
    for name in PAGES:
        if len(many[name]) != len(few[name]):
            problems.append(
                f"{name}: {len(few[name])} statements with little data, "
                f"{len(many[name])} with more (N+1?):\n{describe(many[name])}"
            )
        elif len(many[name]) > MAX_QUERIES:
            problems.append(f"{name}: {len(many[name])} statements, more than {MAX_QUERIES}:\n{describe(many[name])}")
    assert not problems, "\n".join(problems)
