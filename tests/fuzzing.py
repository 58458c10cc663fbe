"""What every fuzzing test shares: Hypothesis settings and "a refusal changes nothing".

Property and fuzzing tests run a fifth of their examples in the everyday loop and all of them
where PORTAL_TESTS=thorough (.ci/run sets it): ``examples(n)``.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings
from sqlalchemy import select

from portal.extensions import db as _db

THOROUGH = os.environ.get("PORTAL_TESTS") == "thorough"


def examples(n: int) -> int:
    """``n`` Hypothesis examples in a thorough run, a fifth (at least 5) in the quick loop."""
    return n if THOROUGH else max(5, n // 5)


FUZZ = settings(
    max_examples=examples(50),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# What a refusal is meant to write: the audit log, and the count of unsuccessful verifications.
RECORDS_OF_REFUSALS = frozenset({"audit_event", "verification_counter"})


def tables(app):
    """Every row of every table but the records of refusals, as comparable values."""
    with app.app_context():
        state = {}
        for table in _db.metadata.sorted_tables:
            if table.name not in RECORDS_OF_REFUSALS:
                rows = _db.session.execute(select(table)).all()
                state[table.name] = sorted(map(repr, rows))
        return state


def check(app, before, response, *, accepted: set[int]):
    assert response.status_code < 500, response.get_data(as_text=True)[:300]
    if response.status_code not in accepted:
        assert tables(app) == before, f"refused with {response.status_code} but the database changed"
