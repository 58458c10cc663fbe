"""The contact rules, one table per rule: what breaks it and what does not, at the edges.

Times are written in the borrower's own zone (Asia/Shanghai for CN, America/New_York for US),
as a collector's log would show them; the engine must find the same local days and hours.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from portal.collection.engine import Context, Fact, Pause, Preferences, evaluate
from portal.collection.rules import RULES, rules_for

SH = ZoneInfo("Asia/Shanghai")
NY = ZoneInfo("America/New_York")


def at(text: str, tz=SH) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=tz)


def fact(n, when, channel="call", direction="outbound", outcome="no_answer", party="borrower", phone="+8613800138001"):
    return Fact(f"c{n:03d}", when, channel, direction, outcome, party, phone)


def breaches(facts, jurisdiction="CN", timezone="Asia/Shanghai", **context) -> dict[str, list[str]]:
    return evaluate(facts, Context(jurisdiction, timezone, **context))


def broken(facts, rule, **kwargs) -> list[str]:
    """The contact ids that break one rule."""
    return sorted(cid for cid, rules in breaches(facts, **kwargs).items() if rule in rules)


def test_every_rule_has_a_source_a_rights_page_and_an_explanation_for_the_borrower():
    from portal.collection.labels import RULE_EXPLANATIONS

    assert set(RULE_EXPLANATIONS) == set(RULES)
    assert {
        "cn.quiet_hours",
        "cn.daily_voice_contacts",
        "cn.daily_attempts",
        "cn.third_party",
        "us.7_in_7",
        "us.after_conversation",
        "us.quiet_hours",
        "any.paused",
        "any.channel_off",
        "any.stopped",
    } == set(RULES)
    assert all(rule.source and rule.rights_page and rule.detail.endswith(".") for rule in RULES.values())
    assert {r.id for r in rules_for("CN")} == {r for r in RULES if not r.startswith("us.")}
    assert {r.id for r in rules_for("US")} == {r for r in RULES if not r.startswith("cn.")}
    assert {r.id for r in rules_for("")} == {r.id for r in rules_for("CN")}  # CN by default


@pytest.mark.parametrize(
    ("local", "channel", "expected"),
    [
        ("2026-11-25 07:59:59", "call", True),
        ("2026-11-25 08:00:00", "call", False),
        ("2026-11-25 21:59:59", "call", False),
        ("2026-11-25 22:00:00", "call", True),
        ("2026-11-25 23:59:59", "sms", True),
        ("2026-11-26 00:00:00", "messaging_app", True),
        ("2026-11-25 23:30:00", "letter", False),  # a letter waits in the box
        ("2026-11-25 23:30:00", "email", False),
        ("2026-11-25 23:30:00", "visit", True),
    ],
)
def test_cn_quiet_hours_in_the_borrowers_time_zone(local, channel, expected):
    assert broken([fact(1, at(local), channel=channel)], "cn.quiet_hours") == (["c001"] if expected else [])


def test_cn_quiet_hours_are_the_borrowers_not_utc():
    # 14:30 UTC is 22:30 in Shanghai but 06:30 in Los Angeles... the borrower's zone decides.
    moment = datetime(2026, 11, 25, 14, 30, tzinfo=UTC)
    assert broken([fact(1, moment)], "cn.quiet_hours") == ["c001"]
    assert broken([fact(1, moment)], "cn.quiet_hours", timezone="Europe/London") == []


def test_cn_quiet_hours_allowed_when_the_borrower_chose_those_hours():
    prefs = Preferences(frozenset({"call"}), "21:00", "23:00", False, at("2026-11-01 00:00"))
    assert broken([fact(1, at("2026-11-25 22:30"))], "cn.quiet_hours", preferences=prefs) == []
    assert broken([fact(1, at("2026-11-25 23:30"))], "cn.quiet_hours", preferences=prefs) == ["c001"]


def test_inbound_contacts_break_nothing():
    assert breaches([fact(1, at("2026-11-25 23:30"), direction="inbound")]) == {"c001": []}


def test_cn_daily_voice_contacts_fourth_answered_call_of_the_local_day():
    day = [fact(n, at(f"2026-11-25 {9 + n:02d}:00"), outcome="answered") for n in range(4)]
    assert broken(day, "cn.daily_voice_contacts") == ["c003"]
    # Unanswered calls and calls with others do not count.
    mixed = [
        *day[:3],
        fact(9, at("2026-11-25 15:00")),
        fact(8, at("2026-11-25 16:00"), outcome="answered", party="relative"),
    ]
    assert broken(mixed, "cn.daily_voice_contacts") == []


def test_cn_daily_counts_restart_at_local_midnight():
    # 23:30 on the 25th and 00:30 on the 26th (Shanghai) are two local days, though one UTC day.
    calls = [fact(n, at(f"2026-11-25 {8 + n:02d}:00"), outcome="answered") for n in range(3)]
    calls += [fact(3, at("2026-11-26 00:30"), outcome="answered")]
    assert broken(calls, "cn.daily_voice_contacts") == []
    calls += [fact(4, at("2026-11-25 21:59"), outcome="answered")]
    assert broken(calls, "cn.daily_voice_contacts") == ["c004"]


def test_cn_daily_attempts_per_number():
    calls = [fact(n, at(f"2026-11-25 {9 + n:02d}:00")) for n in range(7)]
    assert broken(calls, "cn.daily_attempts") == ["c006"]
    other = [fact(n, at(f"2026-11-25 {9 + n:02d}:00"), phone=f"+861380013800{n % 2}") for n in range(7)]
    assert broken(other, "cn.daily_attempts") == []


def test_cn_third_party_while_the_borrower_was_reachable():
    reached = fact(1, at("2026-11-20 10:00"), outcome="answered")
    relative = fact(2, at("2026-11-27 09:59"), party="relative", phone="+8613900139000")
    assert broken([reached, relative], "cn.third_party") == ["c002"]
    later = fact(2, at("2026-11-28 10:00"), party="relative", phone="+8613900139000")
    assert broken([reached, later], "cn.third_party") == []  # 8 local days later: not reachable any more


def test_cn_third_party_after_that_person_refused():
    refused = fact(1, at("2026-11-01 10:00"), party="colleague", outcome="refused", phone="+8613900139000")
    again = fact(2, at("2026-11-30 10:00"), party="colleague", phone="+8613900139000")
    someone_else = fact(3, at("2026-11-30 11:00"), party="relative", phone="+8613700137000")
    assert broken([refused, again, someone_else], "cn.third_party") == ["c002"]


def test_cn_third_party_after_the_borrower_asked_for_only_me():
    prefs = Preferences(frozenset({"call", "sms"}), "09:00", "20:00", True, at("2026-11-10 12:00"))
    before = fact(1, at("2026-11-10 11:00"), party="relative")
    after = fact(2, at("2026-11-10 13:00"), party="relative")
    assert broken([before, after], "cn.third_party", preferences=prefs) == ["c002"]


def test_us_7_in_7_sliding_window_of_local_days():
    calls = [fact(n, at(f"2026-11-{10 + n} 10:00", NY)) for n in range(7)]
    kw = {"jurisdiction": "US", "timezone": "America/New_York"}
    assert broken(calls, "us.7_in_7", **kw) == []
    eighth = fact(7, at("2026-11-16 18:00", NY))  # the 8th call within the 7 days 10th–16th
    assert broken([*calls, eighth], "us.7_in_7", **kw) == ["c007"]
    next_day = fact(7, at("2026-11-17 09:00", NY))  # the 10th has left the window
    assert broken([*calls, next_day], "us.7_in_7", **kw) == []


def test_us_7_in_7_across_daylight_saving_change():
    # New York leaves DST on 1 November 2026: that day has 25 hours; days are still local days.
    calls = [fact(n, at(f"2026-10-{26 + n} 20:30", NY)) for n in range(6)]  # 26th–31st
    calls += [fact(6, at("2026-11-01 20:30", NY)), fact(7, at("2026-11-01 20:45", NY))]
    assert broken(calls, "us.7_in_7", jurisdiction="US", timezone="America/New_York") == ["c007"]


def test_us_after_conversation_within_7_days():
    kw = {"jurisdiction": "US", "timezone": "America/New_York"}
    talk = fact(1, at("2026-11-10 10:00", NY), outcome="answered")
    assert broken([talk, fact(2, at("2026-11-16 20:00", NY))], "us.after_conversation", **kw) == ["c002"]
    assert broken([talk, fact(2, at("2026-11-17 08:00", NY))], "us.after_conversation", **kw) == []
    assert broken([fact(2, at("2026-11-09 10:00", NY)), talk], "us.after_conversation", **kw) == []


@pytest.mark.parametrize(
    ("local", "expected"),
    [("2026-11-25 07:59", True), ("2026-11-25 08:00", False), ("2026-11-25 21:00", False), ("2026-11-25 21:01", True)],
)
def test_us_quiet_hours(local, expected):
    kw = {"jurisdiction": "US", "timezone": "America/Los_Angeles"}
    moment = at(local, ZoneInfo("America/Los_Angeles"))
    assert broken([fact(1, moment)], "us.quiet_hours", **kw) == (["c001"] if expected else [])


def test_us_quiet_hours_on_the_dst_morning():
    # 2 a.m. on 8 March 2026 does not exist in New York: 06:59 UTC is 01:59 EST, 07:00 UTC is 03:00 EDT.
    kw = {"jurisdiction": "US", "timezone": "America/New_York"}
    assert broken([fact(1, datetime(2026, 3, 8, 12, 0, tzinfo=UTC))], "us.quiet_hours", **kw) == []  # 08:00 EDT
    assert broken([fact(1, datetime(2026, 3, 8, 11, 59, tzinfo=UTC))], "us.quiet_hours", **kw) == ["c001"]


def test_any_paused_during_a_dispute_not_after_it_ends():
    pause = Pause("dispute", at("2026-11-10 12:00"), at("2026-11-20 12:00"))
    contacts = [fact(1, at("2026-11-10 11:59")), fact(2, at("2026-11-15 10:00")), fact(3, at("2026-11-20 12:00"))]
    assert broken(contacts, "any.paused", pauses=(pause,)) == ["c002"]
    assert broken(contacts, "any.stopped", pauses=(pause,)) == []


def test_any_stopped_after_a_granted_stop_request_in_every_jurisdiction():
    stop = Pause("borrower_request", at("2026-11-10 12:00"), None)
    for jurisdiction in ("CN", "US", "HK", "TW"):
        assert broken(
            [fact(1, at("2026-11-30 10:00"), channel="letter")],
            "any.stopped",
            jurisdiction=jurisdiction,
            pauses=(stop,),
        ) == ["c001"]


def test_any_channel_off_from_when_the_borrower_turned_it_off():
    prefs = Preferences(frozenset({"letter"}), "09:00", "20:00", False, at("2026-11-10 12:00"))
    contacts = [
        fact(1, at("2026-11-10 11:00"), channel="sms"),
        fact(2, at("2026-11-11 11:00"), channel="sms"),
        fact(3, at("2026-11-11 12:00"), channel="letter"),
        fact(4, at("2026-11-11 13:00"), channel="messaging_app"),  # not a channel the borrower can choose
    ]
    assert broken(contacts, "any.channel_off", preferences=prefs) == ["c002"]


def test_contacts_reported_out_of_order_give_the_same_breaches():
    day = [fact(n, at(f"2026-11-25 {9 + n:02d}:00"), outcome="answered") for n in range(5)]
    assert breaches(day) == breaches(list(reversed(day)))
    # Same moment: the contact id decides which one is "the fourth".
    same = [fact(n, at("2026-11-25 10:00"), outcome="answered") for n in (5, 3, 1, 4)]
    assert broken(same, "cn.daily_voice_contacts") == ["c005"]
