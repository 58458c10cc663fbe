"""The rights centre over HTTP: public pages without cookies, a dispute from the form to the
staff answer, document requests, and contact preferences with their localised errors."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from portal.contact.pauses import pauses_in_force
from portal.extensions import db as _db
from portal.models import (
    AccountStatus,
    AuditEvent,
    ContactPreference,
    DocumentRequest,
    EvidenceFile,
    OutboxEvent,
    SmsMessage,
)
from portal.rights import content as words
from portal.rights import service
from tests import evidence_samples as samples
from tests.factories import AccountFactory
from tests.helpers import last_sms_code, sign_in_through_link
from tests.pages import text_of

PUBLIC = ["/rights", *[f"/rights/{name}" for name in words.PAGES], "/genuine"]


def events_for(account) -> list[str]:
    return list(
        _db.session.execute(
            select(OutboxEvent.type)
            .where(
                OutboxEvent.account_id == account.id,
                OutboxEvent.type.not_in(("link.opened", "borrower.signed_in")),  # signing in
            )
            .order_by(OutboxEvent.id)
        ).scalars()
    )


@pytest.mark.parametrize("lang", ["zh_Hans", "zh_Hant", "en"])
@pytest.mark.parametrize("url", PUBLIC)
def test_public_pages_open_without_sign_in_set_no_cookie_and_may_be_cached(client, db, url, lang):
    AccountFactory()  # a lender, for /genuine
    response = client.get(url, query_string={"lang": lang})
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    assert response.headers["Cache-Control"].startswith("public")
    assert "Accept-Language" in response.headers["Vary"]
    soup = response.soup
    assert soup.find("meta", attrs={"name": "robots"})["content"] == "index, follow"
    assert soup.find("meta", attrs={"name": "description"})["content"].strip()
    assert not soup.find("form") and not soup.find("input", attrs={"name": "csrf_token"})
    assert soup.html["lang"] == {"zh_Hans": "zh-Hans", "zh_Hant": "zh-Hant", "en": "en"}[lang]
    assert "2026" in text_of(response) and soup.find(class_="sources")  # last reviewed, sources
    assert len(response.get_data()) < 20 * 1024


def test_the_language_follows_the_browser_and_hong_kong_readers_get_their_regulator(client, db):
    page = client.get("/rights/complaints", headers={"Accept-Language": "zh-TW"})
    assert "如果對答覆不滿意" in text_of(page) and "12378" in text_of(page)
    hk = client.get("/rights/complaints", query_string={"region": "hk"})
    assert "貸款機構" in text_of(hk) and "hkma.gov.hk" in text_of(hk)  # Traditional by default
    us = client.get("/rights/collectors", query_string={"region": "us"})
    assert "21:00" in text_of(us) and "Regulation F" in text_of(us)  # US rules, in English by default
    assert client.get("/rights/complaints", query_string={"region": "xx"}).status_code == 404
    assert client.get("/rights/nothing").status_code == 404


def test_genuine_lists_every_lenders_public_phone(client, db):
    first, second = AccountFactory(), AccountFactory()
    second.lender.contact_phone = "95588"
    db.session.commit()
    text = text_of(client.get("/genuine", query_string={"lang": "zh_Hans"}))
    assert first.lender.name in text and second.lender.name in text and "95588" in text
    assert "http://localhost/" in text  # the portal's official address


def test_signed_in_pages_stay_uncached(client, db):
    account = AccountFactory()
    sign_in_through_link(client, account)
    dashboard = client.get("/dashboard")
    assert dashboard.headers["Cache-Control"] == "no-store"
    assert dashboard.soup.find("a", href="/rights")  # "Your rights" leads to the rights centre


def test_dispute_pauses_contact_until_staff_answer_and_the_borrower_sees_the_answer(client, db, runner):
    account = AccountFactory()
    sign_in_through_link(client, account)
    form = client.submit(
        "/my-rights/dispute",
        {"account": str(account.id), "reason": "already_paid", "explanation": "我3月9日已经通过支付宝还清了。"},
    )
    assert form.status_code == 303
    confirm_url = form.headers["Location"]
    wrong = client.submit(confirm_url, {"code": "000000" if last_sms_code() != "000000" else "111111"})
    assert wrong.status_code == 400 and "验证码" in text_of(wrong)
    assert account.status == AccountStatus.OVERDUE
    done = client.submit(confirm_url, {"code": last_sms_code()}, button=("confirm", "1"))
    assert done.status_code == 303
    reference = done.headers["Location"].rsplit("/", 1)[-1]
    status = client.get(done.headers["Location"])
    assert reference in text_of(status) and "暂停" in text_of(status)

    dashboard = text_of(client.get("/dashboard"))
    assert "已提出异议" in dashboard and "暂停" in dashboard
    assert f"异议 {reference}：" in dashboard and "前答复" in dashboard  # reference and answer deadline
    db.session.expire_all()
    assert [p.reason for p in pauses_in_force(account.id)] == ["dispute"]

    pending = runner.invoke(args=["disputes", "pending"])
    assert reference in pending.output, pending.output
    shown = runner.invoke(args=["disputes", "show", reference])
    assert "我3月9日已经通过支付宝还清了。" in shown.output and "already_paid" in shown.output
    answered = runner.invoke(
        args=["disputes", "answer", reference, "--by", "compliance-li", "--text", "已核实，您已还清。"]
    )
    assert answered.exit_code == 0, answered.output

    status = text_of(client.get(f"/my-rights/disputes/{reference}"))
    assert "已核实，您已还清。" in status
    db.session.expire_all()
    assert account.status == AccountStatus.OVERDUE and not pauses_in_force(account.id)
    assert events_for(account) == [
        "dispute.opened",
        "contact.pause_requested",
        "dispute.answered",
        "contact.pause_lifted",
    ]
    actions = set(db.session.execute(select(AuditEvent.action)).scalars())
    assert {"dispute.opened", "dispute.answered", "contact.paused", "contact.pause_lifted"} <= actions
    assert runner.invoke(args=["disputes", "answer", reference, "--by", "x", "--text", "again"]).exit_code != 0


def test_a_dispute_keeps_what_was_typed_when_a_file_is_refused(client, db):
    account = AccountFactory()
    sign_in_through_link(client, account)
    page = client.get("/my-rights/dispute")
    token = page.soup.find("input", attrs={"name": "csrf_token"})["value"]
    response = client.post(
        "/my-rights/dispute",
        data={
            "csrf_token": token,
            "account": str(account.id),
            "reason": "amount_wrong",
            "explanation": "罚息算多了",
            "evidence": (io.BytesIO(b"MZ not a picture"), "virus.exe"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert "virus.exe" in text_of(response) and "罚息算多了" in response.get_data(as_text=True)
    assert db.session.execute(select(EvidenceFile)).first() is None


def test_a_dispute_with_evidence_keeps_the_files_for_its_reference(client, db):
    account = AccountFactory()
    sign_in_through_link(client, account)
    token = client.get("/my-rights/dispute").soup.find("input", attrs={"name": "csrf_token"})["value"]
    response = client.post(
        "/my-rights/dispute",
        data={
            "csrf_token": token,
            "account": str(account.id),
            "reason": "already_paid",
            "explanation": "还款截图见附件",
            "evidence": [(io.BytesIO(samples.png()), "截图.png"), (io.BytesIO(samples.jpeg(gps=True)), "照片.jpg")],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    reference = response.headers["Location"].split("/")[-2]
    confirm = client.get(response.headers["Location"])
    assert "2个文件" in text_of(confirm)
    files = db.session.execute(select(EvidenceFile).order_by(EvidenceFile.id)).scalars().all()
    assert [(f.owner_type, f.owner_id, f.original_filename) for f in files] == [
        ("dispute", reference, "截图.png"),
        ("dispute", reference, "照片.jpg"),
    ]
    client.submit(response.headers["Location"], {"code": last_sms_code()}, button=("confirm", "1"))
    opened = db.session.execute(select(OutboxEvent.payload).where(OutboxEvent.type == "dispute.opened")).scalar_one()
    assert opened["data"]["evidence_files"] == 2 and "还款截图" not in str(opened)  # no borrower's words upstream


def test_every_link_on_the_public_pages_leads_somewhere(client, db):
    AccountFactory()
    seen = set()
    for url in PUBLIC:
        for lang in ("zh_Hans", "zh_Hant", "en"):
            for a in client.get(url, query_string={"lang": lang}).soup.find_all("a", href=True):
                href = a["href"]
                if href.startswith("/") and not href.startswith("/static") and href not in seen:
                    seen.add(href)
                    status = client.get(href).status_code
                    # Actions lead to the sign-in page when nobody is signed in.
                    assert status == 200 or (status == 302 and not href.startswith("/rights")), (href, status)
    assert {"/my-rights/dispute", "/my-rights/documents", "/my-rights/contact"} <= seen


def test_a_signed_in_reader_gets_the_same_public_page(client, db):
    account = AccountFactory()
    sign_in_through_link(client, account)
    page = client.get("/rights/collectors")
    assert page.status_code == 200 and not page.soup.find("form")
    assert account.borrower.name not in page.get_data(as_text=True)
    if "Set-Cookie" in page.headers:  # a session refresh: never kept by a shared cache
        assert page.headers["Cache-Control"] == "no-store"


def test_another_borrowers_account_or_dispute_is_not_found(client, db):
    mine, theirs = AccountFactory(), AccountFactory()
    sign_in_through_link(client, mine)
    tampered = client.submit(
        "/my-rights/dispute", {"account": str(theirs.id), "reason": "not_mine", "explanation": "x"}
    )
    assert tampered.status_code == 400 and "从列表中选择" in text_of(tampered)
    assert client.get("/my-rights/disputes/D-AAAAAAAA").status_code == 404


def test_document_requests_get_a_reference_and_a_deadline(client, db):
    account = AccountFactory()
    sign_in_through_link(client, account)
    values = {"account": str(account.id), "documents": ["contract", "agency_name"]}
    step = client.submit("/my-rights/documents", values)
    assert step.status_code == 200 and step.soup.find("input", attrs={"name": "code"})
    done = client.submit("/my-rights/documents", {**values, "code": last_sms_code()}, button=("confirm", "1"))
    assert done.status_code == 303
    # The code step's hidden values are what submit() re-posts; a changed value would not match.
    requests = db.session.execute(select(DocumentRequest).order_by(DocumentRequest.id)).scalars().all()
    assert [r.kind for r in requests] == ["contract", "agency_name"]
    page = text_of(client.get("/my-rights"))
    assert requests[0].reference in page and "答复" in page
    assert events_for(account) == ["document.requested", "document.requested"]


PREFERENCES = {"channels": ["sms", "letter"], "hours_from": "09:00", "hours_until": "20:00", "language": "zh_Hans"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"hours_from": "07:00"}, "08:00"),
        ({"hours_until": "23:00"}, "22:00"),
        ({"hours_from": "18:00", "hours_until": "10:00"}, "晚于"),
        ({"channels": ["sms", "pigeon"]}, "联系方式"),
        ({"hours_from": "9 点"}, "例如 09:00"),
        ({"language": "fr"}, "语言"),
        ({"stop_contact": "y"}, "不能"),
        ({"channels": []}, "至少"),
    ],
)
def test_bad_contact_preferences_get_a_localised_message(client, db, change, message):
    account = AccountFactory()
    sign_in_through_link(client, account)
    response = client.submit("/my-rights/contact", {**PREFERENCES, **change})
    assert response.status_code == 400
    summary = response.soup.find(class_="error-summary")
    assert summary and message in summary.get_text(), summary
    assert db.session.execute(select(SmsMessage).where(SmsMessage.purpose == "one_time_code")).first() is None


@pytest.mark.parametrize("url", ["/my-rights/contact", "/my-rights/documents", "/my-rights/dispute"])
def test_a_form_posted_with_fields_missing_gets_messages_not_an_error(client, db, url):
    sign_in_through_link(client, AccountFactory())
    token = client.get(url).soup.find("input", attrs={"name": "csrf_token"})["value"]
    response = client.post(url, data={"csrf_token": token})
    assert response.status_code == 400 and response.soup.find(class_="error-summary")


def test_contact_preferences_saved_shown_on_the_dashboard_with_audit_and_event(client, db):
    account = AccountFactory()
    sign_in_through_link(client, account)
    values = {**PREFERENCES, "only_me": "y"}
    step = client.submit("/my-rights/contact", values)
    assert step.status_code == 200
    tampered = client.submit(
        "/my-rights/contact", {**values, "hours_until": "21:00", "code": last_sms_code()}, button=("confirm", "1")
    )
    assert tampered.status_code == 400  # the code was sent for 20:00, not 21:00
    step = client.submit("/my-rights/contact", values)
    done = client.submit("/my-rights/contact", {**values, "code": last_sms_code()}, button=("confirm", "1"))
    assert done.status_code == 303
    dashboard = text_of(client.get("/dashboard"))
    assert "短信、信件" in dashboard.replace(", ", "、") and "09:00" in dashboard and "20:00" in dashboard
    reopened = client.get("/my-rights/contact")
    assert reopened.soup.find("select", id="hours_until").find("option", selected=True)["value"] == "20:00"
    row = db.session.execute(select(ContactPreference)).scalar_one()
    assert row.only_me and row.channels == "sms,letter"
    assert "contact_preferences.changed" in set(db.session.execute(select(AuditEvent.action)).scalars())
    assert events_for(account) == ["contact_preferences.changed"]


def test_where_the_law_grants_it_stop_contacting_me_pauses_contact(client, db):
    account = AccountFactory(borrower__lender__jurisdiction="US", borrower__timezone="America/New_York")
    sign_in_through_link(client, account)
    dashboard = client.get("/dashboard")
    assert dashboard.soup.find("a", href="/rights?region=US")
    values = {**PREFERENCES, "hours_until": "21:00", "stop_contact": "y"}
    client.submit("/my-rights/contact", values)
    done = client.submit("/my-rights/contact", {**values, "code": last_sms_code()}, button=("confirm", "1"))
    assert done.status_code == 303
    assert "您已要求我们停止联系您" in text_of(client.get("/dashboard"))
    assert [p.reason for p in pauses_in_force(account.id)] == ["borrower_request"]
    assert events_for(account) == ["contact_preferences.changed", "contact.pause_requested"]
    values["stop_contact"] = ""  # untick the box
    client.submit("/my-rights/contact", values)
    client.submit("/my-rights/contact", {**values, "code": last_sms_code()}, button=("confirm", "1"))
    db.session.expire_all()
    assert not pauses_in_force(account.id)
    assert events_for(account)[-2:] == ["contact_preferences.changed", "contact.pause_lifted"]


def test_the_answer_deadline_counts_business_days(db):
    from datetime import UTC, datetime

    from portal.business_days import deadline

    due = deadline(datetime(2026, 9, 30, 2, tzinfo=UTC), service.DISPUTE_ANSWER_BUSINESS_DAYS, "CN", "Asia/Shanghai")
    # National Day holidays (1–8 October 2026) do not count; Saturday 10 October is a working day.
    assert due.date() > datetime(2026, 10, 14).date()
