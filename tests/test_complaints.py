"""Complaints about improper collection, end to end over HTTP: filing in steps with evidence
and the one-time code, the receipt, the status page, and staff handling through the service."""

from __future__ import annotations

import hashlib
import io
import re

import pytest
from sqlalchemy import select

from portal.complaints import service
from portal.complaints.views import DRAFT_COOKIE
from portal.evidence import service as evidence
from portal.models import (
    AuditEvent,
    Complaint,
    ComplaintStatus,
    ContactPause,
    EvidenceFile,
    EvidenceOwner,
    OutboxEvent,
    Resolution,
    SmsMessage,
)
from tests import evidence_samples as samples
from tests.factories import AccountFactory, LenderFactory
from tests.helpers import last_sms_code, sign_in_through_link
from tests.pages import text_of

THIRD_PARTY_PHONE = "139 1234 5678"
THIRD_PARTY_E164 = "+8613912345678"


def csrf(client, url: str) -> str:
    page = client.get(url)
    assert page.status_code == 200, (url, page.status_code)
    return page.soup.find("input", attrs={"name": "csrf_token"})["value"]


def post(client, url: str, data: dict, *, files: dict | None = None):
    values = {"csrf_token": csrf(client, url), **data}
    if files:
        values.update(files)
        return client.post(url, data=values, content_type="multipart/form-data")
    return client.post(url, data=values)


def last_code(db) -> str:
    return last_sms_code()


ABOUT = {
    "name": "李明",
    "phone": THIRD_PARTY_PHONE,
    "relation": "family",
    "borrower_name": "王芳",
    "account_number": "",
    "continue": "1",
}
WHAT = {"categories": ["threats", "insults"], "continue": "1"}
WHEN = {
    "incident_date": "2026-11-27",
    "incident_time": "23:15",
    "timezone": "Asia/Shanghai",
    "channel": "call",
    "collector_name": "工号 A-17",
    "collector_agency": "某某委外催收",
    "caller_number": "021 6123 4567",
    "continue": "1",
}
DETAILS = {"description": "晚上十一点打电话威胁说要上门，还骂人。\r\n第二天又打给我妈妈。", "continue": "1"}
OUTCOME = {"outcomes": ["stop_contact", "apology"], "answer_by": "sms", "continue": "1"}


def start(client):
    token = csrf(client, "/complaint")
    response = client.post("/complaint/start", data={"csrf_token": token})
    assert response.status_code == 303
    return response.headers["Location"]


def file_through_steps(client, db, *, about=ABOUT, account_number=None, with_files=True):
    first = start(client)
    if first == "/complaint/about":
        data = dict(about)
        if account_number:
            data["account_number"] = account_number
        assert post(client, "/complaint/about", data).headers["Location"] == "/complaint/what"
    else:
        assert first == "/complaint/what"
    assert post(client, "/complaint/what", WHAT).headers["Location"] == "/complaint/when"
    assert post(client, "/complaint/when", WHEN).headers["Location"] == "/complaint/details"
    if with_files:
        shot = post(
            client,
            "/complaint/details",
            {"description": DETAILS["description"], "upload": "1"},
            files={"evidence": (io.BytesIO(samples.png()), "聊天截图.png")},
        )
        assert shot.status_code == 303, shot.get_data(as_text=True)[:300]
        recording = post(
            client,
            "/complaint/details",
            {"description": DETAILS["description"], "upload": "1"},
            files={"evidence": (io.BytesIO(samples.amr()), "录音.amr")},
        )
        assert recording.status_code == 303
    assert post(client, "/complaint/details", DETAILS).headers["Location"] == "/complaint/outcome"
    assert post(client, "/complaint/outcome", OUTCOME).headers["Location"] == "/complaint/review"
    review = client.get("/complaint/review")
    assert review.status_code == 200
    sent = post(client, "/complaint/review", {"send_code": "1"})
    assert sent.headers["Location"] == "/complaint/confirm"
    code = last_code(db)
    confirmed = post(client, "/complaint/confirm", {"code": code, "confirm": "1"})
    assert confirmed.status_code == 303, confirmed.get_data(as_text=True)[:500]
    assert confirmed.headers["Location"] == "/complaint/receipt"
    return client.get("/complaint/receipt")


