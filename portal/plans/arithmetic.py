"""All repayment-plan arithmetic, in integer minor units: schedules, the policy check, the
nearby plan that would be approved, and the offers. No database, no request, no float.

Invariants (tests/test_plan_arithmetic.py proves them with Hypothesis):

* A schedule's amounts sum exactly to the plan's total; every instalment is positive; the
  rounding remainder goes on the last instalment, never lost.
* Due dates are real calendar dates in the borrower's time zone, strictly increasing; monthly
  dates keep the first date's day of the month, or the month's last day when it has fewer
  days (31 January → 28 or 29 February → 31 March).
* ``check`` lists every limit a proposal breaks; a proposal is approved at once exactly when
  the list is empty. ``nearby`` returns only proposals ``check`` accepts, and every offer is one.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, replace
from datetime import date, timedelta

from portal.models.plan import PlanFrequency, PlanKind
from portal.plans.policy import WAIVABLE, Policy

PERIODS_PER_YEAR = {PlanFrequency.WEEKLY: 52, PlanFrequency.FORTNIGHTLY: 26, PlanFrequency.MONTHLY: 12}
# The first payment of an offer: a week from today, or sooner if the policy wants it sooner.
DEFAULT_DAYS_TO_FIRST = 7
# Affordability offers aim at these shares of what is left each month (basis points).
AFFORDABLE_SHARES = (2000, 3500, 5000)
MAX_OFFERS = 3
# No schedule is ever built with more payments than this, whatever is typed.
MAX_SCHEDULE = 999

# Problems that are wrong input, not a limit a person could agree to lift: never submitted.
INPUT_PROBLEMS = frozenset(
    {
        "nothing_to_plan",
        "date_in_past",
        "date_too_far",
        "too_few_instalments",
        "amount_above_total",
        "beyond_any_schedule",
    }
)
# A first date further away than this is a typing mistake (and years past 9999 do not exist).
MAX_DAYS_AHEAD = 3 * 366


@dataclass(frozen=True)
class Balance:
    """What is overdue, part by part."""

    principal: int
    interest: int
    penalty_interest: int
    fees: int

    @property
    def total(self) -> int:
        return self.principal + self.interest + self.penalty_interest + self.fees


@dataclass(frozen=True)
class Proposal:
    kind: PlanKind
    first_date: date  # the first (or only) payment date
    instalments: int = 1
    frequency: PlanFrequency | None = None
    amount_minor: int | None = None  # a chosen instalment amount (instalments only)


@dataclass(frozen=True)
class Instalment:
    number: int
    due_date: date
    amount_minor: int


@dataclass(frozen=True)
class Problem:
    code: str
    limit: object = None  # the limit broken: a date, an amount or a count


@dataclass(frozen=True)
class Offer:
    proposal: Proposal
    reason: str  # "share", "smallest", "quicker", "settlement", "deferral"
    share_percent: int | None = None  # of what is left each month (the "share" reason)


def add_months(day: date, months: int, anchor_day: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(anchor_day, calendar.monthrange(year, month)[1]))


def due_dates(first: date, count: int, frequency: PlanFrequency | None) -> list[date]:
    if frequency is None or count == 1:
        return [first][:count]
    if frequency is PlanFrequency.MONTHLY:
        return [add_months(first, k, first.day) for k in range(count)]
    step = 7 if frequency is PlanFrequency.WEEKLY else 14
    return [first + timedelta(days=step * k) for k in range(count)]


def waiver(policy: Policy, balance: Balance, kind: PlanKind) -> dict[str, int]:
    """What a settlement waives: the policy's largest share of each component, rounded down."""
    if kind is not PlanKind.SETTLEMENT:
        return {}
    shares = policy.max_waiver_basis_points
    waived = {part: getattr(balance, part) * shares.get(part, 0) // 10_000 for part in WAIVABLE}
    return {part: amount for part, amount in waived.items() if amount}


def total_to_pay(policy: Policy, balance: Balance, kind: PlanKind) -> int:
    return balance.total - sum(waiver(policy, balance, kind).values())


def instalment_count(total: int, proposal: Proposal) -> int:
    if proposal.kind is not PlanKind.INSTALMENTS:
        return 1
    if proposal.amount_minor:
        return max(-(-total // proposal.amount_minor), 1)
    return proposal.instalments


def schedule(total: int, proposal: Proposal) -> list[Instalment]:
    """Every payment of the plan; the amounts sum exactly to ``total``."""
    count = instalment_count(total, proposal)
    if count > MAX_SCHEDULE:
        raise ValueError(f"{count} payments: more than any schedule may have")
    if total <= 0 or count < 1:
        return []
    if proposal.kind is PlanKind.INSTALMENTS and proposal.amount_minor:
        amount = min(proposal.amount_minor, total)
        amounts = [amount] * (count - 1) + [total - amount * (count - 1)]
    else:
        count = min(count, total)  # never an instalment of nothing
        base = total // count
        amounts = [base] * (count - 1) + [base + total % count]
    dates = due_dates(proposal.first_date, count, proposal.frequency)
    return [Instalment(n + 1, day, amount) for n, (day, amount) in enumerate(zip(dates, amounts, strict=True))]


def minimum_instalment(policy: Policy, total: int) -> int:
    """The smallest instalment: the larger of the fixed sum and the share, never above the total."""
    share = -(-total * policy.min_instalment_basis_points // 10_000)
    return min(max(policy.min_instalment_minor, share), total)


def monthly_burden(amount: int, frequency: PlanFrequency | None) -> int:
    """What an instalment costs per month on average, rounded up."""
    per_year = PERIODS_PER_YEAR[frequency] if frequency else 12
    return -(-amount * per_year // 12)


def check(policy: Policy, balance: Balance, proposal: Proposal, today: date) -> list[Problem]:
    """Every limit the proposal breaks (empty: approved at once)."""
    total = total_to_pay(policy, balance, proposal.kind)
    if total <= 0:
        return [Problem("nothing_to_plan")]
    problems = []
    if proposal.kind not in policy.kinds:
        problems.append(Problem("kind_not_offered"))
    if proposal.first_date < today:
        problems.append(Problem("date_in_past", today))
    if proposal.first_date > today + timedelta(days=MAX_DAYS_AHEAD):
        return [*problems, Problem("date_too_far", today + timedelta(days=MAX_DAYS_AHEAD))]
    if proposal.kind is PlanKind.SETTLEMENT:
        latest = today + timedelta(days=policy.settlement_deadline_days)
        if proposal.first_date > latest:
            problems.append(Problem("settlement_too_late", latest))
        return problems
    if proposal.kind is PlanKind.DEFERRAL:
        latest = today + timedelta(days=policy.max_deferral_days)
        if proposal.first_date > latest:
            problems.append(Problem("deferral_too_long", latest))
        return problems
    if proposal.amount_minor is not None and proposal.amount_minor > total:
        problems.append(Problem("amount_above_total", total))
    count = instalment_count(total, proposal)
    if count < 2:
        problems.append(Problem("too_few_instalments", 2))
        return problems
    if count > MAX_SCHEDULE:
        problems.append(Problem("beyond_any_schedule", policy.max_instalments))
        return problems
    if proposal.frequency not in policy.frequencies:
        problems.append(Problem("frequency_not_allowed"))
    if count > policy.max_instalments:
        problems.append(Problem("too_many_instalments", policy.max_instalments))
    latest_first = today + timedelta(days=policy.max_days_to_first_payment)
    if proposal.first_date > latest_first:
        problems.append(Problem("first_date_too_late", latest_first))
    plan = schedule(total, proposal)
    latest_last = today + timedelta(days=policy.max_term_days)
    if plan and plan[-1].due_date > latest_last:
        problems.append(Problem("term_too_long", latest_last))
    minimum = minimum_instalment(policy, total)
    # The last instalment carries the remainder and may be smaller than a chosen amount.
    if any(i.amount_minor < minimum for i in plan[:-1]) or (plan and plan[0].amount_minor < minimum):
        problems.append(Problem("instalment_too_small", minimum))
    return problems


def is_input_error(problems: list[Problem]) -> bool:
    return any(problem.code in INPUT_PROBLEMS for problem in problems)


def _longest_count(policy: Policy, total: int, first: date, frequency: PlanFrequency, today: date) -> int:
    """The most instalments of ``frequency`` from ``first`` that the policy allows for ``total``."""
    minimum = minimum_instalment(policy, total)
    count = min(policy.max_instalments, total // max(minimum, 1))
    latest_last = today + timedelta(days=policy.max_term_days)
    while count >= 2 and due_dates(first, count, frequency)[-1] > latest_last:
        count -= 1
    return count


def nearby(policy: Policy, balance: Balance, proposal: Proposal, today: date) -> Proposal | None:
    """The approvable proposal closest to ``proposal``, or None if the policy allows none."""
    kind = proposal.kind if proposal.kind in policy.kinds else None
    candidates: list[Proposal] = []
    if kind is PlanKind.SETTLEMENT:
        latest = today + timedelta(days=policy.settlement_deadline_days)
        candidates.append(Proposal(PlanKind.SETTLEMENT, min(max(proposal.first_date, today), latest)))
    if kind is PlanKind.DEFERRAL:
        latest = today + timedelta(days=policy.max_deferral_days)
        candidates.append(Proposal(PlanKind.DEFERRAL, min(max(proposal.first_date, today), latest)))
    if PlanKind.INSTALMENTS in policy.kinds and kind in (PlanKind.INSTALMENTS, None):
        total = total_to_pay(policy, balance, PlanKind.INSTALMENTS)
        frequency = proposal.frequency if proposal.frequency in policy.frequencies else None
        frequencies = [frequency] if frequency else list(policy.frequencies)
        first = min(max(proposal.first_date, today), today + timedelta(days=policy.max_days_to_first_payment))
        wanted = instalment_count(total, proposal) if proposal.kind is PlanKind.INSTALMENTS else policy.max_instalments
        for option in frequencies:
            longest = _longest_count(policy, total, first, option, today)
            if longest >= 2:
                candidates.append(Proposal(PlanKind.INSTALMENTS, first, min(max(wanted, 2), longest), option))
                break
    if PlanKind.DEFERRAL in policy.kinds and not candidates:
        latest = today + timedelta(days=policy.max_deferral_days)
        candidates.append(Proposal(PlanKind.DEFERRAL, min(max(proposal.first_date, today), latest)))
    for candidate in candidates:
        if not check(policy, balance, candidate, today):
            return candidate
    return None


def default_first_date(policy: Policy, today: date) -> date:
    return today + timedelta(days=min(DEFAULT_DAYS_TO_FIRST, policy.max_days_to_first_payment))


def _instalment_candidates(policy: Policy, balance: Balance, today: date) -> list[Proposal]:
    if PlanKind.INSTALMENTS not in policy.kinds:
        return []
    total = total_to_pay(policy, balance, PlanKind.INSTALMENTS)
    first = default_first_date(policy, today)
    found = []
    for frequency in policy.frequencies:
        for count in range(2, _longest_count(policy, total, first, frequency, today) + 1):
            found.append(Proposal(PlanKind.INSTALMENTS, first, count, frequency))
    return found


def _burden(policy: Policy, balance: Balance, proposal: Proposal) -> int:
    plan = schedule(total_to_pay(policy, balance, proposal.kind), proposal)
    return monthly_burden(plan[0].amount_minor, proposal.frequency)


def offers(policy: Policy, balance: Balance, today: date, left_each_month: int | None = None) -> list[Offer]:
    """Up to three plans the policy approves at once, best first.

    With what is left each month after expenses and other debts, the quickest plans costing
    about 20 %, 35 % and 50 % of it; without, the policy's standard options."""
    if total_to_pay(policy, balance, PlanKind.INSTALMENTS) <= 0:
        return []
    candidates = _instalment_candidates(policy, balance, today)
    # Fewest instalments first; monthly before fortnightly before weekly on a tie.
    order = {frequency: rank for rank, frequency in enumerate(PlanFrequency.__members__.values())}
    candidates.sort(key=lambda p: (p.instalments, -order[p.frequency] if p.frequency else 0))
    chosen: list[Offer] = []
    if left_each_month is not None and left_each_month > 0:
        for share in AFFORDABLE_SHARES:
            for candidate in candidates:
                burden = _burden(policy, balance, candidate)
                if burden * 10_000 <= left_each_month * share:
                    if all(o.proposal != candidate for o in chosen):
                        percent = max(round(burden * 100 / left_each_month), 1)
                        chosen.append(Offer(candidate, "share", percent))
                    break
    if not chosen and candidates:
        smallest = min(candidates, key=lambda p: (_burden(policy, balance, p), p.instalments))
        chosen.append(Offer(smallest, "smallest"))
        monthly = [p for p in candidates if p.frequency is PlanFrequency.MONTHLY and p != smallest]
        if left_each_month is None and monthly:
            chosen.append(Offer(monthly[(len(monthly) - 1) // 2], "quicker"))
    settlement = Proposal(PlanKind.SETTLEMENT, today + timedelta(days=policy.settlement_deadline_days))
    deferral = Proposal(PlanKind.DEFERRAL, today + timedelta(days=policy.max_deferral_days))
    if waiver(policy, balance, PlanKind.SETTLEMENT) and not check(policy, balance, settlement, today):
        chosen.append(Offer(settlement, "settlement"))
    elif not check(policy, balance, deferral, today) and (left_each_month is None or len(chosen) < 2):
        chosen.append(Offer(deferral, "deferral"))
    return [offer for offer in chosen if not check(policy, balance, offer.proposal, today)][:MAX_OFFERS]


def with_instalments(proposal: Proposal, count: int) -> Proposal:
    return replace(proposal, instalments=count, amount_minor=None)
