"""Plan arithmetic, proved for random policies, balances and dates (Hypothesis): schedules sum
exactly, respect every limit, fall on real dates; "approved at once" agrees with the checker."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from portal.models import PlanStatus
from portal.models.plan import PlanFrequency, PlanKind
from portal.plans import arithmetic as calc
from portal.plans import policy as policies
from portal.plans import service
from tests.factories import AccountFactory
from tests.fuzzing import examples

PROPERTY = settings(
    max_examples=examples(500), deadline=None, database=None, suppress_health_check=[HealthCheck.filter_too_much]
)

frequencies = st.sampled_from(list(PlanFrequency))


@st.composite
def policies_(draw) -> policies.Policy:
    max_instalments = draw(st.integers(2, 48))
    chosen = draw(st.lists(frequencies, min_size=1, max_size=3, unique=True))
    term = draw(st.integers(31, 1100))
    policy = policies.Policy(
        kinds=tuple(draw(st.lists(st.sampled_from(list(PlanKind)), min_size=1, max_size=3, unique=True))),
        frequencies=tuple(chosen),
        max_instalments=max_instalments,
        max_term_days=term,
        min_instalment_minor=draw(st.integers(0, 100_000)),
        min_instalment_basis_points=draw(st.integers(0, 10_000 // max_instalments)),
        max_days_to_first_payment=draw(st.integers(0, min(term, 60))),
        max_waiver_basis_points={part: draw(st.integers(0, 10_000)) for part in policies.WAIVABLE},
        settlement_deadline_days=draw(st.integers(1, 90)),
        max_deferral_days=draw(st.integers(1, 90)),
        grace_days=draw(st.integers(0, 15)),
        broken_plans_before_review=draw(st.integers(0, 3)),
        review_business_days=draw(st.integers(1, 10)),
        reminder_days_before=draw(st.integers(0, 7)),
    )
    assume(not policies.contradictions(policy))
    return policy


balances = st.builds(
    calc.Balance,
    principal=st.integers(0, 10**9),
    interest=st.integers(0, 10**7),
    penalty_interest=st.integers(0, 10**7),
    fees=st.integers(0, 10**6),
).filter(lambda b: b.total > 0)
# Around month ends and leap days on purpose, as well as anywhere.
days = st.one_of(
    st.dates(date(2024, 1, 1), date(2031, 12, 31)),
    st.sampled_from([date(2024, 1, 31), date(2024, 2, 29), date(2025, 1, 29), date(2027, 12, 31), date(2028, 2, 28)]),
)


@st.composite
def proposals(draw, today: date) -> calc.Proposal:
    kind = draw(st.sampled_from(list(PlanKind)))
    first = today + timedelta(days=draw(st.integers(-3, 120)))
    if kind is not PlanKind.INSTALMENTS:
        return calc.Proposal(kind, first)
    amount = draw(st.one_of(st.none(), st.integers(1, 10**9)))
    # (an amount so small that it would make more than MAX_SCHEDULE payments is an input error)
    return calc.Proposal(kind, first, draw(st.integers(1, 60)), draw(frequencies), amount)


@PROPERTY
@given(total=st.integers(1, 10**12), first=days, count=st.integers(1, 120), frequency=frequencies, data=st.data())
def test_a_schedule_sums_exactly_and_falls_on_real_increasing_dates(total, first, count, frequency, data):
    amount = data.draw(st.one_of(st.none(), st.integers(max(-(-total // calc.MAX_SCHEDULE), 1), total)))
    proposal = calc.Proposal(PlanKind.INSTALMENTS, first, count, frequency, amount)
    plan = calc.schedule(total, proposal)
    assert sum(i.amount_minor for i in plan) == total
    assert all(i.amount_minor > 0 for i in plan)
    assert [i.number for i in plan] == list(range(1, len(plan) + 1))
    assert plan[0].due_date == first
    assert all(a.due_date < b.due_date for a, b in zip(plan, plan[1:], strict=False))
    if amount is None:
        assert len(plan) == min(count, total)
        # Equal payments, the rounding remainder (less than one per instalment) on the last.
        assert len({i.amount_minor for i in plan[:-1]}) <= 1
        assert 0 <= plan[-1].amount_minor - plan[0].amount_minor < len(plan)
    else:
        assert all(i.amount_minor == amount for i in plan[:-1]) and plan[-1].amount_minor <= amount
    if frequency is PlanFrequency.MONTHLY:
        for k, instalment in enumerate(plan):
            month_end = calendar.monthrange(instalment.due_date.year, instalment.due_date.month)[1]
            assert instalment.due_date.day == min(first.day, month_end)
            assert (instalment.due_date.year * 12 + instalment.due_date.month) - (first.year * 12 + first.month) == k
    else:
        step = 7 if frequency is PlanFrequency.WEEKLY else 14
        assert all((b.due_date - a.due_date).days == step for a, b in zip(plan, plan[1:], strict=False))


def respects_every_limit(policy, balance, proposal, today) -> None:
    """The limits, each stated independently of ``check``."""
    assert proposal.kind in policy.kinds
    total = calc.total_to_pay(policy, balance, proposal.kind)
    plan = calc.schedule(total, proposal)
    assert sum(i.amount_minor for i in plan) == total
    assert plan[0].due_date >= today
    if proposal.kind is PlanKind.SETTLEMENT:
        assert len(plan) == 1 and plan[0].due_date <= today + timedelta(days=policy.settlement_deadline_days)
        for part, waived in calc.waiver(policy, balance, proposal.kind).items():
            assert waived * 10_000 <= getattr(balance, part) * policy.max_waiver_basis_points[part]
        return
    if proposal.kind is PlanKind.DEFERRAL:
        assert len(plan) == 1 and plan[0].amount_minor == balance.total
        assert plan[0].due_date <= today + timedelta(days=policy.max_deferral_days)
        return
    assert 2 <= len(plan) <= policy.max_instalments
    assert proposal.frequency in policy.frequencies
    assert plan[0].due_date <= today + timedelta(days=policy.max_days_to_first_payment)
    assert plan[-1].due_date <= today + timedelta(days=policy.max_term_days)
    for instalment in plan[:-1]:
        assert instalment.amount_minor >= policy.min_instalment_minor or instalment.amount_minor >= total
        assert instalment.amount_minor * 10_000 >= total * policy.min_instalment_basis_points


@PROPERTY
@given(policy=policies_(), balance=balances, today=days, data=st.data())
def test_a_proposal_the_checker_accepts_respects_every_limit(policy, balance, today, data):
    proposal = data.draw(proposals(today))
    if not calc.check(policy, balance, proposal, today):
        respects_every_limit(policy, balance, proposal, today)


@PROPERTY
@given(policy=policies_(), balance=balances, today=days, data=st.data())
def test_the_nearby_plan_is_always_approvable(policy, balance, today, data):
    proposal = data.draw(proposals(today))
    nearby = calc.nearby(policy, balance, proposal, today)
    if nearby is not None:
        assert calc.check(policy, balance, nearby, today) == []
        respects_every_limit(policy, balance, nearby, today)


@PROPERTY
@given(policy=policies_(), balance=balances, today=days, left=st.one_of(st.none(), st.integers(-(10**6), 10**8)))
def test_every_offer_is_approvable_and_there_are_at_most_three(policy, balance, today, left):
    offers = calc.offers(policy, balance, today, left)
    assert len(offers) <= calc.MAX_OFFERS
    assert len({offer.proposal for offer in offers}) == len(offers)
    for offer in offers:
        assert calc.check(policy, balance, offer.proposal, today) == []
        respects_every_limit(policy, balance, offer.proposal, today)
        if offer.reason == "share":
            assert 1 <= offer.share_percent <= 50


def test_the_standard_policy_offers_something_for_a_typical_balance():
    balance = calc.Balance(200000, 3650, 420, 0)
    offers = calc.offers(policies.STANDARD, balance, date(2026, 11, 29))
    assert [offer.reason for offer in offers] == ["smallest", "quicker", "settlement"]


def test_a_plan_date_is_the_borrowers_own_date():
    # 23:30 on 29 November in London is already 30 November in Shanghai.
    moment = datetime(2026, 11, 29, 23, 30, tzinfo=UTC)
    assert service.local_today("Europe/London", moment) == date(2026, 11, 29)
    assert service.local_today("Asia/Shanghai", moment) == date(2026, 11, 30)


@settings(
    max_examples=examples(40),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(policy=policies_(), data=st.data())
def test_approved_at_once_exactly_when_the_checker_finds_nothing(app, db, policy, data):
    account = AccountFactory()
    policies.set_policy(account.lender, policy, actor_type="test")
    now = datetime(2026, 6, 15, 4, 0, tzinfo=UTC)
    today = service.local_today(account.borrower.timezone, now)
    proposal = data.draw(proposals(today))
    problems = calc.check(policy, service.balance_of(account), proposal, today)
    assume(not calc.is_input_error(problems))
    with app.test_request_context():
        plan, _ = service.draft(
            account.id, proposal, hardship_reason="other", hardship_note=None, affordability=None, locale="en", now=now
        )
        plan = service.confirm(plan, actor_id=None, now=now)
    assert (plan.status == PlanStatus.ACTIVE) == (problems == [])
    assert sum(i.amount_minor for i in plan.instalments) == plan.total_minor
    assert plan.total_minor + plan.waived_minor == account.overdue_minor


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"max_instalments": -1}, "max_instalments must not be negative"),
        (
            {"frequencies": ["monthly"], "max_term_days": 20},
            "frequency monthly is not possible within max_term_days 20",
        ),
        ({"min_instalment_basis_points": 2000}, "the maximum term can never be used"),
        ({"kinds": ["instalments", "loan"]}, "kinds: unknown value 'loan'"),
        ({"colour": "blue"}, "unknown key 'colour'"),
    ],
)
def test_a_contradictory_policy_is_refused_with_the_problem_named(change, expected):
    data = {**policies.STANDARD.to_data(), **change}
    with pytest.raises(policies.InvalidPolicy) as refused:
        policies.parse(data)
    assert any(expected in problem for problem in refused.value.problems), refused.value.problems


def test_every_problem_is_listed_at_once():
    data = {**policies.STANDARD.to_data(), "grace_days": -1, "max_term_days": "long", "kinds": []}
    del data["review_business_days"]
    with pytest.raises(policies.InvalidPolicy) as refused:
        policies.parse(data)
    assert len(refused.value.problems) == 4


def test_the_policy_round_trips_through_its_toml_form():
    assert policies.load_file(policies.to_toml(policies.STANDARD), filename="p.toml") == policies.STANDARD
