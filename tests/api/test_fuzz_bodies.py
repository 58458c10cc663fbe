"""Hypothesis over the API's request bodies: never a 500, and a refused call changes nothing.

Bodies start from a valid one and Hypothesis replaces, adds or drops fields with any JSON
value: text with NUL characters and lone surrogates (sent as JSON escapes, as a lender's
system might), numbers where strings belong, nested objects, nulls. Schemathesis checks the
same endpoints against the OpenAPI document; this goes further from the valid shape. Before
and after each call every table but the audit log is read (tests/fuzzing.py).
"""

from __future__ import annotations

import json
from urllib.parse import quote

from hypothesis import event, given
from hypothesis import strategies as st

from tests.api.test_accounts_api import GOOD
from tests.factories import AccountFactory, BorrowerFactory
from tests.fuzzing import FUZZ, check, tables

# Any text, lone surrogates included: json.dumps sends them as "\\udXXX" escapes.
any_text = st.text(max_size=30)
json_value = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**20), 10**20) | st.floats(allow_nan=False) | any_text,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(any_text, children, max_size=3),
    max_leaves=6,
)


def changed(valid: dict, keys: list[str]):
    """A valid body with some fields replaced by any JSON value, some dropped, some added."""
    return st.tuples(
        st.dictionaries(st.sampled_from([*keys, "extra", ""]), json_value, max_size=3),
        st.sets(st.sampled_from(keys), max_size=2),
    ).map(lambda change: {**{k: v for k, v in valid.items() if k not in change[1]}, **change[0]})


def send(client, method: str, url: str, auth: dict, body):
    response = client.open(url, method=method, data=json.dumps(body), content_type="application/json", headers=auth)
    response.close()
    event(f"{method} {response.status_code}")  # --hypothesis-show-statistics shows the spread
    return response


@FUZZ
@given(number=st.one_of(st.just("SR001"), st.text(min_size=1, max_size=70)), body=changed(GOOD, list(GOOD)))
def test_account_upsert_bodies(app, client, db, auth, number, body):
    before = tables(app)
    response = send(client, "PUT", f"/api/v1/accounts/{quote(number, safe='')}", auth, body)
    check(app, before, response, accepted={200, 201})


@FUZZ
@given(
    accounts=st.lists(changed({**GOOD, "account_number": "SR002"}, [*GOOD, "account_number"]), min_size=0, max_size=3),
    wrapper=st.sampled_from(["accounts", "items", None]),
)
def test_batch_bodies(app, client, db, auth, accounts, wrapper):
    before = tables(app)
    body = {wrapper: accounts} if wrapper else accounts
    response = send(client, "POST", "/api/v1/accounts:batch", auth, body)
    check(app, before, response, accepted={200})


@FUZZ
@given(
    body=changed(
        {"account_number": "FZ001", "lang": "en", "expires_in_days": 3, "channel": "sms"},
        ["account_number", "lang", "expires_in_days", "channel"],
    )
)
def test_reminder_link_bodies(app, client, db, auth, lender, body):
    if not getattr(lender, "fuzz_account", None):
        lender.fuzz_account = AccountFactory(borrower=BorrowerFactory(lender=lender), account_number="FZ001")
        db.session.commit()
    before = tables(app)
    response = send(client, "POST", "/api/v1/reminder-links", auth, body)
    check(app, before, response, accepted={201})