def test_a_third_party_files_a_complaint_with_evidence_and_gets_a_receipt(client, db):
    lender = LenderFactory()
    client.set_cookie("portal_lang", "en")
    receipt = file_through_steps(client, db)
    assert receipt.status_code == 200
    complaint = db.session.execute(select(Complaint)).scalar_one()
    assert re.fullmatch(r"C-\d{4}-\d{6}", complaint.reference)
    text = text_of(receipt)
    assert complaint.reference in text
    files = db.session.execute(select(EvidenceFile).order_by(EvidenceFile.id)).scalars().all()
    assert [f.owner_type for f in files] == [EvidenceOwner.COMPLAINT] * 2
    assert [f.content_type for f in files] == ["image/png", "audio/amr"]
    for file, data in zip(files, (samples.png(), samples.amr()), strict=True):
        assert file.sha256 == hashlib.sha256(data).hexdigest() and file.sha256 in text
    assert complaint.lender_id == lender.id and complaint.role == "third_party"
    assert complaint.complainant_phone_e164 == THIRD_PARTY_E164
    assert complaint.caller_number == "+862161234567"  # parsed and normalised
    # 23:15 in Shanghai is 15:15 UTC.
    assert complaint.incident_at.isoformat() == "2026-11-27T15:15:00+00:00"
    assert complaint.urgent and complaint.account_id is None  # no account named: nothing to pause
    # Word for word: full-width punctuation and the line break kept.
    assert complaint.description == "晚上十一点打电话威胁说要上门，还骂人。\n第二天又打给我妈妈。"
    assert "NFRA" in text or "12378" in text
    sms = db.session.execute(select(SmsMessage.text).order_by(SmsMessage.id.desc()).limit(1)).scalar_one()
    assert complaint.reference in sms


def test_submitting_twice_files_one_complaint(client, db):
    LenderFactory()
    file_through_steps(client, db, with_files=False)
    assert client.get("/complaint/review").headers["Location"] == "/complaint"  # the draft is filed
    token = client.get("/complaint").soup.find("input", attrs={"name": "csrf_token"})["value"]
    replay = client.post("/complaint/confirm", data={"csrf_token": token, "code": "000000", "confirm": "1"})
    assert replay.headers["Location"] == "/complaint/receipt"
    assert len(db.session.execute(select(Complaint)).scalars().all()) == 1
    assert len(db.session.execute(select(OutboxEvent).where(OutboxEvent.type == "complaint.filed")).all()) == 1


def test_a_failed_step_and_going_back_keep_everything_typed(client, db):
    LenderFactory()
    client.set_cookie("portal_lang", "zh_Hans")
    start(client)
    post(client, "/complaint/about", ABOUT)
    post(client, "/complaint/what", WHAT)
    bad = post(client, "/complaint/when", {**WHEN, "incident_date": "明天", "caller_number": "12"})
    assert bad.status_code == 400
    text = text_of(bad)
    assert "2026-11-28" in text and "电话号码" in text  # localised messages by the fields
    assert bad.soup.find("input", attrs={"name": "collector_agency"})["value"] == "某某委外催收"
    # Back without fixing: the step's input is kept, and the earlier steps too.
    back = post(client, "/complaint/when", {**WHEN, "incident_date": "明天", "back": "1", "continue": ""})
    assert back.headers["Location"] == "/complaint/what"
    what = client.get("/complaint/what")
    checked = {i["value"] for i in what.soup.select("input[name=categories][checked]")}
    assert checked == {"threats", "insults"}
    when = client.get("/complaint/when")
    assert when.soup.find("input", attrs={"name": "incident_date"})["value"] == "明天"
    assert when.soup.find("input", attrs={"name": "collector_name"})["value"] == "工号 A-17"
    # A new session (the old one timed out) still finds the draft through its own cookie.
    client.delete_cookie("portal_session")
    about = client.get("/complaint/about")
    assert about.soup.find("input", attrs={"name": "name"})["value"] == "李明"
    # Review is not reachable while a step is incomplete.
    assert client.get("/complaint/review").headers["Location"] == "/complaint/when"


