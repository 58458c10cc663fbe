"""What each complaint vocabulary is called on pages, in every language; defined once."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import phonenumbers
from flask_babel import lazy_gettext as _l

from portal.models import AnswerBy, ComplaintCategory, ComplaintChannel, ComplaintStatus, DesiredOutcome, Resolution

CATEGORY_LABELS = {
    ComplaintCategory.THREATS: _l("Threats or violence"),
    ComplaintCategory.INSULTS: _l("Insults or abusive language"),
    ComplaintCategory.THIRD_PARTIES: _l("Contacting family, colleagues or people in the phone's contacts"),
    ComplaintCategory.NIGHT_OR_TOO_OFTEN: _l("Calls or visits at night (22:00–08:00) or too often"),
    ComplaintCategory.IMPERSONATION: _l("Pretending to be the police, a court, a lawyer or an official"),
    ComplaintCategory.FALSE_CLAIMS: _l("False claims about legal consequences or credit records"),
    ComplaintCategory.PUBLIC_DISCLOSURE: _l("Making the debt public, for example on social media"),
    ComplaintCategory.UNFAIR_FEES: _l("Fees or amounts that are not in the loan contract"),
    ComplaintCategory.BORROW_ELSEWHERE: _l("Pressure to borrow elsewhere to repay"),
    ComplaintCategory.OTHER: _l("Something else"),
}

CHANNEL_LABELS = {
    ComplaintChannel.CALL: _l("Phone call"),
    ComplaintChannel.SMS: _l("Text message"),
    ComplaintChannel.MESSAGING_APP: _l("Messaging app (for example WeChat)"),
    ComplaintChannel.VISIT: _l("A visit in person"),
    ComplaintChannel.SOCIAL_MEDIA: _l("Social media"),
    ComplaintChannel.OTHER: _l("Another way"),
}

OUTCOME_LABELS = {
    DesiredOutcome.STOP_CONTACT: _l("Stop this kind of contact"),
    DesiredOutcome.APOLOGY: _l("An apology"),
    DesiredOutcome.CORRECT_RECORDS: _l("Correct records that are wrong"),
    DesiredOutcome.REFUND_FEES: _l("Refund fees that should not have been charged"),
    DesiredOutcome.OTHER: _l("Something else"),
}

ANSWER_LABELS = {
    AnswerBy.SMS: _l("A text message telling me the answer is ready"),
    AnswerBy.PHONE_CALL: _l("A phone call"),
    AnswerBy.EMAIL: _l("An email"),
}

STATUS_LABELS = {
    ComplaintStatus.RECEIVED: _l("Received"),
    ComplaintStatus.ACKNOWLEDGED: _l("Received and confirmed"),
    ComplaintStatus.INVESTIGATING: _l("Being looked into"),
    ComplaintStatus.EXTENDED: _l("Being looked into (more time needed)"),
    ComplaintStatus.RESOLVED: _l("Answered"),
    ComplaintStatus.CLOSED: _l("Closed"),
    ComplaintStatus.REOPENED: _l("Being looked into again"),
}

RESOLUTION_LABELS = {
    Resolution.UPHELD: _l("Your complaint was upheld"),
    Resolution.PARTLY_UPHELD: _l("Your complaint was partly upheld"),
    Resolution.NOT_UPHELD: _l("Your complaint was not upheld"),
}

RELATIONS = {
    "family": _l("Family member"),
    "colleague": _l("Colleague or employer"),
    "contact": _l("Friend or someone in their phone's contacts"),
    "stranger": _l("I do not know them"),
    "other": _l("Other"),
}

# The zones people most often live in, in the order our readers are most likely to need.
TIMEZONE_LABELS = {
    "Asia/Shanghai": _l("Beijing time (mainland China)"),
    "Asia/Hong_Kong": _l("Hong Kong time"),
    "Asia/Taipei": _l("Taiwan time"),
    "America/New_York": _l("US Eastern time"),
    "America/Chicago": _l("US Central time"),
    "America/Denver": _l("US Mountain time"),
    "America/Los_Angeles": _l("US Pacific time"),
}


def phone_parses(text: str, *, any_kind: bool = False, region: str = "CN") -> str | None:
    """E.164 of a number typed in any common way (mainland numbers need no +86), or None."""
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    if not any_kind and phonenumbers.number_type(parsed) not in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def local_datetime(day: str | None, clock: str | None, zone: str | None) -> datetime | None:
    """The moment typed in the complainant's zone (noon when no time was given), aware."""
    if not day:
        return None
    try:
        parsed_day = date.fromisoformat(day.strip())
        parsed_time = time.fromisoformat(clock.strip()) if clock else time(12, 0)
        return datetime.combine(parsed_day, parsed_time, tzinfo=ZoneInfo(zone or "Asia/Shanghai"))
    except (ValueError, KeyError):
        return None
