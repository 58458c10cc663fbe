"""The evaluation of contacts does not depend on the order they were reported in.

Hypothesis draws a set of contacts around midnights, quiet hours and the 7-day windows, reports
them through the service one by one in a random order, and in one batch: every contact's stored
breaches are the same both ways, and the same as evaluating the whole set at once.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from portal.collection import service
from portal.collection.engine import evaluate
from portal.extensions import db as _db
from portal.models import CollectionContact
from tests.factories import AccountFactory, BorrowerFactory, LenderFactory
from tests.fuzzing import FUZZ

START = datetime(2026, 11, 1, tzinfo=UTC)

contact = st.fixed_dictionaries(
    {
        # Up to 12 days of minutes: crosses local midnights and every 7-day window.
        "minute": st.integers(0, 12 * 24 * 60),
        "channel": st.sampled_from(["call", "call", "call", "sms", "letter"]),
        "direction": st.sampled_from(["outbound", "outbound", "outbound", "inbound"]),
        "outcome": st.sampled_from(["answered", "no_answer", "message_left", "refused"]),
        "party": st.sampled_from(["borrower", "borrower", "relative", "colleague"]),
        "phone": st.sampled_from(["+8613800138001", "+8613900139002"]),
    }
)


def reports(drawn: list[dict], account_number: str) -> list[service.Report]:
    return [
        service.Report(
            contact_id=f"C{n:03d}",
            account_number=account_number,
            occurred_at=START + timedelta(minutes=item["minute"]),
            channel=item["channel"],
            direction=item["direction"],
            outcome=item["outcome"],
            party=item["party"],
            phone_number=item["phone"],
            agent_id="A-1",
            agency_code="AG",
            duration_seconds=None,
        )
        for n, item in enumerate(drawn)
    ]


def stored(account) -> dict[str, list[str]]:
    rows = _db.session.execute(select(CollectionContact).where(CollectionContact.account_id == account.id)).scalars()
    return {row.contact_id: list(row.breaches) for row in rows}


@FUZZ
@given(
    drawn=st.lists(contact, min_size=1, max_size=14),
    order=st.randoms(use_true_random=False),
    jurisdiction=st.sampled_from(["CN", "US"]),
    timezone=st.sampled_from(["Asia/Shanghai", "America/New_York"]),
)
def test_breaches_do_not_depend_on_arrival_order(db, drawn, order, jurisdiction, timezone):
    lender = LenderFactory(jurisdiction=jurisdiction)
    one_by_one = AccountFactory(borrower=BorrowerFactory(lender=lender, timezone=timezone))
    at_once = AccountFactory(borrower=BorrowerFactory(lender=lender, timezone=timezone))
    shuffled = reports(drawn, one_by_one.account_number)
    order.shuffle(shuffled)
    for report in shuffled:
        service.record(lender, [report], actor_type="test")
    batch = [
        service.Report(**{**r.__dict__, "contact_id": "B" + r.contact_id, "account_number": at_once.account_number})
        for r in reports(drawn, at_once.account_number)
    ]
    service.record(lender, batch, actor_type="test")
    first = stored(one_by_one)
    second = {cid[1:]: rules for cid, rules in stored(at_once).items()}
    assert first == second
    whole = evaluate([service.fact(c) for c in _contacts(one_by_one)], service.context_for(one_by_one, lender))
    assert first == whole


def _contacts(account) -> list[CollectionContact]:
    return list(
        _db.session.execute(select(CollectionContact).where(CollectionContact.account_id == account.id)).scalars()
    )
