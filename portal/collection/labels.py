"""What the borrower reads about contacts: labels for each vocabulary and one plain sentence per
rule (keyed by the rule ids of portal/collection/rules.py; tests check every rule has one)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.models import ApiScope, CollectionChannel, ContactDirection, ContactOutcome, ContactParty

COLLECTION_CHANNEL_LABELS = {
    CollectionChannel.CALL: _l("Phone call"),
    CollectionChannel.SMS: _l("Text message"),
    CollectionChannel.MESSAGING_APP: _l("Messaging app"),
    CollectionChannel.EMAIL: _l("Email message"),
    CollectionChannel.LETTER: _l("Letter"),
    CollectionChannel.VISIT: _l("Visit"),
}
DIRECTION_LABELS = {
    ContactDirection.OUTBOUND: _l("They contacted"),
    ContactDirection.INBOUND: _l("Contacted them"),
}
OUTCOME_LABELS = {
    ContactOutcome.ANSWERED: _l("Reached"),
    ContactOutcome.NO_ANSWER: _l("Not answered"),
    ContactOutcome.MESSAGE_LEFT: _l("Message left"),
    ContactOutcome.REFUSED: _l("Refused further contact"),
}
PARTY_LABELS = {
    ContactParty.BORROWER: _l("You"),
    ContactParty.RELATIVE: _l("A relative of yours"),
    ContactParty.COLLEAGUE: _l("A colleague of yours"),
    ContactParty.EMERGENCY_CONTACT: _l("Your emergency contact"),
    ContactParty.OTHER: _l("Someone else"),
}
SCOPE_LABELS = {
    ApiScope.ACCOUNTS_WRITE: _l("Send loan accounts and their figures"),
    ApiScope.LINKS_WRITE: _l("Make and revoke reminder links"),
    ApiScope.EVENTS_READ: _l("Read events"),
    ApiScope.CONTACTS_WRITE: _l("Report collection contacts"),
}
# One sentence per rule, for the borrower: what was wrong with this contact.
RULE_EXPLANATIONS = {
    "cn.quiet_hours": _l("Collectors may not contact you between 22:00 and 08:00 unless you agreed."),
    "cn.daily_voice_contacts": _l("Collectors may speak with you by phone at most 3 times a day."),
    "cn.daily_attempts": _l("Collectors may call one number at most 6 times a day."),
    "cn.third_party": _l(
        "Collectors may contact other people only when they cannot reach you, never after that person "
        "refused, and never after you asked them to contact only you."
    ),
    "us.7_in_7": _l("More than 7 calls in 7 days is presumed to be harassment."),
    "us.after_conversation": _l("After you spoke with a collector by phone, they should not call again for 7 days."),
    "us.quiet_hours": _l("Collectors may not contact you before 8 a.m. or after 9 p.m. your time."),
    "any.paused": _l("Contact was paused while your dispute or complaint was open."),
    "any.channel_off": _l("You had turned this way of contact off."),
    "any.stopped": _l("You had asked collectors to stop contacting you."),
}
# The counters shown against each limit (a rule id with a limit).
COUNTER_LABELS = {
    "cn.daily_voice_contacts": _l("%(count)s of %(limit)s calls with you today"),
    "cn.daily_attempts": _l("%(count)s of %(limit)s call attempts to one number today"),
    "us.7_in_7": _l("%(count)s of %(limit)s calls in the last 7 days"),
}
WEEK_COUNT = _l("%(count)s calls in the last 7 days")
