"""The contact rules, as data: one entry per rule with its stable id, the jurisdictions it
applies in, its limit, its source and the rights page that explains it.

The engine (portal/collection/engine.py) implements each id; the API's one-sentence details,
the borrower's explanations and the counters all come from here.
"""

from __future__ import annotations

from dataclasses import dataclass

from portal.jurisdiction import Jurisdiction


@dataclass(frozen=True)
class Rule:
    id: str
    jurisdictions: frozenset[Jurisdiction]
    detail: str  # one sentence for the lender (the API); the borrower's own is in portal/collection/labels.py
    source: str
    rights_page: str  # /rights/<rights_page>
    limit: int | None = None


CN = frozenset({Jurisdiction.CN})
US = frozenset({Jurisdiction.US})
EVERYWHERE = frozenset(Jurisdiction)

# Local wall-clock hours: contact is allowed from START (inclusive) until END.
CN_ALLOWED_HOURS = (8, 22)  # no collection between 22:00 and 08:00
US_ALLOWED_HOURS = (8, 21)  # before 8 a.m. or after 9 p.m. is presumed inconvenient
# Channels that reach a person at a moment (quiet hours apply); letters and email wait.
REAL_TIME_CHANNELS = frozenset({"call", "sms", "messaging_app", "visit"})
# How long an answered contact with the borrower shows they are reachable (cn.third_party),
# and the US windows (us.7_in_7, us.after_conversation): local calendar days.
REACHABLE_DAYS = 7
US_WINDOW_DAYS = 7

CN_STANDARD = "互联网金融 个人网络消费信贷 贷后催收风控指引 (national standard, approved March 2025)"
CBA_GUIDELINE = "China Banking Association, 金融机构个人消费类贷款催收工作指引(试行), January 2026 (check)"
REG_F = "Regulation F, 12 CFR 1006"

RULES: dict[str, Rule] = {
    rule.id: rule
    for rule in (
        Rule(
            "cn.quiet_hours",
            CN,
            "Contact between 22:00 and 08:00 in the borrower's time zone without the borrower's agreement.",
            CN_STANDARD,
            "collectors",
        ),
        Rule(
            "cn.daily_voice_contacts",
            CN,
            "More than 3 answered calls with the borrower in one day of the borrower's time zone.",
            CN_STANDARD,
            "collectors",
            limit=3,
        ),
        Rule(
            "cn.daily_attempts",
            CN,
            "More than 6 call attempts to one number in one day of the borrower's time zone.",
            CBA_GUIDELINE,
            "collectors",
            limit=6,
        ),
        Rule(
            "cn.third_party",
            CN,
            "Contact with someone other than the borrower while the borrower was reachable, after that "
            "person refused, or after the borrower asked to be the only one contacted.",
            CN_STANDARD + "; 消费金融公司管理办法 (2024)",
            "collectors",
        ),
        Rule(
            "us.7_in_7",
            US,
            "More than 7 call attempts about this account within 7 consecutive days.",
            REG_F + " §1006.14(b)(2)(i)(A)",
            "collectors",
            limit=7,
        ),
        Rule(
            "us.after_conversation",
            US,
            "A call within 7 days after a telephone conversation with the borrower.",
            REG_F + " §1006.14(b)(2)(i)(B)",
            "collectors",
        ),
        Rule(
            "us.quiet_hours",
            US,
            "Contact before 08:00 or after 21:00 in the borrower's time zone.",
            REG_F + " §1006.6(b)(1)(i)",
            "collectors",
        ),
        Rule(
            "any.paused",
            EVERYWHERE,
            "Outbound contact while collection contact was paused for a dispute or an urgent complaint.",
            "Sunshine Portal pause (dispute or urgent complaint) sent to the lender as contact.pause_requested",
            "dispute",
        ),
        Rule(
            "any.channel_off",
            EVERYWHERE,
            "Contact through a channel the borrower turned off.",
            "The borrower's contact preferences, sent to the lender as contact_preferences.changed",
            "collectors",
        ),
        Rule(
            "any.stopped",
            EVERYWHERE,
            "Contact after the borrower's request to stop contact was granted.",
            REG_F + " §1006.6(c); the borrower's stop request sent as contact.pause_requested",
            "collectors",
        ),
    )
}


def rules_for(jurisdiction: str) -> list[Rule]:
    """The rules that apply to a lender in a jurisdiction (CN when it is not set)."""
    where = Jurisdiction(jurisdiction) if jurisdiction in set(Jurisdiction) else Jurisdiction.CN
    return [rule for rule in RULES.values() if where in rule.jurisdictions]
