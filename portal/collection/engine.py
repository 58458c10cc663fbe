"""Evaluating contacts against the rules: a pure function of the account's contacts and facts.

``evaluate`` looks only at what it is given, in the order of (occurred_at, contact_id), never
in the order contacts arrived: the same contacts always give the same breaches, whichever came
first (tests/test_contacts_order.py). Days and hours are the borrower's local ones, from the
borrower's IANA time zone, so midnight and daylight-saving changes fall where the borrower
lives. The service (portal/collection/service.py) feeds it the contacts around a new one.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from portal.collection.rules import (
    CN_ALLOWED_HOURS,
    REACHABLE_DAYS,
    REAL_TIME_CHANNELS,
    RULES,
    US_ALLOWED_HOURS,
    US_WINDOW_DAYS,
    rules_for,
)

# Preference channels (portal/models/rights.py ContactChannel) a collection channel falls under.
PREFERENCE_CHANNEL = {"call": "call", "sms": "sms", "email": "email", "letter": "letter"}
# Pause reasons: a granted stop request is any.stopped, every other pause any.paused.
STOP_REASON = "borrower_request"
# How far a contact's rules look back, and so how far a new contact can change others.
LOOK_BACK = timedelta(days=max(REACHABLE_DAYS, US_WINDOW_DAYS) + 2)


@dataclass(frozen=True)
class Fact:
    contact_id: str
    occurred_at: datetime  # timezone-aware
    channel: str
    direction: str
    outcome: str
    party: str
    phone_number: str | None = None

    @property
    def key(self) -> tuple[datetime, str]:
        return (self.occurred_at, self.contact_id)


@dataclass(frozen=True)
class Pause:
    reason: str
    started_at: datetime
    ended_at: datetime | None


@dataclass(frozen=True)
class Preferences:
    channels: frozenset[str]
    hours_from: str  # "09:00", local
    hours_until: str
    only_me: bool
    since: datetime  # when the borrower chose them


@dataclass(frozen=True)
class Context:
    jurisdiction: str
    timezone: str
    pauses: tuple[Pause, ...] = ()
    preferences: Preferences | None = None
    # (party, phone_number) -> earliest key at which that person refused, from the whole history.
    refusals: dict[tuple[str, str | None], tuple[datetime, str]] = field(default_factory=dict)


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        return ZoneInfo("Asia/Shanghai")


def person(fact: Fact) -> tuple[str, str | None]:
    return (fact.party, fact.phone_number)


def _in_window(moment: time, start: time, end: time) -> bool:
    return start <= moment < end if start <= end else moment >= start or moment < end


def _agreed(local: datetime, fact: Fact, context: Context) -> bool:
    """The borrower chose hours that include this moment (and chose them before it)."""
    prefs = context.preferences
    if prefs is None or fact.occurred_at < prefs.since:
        return False
    return _in_window(local.time(), time.fromisoformat(prefs.hours_from), time.fromisoformat(prefs.hours_until))


def _outside(local: datetime, hours: tuple[int, int], strict_end: bool) -> bool:
    start, end = time(hours[0]), time(hours[1])
    moment = local.time()
    return moment < start or (moment > end if strict_end else moment >= end)


def _paused(fact: Fact, context: Context, stop: bool) -> bool:
    return any(
        (p.reason == STOP_REASON) == stop
        and p.started_at <= fact.occurred_at
        and (p.ended_at is None or fact.occurred_at < p.ended_at)
        for p in context.pauses
    )


def evaluate(facts: list[Fact], context: Context) -> dict[str, list[str]]:
    """The rule ids each contact breaks (in RULES order), by contact_id."""
    tz = zone(context.timezone)
    applies = {rule.id for rule in rules_for(context.jurisdiction)}
    ordered = sorted(facts, key=lambda f: f.key)
    local = [f.occurred_at.astimezone(tz) for f in ordered]
    days = [moment.date() for moment in local]
    calls = [i for i, f in enumerate(ordered) if f.channel == "call" and f.direction == "outbound"]
    call_days = [days[i] for i in calls]
    call_position = {i: n for n, i in enumerate(calls)}
    refusals = dict(context.refusals)
    for f in ordered:
        if f.outcome == "refused" and f.party != "borrower":
            refusals[person(f)] = min(refusals.get(person(f), f.key), f.key)
    conversations = [
        i for i, f in enumerate(ordered) if f.channel == "call" and f.party == "borrower" and f.outcome == "answered"
    ]
    reached = [i for i, f in enumerate(ordered) if f.party == "borrower" and f.outcome == "answered"]
    answered_per_day: dict[date, int] = defaultdict(int)
    attempts_per_day: dict[tuple[date, object], int] = defaultdict(int)
    prefs = context.preferences
    result: dict[str, list[str]] = {}
    for i, fact in enumerate(ordered):
        broken: set[str] = set()
        if fact.direction != "outbound":
            result[fact.contact_id] = []
            continue
        day = days[i]
        realtime = fact.channel in REAL_TIME_CHANNELS
        if realtime and _outside(local[i], CN_ALLOWED_HOURS, False) and not _agreed(local[i], fact, context):
            broken.add("cn.quiet_hours")
        if realtime and _outside(local[i], US_ALLOWED_HOURS, True) and not _agreed(local[i], fact, context):
            broken.add("us.quiet_hours")
        if fact.channel == "call":
            if fact.party == "borrower" and fact.outcome == "answered":
                answered_per_day[day] += 1
                if answered_per_day[day] > RULES["cn.daily_voice_contacts"].limit:  # type: ignore[operator]
                    broken.add("cn.daily_voice_contacts")
            number = fact.phone_number or ("party", fact.party)
            attempts_per_day[(day, number)] += 1
            if attempts_per_day[(day, number)] > RULES["cn.daily_attempts"].limit:  # type: ignore[operator]
                broken.add("cn.daily_attempts")
            first_day = day - timedelta(days=US_WINDOW_DAYS - 1)
            in_week = call_position[i] - bisect_left(call_days, first_day) + 1
            if in_week > RULES["us.7_in_7"].limit:  # type: ignore[operator]
                broken.add("us.7_in_7")
            if any(j < i and days[j] >= first_day for j in conversations):
                broken.add("us.after_conversation")
        if fact.party != "borrower":
            earliest = day - timedelta(days=REACHABLE_DAYS)
            refused = refusals.get(person(fact))
            if (
                any(j < i and days[j] >= earliest for j in reached)
                or (refused is not None and refused < fact.key)
                or (prefs is not None and prefs.only_me and fact.occurred_at >= prefs.since)
            ):
                broken.add("cn.third_party")
        if _paused(fact, context, stop=False):
            broken.add("any.paused")
        if _paused(fact, context, stop=True):
            broken.add("any.stopped")
        wanted = PREFERENCE_CHANNEL.get(fact.channel)
        if prefs is not None and wanted and wanted not in prefs.channels and fact.occurred_at >= prefs.since:
            broken.add("any.channel_off")
        result[fact.contact_id] = [rule for rule in RULES if rule in broken and rule in applies]
    return result
