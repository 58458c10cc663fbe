"""Text messages: written with the change, sent after it commits, never lost, never sent for a
change that was rolled back, retried by `portal sms retry`."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from portal import audit
from portal.models import SmsMessage, SmsStatus
from portal.models.types import utcnow
from portal.sms import service as sms
from tests.factories import BorrowerFactory
from tests.sms_gateway import SmsGateway

PHONE = "+8613800138001"


def messages(db) -> list[SmsMessage]:
    db.session.expire_all()
    return list(db.session.execute(select(SmsMessage).order_by(SmsMessage.id)).scalars())


@pytest.fixture
def gateway(app, monkeypatch):
    server = SmsGateway()
    monkeypatch.setitem(app.config, "SMS_BACKEND", "http")
    monkeypatch.setitem(app.config, "SMS_GATEWAY_URL", server.url)
    monkeypatch.setitem(app.config, "SMS_GATEWAY_TOKEN", "gateway-token-for-tests")
    monkeypatch.setitem(app.config, "SMS_GATEWAY_TIMEOUT_SECONDS", 0.5)
    yield server
    server.stop()


def test_a_message_waits_in_the_transaction_and_leaves_when_it_commits(db):
    borrower = BorrowerFactory()
    message = sms.send(PHONE, "您好，这是一条测试短信。", purpose=sms.SmsPurpose.NOTICE, borrower_id=borrower.id)
    assert message.status == SmsStatus.PENDING and message.attempts == 0
    db.session.commit()
    [sent] = messages(db)
    assert sent.status == SmsStatus.SENT and sent.backend == "database"
    assert sent.text == "您好，这是一条测试短信。" and sent.borrower_id == borrower.id
    assert sent.attempts == 1 and sent.sent_at is not None


def test_a_rolled_back_change_sends_nothing(db, gateway):
    sms.send(PHONE, "never", purpose=sms.SmsPurpose.NOTICE)
    db.session.rollback()
    audit.record("test.other_change", actor_type="system")
    db.session.commit()
    assert messages(db) == [] and gateway.received == []


def test_the_http_gateway_gets_the_message_with_its_token_and_id(db, gateway):
    message = sms.send(
        PHONE, "Your code is 123456.", redacted_text="Your code is ••••••.", purpose=sms.SmsPurpose.ONE_TIME_CODE
    )
    public_id = message.public_id
    db.session.commit()
    [request] = gateway.received
    assert request["body"] == {"id": public_id, "to": PHONE, "text": "Your code is 123456."}
    assert request["headers"]["Authorization"] == "Bearer gateway-token-for-tests"
    assert request["headers"]["Idempotency-Key"] == public_id
    [sent] = messages(db)
    assert sent.status == SmsStatus.SENT and sent.backend == "http" and sent.gateway_reference == "gw-1"
    # The code does not stay in the database once the message has left.
    assert sent.text == "Your code is ••••••."


def test_a_failed_delivery_is_kept_and_retried(db, gateway, runner):
    gateway.mode = "error"
    sms.send(PHONE, "retry me", purpose=sms.SmsPurpose.NOTICE)
    db.session.commit()  # the request would have answered normally
    [failed] = messages(db)
    assert failed.status == SmsStatus.FAILED and failed.last_error == "HTTP 500" and failed.attempts == 1

    gateway.mode = "ok"
    result = runner.invoke(args=["sms", "retry"])
    assert result.exit_code == 0, result.output
    assert "1 sent, 0 failed again, 0 expired." in result.output
    [sent] = messages(db)
    assert sent.status == SmsStatus.SENT and sent.attempts == 2
    assert [r["body"]["text"] for r in gateway.received] == ["retry me", "retry me"]


def test_a_redirect_is_a_failure_and_is_not_followed(db, gateway):
    gateway.mode = "redirect"
    sms.send(PHONE, "stay here", purpose=sms.SmsPurpose.NOTICE)
    db.session.commit()
    [failed] = messages(db)
    assert failed.status == SmsStatus.FAILED and failed.last_error == "HTTP 307"
    assert gateway.redirect_target_hits == 0


def test_a_slow_gateway_times_out_instead_of_holding_the_request(db, gateway):
    gateway.mode = "slow"
    sms.send(PHONE, "slow", purpose=sms.SmsPurpose.NOTICE)
    started = time.monotonic()
    db.session.commit()
    assert time.monotonic() - started < 1.5  # the 0.5 s read timeout, not the gateway's 2 s
    [failed] = messages(db)
    assert failed.status == SmsStatus.FAILED and "Timeout" in failed.last_error


def test_a_message_past_its_lifetime_is_expired_not_sent(db, gateway, runner):
    gateway.mode = "error"
    now = utcnow()
    sms.send(
        PHONE,
        "Your code is 654321.",
        redacted_text="Your code is ••••••.",
        purpose=sms.SmsPurpose.ONE_TIME_CODE,
        expires_at=now + timedelta(minutes=10),
    )
    db.session.commit()
    gateway.mode = "ok"
    result = sms.retry_due(now=now + timedelta(minutes=11))
    assert (result.sent, result.expired) == (0, 1)
    [expired] = messages(db)
    assert expired.status == SmsStatus.EXPIRED and expired.text == "Your code is ••••••."
    assert len(gateway.received) == 1


def test_a_message_left_pending_by_a_crash_is_sent_by_retry_after_a_grace_period(db, gateway):
    sms.send(PHONE, "left behind", purpose=sms.SmsPurpose.NOTICE)
    db.session.info.pop("portal.sms.noted")  # the process died between commit and sending
    db.session.commit()
    assert gateway.received == []
    assert sms.retry_due().sent == 0  # perhaps its own sender is still at work
    assert sms.retry_due(now=utcnow() + sms.PENDING_GRACE + timedelta(seconds=1)).sent == 1
    assert [m.status for m in messages(db)] == [SmsStatus.SENT]


def test_two_senders_never_both_send_one_message(db, gateway):
    message = sms.send(PHONE, "once", purpose=sms.SmsPurpose.NOTICE)
    db.session.info.pop("portal.sms.noted")
    db.session.commit()
    later = utcnow() + timedelta(minutes=5)
    first = sms.deliver([message.id], db.session.get_bind(), now=later)
    second = sms.deliver([message.id], db.session.get_bind(), now=later)
    assert (first.sent, second.sent) == (1, 0)
    assert len(gateway.received) == 1


def test_retry_gives_up_after_the_last_attempt_and_says_so(db, gateway, runner):
    gateway.mode = "error"
    sms.send(PHONE, "hopeless", purpose=sms.SmsPurpose.NOTICE)
    db.session.commit()
    for _ in range(sms.MAX_ATTEMPTS):
        runner.invoke(args=["sms", "retry"])
    assert len(gateway.received) == sms.MAX_ATTEMPTS
    result = runner.invoke(args=["sms", "retry"])
    assert len(gateway.received) == sms.MAX_ATTEMPTS
    assert f"failed {sms.MAX_ATTEMPTS} times" in result.output


def test_the_console_prints_the_message_for_the_demo(db, app, monkeypatch, capsys):
    monkeypatch.setitem(app.config, "SMS_BACKEND", "console")
    sms.send(PHONE, "Your code is 111222.", redacted_text="Your code is ••••••.", purpose=sms.SmsPurpose.ONE_TIME_CODE)
    db.session.commit()
    assert f"[SMS to {PHONE}] Your code is 111222." in capsys.readouterr().err
    [sent] = messages(db)
    assert sent.backend == "console" and sent.text == "Your code is ••••••."


def test_a_broken_sender_never_fails_the_committed_request(db, app, monkeypatch, caplog):
    monkeypatch.setitem(app.config, "SMS_BACKEND", "carrier-pigeon")
    sms.send(PHONE, "later", purpose=sms.SmsPurpose.NOTICE)
    with caplog.at_level(logging.ERROR, logger="portal.sms.service"):
        db.session.commit()
    assert "delivery after commit failed" in caplog.text
    assert [m.status for m in messages(db)] == [SmsStatus.PENDING]


def test_a_request_sends_after_its_commit_and_a_failed_one_sends_nothing(make_app, db, gateway):
    web = make_app(WTF_CSRF_ENABLED=False, **{k: v for k, v in gateway_config(gateway).items()})

    @web.post("/test/notify")
    def notify():
        sms.send(PHONE, "from a request", purpose=sms.SmsPurpose.NOTICE)
        return "ok", 200, {"Content-Type": "text/plain"}

    @web.post("/test/notify-then-fail")
    def notify_then_fail():
        sms.send(PHONE, "from a failed request", purpose=sms.SmsPurpose.NOTICE)
        raise RuntimeError("a bug after the message was written")

    client = web.test_client()
    assert client.post("/test/notify").status_code == 200
    assert client.post("/test/notify-then-fail").status_code == 500
    assert [r["body"]["text"] for r in gateway.received] == ["from a request"]
    assert [(m.text, m.status) for m in messages(db)] == [("from a request", SmsStatus.SENT)]


def gateway_config(gateway) -> dict:
    return {
        "SMS_BACKEND": "http",
        "SMS_GATEWAY_URL": gateway.url,
        "SMS_GATEWAY_TOKEN": "gateway-token-for-tests",
        "SMS_GATEWAY_TIMEOUT_SECONDS": 0.5,
    }


@pytest.mark.parametrize("phone", ["13800138001", "+86 138 0013 8001", "", "+0123456789"])
def test_only_e164_numbers(db, phone):
    with pytest.raises(sms.InvalidPhoneNumber):
        sms.send(phone, "hello", purpose=sms.SmsPurpose.NOTICE)
