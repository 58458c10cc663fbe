"""Recording reported contacts and keeping their evaluations true (the API and CLI call this).

A new contact is evaluated with everything known about its account, and the contacts after it
(within the rules' look-back) are evaluated again, because a contact reported late can change
them: the stored evaluation never depends on the order contacts arrived. The account rows are
locked first, so two reports about one account are evaluated one after the other. A breach
that appears writes an audit record and the outbox event ``contact.breach_detected``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import phonenumbers
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal import audit
from portal.collection.engine import LOOK_BACK, Context, Fact, Pause, Preferences, evaluate, person, zone
from portal.collection.rules import RULES, US_WINDOW_DAYS, rules_for
from portal.extensions import db
from portal.models import (
    Account,
    Borrower,
    CollectionChannel,
    CollectionContact,
    ContactDirection,
    ContactOutcome,
    ContactParty,
    ContactPause,
    ContactPreference,
    Lender,
)
from portal.models.types import utcnow
from portal.outbox.events import emit

FIELDS = (
    "contact_id",
    "account_number",
    "occurred_at",
    "channel",
    "direction",
    "outcome",
    "party",
    "phone_number",
    "agent_id",
    "agency_code",
    "duration_seconds",
)
REQUIRED = (
    "contact_id",
    "account_number",
    "occurred_at",
    "channel",
    "direction",
    "outcome",
    "party",
    "agent_id",
    "agency_code",
)
VOCABULARIES = {
    "channel": CollectionChannel,
    "direction": ContactDirection,
    "outcome": ContactOutcome,
    "party": ContactParty,
}
TEXT_LIMITS = {"contact_id": 100, "account_number": 64, "agent_id": 64, "agency_code": 64}
PHONE_REGION = {"CN": "CN", "HK": "HK", "TW": "TW", "US": "US"}
# A report from the future is a clock or a typing error (a little skew is allowed).
CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class Report:
    contact_id: str
    account_number: str
    occurred_at: datetime
    channel: str
    direction: str
    outcome: str
    party: str
    phone_number: str | None
    agent_id: str
    agency_code: str
    duration_seconds: int | None

    def digest(self) -> str:
        values = {**self.__dict__, "occurred_at": self.occurred_at.astimezone().timestamp()}
        return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class Problem:
    pointer: str
    detail: str


class ContactRace(Exception):
    """Another request stored one of these contact_ids at the same moment: retry."""


class ContactConflict(Exception):
    """A contact_id already reported with another body (pointers name the items)."""

    def __init__(self, pointers: list[str]):
        super().__init__("contact_id reused")
        self.pointers = pointers


def parse(
    item: object, pointer: str, jurisdiction: str, now: datetime | None = None
) -> tuple[Report | None, list[Problem]]:
    """One reported contact, checked field by field; every problem with its pointer."""
    if not isinstance(item, dict):
        return None, [Problem(pointer, "must be an object")]
    problems = [Problem(f"{pointer}/{name}", "is not a known field") for name in sorted(set(item) - set(FIELDS))]
    values: dict[str, object] = {}
    for name in REQUIRED:
        value = item.get(name)
        if not isinstance(value, str) or not value.strip():
            problems.append(Problem(f"{pointer}/{name}", "is required (a non-empty string)"))
        elif name in TEXT_LIMITS and len(value.strip()) > TEXT_LIMITS[name]:
            problems.append(Problem(f"{pointer}/{name}", f"must be at most {TEXT_LIMITS[name]} characters"))
        else:
            values[name] = value.strip()
    for name, vocabulary in VOCABULARIES.items():
        if name in values and values[name] not in set(vocabulary):
            problems.append(Problem(f"{pointer}/{name}", f"must be one of {', '.join(vocabulary)}"))
    if "occurred_at" in values:
        try:
            moment = datetime.fromisoformat(str(values["occurred_at"]))
        except ValueError:
            moment = None
        if moment is None or moment.tzinfo is None or "T" not in str(values["occurred_at"]).upper():
            problems.append(Problem(f"{pointer}/occurred_at", "must be an RFC 3339 time with an offset"))
        elif moment > (now or utcnow()) + CLOCK_SKEW:
            problems.append(Problem(f"{pointer}/occurred_at", "must not be in the future"))
        else:
            values["occurred_at"] = moment
    phone = item.get("phone_number")
    values["phone_number"] = None
    if phone is not None:
        normalised = _phone(phone, jurisdiction)
        if normalised is None:
            problems.append(Problem(f"{pointer}/phone_number", "must be a valid phone number"))
        values["phone_number"] = normalised
    duration = item.get("duration_seconds")
    if duration is not None and (
        not isinstance(duration, int) or isinstance(duration, bool) or not 0 <= duration <= 86400
    ):
        problems.append(Problem(f"{pointer}/duration_seconds", "must be a whole number of seconds from 0 to 86400"))
    values["duration_seconds"] = duration
    if problems:
        return None, problems
    return Report(**values), []  # type: ignore[arg-type]


def _phone(value: object, jurisdiction: str) -> str | None:
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        parsed = phonenumbers.parse(value, PHONE_REGION.get(jurisdiction, "CN"))
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


@dataclass
class Outcome:
    contacts: list[CollectionContact]  # in the order reported
    created: int
    replayed: int
    missing_accounts: list[int]  # positions whose account_number is unknown at this lender


def record(lender: Lender, reports: list[Report], *, actor_type: str, actor_id: object = None) -> Outcome:
    """Store new contacts (all or none: the caller refuses on conflicts or missing accounts) and
    evaluate them and the contacts they affect."""
    numbers = sorted({r.account_number for r in reports})
    accounts = {
        a.account_number: a
        for a in db.session.execute(
            select(Account)
            .where(Account.lender_id == lender.id, Account.account_number.in_(numbers))
            .order_by(Account.id)
            .with_for_update()
        ).scalars()
    }
    missing = [i for i, r in enumerate(reports) if r.account_number not in accounts]
    if missing:
        return Outcome([], 0, 0, missing)
    ids = sorted({r.contact_id for r in reports})
    existing = {
        c.contact_id: c
        for c in db.session.execute(
            select(CollectionContact).where(
                CollectionContact.lender_id == lender.id, CollectionContact.contact_id.in_(ids)
            )
        ).scalars()
    }
    conflicts: list[int] = []
    seen: dict[str, str] = {}
    new: list[tuple[Report, str]] = []
    for position, report in enumerate(reports):
        digest = report.digest()
        known = existing.get(report.contact_id)
        if (known is not None and known.request_hash != digest) or seen.get(report.contact_id, digest) != digest:
            conflicts.append(position)
        elif known is None and report.contact_id not in seen:
            new.append((report, digest))
        seen[report.contact_id] = digest
    if conflicts:
        raise ContactConflict([f"{i}" for i in conflicts])
    now = utcnow()
    try:
        with db.session.begin_nested():
            _insert(lender, accounts, new, existing, now)
    except IntegrityError as exc:
        # The same contact_id arrived at the same moment in another request: that one won.
        raise ContactRace() from exc
    touched: dict[str, list[datetime]] = {}
    to_end: set[str] = set()
    for report, _ in new:
        touched.setdefault(report.account_number, []).append(report.occurred_at)
        if report.outcome == ContactOutcome.REFUSED and report.party != ContactParty.BORROWER:
            to_end.add(report.account_number)  # a refusal counts for every later contact
    reevaluate_many(
        lender,
        {
            accounts[number].id: (accounts[number], min(moments), max(moments), number in to_end)
            for number, moments in touched.items()
        },
        actor_type=actor_type,
        actor_id=actor_id,
    )
    return Outcome([existing[r.contact_id] for r in reports], len(new), len(reports) - len(new), [])


def _insert(lender: Lender, accounts: dict, new: list, existing: dict, now: datetime) -> None:
    for report, digest in new:
        contact = CollectionContact(
            lender_id=lender.id,
            account_id=accounts[report.account_number].id,
            contact_id=report.contact_id,
            request_hash=digest,
            occurred_at=report.occurred_at,
            channel=CollectionChannel(report.channel),
            direction=ContactDirection(report.direction),
            outcome=ContactOutcome(report.outcome),
            party=ContactParty(report.party),
            phone_number=report.phone_number,
            agent_id=report.agent_id,
            agency_code=report.agency_code,
            duration_seconds=report.duration_seconds,
            compliant=True,
            breaches=[],
            received_at=now,
            evaluated_at=now,
        )
        db.session.add(contact)
        existing[report.contact_id] = contact


def context_for(account: Account, lender: Lender) -> Context:
    return contexts_for([account], lender)[account.id]


def contexts_for(accounts: list[Account], lender: Lender) -> dict[int, Context]:
    """What the rules need to know about each account besides its contacts: the borrower's time
    zone and preferences, the pauses, and who refused contact. Four queries, however many accounts."""
    ids = [a.id for a in accounts]
    borrower_ids = sorted({a.borrower_id for a in accounts})
    zones = dict(db.session.execute(select(Borrower.id, Borrower.timezone).where(Borrower.id.in_(borrower_ids))).all())
    preferences: dict[int, Preferences] = {}
    for chosen in db.session.execute(
        select(ContactPreference).where(ContactPreference.borrower_id.in_(borrower_ids))
    ).scalars():
        preferences[chosen.borrower_id] = Preferences(
            frozenset(c for c in chosen.channels.split(",") if c),
            chosen.hours_from,
            chosen.hours_until,
            chosen.only_me,
            chosen.updated_at,
        )
    pauses: dict[int, list[Pause]] = {}
    for p in db.session.execute(select(ContactPause).where(ContactPause.account_id.in_(ids))).scalars():
        pauses.setdefault(p.account_id, []).append(Pause(str(p.reason), p.started_at, p.ended_at))
    refusals: dict[int, dict] = {}
    for row in db.session.execute(
        select(CollectionContact).where(
            CollectionContact.account_id.in_(ids),
            CollectionContact.outcome == ContactOutcome.REFUSED,
            CollectionContact.party != ContactParty.BORROWER,
        )
    ).scalars():
        known, mine = fact(row), refusals.setdefault(row.account_id, {})
        mine[person(known)] = min(mine.get(person(known), known.key), known.key)
    return {
        a.id: Context(
            lender.jurisdiction,
            zones[a.borrower_id],
            tuple(pauses.get(a.id, ())),
            preferences.get(a.borrower_id),
            refusals.get(a.id, {}),
        )
        for a in accounts
    }


def fact(c: CollectionContact) -> Fact:
    return Fact(
        c.contact_id, c.occurred_at, str(c.channel), str(c.direction), str(c.outcome), str(c.party), c.phone_number
    )


def reevaluate(
    account: Account,
    lender: Lender,
    first: datetime,
    last: datetime,
    *,
    to_end: bool = False,
    actor_type: str,
    actor_id: object = None,
) -> None:
    """Evaluate every contact whose rules can see a contact between first and last (and every
    later one when ``to_end``)."""
    reevaluate_many(lender, {account.id: (account, first, last, to_end)}, actor_type=actor_type, actor_id=actor_id)


def reevaluate_many(
    lender: Lender,
    spans: dict[int, tuple[Account, datetime, datetime, bool]],
    *,
    actor_type: str,
    actor_id: object = None,
) -> None:
    """``reevaluate`` for many accounts at once: one query loads every window (the range that
    covers them all, cut per account here), four more load what the rules need."""
    if not spans:
        return
    lowest = min(first for _, first, _, _ in spans.values()) - LOOK_BACK
    query = select(CollectionContact).where(
        CollectionContact.account_id.in_(sorted(spans)), CollectionContact.occurred_at >= lowest
    )
    if not any(to_end for *_, to_end in spans.values()):
        query = query.where(CollectionContact.occurred_at <= max(last for _, _, last, _ in spans.values()) + LOOK_BACK)
    windows: dict[int, list[CollectionContact]] = {}
    for row in db.session.execute(query).scalars():
        _, first, last, to_end = spans[row.account_id]
        if first - LOOK_BACK <= row.occurred_at and (to_end or row.occurred_at <= last + LOOK_BACK):
            windows.setdefault(row.account_id, []).append(row)
    contexts = contexts_for([account for account, *_ in spans.values()], lender)
    now = utcnow()
    found: list[tuple[Account, CollectionContact, str]] = []
    for account_id, window in windows.items():
        account, first, _, _ = spans[account_id]
        results = evaluate([fact(c) for c in window], contexts[account_id])
        for contact in window:
            # Only contacts whose whole look-back lies inside the window are decided here.
            if contact.occurred_at < first - timedelta(days=1):
                continue
            breaches = results[contact.contact_id]
            if breaches == list(contact.breaches or []):
                continue
            found += [(account, contact, rule) for rule in breaches if rule not in (contact.breaches or [])]
            contact.breaches = breaches
            contact.compliant = not breaches
            contact.evaluated_at = now
    _breached(found, actor_type, actor_id)


def _breached(found: list[tuple[Account, CollectionContact, str]], actor_type: str, actor_id: object) -> None:
    """Audit each new breach (one INSERT for all) and tell the lender (``contact.breach_detected``)."""
    audit.record_many(
        "contact.breach_detected",
        actor_type=actor_type,
        actor_id=actor_id,
        subject_type="account",
        items=[
            (
                account.id,
                {
                    "contact_id": contact.contact_id,
                    "rule": rule,
                    "agency_code": contact.agency_code,
                    "agent_id": contact.agent_id,
                },
            )
            for account, contact, rule in found
        ],
    )
    for account, contact, rule in found:
        emit(
            "contact.breach_detected",
            lender_id=account.lender_id,
            account=account,
            data={
                "contact_id": contact.contact_id,
                "rule": rule,
                "detail": RULES[rule].detail,
                "occurred_at": contact.occurred_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
                "agency_code": contact.agency_code,
                "agent_id": contact.agent_id,
            },
        )


def evaluation(contact: CollectionContact, account_number: str) -> dict:
    return {
        "contact_id": contact.contact_id,
        "account_number": account_number,
        "occurred_at": contact.occurred_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "compliant": contact.compliant,
        "breaches": [{"rule": rule, "detail": RULES[rule].detail} for rule in contact.breaches or []],
    }


def find(lender_id: int, contact_id: str) -> tuple[CollectionContact, str] | None:
    row = db.session.execute(
        select(CollectionContact, Account.account_number)
        .join(Account, Account.id == CollectionContact.account_id)
        .where(CollectionContact.lender_id == lender_id, CollectionContact.contact_id == contact_id)
    ).one_or_none()
    return None if row is None else (row[0], row[1])


def history(account_id: int) -> list[CollectionContact]:
    """Every contact on an account, newest first (the borrower's contact history)."""
    return list(
        db.session.execute(
            select(CollectionContact)
            .where(CollectionContact.account_id == account_id)
            .order_by(CollectionContact.occurred_at.desc(), CollectionContact.contact_id.desc())
        ).scalars()
    )


def own_contact(borrower_id: int, contact_id: int) -> CollectionContact | None:
    """A contact on one of this borrower's own accounts, or None (whoever else's it is)."""
    return db.session.execute(
        select(CollectionContact)
        .join(Account, Account.id == CollectionContact.account_id)
        .where(CollectionContact.id == contact_id, Account.borrower_id == borrower_id)
    ).scalar_one_or_none()


@dataclass(frozen=True)
class Counter:
    rule: str | None  # the rule whose limit it counts against (None: no limit, just the count)
    count: int
    limit: int | None


def counters(
    contacts: list[CollectionContact], jurisdiction: str, timezone: str, now: datetime | None = None
) -> list[Counter]:
    """Today's and this week's outbound calls (the borrower's days), against the limits that apply."""
    tz = zone(timezone)
    today = (now or utcnow()).astimezone(tz).date()
    first_day = today - timedelta(days=US_WINDOW_DAYS - 1)
    calls = [c for c in contacts if c.channel == CollectionChannel.CALL and c.direction == ContactDirection.OUTBOUND]
    days = [c.occurred_at.astimezone(tz).date() for c in calls]
    todays = [c for c, day in zip(calls, days, strict=True) if day == today]
    per_number: dict[object, int] = {}
    for c in todays:
        number = c.phone_number or ("party", str(c.party))
        per_number[number] = per_number.get(number, 0) + 1
    counts = {
        "cn.daily_voice_contacts": sum(
            1 for c in todays if c.party == ContactParty.BORROWER and c.outcome == ContactOutcome.ANSWERED
        ),
        "cn.daily_attempts": max(per_number.values(), default=0),
        "us.7_in_7": sum(1 for day in days if first_day <= day <= today),
    }
    shown = [Counter(rule.id, counts[rule.id], rule.limit) for rule in rules_for(jurisdiction) if rule.id in counts]
    if not any(c.rule == "us.7_in_7" for c in shown):
        shown.append(Counter(None, counts["us.7_in_7"], None))
    return shown