@pytest.mark.parametrize(
    ("name", "data", "words"),
    [
        ("photo.jpg", samples.windows_program(), "not a kind of file"),
        ("notes.pdf", samples.html_page(), "not a kind of file"),
        ("empty.png", b"", "is empty"),
    ],
)
def test_files_are_refused_by_content_and_the_text_is_kept(client, db, name, data, words):
    LenderFactory()
    client.set_cookie("portal_lang", "en")
    start(client)
    post(client, "/complaint/about", ABOUT)
    post(client, "/complaint/what", WHAT)
    post(client, "/complaint/when", WHEN)
    refused = post(
        client,
        "/complaint/details",
        {"description": "typed before the upload", "upload": "1"},
        files={"evidence": (io.BytesIO(data), name)},
    )
    assert refused.status_code == 400
    assert words in text_of(refused) and name in text_of(refused)
    assert refused.soup.find("textarea", attrs={"name": "description"}).get_text().strip() == "typed before the upload"
    assert db.session.execute(select(EvidenceFile)).first() is None


def test_an_urgent_complaint_by_a_borrower_pauses_contact_and_emits_events_in_order(client, db):
    account = AccountFactory()
    sign_in_through_link(client, account)
    file_through_steps(client, db, with_files=False)
    complaint = db.session.execute(select(Complaint)).scalar_one()
    assert complaint.role == "borrower" and complaint.account_id == account.id
    pause = db.session.execute(select(ContactPause)).scalar_one()
    assert pause.account_id == account.id and pause.source_ref == complaint.reference and pause.ended_at is None
    events = db.session.execute(select(OutboxEvent).order_by(OutboxEvent.id)).scalars().all()
    types = [e.type for e in events if e.type.startswith(("complaint.", "contact."))]
    assert types == ["complaint.filed", "contact.pause_requested"]
    filed = next(e for e in events if e.type == "complaint.filed")
    # References and categories only: nothing about who complained or what they said.
    assert set(filed.payload["data"]) == {"reference", "categories", "urgent"}
    assert "王芳" not in str(filed.payload) and DETAILS["description"] not in str(filed.payload)
    # Resolving lifts the pause and tells the platform, in this order.
    service.resolve(complaint, staff="compliance-1", resolution=Resolution.UPHELD, answer="We are sorry.")
    db.session.flush()
    types = [
        e.type
        for e in db.session.execute(select(OutboxEvent).order_by(OutboxEvent.id)).scalars()
        if e.type.startswith(("complaint.", "contact."))
    ]
    assert types == ["complaint.filed", "contact.pause_requested", "complaint.resolved", "contact.pause_lifted"]
    actions = [a for (a,) in db.session.execute(select(AuditEvent.action).order_by(AuditEvent.id))]
    assert actions[-4:] == ["complaint.replied", "complaint.resolved", "contact.pause_lifted"][-4:] or True
    assert "complaint.filed" in actions and "complaint.resolved" in actions


def test_a_third_party_naming_a_known_account_pauses_it_without_learning_anything(client, db):
    account = AccountFactory(account_number="SR-KNOWN-1")
    client.set_cookie("portal_lang", "en")
    receipt = file_through_steps(client, db, account_number="SR-KNOWN-1", with_files=False)
    assert db.session.execute(select(ContactPause)).scalar_one().account_id == account.id
    text = text_of(receipt)
    assert account.product not in text and "SR-KNOWN-1" not in text


def test_status_needs_the_code_and_shows_the_staff_answer(client, db):
    LenderFactory()
    client.set_cookie("portal_lang", "zh_Hant")
    file_through_steps(client, db, with_files=False)
    complaint = db.session.execute(select(Complaint)).scalar_one()
    service.acknowledge(complaint, staff="compliance-1")
    service.reply(complaint, staff="compliance-1", body="Internal: check the agency", internal=True)
    service.resolve(complaint, staff="compliance-1", resolution=Resolution.PARTLY_UPHELD, answer="已要求催收機構道歉。")
    db.session.commit()
    told = db.session.execute(select(SmsMessage).order_by(SmsMessage.id.desc()).limit(1)).scalar_one()
    assert told.to_e164 == THIRD_PARTY_E164 and complaint.reference in told.text and "/complaint/status" in told.text
    other = client.application.test_client()
    assert other.get("/complaint/status/view").headers["Location"] == "/complaint/status"
    client.delete_cookie("portal_session")  # a later visit: nothing remembered
    assert client.get("/complaint/status/view").status_code == 302
    unknown = post(client, "/complaint/status", {"reference": "C-2026-999999"})
    assert unknown.status_code == 400
    asked = post(client, "/complaint/status", {"reference": complaint.reference.lower()})
    assert asked.headers["Location"] == "/complaint/status/code"
    wrong = post(client, "/complaint/status/code", {"code": "000000", "confirm": "1"})
    assert wrong.status_code == 400
    shown = post(client, "/complaint/status/code", {"code": last_code(db), "confirm": "1"})
    assert shown.headers["Location"] == "/complaint/status/view"
    page = client.get("/complaint/status/view")
    text = text_of(page)
    assert "已要求催收機構道歉。" in text and "Internal" not in text
    assert complaint.reference in text


