"""One-time codes: sent in the reader's language, kept only as HMACs, five tries, single use,
rate-limited in the database."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
from flask import render_template_string
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from portal.models import OtpChallenge, SmsMessage
from portal.models.types import utcnow
from portal.otp import service as otp
from portal.otp.forms import CodeForm, outcome_message, too_many_message
from portal.otp.service import OtpPurpose, TooManyCodes, VerifyStatus
from tests.factories import BorrowerFactory

PHONE = "+8613800138001"
LENDER = "阳光消费金融"


def issue(subject="account:1", phone=PHONE, locale="zh_Hans", purpose=OtpPurpose.PLAN, **kwargs):
    return otp.issue(phone_e164=phone, purpose=purpose, subject=subject, locale=locale, sender_name=LENDER, **kwargs)


def last_text(db) -> str:
    return db.session.execute(select(SmsMessage.text).order_by(SmsMessage.id.desc()).limit(1)).scalar_one()


def code_in(text: str) -> str:
    return re.search(r"(?<!\d)(\d{6})(?!\d)", text).group(1)


def verify(challenge, code, subject="account:1", purpose=OtpPurpose.PLAN, **kwargs):
    return otp.verify(challenge.public_id, code, purpose=purpose, subject=subject, **kwargs)


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("zh_Hans", ["【阳光消费金融】", "短信验证码", "10分钟内有效", "工作人员不会向您索取"]),
        ("zh_Hant", ["【阳光消费金融】", "簡訊驗證碼", "10分鐘內有效", "工作人員不會向您索取"]),
        ("en", ["阳光消费金融:", "your code is", "10 minutes", "staff will never ask you for it"]),
    ],
)
def test_the_code_goes_by_sms_in_the_readers_language(db, locale, expected):
    borrower = BorrowerFactory(phone_e164=PHONE)
    challenge = issue(locale=locale, borrower_id=borrower.id)
    text = last_text(db)
    for part in expected:
        assert part in text
    assert len(code_in(text)) == otp.CODE_LENGTH
    assert challenge.phone_ending == "8001" and challenge.tries_left == otp.MAX_TRIES
    assert challenge.expires_at - utcnow() <= otp.LIFETIME
    message = db.session.execute(select(SmsMessage)).scalar_one()
    assert message.borrower_id == borrower.id and message.purpose == "one_time_code"


def test_only_a_keyed_hash_of_the_code_is_kept(db):
    challenge = issue()
    code = code_in(last_text(db))
    row = db.session.execute(select(OtpChallenge)).scalar_one()
    assert code not in row.code_hash and len(row.code_hash) == 64
    assert len(challenge.public_id) >= 20
    # The SMS row holds a masked copy for when the message has left the portal.
    assert code not in db.session.execute(select(SmsMessage.redacted_text)).scalar_one()


def test_the_right_code_works_once(db):
    challenge = issue()
    code = code_in(last_text(db))
    assert verify(challenge, code).ok
    assert verify(challenge, code).status is VerifyStatus.ALREADY_USED


def test_five_tries_then_the_code_is_used_up(db):
    challenge = issue()
    code = code_in(last_text(db))
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    outcomes = [verify(challenge, wrong) for _ in range(otp.MAX_TRIES)]
    assert [o.tries_left for o in outcomes] == [4, 3, 2, 1, 0]
    assert [o.status for o in outcomes] == [VerifyStatus.WRONG] * 4 + [VerifyStatus.USED_UP]
    assert verify(challenge, code).status is VerifyStatus.USED_UP  # even the right one, now


def test_the_code_lasts_ten_minutes(db):
    now = utcnow()
    challenge = issue(now=now)
    code = code_in(last_text(db))
    assert verify(challenge, code, now=now + otp.LIFETIME).status is VerifyStatus.EXPIRED
    assert verify(challenge, code, now=now + otp.LIFETIME - timedelta(seconds=1)).ok


def test_a_code_only_confirms_what_it_was_sent_for(db):
    challenge = issue()
    code = code_in(last_text(db))
    assert verify(challenge, code, subject="account:2").status is VerifyStatus.UNKNOWN
    assert verify(challenge, code, purpose=OtpPurpose.DISPUTE).status is VerifyStatus.UNKNOWN
    assert otp.verify("no-such-challenge", code, purpose=OtpPurpose.PLAN, subject="account:1").status is (
        VerifyStatus.UNKNOWN
    )
    assert verify(challenge, code).ok  # those did not cost a try


def test_full_width_digits_and_spaces_are_accepted(db):
    challenge = issue()
    code = code_in(last_text(db))
    typed = " ".join([code[:3].translate(str.maketrans("0123456789", "０１２３４５６７８９")), code[3:]])
    assert verify(challenge, typed).ok


def test_a_new_code_replaces_the_open_one(db):
    first = issue()
    first_code = code_in(last_text(db))
    second = issue()
    second_code = code_in(last_text(db))
    assert verify(first, first_code).status is VerifyStatus.EXPIRED
    assert verify(second, second_code).ok


def test_three_codes_per_subject_in_ten_minutes(db):
    now = utcnow()
    for minute in range(3):
        issue(now=now + timedelta(minutes=minute))
    with pytest.raises(TooManyCodes) as refused:
        issue(now=now + timedelta(minutes=5))
    assert refused.value.limit is otp.PER_SUBJECT
    assert refused.value.retry_at == now + otp.PER_SUBJECT.window
    issue(subject="account:2", now=now + timedelta(minutes=5))  # another subject is not held up
    issue(now=now + otp.PER_SUBJECT.window + timedelta(seconds=1))
    # Nothing was written for the refused request.
    assert db.session.query(OtpChallenge).count() == 5


def test_ten_codes_per_phone_a_day(db):
    now = utcnow()
    for n in range(otp.PER_PHONE.codes):
        issue(subject=f"account:{n}", now=now + timedelta(minutes=n))
    with pytest.raises(TooManyCodes) as refused:
        issue(subject="account:99", now=now + timedelta(hours=1))
    assert refused.value.limit is otp.PER_PHONE
    assert refused.value.retry_at == now + otp.PER_PHONE.window
    issue(subject="account:99", phone="+8613800138002", now=now + timedelta(hours=1))


def test_the_form_takes_full_width_digits_and_spaces(app):
    with app.test_request_context(method="POST", headers={"Accept-Language": "en"}):
        form = CodeForm(formdata=MultiDict({"code": "１２３ ４５６", "confirm": "1"}), meta={"csrf": False})
        assert form.validate() and form.code.data == "123456" and not form.wants_new_code
        form = CodeForm(formdata=MultiDict({"code": "12345", "confirm": "1"}), meta={"csrf": False})
        assert not form.validate()
        assert form.code.errors == ["Enter the 6-digit code from the text message, for example 123456."]
        form = CodeForm(formdata=MultiDict({"code": "", "resend": "1"}), meta={"csrf": False})
        assert form.wants_new_code


def test_outcome_messages_say_what_to_do_next(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert outcome_message(otp.Outcome(VerifyStatus.WRONG, 1)) == "That code is not right. You can try 1 more time."
        assert "3 more times" in outcome_message(otp.Outcome(VerifyStatus.WRONG, 3))
        for status in (VerifyStatus.USED_UP, VerifyStatus.EXPIRED, VerifyStatus.ALREADY_USED, VerifyStatus.UNKNOWN):
            assert "Send a new code" in outcome_message(otp.Outcome(status))
        assert "You can ask for a new one after" in too_many_message(TooManyCodes(otp.PER_SUBJECT, utcnow()))


MACRO_PAGE = """{% from "_macros/otp.html" import code_field, code_buttons %}
<form method="post" novalidate>{{ code_field(form, '8001') }}{{ code_buttons(form, 'Confirm my plan') }}</form>"""


def test_the_macro_shows_label_hint_error_and_phone_hints(app):
    from bs4 import BeautifulSoup

    with app.test_request_context(method="POST", headers={"Accept-Language": "en"}):
        form = CodeForm(formdata=MultiDict({"code": "12"}), meta={"csrf": False})
        form.validate()
        soup = BeautifulSoup(render_template_string(MACRO_PAGE, form=form), "html.parser")
    field = soup.find("input", attrs={"name": "code"})
    assert field["autocomplete"] == "one-time-code" and field["inputmode"] == "numeric"
    assert field["value"] == "12"  # what was typed stays
    assert field["aria-invalid"] == "true"
    assert field["aria-describedby"] == "code-hint code-error"
    assert soup.find("label", attrs={"for": "code"}).get_text() == "Code sent by text message"
    assert "We sent a 6-digit code to your phone ending 8001." in soup.find(id="code-hint").get_text()
    assert "Enter the 6-digit code" in soup.find(id="code-error").get_text()
    buttons = [(b["name"], b.get_text()) for b in soup.find_all("button")]
    assert buttons == [("confirm", "Confirm my plan"), ("resend", "Send a new code")]


def test_the_macro_in_chinese(app):
    from bs4 import BeautifulSoup

    with app.test_request_context(headers={"Accept-Language": "zh-TW"}):
        html = render_template_string(MACRO_PAGE, form=CodeForm(meta={"csrf": False}))
    text = BeautifulSoup(html, "html.parser").get_text()
    assert "簡訊驗證碼" in text and "8001" in text and "重新發送" in text


@pytest.mark.postgres
@pytest.mark.committing
def test_parallel_tries_never_exceed_five(app, db):
    with app.app_context():
        challenge = issue(subject="account:race")
        code = code_in(last_text(db))
        db.session.commit()
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    barrier = threading.Barrier(12)
    outcomes = []

    def attempt(guess):
        with app.app_context():
            barrier.wait()
            outcomes.append(verify(challenge, guess, subject="account:race"))
            db.session.commit()

    guesses = [wrong] * 10 + [code, code]
    threads = [threading.Thread(target=attempt, args=(g,)) for g in guesses]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    with app.app_context():
        attempts = db.session.execute(select(OtpChallenge.attempts)).scalar_one()
    assert attempts <= otp.MAX_TRIES
    compared = [o for o in outcomes if o.status in (VerifyStatus.OK, VerifyStatus.WRONG, VerifyStatus.USED_UP)]
    assert sum(o.ok for o in outcomes) <= 1
    assert len(compared) - sum(o.status is VerifyStatus.USED_UP and o.tries_left == 0 for o in outcomes) <= 5
