"""The README states the limits of one-time codes, text messages and evidence files; the numbers
come from the code's constants, so this fails when one changes without the other."""

from __future__ import annotations

from pathlib import Path

from portal.evidence import service as evidence
from portal.otp import service as otp
from portal.sms import service as sms

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    return README.split(f"### {title}\n", 1)[1].split("\n#", 1)[0]


def test_one_time_code_limits():
    text = " ".join(section("One-time codes").split())
    minutes = int(otp.LIFETIME.total_seconds() // 60)
    assert f"{otp.CODE_LENGTH} digits, valid for {minutes} minutes, at most {otp.MAX_TRIES} tries" in text
    per_subject = int(otp.PER_SUBJECT.window.total_seconds() // 60)
    assert f"At most {otp.PER_SUBJECT.codes} codes per {per_subject} minutes for one subject" in text
    assert otp.PER_PHONE.window.days == 1 and f"{otp.PER_PHONE.codes} codes a day for one phone" in text


def test_text_message_retries():
    text = " ".join(section("Text messages").split())
    assert f"fails {['zero', 'one', 'two', 'three', 'four', 'five'][sms.MAX_ATTEMPTS]} times" in text
    assert f"after its {int(otp.LIFETIME.total_seconds() // 60)} minutes" in text


def test_evidence_limits():
    text = " ".join(section("Evidence files").split())
    assert f"at most {evidence.MAX_FILES} files of {evidence.MAX_FILE_MB} MB each" in text


def _paragraph(start: str) -> str:
    return " ".join(README.split(f"\n{start}", 1)[1].split("\n\n", 1)[0].split())


def test_verification_lockout_limits():
    from portal.access import throttle
    from portal.access.views import POST_RATE

    text = _paragraph("Verification:")
    account, person, address = throttle.PER_ACCOUNT, throttle.PER_PERSON, throttle.PER_ADDRESS
    assert account.max_failures == person.max_failures and account.lock == person.lock
    assert f"{account.max_failures} unsuccessful tries for one account" in text
    assert f"pause checking for {account.lock_minutes} minutes" in text
    assert address.window.total_seconds() == 3600
    assert f"one address may fail {address.max_failures} times an hour" in text
    per_minute, unit = POST_RATE.split(" per ")
    assert unit == "minute" and f"{per_minute} POSTs a minute per address" in text


def test_session_lifetime():
    from portal.access.sessions import ABSOLUTE_LIFETIME

    text = _paragraph("Sessions:")
    assert f"a lifetime of at most {int(ABSOLUTE_LIFETIME.total_seconds() // 3600)} hours" in text


def test_complaint_deadlines():
    from portal.complaints import service as complaints
    from portal.jurisdiction import Jurisdiction

    text = " ".join(section("Complaints").split())
    assert f"kept {complaints.DRAFT_LIFETIME.days} days" in text
    assert f"acknowledgement within {complaints.ACKNOWLEDGE_BUSINESS_DAYS} business day" in text
    assert f"within {int(complaints.URGENT_ACKNOWLEDGE.total_seconds() // 3600)} hours for urgent" in text
    assert f"a decision within {complaints.DECISION_BUSINESS_DAYS[Jurisdiction.CN]} business days" in text
    assert f"an appeal within {complaints.APPEAL_WINDOW.days} days of the decision" in text


def test_rights_centre_figures():
    from portal.rights import content, service
    from portal.security import PUBLIC_MAX_AGE

    text = " ".join(section("Rights centre").split())
    assert f"answer deadline of {service.DISPUTE_ANSWER_BUSINESS_DAYS} business days" in text
    assert f"a deadline of {service.DOCUMENT_BUSINESS_DAYS} business days" in text
    assert f"max-age={PUBLIC_MAX_AGE}" in text
    for region, (start, end) in service.CONTACT_WINDOW.items():
        assert f"{start}–{end}" in text and region in text
    assert "(" + ", ".join(f"`{name}`" for name in content.PAGES) + ")" in text
    assert service.STOP_CONTACT_GRANTED == {"US"} and "where the law grants it (US)" in text
