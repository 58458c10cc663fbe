"""A lender's repayment-plan policy: versioned data, validated as a whole.

Invariants:

* A policy is a complete set of limits (``Policy``); a file or a stored version that misses a
  key, has an unknown one, or contradicts itself is refused with every problem listed.
* Each change is a new row (``PlanPolicy``, version 1, 2, …); nothing is updated in place, and
  a plan records the version it was decided under.
* Amounts are integer minor units of the account's currency; shares are basis points (1 % =
  100 basis points).
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from portal import audit
from portal.extensions import db
from portal.models import Lender
from portal.models.plan import PlanFrequency, PlanKind, PlanPolicy
from portal.models.types import utcnow

# Days one period of each frequency spans, for the term check (a month counts as 31 days).
PERIOD_DAYS = {PlanFrequency.WEEKLY: 7, PlanFrequency.FORTNIGHTLY: 14, PlanFrequency.MONTHLY: 31}
# Components of the overdue amount a settlement may waive part of.
WAIVABLE = ("penalty_interest", "fees", "interest")


@dataclass(frozen=True)
class Policy:
    """The limits; every key of a policy file is a field here (the README lists them)."""

    kinds: tuple[PlanKind, ...]
    frequencies: tuple[PlanFrequency, ...]
    max_instalments: int
    max_term_days: int
    min_instalment_minor: int
    min_instalment_basis_points: int
    max_days_to_first_payment: int
    max_waiver_basis_points: dict[str, int]  # per component in WAIVABLE
    settlement_deadline_days: int
    max_deferral_days: int
    grace_days: int
    broken_plans_before_review: int
    review_business_days: int
    reminder_days_before: int

    def to_data(self) -> dict:
        data = dataclasses.asdict(self)
        data["kinds"] = [str(kind) for kind in self.kinds]
        data["frequencies"] = [str(frequency) for frequency in self.frequencies]
        return data


KEYS = tuple(field.name for field in dataclasses.fields(Policy))
INTEGER_KEYS = tuple(key for key in KEYS if key not in ("kinds", "frequencies", "max_waiver_basis_points"))

# A realistic policy for a consumer-finance lender; the demo seeds it and tests start from it.
STANDARD = Policy(
    kinds=(PlanKind.INSTALMENTS, PlanKind.SETTLEMENT, PlanKind.DEFERRAL),
    frequencies=(PlanFrequency.MONTHLY, PlanFrequency.FORTNIGHTLY, PlanFrequency.WEEKLY),
    max_instalments=12,
    max_term_days=366,
    min_instalment_minor=10000,
    min_instalment_basis_points=500,
    max_days_to_first_payment=30,
    max_waiver_basis_points={"penalty_interest": 10000, "fees": 5000, "interest": 0},
    settlement_deadline_days=30,
    max_deferral_days=30,
    grace_days=5,
    broken_plans_before_review=1,
    review_business_days=3,
    reminder_days_before=3,
)


class InvalidPolicy(ValueError):
    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


def parse(data: object) -> Policy:
    """Build a Policy from plain data (a parsed TOML or JSON file, a stored version).

    Raises InvalidPolicy listing every problem found, not just the first."""
    if not isinstance(data, dict):
        raise InvalidPolicy(["a policy is a table of keys and values"])
    problems = [f"unknown key {key!r}" for key in sorted(set(data) - set(KEYS))]
    problems += [f"missing key {key!r}" for key in KEYS if key not in data]
    values: dict = {}
    for key in INTEGER_KEYS:
        value = data.get(key)
        if key not in data:
            continue
        if not isinstance(value, int) or isinstance(value, bool):
            problems.append(f"{key} must be a whole number")
        elif value < 0:
            problems.append(f"{key} must not be negative")
        else:
            values[key] = value
    values["kinds"] = _members(data.get("kinds"), PlanKind, "kinds", problems)
    values["frequencies"] = _members(data.get("frequencies"), PlanFrequency, "frequencies", problems)
    waiver = data.get("max_waiver_basis_points")
    if isinstance(waiver, dict):
        problems += [f"max_waiver_basis_points: unknown component {k!r}" for k in sorted(set(waiver) - set(WAIVABLE))]
        values["max_waiver_basis_points"] = {}
        for component in WAIVABLE:
            share = waiver.get(component, 0)
            if not isinstance(share, int) or isinstance(share, bool) or not 0 <= share <= 10_000:
                problems.append(f"max_waiver_basis_points.{component} must be between 0 and 10000")
            else:
                values["max_waiver_basis_points"][component] = share
    elif "max_waiver_basis_points" in data:
        problems.append("max_waiver_basis_points must be a table of components")
    # Contradictions among the values that are valid on their own, so that one reading lists
    # every problem (a key that is missing or wrong is taken from STANDARD for this check).
    complete = {**dataclasses.asdict(STANDARD), **{key: value for key, value in values.items() if value != ()}}
    problems += contradictions(Policy(**complete))
    if problems:
        raise InvalidPolicy(problems)
    return Policy(**values)


def _members(value, vocabulary, key: str, problems: list[str]) -> tuple:
    if value is None:
        return ()
    if not isinstance(value, list) or not value:
        problems.append(f"{key} must be a non-empty list")
        return ()
    members = []
    for item in value:
        try:
            members.append(vocabulary(item))
        except ValueError:
            problems.append(f"{key}: unknown value {item!r} (allowed: {', '.join(vocabulary)})")
    return tuple(dict.fromkeys(members))


def contradictions(policy: Policy) -> list[str]:
    """Limits that cannot all hold at once."""
    problems = []
    if PlanKind.INSTALMENTS in policy.kinds:
        if policy.max_instalments < 2:
            problems.append("max_instalments must be at least 2 when instalments are offered")
        if not policy.frequencies:
            problems.append("frequencies must list at least one frequency when instalments are offered")
        for frequency in policy.frequencies:
            if PERIOD_DAYS[frequency] > policy.max_term_days:
                problems.append(
                    f"frequency {frequency} is not possible within max_term_days {policy.max_term_days}: "
                    f"two {frequency} instalments span {PERIOD_DAYS[frequency]} days"
                )
        if policy.min_instalment_basis_points * 2 > 10_000:
            problems.append(
                "min_instalment_basis_points above 5000 means no plan of two or more instalments is possible"
            )
        elif policy.min_instalment_basis_points * policy.max_instalments > 10_000:
            problems.append(
                f"min_instalment_basis_points {policy.min_instalment_basis_points} times max_instalments "
                f"{policy.max_instalments} is above the whole balance: the maximum term can never be used"
            )
        if policy.max_days_to_first_payment > policy.max_term_days:
            problems.append("max_days_to_first_payment must not be longer than max_term_days")
    if PlanKind.SETTLEMENT in policy.kinds and policy.settlement_deadline_days < 1:
        problems.append("settlement_deadline_days must be at least 1 when settlements are offered")
    if PlanKind.DEFERRAL in policy.kinds and policy.max_deferral_days < 1:
        problems.append("max_deferral_days must be at least 1 when deferrals are offered")
    if policy.review_business_days < 1:
        problems.append("review_business_days must be at least 1")
    return problems


def load_file(text: str, *, filename: str) -> Policy:
    """A policy from a TOML file (or JSON when the name ends in .json)."""
    try:
        data = json.loads(text) if filename.endswith(".json") else tomllib.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise InvalidPolicy([f"cannot read {filename}: {exc}"]) from exc
    return parse(data)


def to_toml(policy: Policy) -> str:
    lines = []
    for key, value in policy.to_data().items():
        if isinstance(value, dict):
            continue
        if isinstance(value, list):
            lines.append(f"{key} = [{', '.join(json.dumps(v) for v in value)}]")
        else:
            lines.append(f"{key} = {value}")
    lines.append("")
    lines.append("[max_waiver_basis_points]")
    lines += [f"{k} = {v}" for k, v in policy.max_waiver_basis_points.items()]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Version:
    id: int
    version: int
    policy: Policy
    created_at: datetime


def current(lender_id: int) -> Version | None:
    row = db.session.execute(
        select(PlanPolicy).where(PlanPolicy.lender_id == lender_id).order_by(PlanPolicy.version.desc()).limit(1)
    ).scalar_one_or_none()
    return None if row is None else Version(row.id, row.version, parse(row.settings), row.created_at)


def by_id(policy_id: int) -> Policy:
    return parse(db.session.get_one(PlanPolicy, policy_id).settings)


def set_policy(lender: Lender, policy: Policy, *, actor_type: str, actor_id: object = None) -> Version:
    """Store ``policy`` as the lender's next version (the caller commits)."""
    # Lock the lender row: two administrators saving at once get versions n+1 and n+2.
    db.session.execute(select(Lender.id).where(Lender.id == lender.id).with_for_update())
    latest = db.session.execute(select(func.max(PlanPolicy.version)).where(PlanPolicy.lender_id == lender.id)).scalar()
    row = PlanPolicy(lender_id=lender.id, version=(latest or 0) + 1, settings=policy.to_data(), created_at=utcnow())
    db.session.add(row)
    db.session.flush()
    audit.record("plan_policy.set", actor_type=actor_type, actor_id=actor_id, subject=row, version=row.version)
    return Version(row.id, row.version, policy, row.created_at)