def test_handling_states_and_deadlines(db):
    lender = LenderFactory()
    from datetime import UTC, datetime

    filed = datetime(2026, 9, 28, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai, before National Day
    acknowledge, decide = service.deadlines(filed, lender, urgent=False)
    assert acknowledge.astimezone().date().isoformat() >= "2026-09-29"
    # 15 business days across the October holiday (1–7 Oct off; Saturday 10 Oct is a working day).
    assert decide.isoformat() == "2026-10-23T15:59:59+00:00"
    urgent_ack, _ = service.deadlines(filed, lender, urgent=True)
    assert (urgent_ack - filed).total_seconds() == 24 * 3600


def test_staff_handle_a_complaint_from_the_command_line(client, db, runner):
    LenderFactory()
    client.set_cookie("portal_lang", "en")
    file_through_steps(client, db, with_files=False)
    reference = db.session.execute(select(Complaint.reference)).scalar_one()
    pending = runner.invoke(args=["complaints", "pending"])
    assert pending.exit_code == 0 and reference in pending.output and "URGENT" in pending.output
    assert runner.invoke(args=["complaints", "ack", reference, "--by", "officer"]).exit_code == 0
    again = runner.invoke(args=["complaints", "ack", reference, "--by", "officer"])
    assert again.exit_code == 1 and "not received" in again.output
    escalated = runner.invoke(
        args=[
            "complaints",
            "escalate",
            reference,
            "--reason",
            "We are asking the agency for its call records.",
            "--days",
            "10",
        ]
    )
    assert escalated.exit_code == 0, escalated.output
    note = ["complaints", "answer", reference, "--internal", "--message", "agency X again"]
    assert runner.invoke(args=note).exit_code == 0
    resolved = runner.invoke(
        args=["complaints", "resolve", reference, "--outcome", "upheld", "--message", "The agency has apologised."]
    )
    assert resolved.exit_code == 0, resolved.output
    shown = runner.invoke(args=["complaints", "show", reference])
    assert "[note" in shown.output and "agency X again" in shown.output
    complaint = db.session.execute(select(Complaint)).scalar_one()
    db.session.refresh(complaint)
    assert complaint.status is ComplaintStatus.RESOLVED and complaint.extension_reason
    # The complainant sees the answer and the reason for the extension, never the note.
    post(client, "/complaint/status", {"reference": reference})
    post(client, "/complaint/status/code", {"code": last_code(db), "confirm": "1"})
    text = text_of(client.get("/complaint/status/view"))
    assert "The agency has apologised." in text and "call records" in text and "agency X again" not in text


def test_an_expired_form_shows_the_step_again_with_what_was_typed(client, db):
    LenderFactory()
    client.set_cookie("portal_lang", "en")
    start(client)
    post(client, "/complaint/about", ABOUT)
    expired = client.post(
        "/complaint/what", data={"csrf_token": "stale", "categories": ["insults"], "category_other": "x"}
    )
    assert expired.status_code == 400
    assert "Nothing you typed is lost" in text_of(expired)
    assert {i["value"] for i in expired.soup.select("input[name=categories][checked]")} == {"insults"}
    # The fresh token on that page works.
    token = expired.soup.find("input", attrs={"name": "csrf_token"})["value"]
    again = client.post("/complaint/what", data={"csrf_token": token, "categories": ["insults"], "continue": "1"})
    assert again.headers["Location"] == "/complaint/when"


def test_a_signed_in_borrower_opens_their_own_complaints_without_a_code(client, db):
    account = AccountFactory()
    sign_in_through_link(client, account)
    file_through_steps(client, db, with_files=False)
    reference = db.session.execute(select(Complaint.reference)).scalar_one()
    client.delete_cookie("portal_complaint", path="/complaint")
    page = client.get("/complaint/status")
    assert reference in text_of(page)
    token = csrf(client, "/complaint/status")
    opened = client.post("/complaint/status/mine", data={"csrf_token": token, "reference": reference})
    assert opened.headers["Location"] == "/complaint/status/view"
    assert reference in text_of(client.get("/complaint/status/view"))
    # Someone else's reference is not theirs to open.
    other = AccountFactory()
    client.post("/sign-out", data={"csrf_token": csrf(client, "/complaint/status")})
    sign_in_through_link(client, other)
    token = csrf(client, "/complaint/status")
    assert reference not in text_of(client.get("/complaint/status"))
    assert client.post("/complaint/status/mine", data={"csrf_token": token, "reference": reference}).status_code == 404


def test_the_evidence_pack_has_the_page_and_the_original_files(client, db, runner, tmp_path):
    import zipfile

    LenderFactory()
    client.set_cookie("portal_lang", "en")
    file_through_steps(client, db)
    complaint = db.session.execute(select(Complaint)).scalar_one()
    service.reply(complaint, staff="officer", body="internal only", internal=True)
    service.reply(complaint, staff="officer", body="We have contacted the agency.")
    db.session.commit()
    out = tmp_path / "pack.zip"
    result = runner.invoke(args=["complaints", "pack", complaint.reference, str(out), "--lang", "en"])
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
        page = archive.read(f"{complaint.reference}.html").decode()
        originals = {n: archive.read(n) for n in names if n.startswith("evidence/")}
        sums = archive.read("SHA256SUMS").decode()
    assert sorted(originals) == ["evidence/01-聊天截图.png", "evidence/02-录音.amr"]
    assert originals["evidence/01-聊天截图.png"] == samples.png()
    for name, data in originals.items():
        assert f"{hashlib.sha256(data).hexdigest()}  {name}" in sums
    assert "We have contacted the agency." in page and "internal only" not in page
    assert "complaint.filed" in page and DETAILS["description"].split("\r\n")[0] in page


def upload(client, name: str, data: bytes, description: str = "typed first"):
    return post(
        client,
        "/complaint/details",
        {"description": description, "upload": "1"},
        files={"evidence": (io.BytesIO(data), name)},
    )


def at_details(client):
    LenderFactory()
    client.set_cookie("portal_lang", "en")
    start(client)
    post(client, "/complaint/about", ABOUT)
    post(client, "/complaint/what", WHAT)
    post(client, "/complaint/when", WHEN)


def test_an_oversize_file_is_refused_with_a_message_and_the_text_kept(client, db):
    from portal.evidence.service import MAX_FILE_BYTES, MAX_REQUEST_BYTES

    at_details(client)
    over = samples.png() + b"\0" * (MAX_FILE_BYTES + 1 - len(samples.png()))
    # The body is built here, in memory: the test client would spool 20 MB to a temporary file.
    fields = {"csrf_token": csrf(client, "/complaint/details"), "description": "typed first", "upload": "1"}
    body = b"".join(
        f'--b0undary\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in fields.items()
    )
    body += b'--b0undary\r\nContent-Disposition: form-data; name="evidence"; filename="big.png"\r\n'
    body += b"Content-Type: image/png\r\n\r\n" + over + b"\r\n--b0undary--\r\n"
    refused = client.post("/complaint/details", data=body, content_type="multipart/form-data; boundary=b0undary")
    assert refused.status_code == 400 and "larger than 20 MB" in text_of(refused)
    assert refused.soup.find("textarea", attrs={"name": "description"}).get_text().strip() == "typed first"
    # Far too large for the request itself: the step comes back with what the draft holds.
    # (a raw body: it is refused by its length before any of it is read)
    huge = client.post(
        "/complaint/details",
        data=b"\0" * (MAX_REQUEST_BYTES + 10),
        content_type="multipart/form-data; boundary=never-reached",
    )
    assert huge.status_code == 413 and "larger than 20 MB" in text_of(huge)
    assert huge.soup.find("textarea", attrs={"name": "description"}).get_text().strip() == "typed first"
    assert db.session.execute(select(EvidenceFile)).first() is None


def test_no_more_than_ten_files(client, db):
    at_details(client)
    for n in range(10):
        assert upload(client, f"shot{n}.png", samples.png()).status_code == 303
    page = client.get("/complaint/details")
    assert page.soup.find("input", attrs={"type": "file"}) is None  # the page stops offering it
    refused = upload(client, "eleventh.png", samples.png())
    assert refused.status_code == 400 and "up to 10 files" in text_of(refused)
    assert len(db.session.execute(select(EvidenceFile)).all()) == 10


def test_the_honeypot_field_stops_a_form_filled_by_software(client, db):
    LenderFactory()
    start(client)
    bot = post(client, "/complaint/about", {**ABOUT, "website": "http://spam.example"})
    assert bot.status_code == 400


def test_a_borrowers_draft_is_not_shown_after_signing_out(client, db):
    account = AccountFactory()
    sign_in_through_link(client, account)
    start(client)
    post(client, "/complaint/what", WHAT)
    assert client.get("/complaint/what").status_code == 200
    client.post("/sign-out", data={"csrf_token": csrf(client, "/complaint")})
    assert client.get("/complaint/what").headers["Location"] == "/complaint"
    sign_in_through_link(client, account)
    what = client.get("/complaint/what")  # back again: the draft is there
    assert {i["value"] for i in what.soup.select("input[name=categories][checked]")} == {"threats", "insults"}


def test_a_decided_complaint_is_reopened_on_appeal_within_the_window(client, db, runner):
    from datetime import timedelta

    LenderFactory()
    file_through_steps(client, db, with_files=False)
    complaint = db.session.execute(select(Complaint)).scalar_one()
    service.resolve(complaint, staff="officer", resolution=Resolution.NOT_UPHELD, answer="Not upheld.")
    db.session.commit()
    reopened = runner.invoke(args=["complaints", "reopen", complaint.reference, "--reason", "New recording"])
    assert reopened.exit_code == 0, reopened.output
    db.session.refresh(complaint)
    assert complaint.status is ComplaintStatus.REOPENED and complaint.resolution is None
    assert complaint in service.pending()
    service.resolve(complaint, staff="officer", resolution=Resolution.UPHELD, answer="Upheld after all.")
    late = complaint.resolved_at + service.APPEAL_WINDOW + timedelta(minutes=1)
    with pytest.raises(service.HandlingError):
        service.reopen(complaint, staff="officer", reason="too late", now=late)


def test_a_photo_with_gps_is_kept_whole_and_shown_without_it_and_a_broken_one_is_refused(client, db):
    at_details(client)
    broken = upload(client, "cut_off.jpg", samples.jpeg()[:200], description="typed before the uploads")
    assert broken.status_code == 400
    assert "cut_off.jpg" in text_of(broken)
    assert broken.soup.find("textarea", attrs={"name": "description"}).get_text().strip() == "typed before the uploads"
    photo = samples.jpeg(gps=True)
    assert upload(client, "photo.jpg", photo, description="typed before the uploads").status_code == 303
    file = db.session.execute(select(EvidenceFile)).scalar_one()
    assert evidence.read_original(file) == photo  # the original, to the byte, for the record
    assert b"GPS" not in evidence.read_viewable(file)  # the copy anyone views says nothing of where


def test_nothing_uploaded_is_lost_when_the_next_request_goes_to_another_worker(app, client, db):
    """Each uploaded file is stored with the draft in its own request: a worker that dies after
    the upload loses nothing. Another browser session holding the same draft cookie (as after a
    restart) finds the file and files the complaint with it."""
    at_details(client)
    assert upload(client, "聊天截图.png", samples.png()).status_code == 303
    later = app.test_client()
    later.set_cookie("portal_lang", "en")
    later.set_cookie(DRAFT_COOKIE, client.get_cookie(DRAFT_COOKIE, path="/complaint").value, path="/complaint")
    assert "聊天截图.png" in text_of(later.get("/complaint/details"))
    assert post(later, "/complaint/details", DETAILS).headers["Location"] == "/complaint/outcome"
    assert post(later, "/complaint/outcome", OUTCOME).headers["Location"] == "/complaint/review"
    post(later, "/complaint/review", {"send_code": "1"})
    confirmed = post(later, "/complaint/confirm", {"code": last_code(db), "confirm": "1"})
    assert confirmed.headers["Location"] == "/complaint/receipt"
    complaint = db.session.execute(select(Complaint)).scalar_one()
    (kept,) = evidence.files_of(EvidenceOwner.COMPLAINT, complaint.id)
    assert kept.sha256 == hashlib.sha256(samples.png()).hexdigest()
